package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store/postgres/pgtest"
)

// TestCrashMidDeliverySQLite kills the delivering server with SIGKILL while
// the receiver holds its request open: after a restart on the same file
// (once the dead server's lease expires, 30 s) the event is delivered, with
// the same webhook-id.
func TestCrashMidDeliverySQLite(t *testing.T) {
	crashMidDelivery(t, t.TempDir()+"/webhooks.db")
}

// TestCrashMidDeliveryPostgres is the same on PostgreSQL.
func TestCrashMidDeliveryPostgres(t *testing.T) {
	crashMidDelivery(t, pgtest.NewDatabase(t))
}

func crashMidDelivery(t *testing.T, db string) {
	var mu sync.Mutex
	var ids []string
	held := make(chan struct{}, 1)
	release := make(chan struct{})
	delivered := make(chan string, 10)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		mu.Lock()
		ids = append(ids, id)
		first := len(ids) == 1
		mu.Unlock()
		if first {
			held <- struct{}{}
			select { // held open until the test ends: its server dies meanwhile
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(204)
		delivered <- id
	})}
	go func() { _ = rcv.Serve(l) }()
	t.Cleanup(func() { close(release); _ = rcv.Close() })

	p := launch(t, []string{"WORKSPACE_DATABASE=" + db, "WORKSPACE_WEBHOOK_ALLOW_PRIVATE=true"})
	p.wait(t)
	post := func(addr, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	post(p.httpAddr, "/v1/webhook-endpoints", fmt.Sprintf(`{"url":"http://%s/hook"}`, l.Addr()))
	post(p.httpAddr, "/v1/projects", `{"name":"in flight at the kill"}`)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery attempt within 30s:\n%s", p.log())
	}
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
		t.Fatal(err)
	}
	<-p.done

	again := launch(t, []string{"WORKSPACE_DATABASE=" + db, "WORKSPACE_WEBHOOK_ALLOW_PRIVATE=true"})
	again.wait(t)
	select {
	case id := <-delivered:
		mu.Lock()
		first := ids[0]
		mu.Unlock()
		if id != first {
			t.Errorf("delivered %s after the restart, want the event in flight, %s", id, first)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("not delivered within 90s of the restart:\n%s", again.log())
	}
}
