package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/veiligcontact/veilig"
)

// Client speaks the public API of Veilig Contact, as the widget and the
// agent console do.
type Client struct {
	Base string
	HTTP *http.Client
	csrf string
}

// NewClient returns a client for base with its own cookie jar.
func NewClient(base string) *Client {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return &Client{Base: base, HTTP: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}}
}

// StatusError is an answer other than 2xx.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Body) }

// Retryable reports whether err is worth repeating a request for: the
// connection failed, or the server (or the proxy) answered 5xx.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if se, ok := err.(*StatusError); ok {
		return se.Status >= 500
	}
	return true
}

// Do sends a JSON request and decodes a JSON answer into out.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" && method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return &StatusError{Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// Retry runs fn until it succeeds, fails for good (not Retryable), or
// limit passes.
func Retry(ctx context.Context, limit time.Duration, fn func() error) error {
	deadline := time.Now().Add(limit)
	delay := 50 * time.Millisecond
	for {
		err := fn()
		if !Retryable(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, time.Second)
	}
}

// Started is the answer to POST /api/v1/sessions.
type Started struct {
	SessionPtr  json.RawMessage `json:"sessionPtr"`
	SessionID   string          `json:"sessionId"`
	StatusToken string          `json:"statusToken"`
	Dial        struct {
		Number string `json:"number"`
		Code   string `json:"code"`
	} `json:"dial"`
}

// StartSession starts a session for purpose.
func (c *Client) StartSession(ctx context.Context, purpose string) (*Started, error) {
	var s Started
	if err := c.Do(ctx, http.MethodPost, "/api/v1/sessions", map[string]string{"purpose": purpose}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Login signs an agent in; the cookie stays in the client.
func (c *Client) Login(ctx context.Context, username, password string) error {
	var me struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/agent/login", map[string]string{"username": username, "password": password}, &me); err != nil {
		return err
	}
	c.csrf = me.CSRFToken
	return nil
}

// OpenContact opens a contact as the signed-in agent.
func (c *Client) OpenContact(ctx context.Context, id string) (*veilig.Contact, error) {
	var ct veilig.Contact
	if err := c.Do(ctx, http.MethodPost, "/api/v1/agent/contacts/"+id+"/open", nil, &ct); err != nil {
		return nil, err
	}
	return &ct, nil
}

// EndContact ends a contact as the signed-in agent.
func (c *Client) EndContact(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodPost, "/api/v1/agent/contacts/"+id+"/end", nil, nil)
}

// Event is one event read from a stream.
type Event struct {
	Seq     int64     `json:"seq"`
	Type    string    `json:"type"`
	Contact string    `json:"contact"`
	At      time.Time `json:"at"`
	// Received is when the client read it.
	Received time.Time `json:"-"`
}

// Stream follows an SSE stream across reconnects, as EventSource does: when
// the connection ends (a replica died, the proxy cut it) it reconnects with
// Last-Event-ID after a short wait. It records every event in order, so a
// test can check it saw each stored event exactly once.
type Stream struct {
	client  *http.Client
	urls    func(attempt int) string // where to connect; may change per attempt
	header  http.Header
	endAt   func(Event) bool
	C       chan Event // every event, in order; closed when the stream ends
	mu      sync.Mutex
	events  []Event
	connect int
	last    int64
	err     error
}

// StreamConfig configures Follow.
type StreamConfig struct {
	URL    func(attempt int) string
	Header http.Header
	After  int64            // Last-Event-ID of the first connection; 0 for none
	EndAt  func(Event) bool // stop after this event (a citizen stream's final state)
	Buffer int
}

// Follow starts following. It stops when ctx ends or EndAt says so.
func Follow(ctx context.Context, client *http.Client, c StreamConfig) *Stream {
	if c.Buffer <= 0 {
		c.Buffer = 1024
	}
	s := &Stream{client: client, urls: c.URL, header: c.Header, endAt: c.EndAt, C: make(chan Event, c.Buffer), last: c.After}
	go s.run(ctx)
	return s
}

func (s *Stream) run(ctx context.Context) {
	defer close(s.C)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		done, err := s.once(ctx, s.urls(attempt))
		if done {
			return
		}
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// once reads one connection; done when the stream is over for good.
func (s *Stream) once(ctx context.Context, url string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return true, err
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	s.mu.Lock()
	if s.last > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(s.last, 10))
	}
	s.connect++
	s.mu.Unlock()
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode/100 == 4, &StatusError{resp.StatusCode, string(b)}
	}
	sc := bufio.NewScanner(resp.Body)
	var id int64
	var data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			var e Event
			if err := json.Unmarshal([]byte(data), &e); err == nil {
				e.Seq, e.Received = id, time.Now()
				s.mu.Lock()
				s.events = append(s.events, e)
				s.last = id
				s.mu.Unlock()
				select {
				case s.C <- e:
				default: // nobody reads C: Events still has it
				}
				if s.endAt != nil && s.endAt(e) {
					return true, nil
				}
			}
			data = ""
		}
	}
	return false, sc.Err()
}

// Events returns what was received so far.
func (s *Stream) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Connects returns how many connections were opened.
func (s *Stream) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connect
}

// Wait waits until an event satisfying ok arrived (found among those
// already received, too), or limit passes.
func (s *Stream) Wait(ok func(Event) bool, limit time.Duration) (Event, bool) {
	deadline := time.Now().Add(limit)
	for seen := 0; time.Now().Before(deadline); {
		evs := s.Events()
		for ; seen < len(evs); seen++ {
			if ok(evs[seen]) {
				return evs[seen], true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return Event{}, false
}

// Type matches events of type t (and contact c, if not empty).
func Type(t, contact string) func(Event) bool {
	return func(e Event) bool { return e.Type == t && (contact == "" || e.Contact == contact) }
}
