package cors

import (
	"slices"
	"strings"
	"testing"
)

func TestParseOrigins(t *testing.T) {
	got, err := ParseOrigins(" https://App.Example.com , http://127.0.0.1:5173,,https://a.example:443/, http://b.example:80, *")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://app.example.com", "http://127.0.0.1:5173", "https://a.example", "http://b.example", "*"}
	if !slices.Equal(got, want) {
		t.Errorf("ParseOrigins = %q, want %q", got, want)
	}
	if got, err := ParseOrigins(""); err != nil || len(got) != 0 {
		t.Errorf(`ParseOrigins("") = %q, %v; want none`, got, err)
	}
	for _, bad := range []string{
		"null", "app.example.com", "ftp://app.example.com", "https://", "https://app.example.com/path",
		"https://user@app.example.com", "https://app.example.com?x=1", "https://app.example.com#f",
		"https://app.example.com:0", "https://app.example.com:99999", "https://app.example.com:x",
	} {
		if got, err := ParseOrigins("https://ok.example," + bad); err == nil {
			t.Errorf("ParseOrigins(%q) = %q, want an error", bad, got)
		} else if !strings.Contains(err.Error(), "CORS origin") {
			t.Errorf("ParseOrigins(%q): %v does not say what it is about", bad, err)
		}
	}
}
