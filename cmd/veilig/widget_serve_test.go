package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig/config"
)

// TestWidgetServed: the widget is served at its stable URL, byte for byte
// the committed bundle, to any page (CORS, CORP), cacheable and
// revalidated by ETag, compressed when asked, with or without demo mode.
func TestWidgetServed(t *testing.T) {
	for name, mutate := range map[string]func(*config.Config){"demo": nil, "production-like": demoOff(t)} {
		t.Run(name, func(t *testing.T) {
			ta := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), mutate)
			for file, ctype := range map[string]string{"veilig-contact.js": "text/javascript", "veilig-contact.css": "text/css"} {
				want, err := os.ReadFile(filepath.Join("..", "..", "web", "dist", "widget", file))
				if err != nil {
					t.Fatalf("the widget is not built (make web): %v", err)
				}
				get := func(hdr map[string]string) (*http.Response, []byte) {
					req, _ := http.NewRequest("GET", ta.publicURL+widgetPath+file, nil)
					req.Header.Set("Origin", "https://www.gemeente.example")
					for k, v := range hdr {
						req.Header.Set(k, v)
					}
					// A transport of its own: the default one would
					// ungzip behind our back.
					resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: ta.client.Transport.(*http.Transport).TLSClientConfig, DisableCompression: true}}).Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					body, _ := io.ReadAll(resp.Body)
					return resp, body
				}

				resp, body := get(nil)
				h := resp.Header
				if resp.StatusCode != 200 || !bytes.Equal(body, want) {
					t.Fatalf("%s: %d, %d bytes, want the %d committed bytes", file, resp.StatusCode, len(body), len(want))
				}
				if !strings.HasPrefix(h.Get("Content-Type"), ctype) || h.Get("Access-Control-Allow-Origin") != "*" ||
					h.Get("Cross-Origin-Resource-Policy") != "cross-origin" || h.Get("Cache-Control") != "public, max-age=3600" ||
					h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
					t.Fatalf("%s headers: %v", file, h)
				}

				resp2, body2 := get(map[string]string{"If-None-Match": h.Get("ETag")})
				if resp2.StatusCode != http.StatusNotModified || len(body2) != 0 {
					t.Fatalf("%s revalidation: %d", file, resp2.StatusCode)
				}

				resp3, gz := get(map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
				if resp3.Header.Get("Content-Encoding") != "gzip" || resp3.Header.Get("ETag") == h.Get("ETag") {
					t.Fatalf("%s gzip: %v", file, resp3.Header)
				}
				zr, err := gzip.NewReader(bytes.NewReader(gz))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if !bytes.Equal(plain, want) || len(gz) >= len(want) {
					t.Fatalf("%s: the gzipped widget (%d bytes) is not the widget", file, len(gz))
				}
				t.Logf("%s: %d bytes, %d gzipped", file, len(want), len(gz))

				if resp4, _ := get(map[string]string{"Accept-Encoding": "gzip;q=0"}); resp4.Header.Get("Content-Encoding") != "" {
					t.Fatalf("%s: gzip sent although refused", file)
				}
			}
			for _, p := range []string{widgetPath + "nope.js", widgetPath + "..%2Fweb.go", "/widget/v2/veilig-contact.js", widgetPath} {
				if st := ta.do("GET", p, nil, nil, nil); st != 404 {
					t.Errorf("%s: %d, want 404", p, st)
				}
			}
		})
	}
}

// TestWidgetAPIForOtherSites: what an embedding site's browser needs
// besides our citizen API: to follow the Yivi session on the embedded Yivi
// server (CORS for allowed origins only), and to learn why a start was
// refused (the purpose endpoint, readable from anywhere).
func TestWidgetAPIForOtherSites(t *testing.T) {
	const site = "https://www.gemeente.example"
	ta := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), func(c *config.Config) {
		c.Purposes = append(c.Purposes, elsewherePurpose(site))
	})

	// The Yivi server answers allowed origins' preflights and requests.
	s := ta.startSessionFrom("elsewhere", site)
	var ptr struct{ U string }
	jsonUnmarshal(t, s.SessionPtr, &ptr)
	path := strings.TrimPrefix(ptr.U, ta.publicURL) + "/frontend/status"
	hdr := map[string]string{"Origin": site, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
	resp := ta.raw("OPTIONS", path, hdr)
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != site ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") {
		t.Fatalf("preflight from an allowed site: %d %v", resp.StatusCode, resp.Header)
	}
	var fr struct{ Authorization string }
	jsonUnmarshal(t, s.FrontendRequest, &fr)
	resp = ta.raw("GET", path, map[string]string{"Origin": site, "Authorization": fr.Authorization})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != site {
		t.Fatalf("status from an allowed site: %d %v", resp.StatusCode, resp.Header)
	}
	// Other sites get nothing to read.
	hdr["Origin"] = "https://evil.example"
	if resp := ta.raw("OPTIONS", path, hdr); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another site: %d %v", resp.StatusCode, resp.Header)
	}
	resp = ta.raw("GET", path, map[string]string{"Origin": "https://evil.example", "Authorization": fr.Authorization})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("status to another site is readable: %v", resp.Header)
	}
	// The Yivi app (no Origin) is unaffected.
	if resp := ta.raw("GET", strings.TrimPrefix(ptr.U, ta.publicURL)+"/frontend/status", map[string]string{"Authorization": fr.Authorization}); resp.StatusCode != 200 {
		t.Fatalf("status without Origin: %d", resp.StatusCode)
	}

	// The purpose endpoint.
	var info struct {
		ID            string
		Labels        map[string]string
		OriginAllowed *bool
	}
	for origin, allowed := range map[string]bool{site: true, "https://evil.example": false, ta.publicURL: false} {
		info.OriginAllowed = nil
		if st := ta.do("GET", "/api/v1/purposes/elsewhere", nil, map[string]string{"Origin": origin}, &info); st != 200 || info.ID != "elsewhere" || info.Labels["nl"] == "" || info.OriginAllowed == nil || *info.OriginAllowed != allowed {
			t.Fatalf("purpose from %s: %d %+v", origin, st, info)
		}
	}
	info.OriginAllowed = nil
	if st := ta.do("GET", "/api/v1/purposes/demo?origin="+ta.publicURL, nil, nil, &info); st != 200 || info.OriginAllowed == nil || !*info.OriginAllowed {
		t.Fatalf("purpose with the origin in the query: %d %+v", st, info)
	}
	info.OriginAllowed = nil
	if st := ta.do("GET", "/api/v1/purposes/demo", nil, nil, &info); st != 200 || info.OriginAllowed != nil {
		t.Fatalf("purpose without an origin: %d %+v", st, info)
	}
	var e apiError
	if st := ta.do("GET", "/api/v1/purposes/nope", nil, map[string]string{"Origin": site}, &e); st != 404 || e.Error.Code != "not_found" {
		t.Fatalf("unknown purpose: %d %+v", st, e)
	}
	if resp := ta.raw("GET", "/api/v1/purposes/nope", map[string]string{"Origin": "https://evil.example"}); resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("the refusal is not readable by the widget")
	}
}

// TestWidgetDeployExample: the purposes in deploy/widget/purpose.yaml are a
// valid configuration.
func TestWidgetDeployExample(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "..", "deploy", "widget", "purpose.yaml"), []string{"VEILIG_YIVI_SCHEMES_PATH=/etc/veilig/schemes"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Purposes) != 2 || cfg.Demo || cfg.Purposes[0].AllowedOrigins[0] != "https://www.gemeente.example" {
		t.Fatalf("purposes %+v", cfg.Purposes)
	}
}
