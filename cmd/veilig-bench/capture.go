package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/privacybydesign/irmago/irma"
)

// capture sits between a wallet and the Yivi server for a few sessions and
// keeps what irmago's own verification needs: the request as the app got
// it (with the server's nonce and context) and the proofs the app posted.
// Verifying those again in this process gives the floor that the CPU per
// contact is compared with: the same disclosures, checked by irmago alone.
type capture struct {
	base string // http://127.0.0.1:port of this server
	rp   *httputil.ReverseProxy

	mu       sync.Mutex
	requests map[string]*irma.DisclosureRequest // by client token
	proofs   map[string][]byte
}

func newCapture(base string) *capture {
	c := &capture{base: base, requests: map[string]*irma.DisclosureRequest{}, proofs: map[string][]byte{}}
	c.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			// /<host:port>/irma/session/... -> http://<host:port>/irma/session/...
			host, rest, _ := strings.Cut(strings.TrimPrefix(r.In.URL.Path, "/"), "/")
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.URL.Path, r.Out.Host = "http", host, "/"+rest, host
		},
		ModifyResponse: func(resp *http.Response) error {
			ct, tail := clientToken(resp.Request.URL.Path)
			if resp.Request.Method != http.MethodGet || tail != "" || resp.StatusCode != 200 {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(b))
			if err != nil {
				return err
			}
			var csr struct {
				Request *irma.DisclosureRequest `json:"request"`
			}
			if json.Unmarshal(b, &csr) == nil && csr.Request != nil {
				c.mu.Lock()
				c.requests[ct] = csr.Request
				c.mu.Unlock()
			}
			return nil
		},
	}
	return c
}

// clientToken splits /irma/session/<ct>[/tail].
func clientToken(path string) (ct, tail string) {
	_, after, ok := strings.Cut(path, "/session/")
	if !ok {
		return "", "-"
	}
	ct, tail, _ = strings.Cut(after, "/")
	return ct, tail
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/proofs") {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ct, _ := clientToken(r.URL.Path)
		c.mu.Lock()
		c.proofs[ct] = b
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	c.rp.ServeHTTP(w, r)
}

// via rewrites a session pointer so the wallet talks through the capture.
func (c *capture) via(ptr json.RawMessage) json.RawMessage {
	var qr map[string]any
	if json.Unmarshal(ptr, &qr) != nil {
		return ptr
	}
	u, err := url.Parse(qr["u"].(string))
	if err != nil {
		return ptr
	}
	qr["u"] = c.base + "/" + u.Host + u.Path
	b, _ := json.Marshal(qr)
	return b
}

// pairs returns the captured (request, proofs) pairs.
func (c *capture) pairs() (reqs []*irma.DisclosureRequest, proofs []*irma.Disclosure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ct, req := range c.requests {
		b, ok := c.proofs[ct]
		if !ok {
			continue
		}
		var d irma.Disclosure
		if json.Unmarshal(b, &d) != nil {
			continue
		}
		reqs, proofs = append(reqs, req), append(proofs, &d)
	}
	return reqs, proofs
}
