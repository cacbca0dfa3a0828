package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/cluster"
	"github.com/veiligcontact/veilig/telephony"
)

// The measured steps of a mode: session starts, telephony matches,
// complete verified contacts and idle status streams (measure.go runs them
// on fresh systems).

// sessionStarts: closed loop, -workers clients, round robin over the
// replicas, for -start-for after a one-second warm-up.
func (s *system) sessionStarts(ctx context.Context, m *modeResult) error {
	clients := make([]*cluster.Client, len(s.replicas))
	for i, r := range s.replicas {
		clients[i] = cluster.NewClient(r.PublicURL)
	}
	loop := func(d time.Duration) (ok, failed int) {
		var n, bad atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for w := range s.e.o.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
					if _, err := clients[i%len(clients)].StartSession(ctx, "demo"); err != nil {
						bad.Add(1)
					} else {
						n.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return int(n.Load()), int(bad.Load())
	}
	// What the servers spend idle, holding nothing yet.
	m.idleFor = s.e.o.idleFor
	m.idleCPU = s.idleCPU(ctx, m.idleFor)
	warm, _ := loop(time.Second)
	start := time.Now()
	m.starts, m.startErrors = loop(s.e.o.startFor)
	m.startDur = time.Since(start)
	if m.starts == 0 {
		return errors.New("no session started")
	}
	// And idle again, now holding every session just started, which no app
	// will fetch: irmago keeps them for their client timeout and checks
	// each one for expiry every 10 s.
	m.held = warm + m.starts
	m.heldCPU = s.idleCPU(ctx, m.idleFor)
	return ctx.Err()
}

// idleCPU is the servers' CPU over d with no requests.
func (s *system) idleCPU(ctx context.Context, d time.Duration) time.Duration {
	time.Sleep(300 * time.Millisecond) // let the last requests finish
	cpu0 := s.serverCPU()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	return s.serverCPU() - cpu0
}

// disclosed starts n sessions and has the wallets disclose them; capture
// routes the first few through the capture proxy.
func (s *system) disclosed(ctx context.Context, n int, capture int) ([]*cluster.Started, error) {
	out := make([]*cluster.Started, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cap(s.wallets) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := <-s.wallets
			defer func() { s.wallets <- w }()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c := cluster.NewClient(s.replicas[i%len(s.replicas)].PublicURL)
				st, err := c.StartSession(ctx, "demo")
				if err == nil {
					ptr := st.SessionPtr
					if i < capture {
						ptr = s.e.capture.via(ptr)
					}
					dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					_, err = w.Disclose(dctx, ptr)
					cancel()
				}
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				out[i] = st
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// The wallet is done when the Yivi server accepted the proofs; the
	// session is disclosed once veilig stored them.
	for _, st := range out {
		if err := s.waitState(ctx, st, veilig.StateDisclosed); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *system) waitState(ctx context.Context, st *cluster.Started, want veilig.SessionState) error {
	c := cluster.NewClient(s.replicas[0].PublicURL)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/api/v1/sessions/"+st.SessionID, nil)
		req.Header.Set("Authorization", "Bearer "+st.StatusToken)
		resp, err := c.HTTP.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"state":"`+string(want)+`"`) {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("session never became %s", want)
}

// matches: disclosed sessions are matched by telephony requests sent to
// replica 1 at a fixed rate (open loop: each request leaves at its time,
// whatever earlier ones do, and its latency counts from that time), while
// an agent stream on replica 2 times the arrival of each matched event.
func (s *system) matches(ctx context.Context, m *modeResult) error {
	m.matchRate = s.e.o.rate
	n := int(float64(s.e.o.rate) * s.e.o.matchFor.Seconds())
	// The agent signs in first: the password hash (argon2id, 64 MiB) is a
	// burst of CPU and memory that has no place in the measurement.
	agent := cluster.NewClient(s.replicas[1].PublicURL)
	agent.HTTP.Timeout = 0
	if err := agent.Login(ctx, "demo", s.password); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := cluster.Follow(sctx, agent.HTTP, cluster.StreamConfig{
		URL:    func(int) string { return s.replicas[1].PublicURL + "/api/v1/agent/events" },
		Buffer: 4*n + 64, // every session's events, not only the matches
	})

	prep := time.Now()
	sessions, err := s.disclosed(ctx, n, 0)
	if err != nil {
		return err
	}
	m.disclosurePrepDur = time.Since(prep)
	// Let the preparation's aftermath (status streams closing, follows
	// ending, the garbage of 1,500 disclosures) pass, as the contacts
	// step does: the calls are measured on their own.
	time.Sleep(time.Second)

	tel := &telephony.Client{BaseURL: s.replicas[0].InternalURL, Secret: s.e.telecret,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
	sent := make([]time.Time, n)
	lat := make([]time.Duration, n)
	late := make([]time.Duration, n)
	var bad atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(s.e.o.rate)
	for i, st := range sessions {
		caller := fmt.Sprintf("+316%08d", i) // callers of their own: one number's calls are limited together
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		sent[i] = at
		late[i] = time.Since(at)
		wg.Add(1)
		go func() {
			defer wg.Done()
			mt, err := tel.ReportCall(ctx, veilig.IncomingCall{Provider: "bench", CallID: "bench-" + st.SessionID, CallerNumber: caller, CalledNumber: st.Dial.Number, Code: st.Dial.Code})
			if err != nil || !mt.Matched {
				bad.Add(1)
				return
			}
			lat[i] = time.Since(at)
		}()
	}
	wg.Wait()
	m.matchErrors += int(bad.Load())
	var runLat, runEv []time.Duration
	for i, l := range lat {
		if l > 0 {
			runLat = append(runLat, l)
			if sent[i].Sub(start) < coldFor {
				m.matchColdLat = append(m.matchColdLat, l)
			} else {
				m.matchWarmLat = append(m.matchWarmLat, l)
			}
		}
	}
	index := map[string]int{}
	for i, st := range sessions {
		index[st.SessionID] = i
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got := 0
		for _, e := range stream.Events() {
			if e.Type == "matched" {
				got++
			}
		}
		if got >= n-int(bad.Load()) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	seen := 0
	for _, e := range stream.Events() {
		if i, ok := index[e.Contact]; ok && e.Type == "matched" {
			runEv = append(runEv, e.Received.Sub(sent[i]))
			seen++
		}
	}
	m.eventsMissing += n - int(bad.Load()) - seen
	m.matchLat, m.eventLat = append(m.matchLat, runLat...), append(m.eventLat, runEv...)
	m.matchRunP99 = append(m.matchRunP99, percentile(runLat, .99))
	m.eventRunP99 = append(m.eventRunP99, percentile(runEv, .99))
	if s.e.o.latOut != "" {
		ev := make([]time.Duration, n)
		for _, e := range stream.Events() {
			if i, ok := index[e.Contact]; ok && e.Type == "matched" {
				ev[i] = e.Received.Sub(sent[i])
			}
		}
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%.3f,%.3f,%.3f,%.3f,%d\n", sent[i].Sub(start).Seconds()*1000, lat[i].Seconds()*1000, ev[i].Seconds()*1000, late[i].Seconds()*1000, sent[i].UnixMilli())
		}
		_ = os.WriteFile(fmt.Sprintf("%s-%s-%d.csv", s.e.o.latOut, s.mode, len(m.matchRunP99)), []byte(b.String()), 0o644)
	}
	return nil
}

// verifiedContacts: complete contacts, start to end, with the server CPU
// they cost: replicas plus (external mode) the Yivi server, and PostgreSQL
// apart. Nothing else runs meanwhile.
func (s *system) verifiedContacts(ctx context.Context, m *modeResult) error {
	n := s.e.o.contacts
	agent := cluster.NewClient(s.replicas[2].PublicURL)
	if err := agent.Login(ctx, "demo", s.password); err != nil {
		return err
	}
	tel := &telephony.Client{BaseURL: s.replicas[1].InternalURL, Secret: s.e.telecret}
	time.Sleep(500 * time.Millisecond) // let the previous step's work settle
	cpu0, pg0 := s.serverCPU(), treeCPU(s.e.pgPID)
	sessions, err := s.disclosed(ctx, n, 30)
	if err != nil {
		return err
	}
	var bad atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, st := range sessions {
		caller := fmt.Sprintf("+316%08d", i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			mt, err := tel.ReportCall(ctx, veilig.IncomingCall{Provider: "bench", CallID: "contact-" + st.SessionID, CallerNumber: caller, CalledNumber: st.Dial.Number, Code: st.Dial.Code})
			if err == nil && mt.Matched {
				var c *veilig.Contact
				if c, err = agent.OpenContact(ctx, st.SessionID); err == nil && len(c.Attributes) == 3 {
					err = agent.EndContact(ctx, st.SessionID)
				} else if err == nil {
					err = errors.New("attributes missing")
				}
			}
			if err != nil || !mt.Matched {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	m.contacts = n
	m.contactErrors = int(bad.Load())
	m.contactServerCPU = s.serverCPU() - cpu0
	m.contactPGCPU = treeCPU(s.e.pgPID) - pg0
	return nil
}

// idleStreams: -streams status streams, open and idle, on one replica;
// its memory before and after.
func (s *system) idleStreams(ctx context.Context, m *modeResult) error {
	n := s.e.o.streams
	r := s.replicas[2]
	sessions := make([]*cluster.Started, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cluster.NewClient(s.replicas[0].PublicURL)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				st, err := c.StartSession(ctx, "demo")
				if err != nil {
					failed.Add(1)
					continue
				}
				sessions[i] = st
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return fmt.Errorf("%d of %d sessions did not start", failed.Load(), n)
	}
	collectGarbage(r.InternalURL)
	time.Sleep(time.Second)
	rss0 := rss(r.PID())
	heap0, stacks0 := heapInUse(r.InternalURL)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	client := &http.Client{Transport: tr}
	var connected atomic.Int64
	sem := make(chan struct{}, 64)
	for _, st := range sessions {
		sem <- struct{}{}
		go func() {
			req, _ := http.NewRequestWithContext(sctx, http.MethodGet, r.PublicURL+"/api/v1/sessions/"+st.SessionID+"/events", nil)
			req.Header.Set("Authorization", "Bearer "+st.StatusToken)
			resp, err := client.Do(req)
			if err != nil {
				<-sem
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			// Connected once the replayed "created" event arrived.
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					<-sem
					return
				}
				if strings.HasPrefix(line, "data: ") {
					break
				}
			}
			connected.Add(1)
			<-sem
			_, _ = io.Copy(io.Discard, br) // idle until cancelled
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for connected.Load() < int64(n) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	// What the streams hold, not the garbage their opening left: the
	// replica collects it, then its scavenger has a moment to give the
	// freed pages back.
	collectGarbage(r.InternalURL)
	time.Sleep(2 * time.Second)
	m.streams = n
	m.streamsConnected = int(connected.Load())
	m.streamRSS = rss(r.PID()) - rss0
	heap1, stacks1 := heapInUse(r.InternalURL)
	m.streamHeap, m.streamStacks = heap1-heap0, stacks1-stacks0
	if s.e.o.profile != "" {
		for name, q := range map[string]string{"heap": "heap", "goroutines": "goroutine?debug=1"} {
			s.e.save(r.InternalURL+"/debug/pprof/"+q, filepath.Join(s.e.o.profile, s.mode+"-streams-"+name+".pprof"))
		}
	}
	if m.streamsConnected < n {
		return fmt.Errorf("only %d of %d streams connected", m.streamsConnected, n)
	}
	return nil
}
