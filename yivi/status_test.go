package yivi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// A scripted requestor API: the first status stream ends without news (as a
// proxy cutting it would), the second brings CONNECTED and DONE, split over
// lines and mixed with irmago's "open" event.
func TestWatchReconnectsStream(t *testing.T) {
	const token = "AbCdEfGhIjKlMnOpQrSt"
	var streams, statuses atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/session/" + token + "/statusevents":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			if streams.Add(1) == 1 {
				fmt.Fprint(w, "event: open\n\n")
				return // stream ends
			}
			fmt.Fprint(w, "event: open\n\n: a comment\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
			fmt.Fprint(w, "data: \"CONNECTED\"\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
			fmt.Fprint(w, "data:\"DONE\"\n\n")
		case "/session/" + token + "/status":
			statuses.Add(1)
			fmt.Fprint(w, `"INITIALIZED"`)
		case "/session/" + token + "/result":
			fmt.Fprint(w, `{"token":"`+token+`","status":"DONE","type":"disclosing","proofStatus":"VALID","disclosed":[[{"rawvalue":"x","id":"a.b.c.d","status":"PRESENT","issuancetime":1794787200}]]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	x, err := NewExternal(ExternalConfig{URL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	var mu sync.Mutex
	var events []string
	done := make(chan veilig.ProofResult, 1)
	x.Watch(token, veilig.DisclosureWatcher{
		Connected: func() { mu.Lock(); events = append(events, "connected"); mu.Unlock() },
		Finished:  func(o veilig.ProofResult) { done <- o },
	})
	select {
	case o := <-done:
		if o.Outcome != veilig.ProofProven || len(o.Attributes) != 1 || o.Attributes[0].Value != "x" {
			t.Errorf("outcome = %+v", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(events, ",") != "connected" {
		t.Errorf("events = %v", events)
	}
	if streams.Load() != 2 {
		t.Errorf("%d streams opened, want 2", streams.Load())
	}
	// One catch-up per stream, one check after the first ended.
	if n := statuses.Load(); n != 3 {
		t.Errorf("%d status requests, want 3", n)
	}
}

// A session the server no longer knows ends the watch with an error outcome
// instead of retrying forever.
func TestWatchUnknownSession(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":400,"error":"SESSION_UNKNOWN","description":"Unknown or expired session"}`)
	}))
	defer srv.Close()
	x, err := NewExternal(ExternalConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	done := make(chan veilig.ProofResult, 1)
	x.Watch("AbCdEfGhIjKlMnOpQrSt", veilig.DisclosureWatcher{Finished: func(o veilig.ProofResult) { done <- o }})
	select {
	case o := <-done:
		if o.Outcome != veilig.ProofFailed || o.Detail == "" {
			t.Errorf("outcome = %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome")
	}
}

// Stop ends the watchers without calling them: the sessions live on at the
// server and can be watched again.
func TestExternalStopLeavesWatchersUncalled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/statusevents") {
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, `"INITIALIZED"`)
	}))
	defer srv.Close()
	x, err := NewExternal(ExternalConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan struct{}, 1)
	x.Watch("AbCdEfGhIjKlMnOpQrSt", veilig.DisclosureWatcher{Finished: func(veilig.ProofResult) { called <- struct{}{} }})
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { x.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hangs")
	}
	select {
	case <-called:
		t.Error("Finished called at Stop")
	default:
	}
}
