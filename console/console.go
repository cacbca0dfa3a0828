// Package console serves the agent console: the single-page app whose
// sources are in web/console and whose built bundle is embedded from
// web/dist/console (package web), so the binary needs no Node at run time.
//
// Everything is served under Path with a strict Content-Security-Policy:
// scripts, styles and connections only from this origin, no inline script
// or style, no plugins, no framing, and Trusted Types required, so no
// string can become markup. The page itself is never cached (it names the
// current assets); the assets carry a content hash in their names and are
// cached for a year.
package console

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Path is where the console lives on the public listener.
const Path = "/agent/"

// CSP is the console's Content-Security-Policy.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"

// hashedName is how the build names assets: name-<hash>.ext.
var hashedName = regexp.MustCompile(`^[a-z0-9_-]+-[0-9a-f]{8,}\.[a-z0-9]+$`)

type asset struct {
	body, gzipped []byte
	contentType   string
	immutable     bool
}

// Console serves the built console.
type Console struct {
	index  []byte
	assets map[string]*asset
}

// New reads the bundle from dist (web.Dist()'s "console" folder: index.html
// and assets/). It fails when the bundle is missing or index.html names an
// asset that is not there, so a broken build cannot be deployed unnoticed.
func New(dist fs.FS) (*Console, error) {
	index, err := fs.ReadFile(dist, "index.html")
	if err != nil {
		return nil, fmt.Errorf("console: the bundle is missing (run make web): %w", err)
	}
	c := &Console{index: index, assets: map[string]*asset{}}
	entries, err := fs.ReadDir(dist, "assets")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("console: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := fs.ReadFile(dist, "assets/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a := &asset{body: body, contentType: ct, immutable: hashedName.MatchString(e.Name())}
		if compressible(ct) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				a.gzipped = buf.Bytes()
			}
		}
		c.assets[e.Name()] = a
	}
	for _, m := range assetRef.FindAllSubmatch(index, -1) {
		if _, ok := c.assets[string(m[1])]; !ok {
			return nil, fmt.Errorf("console: index.html names assets/%s, which is not in the bundle", m[1])
		}
	}
	return c, nil
}

var assetRef = regexp.MustCompile(`"` + regexp.QuoteMeta(Path) + `assets/([^"]+)"`)

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") || strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

// Routes returns the console's routes, as patterns for http.ServeMux.
func (c *Console) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET " + strings.TrimSuffix(Path, "/"): http.RedirectHandler(Path, http.StatusMovedPermanently),
		"GET " + Path + "{$}":                  http.HandlerFunc(c.serveIndex),
		"GET " + Path + "assets/{name}":        http.HandlerFunc(c.serveAsset),
		"GET " + Path:                          http.HandlerFunc(c.notFound),
	}
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

func (c *Console) serveIndex(w http.ResponseWriter, r *http.Request) {
	headers(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page names the current assets and is where a signed-out agent
	// lands: never keep it.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(c.index)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(c.index)
	}
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := c.assets[r.PathValue("name")]
	if !ok {
		c.notFound(w, r)
		return
	}
	headers(w)
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	if a.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := a.body
	if a.gzipped != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	headers(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, "not found")
}
