package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// TestJSONProblems: a refused body is explained, naming a field only when
// it is a plain name, never echoing a value.
func TestJSONProblems(t *testing.T) {
	type body struct {
		Code string `json:"code"`
		N    int    `json:"n"`
	}
	for in, want := range map[string]string{
		`{"code":"1","dtmf":"2"}`:             "unknown field dtmf",
		`{"code":"1","<script>x":"2"}`:        "unknown field",
		`[1,2]`:                               "it must be a JSON object",
		`{"n":"secret-value"}`:                "field n has the wrong type",
		`{"code":`:                            "unexpected end",
		`{"code":"1"} {"code":"2"}`:           "one JSON object",
		`{code:1}`:                            "syntax error",
		`{"code":"1","n":1.5}`:                "field n has the wrong type",
		`{"code":"1","zz` + "\u00e9" + `":1}`: "unknown field",
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", "application/json")
		err := decodeJSON(r, []byte(in), &body{})
		msg := veilig.ErrorMessage(err)
		if veilig.ErrorCode(err) != veilig.EINVALID || !strings.HasSuffix(msg, want) && !strings.Contains(msg, want) {
			t.Errorf("%s: %q, want it to say %q", in, msg, want)
		}
		if strings.Contains(msg, "secret-value") || strings.Contains(msg, "script") {
			t.Errorf("%s: the message echoes input: %q", in, msg)
		}
	}
}

// TestBodyTooLarge: a 10 MB body announced with "Expect: 100-continue" gets
// a 413 answer, not a reset connection, and is never sent.
func TestBodyTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct{}
		if err := readJSON(w, r, &v); err != nil {
			writeError(w, r, slog.New(slog.DiscardHandler), err)
		}
	}))
	defer srv.Close()
	// Like curl, the client waits for "100 Continue" before the body.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	for range 20 {
		body := &countingReader{r: bytes.NewReader(make([]byte, 10<<20))}
		req, _ := http.NewRequest("POST", srv.URL, body)
		req.ContentLength = 10 << 20
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Expect", "100-continue")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("10 MB with Expect: 100-continue: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
		if body.n > 0 {
			t.Fatalf("the server asked for the body (%d bytes sent) before refusing it", body.n)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
