package connect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// TestResignOnReplay: a report refused as a replay (401) is signed again
// with a later timestamp, once; the real server's refusal is tested in
// cmd/veilig (TestAmazonConnect reports one end twice).
func TestResignOnReplay(t *testing.T) {
	var mu sync.Mutex
	var stamps []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		stamps = append(stamps, r.Header.Get(telephony.TimestampHeader))
		if len(stamps) == 1 || r.URL.Path == "/telephony/v1/calls" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"unauthorized","message":"this request was already received (replay)"}}`))
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	core := resigning{&telephony.Client{BaseURL: srv.URL, Secret: make([]byte, 32)}}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := core.ReportCallState(ctx, Provider, "c-1", veilig.CallEnded); err != nil {
		t.Fatal(err)
	}
	if len(stamps) != 2 || stamps[0] == stamps[1] {
		t.Fatalf("timestamps %v: want a second, later signature", stamps)
	}
	// Refused again: given up after one retry.
	stamps = nil
	if _, err := core.ReportCall(ctx, veilig.IncomingCall{Code: "1", CallerNumber: "anonymous", Provider: Provider, CallID: "c-1"}); err == nil || len(stamps) != 2 {
		t.Fatalf("%v %v", err, stamps)
	}
	// No time left for the next second: no retry.
	stamps = nil
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := core.ReportCallState(short, Provider, "c-1", veilig.CallEnded); err == nil || len(stamps) != 1 {
		t.Fatalf("%v %v", err, stamps)
	}
}
