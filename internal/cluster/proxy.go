package cluster

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
)

// Proxy is the reverse proxy in front of the replicas, as a load balancer
// would be: round robin, and a request whose connection a backend refused
// (it is gone) is sent to the next one. A request already sent to a
// backend that then died is not retried: the client sees 502 and decides,
// as it would behind a real load balancer.
type Proxy struct {
	mu       sync.Mutex
	backends []*url.URL
	next     atomic.Uint64
	rp       *httputil.ReverseProxy
}

// NewProxy returns a proxy over the given base URLs.
func NewProxy(backends ...string) (*Proxy, error) {
	p := &Proxy{}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			return nil, err
		}
		p.backends = append(p.backends, u)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetXForwarded()
			r.Out.Host = r.In.Host
		},
		Transport:     &failover{p: p, rt: tr},
		FlushInterval: -1, // streams (SSE) pass through at once
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "bad gateway", http.StatusBadGateway)
		},
	}
	return p, nil
}

// SetBackends replaces the backends (a replica added or removed).
func (p *Proxy) SetBackends(backends ...string) {
	var us []*url.URL
	for _, b := range backends {
		if u, err := url.Parse(b); err == nil {
			us = append(us, u)
		}
	}
	p.mu.Lock()
	p.backends = us
	p.mu.Unlock()
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Keep the body so that a request refused by a dead backend can go to
	// the next one. API bodies are small; 1 MiB is irmago's own limit.
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	p.rp.ServeHTTP(w, r)
}

type failover struct {
	p  *Proxy
	rt http.RoundTripper
}

func (f *failover) RoundTrip(r *http.Request) (*http.Response, error) {
	f.p.mu.Lock()
	bs := f.p.backends
	f.p.mu.Unlock()
	if len(bs) == 0 {
		return nil, errors.New("no backends")
	}
	start := f.p.next.Add(1)
	var err error
	for i := range len(bs) {
		b := bs[(start+uint64(i))%uint64(len(bs))]
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = b.Scheme, b.Host
		if i > 0 && r.Body != nil && r.Body != http.NoBody {
			if r.GetBody == nil {
				return nil, err
			}
			if out.Body, err = r.GetBody(); err != nil {
				return nil, err
			}
		}
		var resp *http.Response
		resp, err = f.rt.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			return nil, err // sent, maybe processed: not ours to repeat
		}
	}
	return nil, err
}
