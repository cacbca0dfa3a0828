package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// widgetPath is the stable URL of the citizen widget: pages embed
// <widgetPath>veilig-contact.js, so it changes only with an incompatible
// version of the widget's API.
const widgetPath = "/widget/v1/"

// widgetMaxAge is how long browsers and CDNs may use the widget without
// asking again. The URL is stable across releases, so it is short enough
// that a fix reaches every page within the hour; the ETag makes asking
// again cheap.
const widgetMaxAge = "public, max-age=3600"

type widgetFile struct {
	ctype      string
	body, gz   []byte
	etag, gzET string
}

// widgetRoutes serves the built widget (web/dist/widget/) at widgetPath to
// any page: CORS and Cross-Origin-Resource-Policy allow embedding sites
// that use Subresource Integrity or cross-origin isolation. The files are
// read and compressed once, at start.
func widgetRoutes(dist fs.FS) (map[string]http.Handler, error) {
	files := map[string]*widgetFile{}
	entries, err := fs.ReadDir(dist, "widget")
	if err != nil {
		// Not built: the routes answer 404, and the demo page says why.
		entries = nil
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := fs.ReadFile(dist, "widget/"+e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		f := &widgetFile{ctype: mime.TypeByExtension(path.Ext(e.Name())), body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		f.gz, f.gzET = buf.Bytes(), `"`+hex.EncodeToString(sum[:12])+`-gz"`
		files[e.Name()] = f
	}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", widgetMaxAge)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Add("Vary", "Accept-Encoding")
		body, etag := f.body, f.etag
		if acceptsGzip(r) {
			body, etag = f.gz, f.gzET
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
	return map[string]http.Handler{"GET " + widgetPath + "{file}": serve}, nil
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
