package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig/config"
)

// TestREADMEWalkthrough runs README.md's "The flow, with curl" as written,
// block after block in one shell, against a running veilig: only the
// address (a test listener with TLS), the binary's and the data folder's
// paths and the temporary files are put in, and the event stream runs in
// the background. The stream must go from created to ended, the agent must
// see the demo person's attributes, and ending must answer 204.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing: %v", tool, err)
			}
			t.Skipf("%s missing", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## The flow, with curl\n")
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if !ok || len(blocks) != 5 {
		t.Fatalf("README.md's walkthrough has %d shell blocks, want its 5 steps", len(blocks))
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "veilig")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "veilig.db")
	ta := startApp(t, db, nil)
	public := "https://" + ta.publicLn.Addr().String()

	var script strings.Builder
	for _, b := range blocks {
		script.WriteString(b[1])
	}
	events := filepath.Join(dir, "events.txt")
	text := strings.NewReplacer(
		"http://127.0.0.1:8080", public,
		"./bin/veilig", bin,
		"veilig-data/", ta.cfg.DataDir+"/",
		"/tmp/session.json", filepath.Join(dir, "session.json"),
		"/tmp/me.json", filepath.Join(dir, "me.json"),
		"/tmp/jar", filepath.Join(dir, "jar"),
	).Replace(script.String())
	// The stream follows in the background, as in a second terminal.
	stream := regexp.MustCompile(`(?m)^(curl -sN .*)$`)
	if !stream.MatchString(text) {
		t.Fatal("the walkthrough no longer follows the stream with curl -sN")
	}
	text = stream.ReplaceAllString(text, "timeout 60 $1 > "+events+" 2>&1 &\nsleep 1")
	cmd := exec.CommandContext(t.Context(), "bash", "-eo", "pipefail", "-c", text+"\nsleep 2\n")
	cmd.Env = append(os.Environ(),
		"CURL_CA_BUNDLE="+certFile, "SSL_CERT_FILE="+certFile, // the test listener's certificate
		"VEILIG_DATA_DIR="+ta.cfg.DataDir, "VEILIG_DATABASE_URL="+db,
		"VEILIG_PUBLIC_URL="+public, "VEILIG_INTERNAL_LISTEN="+strings.TrimPrefix(ta.internalURL(), "http://"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(events)
	for _, state := range []string{"created", "disclosing", "disclosed", "matched", "answered", "ended"} {
		if !strings.Contains(string(got), `"type":"`+state+`"`) {
			t.Errorf("the stream never showed %s:\n%s", state, got)
		}
	}
	for _, want := range []string{"Jan de Vries", "999999990", "\n204\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, out)
		}
	}
}

// TestREADMEStartupText: what README.md shows `make run` printing is what
// `veilig serve` prints on the default configuration (the version, and
// this test's own listeners and data folder, put back to the defaults).
func TestREADMEStartupText(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "It prints the URLs it serves:\n\n```\n")
	want, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("README.md no longer shows what make run prints")
	}
	ta := startApp(t, "sqlite:", func(c *config.Config) {
		c.Public.TLSCert, c.Public.TLSKey = "", ""
		c.Database.URL = "sqlite:" + c.DataDir + "/veilig.db" // as the default names it
	})
	var b strings.Builder
	printURLs(&b, ta.app)
	got := strings.NewReplacer(
		ta.publicURL, "http://127.0.0.1:8080",
		ta.internalURL(), "http://127.0.0.1:8081",
		ta.cfg.DataDir+"/", "veilig-data/",
		version, "dev",
	).Replace(b.String())
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("README.md shows:\n%s\nveilig serve prints:\n%s", want, got)
	}
}
