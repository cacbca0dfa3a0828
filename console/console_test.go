package console_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/veiligcontact/veilig/console"
	"github.com/veiligcontact/veilig/web"
)

// script repeated makes an asset worth compressing.
const script = "console.log('veilig console');"

func bundle() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                  {Data: []byte(`<!doctype html><link rel="stylesheet" href="/agent/assets/app-0123456789ab.css"><script type="module" src="/agent/assets/app-0123456789ab.js"></script>`)},
		"assets/app-0123456789ab.js":  {Data: []byte(strings.Repeat(script, 50))},
		"assets/app-0123456789ab.css": {Data: []byte("body{color:#000}")},
		"assets/notes.txt":            {Data: []byte("not hashed")},
	}
}

func serve(t *testing.T, dist fs.FS) http.Handler {
	t.Helper()
	c, err := console.New(dist)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, h := range c.Routes() {
		mux.Handle(p, h)
	}
	return mux
}

func get(h http.Handler, method, path string, hdr map[string]string) *http.Response {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestIndex(t *testing.T) {
	h := serve(t, bundle())
	resp := get(h, "GET", "/agent/", nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "<!doctype html>") || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("index: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("index Cache-Control %q, want no-store", cc)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "data:") || strings.Contains(csp, "*") {
		t.Errorf("CSP %q allows more than this origin", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("security headers %v", resp.Header)
	}

	resp = get(h, "GET", "/agent", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/agent/" {
		t.Errorf("/agent: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = get(h, "HEAD", "/agent/", nil)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || len(b) != 0 {
		t.Errorf("HEAD: %d with %d bytes", resp.StatusCode, len(b))
	}
	for _, p := range []string{"/agent/admin", "/agent/assets/", "/agent/assets/nope-0123456789ab.js", "/agent/assets/../index.html", "/agent/index.html"} {
		// The mux redirects unclean paths to their clean form, which is 404 too.
		if resp := get(h, "GET", p, nil); resp.StatusCode != 404 && resp.StatusCode != 307 && resp.StatusCode != 301 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		} else if loc := resp.Header.Get("Location"); loc != "" {
			if r := get(h, "GET", loc, nil); r.StatusCode != 404 {
				t.Errorf("%s leads to %s: %d, want 404", p, loc, r.StatusCode)
			}
		}
	}
}

func TestAssets(t *testing.T) {
	h := serve(t, bundle())
	resp := get(h, "GET", "/agent/assets/app-0123456789ab.js", nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != strings.Repeat(script, 50) || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("js: %d %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("js Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("hashed asset Cache-Control %q", cc)
	}
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("assets lack the security headers")
	}

	resp = get(h, "GET", "/agent/assets/app-0123456789ab.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip not served: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != strings.Repeat(script, 50) {
		t.Error("gzipped body differs")
	}
	if resp := get(h, "GET", "/agent/assets/app-0123456789ab.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip served although refused")
	}

	resp = get(h, "GET", "/agent/assets/notes.txt", nil)
	if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || cc != "no-cache" {
		t.Errorf("unhashed asset: %d Cache-Control %q", resp.StatusCode, cc)
	}
}

func TestBrokenBundle(t *testing.T) {
	if _, err := console.New(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("no bundle: %v", err)
	}
	b := bundle()
	delete(b, "assets/app-0123456789ab.js")
	if _, err := console.New(b); err == nil || !strings.Contains(err.Error(), "app-0123456789ab.js") {
		t.Errorf("index names a missing asset: %v", err)
	}
}

// TestBuiltBundle checks the committed bundle: the page loads only hashed
// assets of this origin, no inline script or style (which the CSP would
// block anyway), and nothing from elsewhere.
func TestBuiltBundle(t *testing.T) {
	dist, err := fs.Sub(web.Dist(), "console")
	if err != nil {
		t.Fatal(err)
	}
	h := serve(t, dist)
	resp := get(h, "GET", "/agent/", nil)
	index, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("index: %d", resp.StatusCode)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).Match(index) || bytes.Contains(index, []byte("<style")) || bytes.Contains(index, []byte(" style=")) || bytes.Contains(index, []byte(" on")) {
		t.Errorf("index.html has inline script, style or handlers:\n%s", index)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllSubmatch(index, -1) {
		if !bytes.HasPrefix(m[1], []byte("/agent/assets/")) {
			t.Errorf("index.html loads %s, not one of its own assets", m[1])
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="(/agent/assets/[^"]+)"`).FindAllSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d assets, want the script, the style sheet and the icon", len(refs))
	}
	for _, m := range refs {
		p := string(m[1])
		if !regexp.MustCompile(`-[0-9a-f]{12}\.(js|css|svg)$`).MatchString(p) {
			t.Errorf("%s is not content-hashed", p)
		}
		r := get(h, "GET", p, nil)
		if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d %q", p, r.StatusCode, r.Header.Get("Cache-Control"))
		}
	}
}
