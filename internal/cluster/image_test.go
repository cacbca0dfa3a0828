package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImage builds deploy/compose's images with Debian's buildah, as
// deploy/compose/build-images.sh does for operators (containers cannot run
// here, images can be built), checks what they declare, and runs the
// veilig image's entrypoint from its root file system as the image's user
// in its working directory: it must serve /readyz, and its own health
// command must say so.
func TestImage(t *testing.T) {
	buildah := needTool(t, "buildah", "Debian's buildah")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("not root: buildah's storage and the image's user need root here")
		}
		t.Skip("not root: buildah's storage and the image's user need root here")
	}
	ctx := t.Context()
	dir := t.TempDir()
	storage := fmt.Sprintf("--storage-driver vfs --root %s --runroot %s", filepath.Join(dir, "storage"), filepath.Join(dir, "run"))
	bah := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, buildah, append(strings.Fields(storage), args...)...).Output()
		if err != nil {
			t.Fatalf("buildah %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	build := exec.CommandContext(ctx, "../../deploy/compose/build-images.sh")
	build.Env = append(os.Environ(), "BUILDER=buildah", "BUILDAH_FLAGS="+storage)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build-images.sh: %v\n%s", err, tail(string(out), 3000))
	}

	for _, img := range []struct{ name, entry string }{{"localhost/veilig:latest", "/veilig"}, {"localhost/veilig-yivi:latest", "/yivi"}} {
		var info struct {
			OCIv1 struct {
				Config struct {
					User       string
					WorkingDir string
					Entrypoint []string
				} `json:"config"`
			}
		}
		if err := json.Unmarshal([]byte(bah("inspect", "--type", "image", img.name)), &info); err != nil {
			t.Fatal(err)
		}
		c := info.OCIv1.Config
		if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{img.entry}) {
			t.Errorf("%s: user %q, entrypoint %v", img.name, c.User, c.Entrypoint)
		}
		if img.entry == "/veilig" && c.WorkingDir != "/var/lib/veilig" {
			t.Errorf("%s: working directory %q", img.name, c.WorkingDir)
		}
	}

	ctr := bah("from", "localhost/veilig:latest")
	t.Cleanup(func() { _ = exec.Command(buildah, append(strings.Fields(storage), "rm", ctr)...).Run() })
	root := bah("mount", ctr)
	t.Cleanup(func() { _ = exec.Command(buildah, append(strings.Fields(storage), "umount", ctr)...).Run() })

	// As the image runs it: its user, its working directory, its
	// entrypoint and command, no configuration file (the defaults: demo,
	// SQLite in the working directory); only the ports are ours.
	pub, _ := FreePort()
	internal, _ := FreePort()
	inImage := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "/veilig", args...)
		cmd.Dir = "/var/lib/veilig"
		cmd.Env = []string{
			fmt.Sprintf("VEILIG_PUBLIC_LISTEN=127.0.0.1:%d", pub),
			fmt.Sprintf("VEILIG_INTERNAL_LISTEN=127.0.0.1:%d", internal),
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 65532, Gid: 65532}, Pdeathsig: syscall.SIGKILL}
		return cmd
	}
	serve := inImage("serve")
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	serve.Stdout, serve.Stderr = logf, logf
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		_ = serve.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("serve log:\n%s", tail(string(b), 3000))
		}
	})
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", pub)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's entrypoint never served /readyz: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := inImage("health", "-url", ready).CombinedOutput(); err != nil {
		t.Fatalf("the image's health command: %v: %s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/veilig/veilig-data")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65532 {
		t.Fatalf("the data directory was not made by the image's user in its working directory: %v", err)
	}
}
