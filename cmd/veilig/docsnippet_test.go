package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSigningSnippet runs docs/telephony-api.md's shell example of a
// signed request (bash, openssl, xxd, curl) against a running veilig, with
// its secret and its internal listener's address put in: veilig must take
// it as a call (an unknown code: not matched), not refuse the signature.
func TestSigningSnippet(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "xxd", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing: %v", tool, err)
			}
			t.Skipf("%s missing", tool)
		}
	}
	doc, err := os.ReadFile("../../docs/telephony-api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```sh\n")
	snippet, _, closed := strings.Cut(rest, "```")
	if !ok || !closed || !strings.Contains(snippet, "secret_b64=...") || !strings.Contains(snippet, "http://127.0.0.1:8081/") {
		t.Fatalf("docs/telephony-api.md's signing example changed shape:\n%s", snippet)
	}
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	script := strings.NewReplacer(
		"secret_b64=...", "secret_b64="+base64.StdEncoding.EncodeToString(ta.secrets.telephonySecret),
		"http://127.0.0.1:8081/", ta.internalURL()+"/",
	).Replace(snippet)
	out, err := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("the snippet: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != `{"matched":false}` {
		t.Fatalf("veilig answered the documented request with %s", out)
	}
}
