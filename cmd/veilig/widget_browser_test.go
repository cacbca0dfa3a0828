package main

import (
	"html/template"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig/config"
)

// embedPage is a page of another site that embeds the widget, as
// docs/widget.md and deploy/widget/example.html say: the script from veilig, a button with data
// attributes (inline) or the JavaScript API (a modal dialog). Its content
// is in a <main> landmark, as the example's, so that axe judges the
// widget, not this page.
var embedPage = template.Must(template.New("embed").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<title>Another site</title>
<script src="{{.Backend}}/widget/v1/veilig-contact.js" defer></script>
<script src="/embed.js" defer></script>
</head>
<body data-backend="{{.Backend}}" data-purpose="{{.Purpose}}" data-lang="{{.Lang}}">
<main>
<h1>Another site</h1>
{{if eq .Mode "api"}}<button type="button" id="api">Call us</button>
{{else}}<button type="button" id="call" data-veilig-contact data-backend="{{.Backend}}" data-purpose="{{.Purpose}}" data-lang="{{.Lang}}" data-element="#slot">Call us</button>
<div id="slot"></div>{{end}}
</main>
</body>
</html>
`))

// embedScript uses the JavaScript API; it is a file because the page's CSP
// allows no inline script.
const embedScript = `document.getElementById('api')?.addEventListener('click', () => {
  const b = document.body.dataset;
  VeiligContact.start({ backend: b.backend, purpose: b.purpose, lang: b.lang });
});
`

// embedCSP is the Content-Security-Policy deploy/widget/nginx-site.conf
// gives an embedding site, read from that file (so the test proves the
// documented policy works), for backend instead of the example's.
func embedCSP(t *testing.T, backend string) string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "widget", "nginx-site.conf"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`add_header Content-Security-Policy "([^"]+)"`).FindSubmatch(conf)
	if m == nil {
		t.Fatal("deploy/widget/nginx-site.conf has no Content-Security-Policy")
	}
	apache, err := os.ReadFile(filepath.Join("..", "..", "deploy", "widget", "apache-site.conf"))
	if err != nil || !strings.Contains(string(apache), `Content-Security-Policy "`+string(m[1])+`"`) {
		t.Fatal("deploy/widget/apache-site.conf gives another policy than nginx-site.conf")
	}
	csp := strings.ReplaceAll(string(m[1]), "https://contact.gemeente.example", backend)
	if strings.Contains(csp, "unsafe") || !strings.Contains(csp, "script-src 'self' "+backend) {
		t.Fatalf("policy %q", csp)
	}
	return csp
}

// TestWidgetInBrowser embeds the widget on another origin (another port on
// 127.0.0.1) under a strict CSP, in headless Chromium: a site the purpose
// does not allow and an unknown purpose get clear messages (Dutch and
// English), an allowed site works across origins, in a modal dialog with
// focus management, and cancelling ends the session
// (web/widget/test/embed.test.mjs).
func TestWidgetInBrowser(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := "http://" + ln.Addr().String()
	ta := startDemoApp(t, func(c *config.Config) {
		c.Purposes = append(c.Purposes, elsewherePurpose(site))
	})

	csp := embedCSP(t, ta.publicURL)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /embed", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		_ = embedPage.Execute(w, map[string]string{"Backend": ta.publicURL, "Purpose": q.Get("purpose"), "Lang": q.Get("lang"), "Mode": q.Get("mode")})
	})
	mux.HandleFunc("GET /embed.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(embedScript))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if strings.HasPrefix(site, ta.publicURL) {
		t.Fatal("the embedding site must be another origin")
	}

	runNode(t, "widget", "test/embed.test.mjs", map[string]string{
		"BASE_URL": ta.publicURL,
		"SITE_URL": site,
	}, 4*time.Minute)
}

// TestWidgetCodeGroups: how the widget groups a code of any length for the
// eye (web/widget/test/code.test.mjs; no browser needed, but the same
// setup).
func TestWidgetCodeGroups(t *testing.T) {
	runNode(t, "widget", "test/code.test.mjs", nil, time.Minute)
}
