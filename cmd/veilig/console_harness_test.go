package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

// The console's browser tests run a node script (web/console/test/) in the
// background while the Go test plays the rest of the world: the person
// with the Yivi app (a real irmago wallet), the telephony platform (signed
// requests) and the clock. They meet through a handshake folder: the
// script writes a file named after each step it reached and waits for the
// Go test's answer file "go-<step>"; every wait on either side is bounded.

// startConsoleApp runs the app on plain http on 127.0.0.1: Chromium would
// refuse the harness's self-signed certificate, and the console needs
// nothing TLS adds on loopback. Yivi runs without production mode because
// of that; everything else is the real wiring.
func startConsoleApp(t *testing.T, dbURL string, mutate func(*config.Config)) *testApp {
	t.Helper()
	return startApp(t, dbURL, func(c *config.Config) {
		c.Public.TLSCert, c.Public.TLSKey = "", ""
		c.Yivi.Production = false
		c.Purposes = append(c.Purposes, config.Purpose{
			ID:             "other",
			Labels:         map[string]string{"nl": "Andere vraag", "en": "Another question"},
			Disclose:       [][][]string{{{demoscheme.FullName}}},
			PhoneNumber:    "+31850000001",
			AllowedOrigins: []string{"*"},
		})
		c.Agents.URLTemplates = map[string]string{demoscheme.BSN: "https://zaken.example.test/persoon/{value}?bron=veilig"}
		if mutate != nil {
			mutate(c)
		}
	})
}

// newDevWallet is newWallet for an app on plain http, where the Yivi
// client must be in developer mode.
func (ta *testApp) newDevWallet() *wallet.Wallet {
	ta.t.Helper()
	return ta.newWallet(wallet.WithDeveloperMode())
}

// addAccount makes an account with a role; the password is username +
// "-password-long". It is of the organisation of its first purpose (the
// default organisation for none or "*").
func (ta *testApp) addAccount(username string, role veilig.Role, purposes ...string) string {
	ta.t.Helper()
	return ta.addAccountIn(ta.organisationOf(purposes...), username, role, purposes...)
}

// addAccountIn is addAccount for an account of organisation org.
func (ta *testApp) addAccountIn(org, username string, role veilig.Role, purposes ...string) string {
	ta.t.Helper()
	hash, err := agentauth.HashPassword(username + "-password-long")
	if err != nil {
		ta.t.Fatal(err)
	}
	a := &veilig.Agent{ID: veilig.NewID(), Username: username, DisplayName: "Agent " + username, Role: role, Purposes: purposes, PasswordHash: hash, CreatedAt: time.Now(), OrgID: org}
	if err := ta.store.CreateAgent(context.Background(), a); err != nil {
		ta.t.Fatal(err)
	}
	return a.ID
}

// organisationOf is the organisation of the first of purposes.
func (ta *testApp) organisationOf(purposes ...string) string {
	if len(purposes) == 0 || purposes[0] == "*" {
		return veilig.DefaultOrganisation
	}
	p, err := ta.service.Purpose(purposes[0])
	if err != nil {
		return veilig.DefaultOrganisation
	}
	return veilig.OrganisationOr(p.OrgID)
}

// handshake is the folder the Go test and the node script meet in.
type handshake struct {
	t    *testing.T
	dir  string
	done <-chan struct{} // closed when the script has exited
}

// wait waits for the script to reach step, failing the test if the
// script ends first or takes longer than timeout. It returns what the
// script wrote in the file.
func (h *handshake) wait(step string, timeout time.Duration) []byte {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(h.dir, step)); err == nil {
			return b
		}
		select {
		case <-h.done:
			// One last look: the script may have written and exited.
			if b, err := os.ReadFile(filepath.Join(h.dir, step)); err == nil {
				return b
			}
			h.t.Fatalf("the browser script ended before step %q", step)
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.t.Fatalf("the browser script did not reach step %q within %v", step, timeout)
	return nil
}

// answer lets the script go on past step, handing it v as JSON.
func (h *handshake) answer(step string, v any) {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	tmp := filepath.Join(h.dir, ".go-"+step)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		h.t.Fatal(err)
	}
	// Renamed into place, so the script never reads half a file.
	if err := os.Rename(tmp, filepath.Join(h.dir, "go-"+step)); err != nil {
		h.t.Fatal(err)
	}
}

// startNode runs `node --test <script>` in web/<project> in the background,
// like runNode, with HANDSHAKE_DIR set. finish waits for it (bounded by
// timeout), logs its output and fails the test if it failed.
func startNode(t *testing.T, project, script string, env map[string]string, timeout time.Duration) (hs *handshake, finish func()) {
	t.Helper()
	dir := requireBrowser(t, project)
	hsDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "--test-timeout="+strconv.FormatInt(timeout.Milliseconds(), 10), script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromiumPath, "ARTIFACTS_DIR="+artifactsDir(t), "HANDSHAKE_DIR="+hsDir)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Node and the Chromium it starts share a process group, so stopping
	// the script never leaves a browser behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node: %v", err)
	}
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = cmd.Wait()
		close(done)
	}()
	var once sync.Once
	finish = func() {
		t.Helper()
		once.Do(func() {
			if t.Failed() {
				// The Go side gave up: tell the script, which would
				// otherwise wait for answers that never come.
				os.WriteFile(filepath.Join(hsDir, "go-abort"), []byte("{}"), 0o600)
			}
			select {
			case <-done:
			case <-time.After(timeout):
				cancel()
				<-done
			}
			cancel()
			t.Logf("node %s:\n%s", script, out.String())
			if runErr != nil {
				t.Errorf("browser test %s failed: %v", script, runErr)
			}
		})
	}
	// A test that fails halfway still stops the browser and shows its output.
	t.Cleanup(finish)
	return &handshake{t: t, dir: hsDir, done: done}, finish
}
