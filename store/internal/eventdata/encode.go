package eventdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/example/workspace/store"
)

// record is one stored record being written: its kind, and its fields as
// name and JSON value, in order, the values side by side in buf. Writing
// by hand, not with encoding/json's reflection, because every write of the
// API pays for it; json.Unmarshal reads it back (the stored structs of
// eventdata.go name the same fields). Fixed arrays, not slices: a record
// lives on its caller's stack and costs no allocation but its buf.
type record struct {
	kind  string
	buf   []byte
	n     int
	names [maxFields]string
	ends  [maxFields]int // value i is buf[ends[i-1]:ends[i]]
}

// maxFields is the most fields a stored record has (a task's 11).
const maxFields = 11

func (r *record) value(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]]
}

func (r *record) done(name string) {
	r.names[r.n] = name
	r.ends[r.n] = len(r.buf)
	r.n++
}

func (r *record) str(name, v string) {
	r.buf = appendString(r.buf, v)
	r.done(name)
}

func (r *record) int(name string, v int64) {
	r.buf = strconv.AppendInt(r.buf, v, 10)
	r.done(name)
}

func (r *record) bool(name string, v bool) {
	r.buf = strconv.AppendBool(r.buf, v)
	r.done(name)
}

func (r *record) time(name string, t time.Time) { r.int(name, t.UnixMicro()) }

func (r *record) optTime(name string, t *time.Time) {
	if t == nil {
		r.buf = append(r.buf, "null"...)
		r.done(name)
		return
	}
	r.time(name, *t)
}

func (r *record) strs(name string, v []string) {
	r.buf = append(r.buf, '[')
	for i, s := range v {
		if i > 0 {
			r.buf = append(r.buf, ',')
		}
		r.buf = appendString(r.buf, s)
	}
	r.buf = append(r.buf, ']')
	r.done(name)
}

// appendString appends s as a JSON string: as it is when it needs no
// escape, else as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// fieldsOf writes the one record of r into rec, its values appended to
// buf; the fields of eventdata.go's stored structs, in their order.
func fieldsOf(rec *record, r store.Resource, buf []byte) error {
	n := 0
	rec.buf = buf
	if p := r.Project; p != nil {
		n++
		rec.kind = "project"
		rec.str("id", p.ID)
		rec.str("workspace_id", p.WorkspaceID)
		rec.str("name", p.Name)
		rec.str("description", p.Description)
		rec.time("created_at", p.CreatedAt)
		rec.time("updated_at", p.UpdatedAt)
		rec.int("version", p.Version)
	}
	if t := r.Task; t != nil {
		n++
		rec.kind = "task"
		rec.str("id", t.ID)
		rec.str("workspace_id", t.WorkspaceID)
		rec.str("project_id", t.ProjectID)
		rec.str("title", t.Title)
		rec.str("description", t.Description)
		rec.str("status", t.Status)
		rec.optTime("due_at", t.DueAt)
		rec.optTime("completed_at", t.CompletedAt)
		rec.time("created_at", t.CreatedAt)
		rec.time("updated_at", t.UpdatedAt)
		rec.int("version", t.Version)
	}
	if k := r.APIKey; k != nil {
		n++
		rec.kind = "api_key"
		rec.str("id", k.ID)
		rec.str("workspace_id", k.WorkspaceID)
		rec.str("name", k.Name)
		rec.strs("scopes", k.Scopes)
		rec.str("prefix", k.Prefix)
		rec.time("created_at", k.CreatedAt)
		rec.optTime("last_used_at", k.LastUsedAt)
		rec.optTime("expires_at", k.ExpiresAt)
		rec.optTime("revoked_at", k.RevokedAt)
	}
	if w := r.Workspace; w != nil {
		n++
		rec.kind = "workspace"
		rec.str("id", w.ID)
		rec.str("name", w.Name)
		rec.str("plan", w.Plan)
		rec.time("created_at", w.CreatedAt)
	}
	if e := r.WebhookEndpoint; e != nil {
		n++
		rec.kind = "webhook_endpoint"
		rec.str("id", e.ID)
		rec.str("workspace_id", e.WorkspaceID)
		rec.str("url", e.URL)
		rec.str("description", e.Description)
		rec.strs("event_types", e.EventTypes)
		rec.bool("enabled", e.Enabled)
		rec.str("disabled_reason", e.DisabledReason)
		rec.time("created_at", e.CreatedAt)
		rec.time("updated_at", e.UpdatedAt)
		rec.int("version", e.Version)
	}
	if n != 1 {
		return fmt.Errorf("eventdata: a resource holds exactly one record, not %d", n)
	}
	return nil
}

// appendTo appends {"kind":{fields i for which keep(i)}} to out.
func (r *record) appendTo(out []byte, keep func(int) bool) []byte {
	out = append(out, `{"`...)
	out = append(out, r.kind...)
	out = append(out, `":{`...)
	first := true
	for i, name := range r.names[:r.n] {
		if keep != nil && !keep(i) {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '"')
		out = append(out, name...)
		out = append(out, `":`...)
		out = append(out, r.value(i)...)
	}
	return append(out, "}}"...)
}

// Encode returns the stored bytes of an event's Data and Previous. Previous
// is stored as the fields of the record whose value differs from Data's
// (most updates change two or three), and nil when there is none. Both
// are slices of one allocation, which also held the values on the way.
func Encode(data store.Resource, previous *store.Resource) (d, p []byte, err error) {
	var dr, pr record
	buf := make([]byte, 0, 1024)
	if err := fieldsOf(&dr, data, buf); err != nil {
		return nil, nil, err
	}
	if previous == nil {
		out := dr.appendTo(dr.buf[len(dr.buf):], nil)
		return out[:len(out):len(out)], nil, nil
	}
	if err := fieldsOf(&pr, *previous, dr.buf[len(dr.buf):]); err != nil {
		return nil, nil, err
	}
	if pr.kind != dr.kind {
		return nil, nil, fmt.Errorf("eventdata: previous is a %s, data a %s", pr.kind, dr.kind)
	}
	// pr's values follow dr's in the same array; d and p follow both.
	rest := pr.buf[len(pr.buf):]
	full := dr.appendTo(rest, nil)
	// Both records have the same fields in the same order.
	p = pr.appendTo(full[len(full):], func(i int) bool { return !bytes.Equal(pr.value(i), dr.value(i)) })
	return full[:len(full):len(full)], p[:len(p):len(p)], nil
}

// Decode turns stored bytes back into an event's Data and Previous (nil if
// p is): Previous is Data with the stored fields of p over it.
func Decode(d, p []byte) (store.Resource, *store.Resource, error) {
	var sd resource
	if err := json.Unmarshal(d, &sd); err != nil {
		return store.Resource{}, nil, fmt.Errorf("eventdata: data: %w", err)
	}
	data, err := fromStored(sd)
	if err != nil {
		return store.Resource{}, nil, err
	}
	if p == nil {
		return data, nil, nil
	}
	var sp resource
	if err := json.Unmarshal(d, &sp); err != nil {
		return store.Resource{}, nil, fmt.Errorf("eventdata: data: %w", err)
	}
	// Decoding into the record already there sets the fields p holds and
	// only those (a null clears a pointer).
	if err := json.Unmarshal(p, &sp); err != nil {
		return store.Resource{}, nil, fmt.Errorf("eventdata: previous: %w", err)
	}
	prev, err := fromStored(sp)
	if err != nil {
		return store.Resource{}, nil, err
	}
	if (prev.Project == nil) != (data.Project == nil) || (prev.Task == nil) != (data.Task == nil) ||
		(prev.APIKey == nil) != (data.APIKey == nil) || (prev.Workspace == nil) != (data.Workspace == nil) ||
		(prev.WebhookEndpoint == nil) != (data.WebhookEndpoint == nil) {
		return store.Resource{}, nil, fmt.Errorf("eventdata: previous is of another kind than data")
	}
	return data, &prev, nil
}
