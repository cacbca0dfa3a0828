package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Browser tests drive Debian's headless Chromium with playwright-core from
// node scripts under web/<project>/test/, against an app started by the Go
// test. They need /usr/bin/chromium, node and the project's node_modules
// (`make test` installs them); without them a test skips, except under
// CI=true, where it fails.

const chromiumPath = "/usr/bin/chromium"

// artifactsDir is where browser tests save screenshots (kept by CI).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "artifacts", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func requireBrowser(t *testing.T, project string) string {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test needs %s (make test installs it)", what)
		}
		t.Skipf("browser test skipped: %s missing (make test installs it)", what)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing(chromiumPath)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node")
	}
	dir, _ := filepath.Abs(filepath.Join("..", "..", "web", project))
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
			missing("web/" + project + "/node_modules/" + pkg + " (npm ci)")
		}
	}
	return dir
}

// runNode runs `node --test <script>` in web/<project> with env added,
// bounded by timeout, and fails the test with node's output if it fails.
func runNode(t *testing.T, project, script string, env map[string]string, timeout time.Duration) {
	t.Helper()
	dir := requireBrowser(t, project)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromiumPath, "ARTIFACTS_DIR="+artifactsDir(t))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// On timeout, kill node and the Chromium it started (its own process
	// group), and stop waiting for output pipes they may still hold.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", script, out)
	if err != nil {
		t.Fatalf("browser test %s failed: %v", script, err)
	}
}
