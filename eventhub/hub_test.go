package eventhub

import (
	"context"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func recv(t *testing.T, ch <-chan veilig.Event) (veilig.Event, bool) {
	t.Helper()
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(2 * time.Second):
		t.Fatal("no event")
	}
	return veilig.Event{}, false
}

func TestFilterAndFanOut(t *testing.T) {
	var h Hub
	ctx := context.Background()
	bySession, _ := h.Subscribe(ctx, veilig.EventFilter{SessionID: "s1"})
	byPurpose, _ := h.Subscribe(ctx, veilig.EventFilter{Purposes: []string{"tax"}})
	h.Publish(veilig.Event{Seq: 1, SessionID: "s2", PurposeID: "tax"})
	h.Publish(veilig.Event{Seq: 2, SessionID: "s1", PurposeID: "other"})
	if e, _ := recv(t, bySession); e.Seq != 2 {
		t.Fatalf("session subscriber got %d", e.Seq)
	}
	if e, _ := recv(t, byPurpose); e.Seq != 1 {
		t.Fatalf("purpose subscriber got %d", e.Seq)
	}
}

func TestSlowSubscriberIsDroppedNotBlocking(t *testing.T) {
	var h Hub
	slow, _ := h.Subscribe(context.Background(), veilig.EventFilter{})
	done := make(chan struct{})
	go func() {
		for i := range 10 * Buffer {
			h.Publish(veilig.Event{Seq: int64(i + 1)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a slow subscriber blocked publishing")
	}
	n := 0
	for range slow {
		n++
	}
	if n == 0 || n >= 10*Buffer {
		t.Fatalf("slow subscriber got %d events before being dropped", n)
	}
	if h.Len() != 0 {
		t.Fatal("dropped subscriber still registered")
	}
}

func TestCancelAndReset(t *testing.T) {
	var h Hub
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := h.Subscribe(ctx, veilig.EventFilter{})
	b, _ := h.Subscribe(context.Background(), veilig.EventFilter{})
	cancel()
	if _, ok := recv(t, a); ok {
		t.Fatal("cancelled subscription still open")
	}
	h.Reset()
	if _, ok := recv(t, b); ok {
		t.Fatal("reset did not close subscribers")
	}
}
