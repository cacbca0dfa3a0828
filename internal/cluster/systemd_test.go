package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit checks deploy/systemd/veilig.service with
// systemd-analyze verify, the veilig binary of this tree standing in at its
// ExecStart path: no error and no warning (an unknown or misspelt
// directive is only a warning to systemd, and would silently drop a
// protection).
func TestSystemdUnit(t *testing.T) {
	analyze := needTool(t, "systemd-analyze", "Debian's systemd")
	unit, err := os.ReadFile("../../deploy/systemd/veilig.service")
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/local/bin/veilig "
	if !strings.Contains(string(unit), exec0) {
		t.Fatalf("the unit no longer starts %s", exec0)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "veilig")
	if err := Build(t.Context(), "../..", bin); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "veilig.service")
	if err := os.WriteFile(path, []byte(strings.Replace(string(unit), exec0, "ExecStart="+bin+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, hardening := range []string{"User=veilig", "StateDirectory=veilig", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n"} {
		if !strings.Contains(string(unit), hardening) {
			t.Errorf("the unit lost %q", strings.TrimSpace(hardening))
		}
	}
}
