package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/veiligcontact/veilig"
)

// KeepAlive is how often an idle stream gets a comment line, so proxies and
// browsers do not time it out.
var KeepAlive = 15 * time.Second

// lastEventID reads where a reconnecting stream resumes: the Last-Event-ID
// header EventSource sends, or the lastEventId query parameter.
func lastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("lastEventId")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, veilig.Errorf(veilig.EINVALID, "Last-Event-ID must be a non-negative whole number")
	}
	return n, nil
}

type eventView struct {
	Seq    int64     `json:"seq"`
	Type   string    `json:"type"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Contact and Purpose are only in agent streams.
	Contact string `json:"contact,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// stream writes events as Server-Sent Events: "id" is the event's Seq so a
// client that reconnects (to any replica) resumes after the last one it saw.
// A citizen stream ends after the session's final state.
func (s *server) stream(w http.ResponseWriter, r *http.Request, f veilig.EventFilter, after int64, endAtTerminal bool) {
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary requests, not streams.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	s.Metrics.streams.Inc()
	defer s.Metrics.streams.Dec()

	events := s.Service.Stream(f, after)
	ping := time.NewTicker(KeepAlive)
	defer ping.Stop()
	for {
		e, ticked, err := events.Next(r.Context(), ping.C)
		if err != nil {
			return
		}
		if ticked {
			fmt.Fprint(w, ": keep-alive\n\n")
			if err := rc.Flush(); err != nil {
				return
			}
			continue
		}
		v := eventView{Seq: e.Seq, Type: e.Type, Reason: e.Reason, At: e.At}
		if !endAtTerminal {
			v.Contact, v.Purpose = e.SessionID, e.PurposeID
		}
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Seq, data)
		if err := rc.Flush(); err != nil {
			return
		}
		if endAtTerminal && veilig.SessionState(e.Type).Terminal() {
			return
		}
	}
}
