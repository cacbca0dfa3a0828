package cluster

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Build builds the veilig binary of the module at root into out.
func Build(ctx context.Context, root, out string) error {
	// go from PATH, else the one of the toolchain that built these tests.
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/veilig")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build veilig: %v: %s", err, b)
	}
	return nil
}

// Replica is a running `veilig serve` process.
type Replica struct {
	Name        string
	PublicURL   string // http://127.0.0.1:port, where it listens
	InternalURL string
	Dir         string
	cmd         *exec.Cmd
	done        chan struct{}
	exitErr     error
}

// ReplicaConfig is what differs between replicas; the rest of the YAML
// configuration is Common.
type ReplicaConfig struct {
	Bin    string
	Dir    string // data_dir and the log
	Name   string
	Public int // ports
	Intern int
	// PublicURL is what goes into Yivi QR codes and cookies: the proxy in
	// front, or the replica itself.
	PublicURL string
	// Common is the YAML shared by every replica (database, Yivi,
	// secrets, purposes); it must not set data_dir, public or internal.
	Common string
	// PProf serves Go's profiler on the internal listener.
	PProf bool
}

// StartReplica writes the configuration, starts the process and waits
// until /readyz answers 200.
func StartReplica(ctx context.Context, c ReplicaConfig) (*Replica, error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf("data_dir: %s\npublic:\n  listen: 127.0.0.1:%d\n  url: %s\n  trusted_proxies: [127.0.0.1/32]\ninternal:\n  listen: 127.0.0.1:%d\n  pprof: %t\n%s",
		filepath.Join(c.Dir, "data"), c.Public, c.PublicURL, c.Intern, c.PProf, c.Common)
	cfgPath := filepath.Join(c.Dir, "veilig.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(c.Dir, "veilig.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Bin, "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The configuration file says everything: VEILIG_* variables of ours
	// (tests, CI) would be taken as settings.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VEILIG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	r := &Replica{
		Name: c.Name, Dir: c.Dir, cmd: cmd, done: make(chan struct{}),
		PublicURL:   fmt.Sprintf("http://127.0.0.1:%d", c.Public),
		InternalURL: fmt.Sprintf("http://127.0.0.1:%d", c.Intern),
	}
	go func() {
		r.exitErr = cmd.Wait()
		logf.Close()
		close(r.done)
	}()
	if err := r.waitReady(ctx, 60*time.Second); err != nil {
		r.Kill()
		return nil, fmt.Errorf("%s: %w\n%s", c.Name, err, r.Log())
	}
	return r, nil
}

func (r *Replica) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("exited: %v", r.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := client.Get(r.PublicURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not ready in time")
}

// PID is the process id.
func (r *Replica) PID() int { return r.cmd.Process.Pid }

// Kill sends SIGKILL, as a crashed machine or an OOM kill would, and
// waits for the process to be gone.
func (r *Replica) Kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// Freeze stops the process (SIGSTOP) without ending it: it holds its
// connections and follows but does nothing, like a machine that hangs.
func (r *Replica) Freeze() { _ = r.cmd.Process.Signal(syscall.SIGSTOP) }

// Stop asks the process to shut down (SIGTERM) and waits at most limit.
func (r *Replica) Stop(limit time.Duration) {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(limit):
		r.Kill()
	}
}

// Exited reports whether the process ended.
func (r *Replica) Exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Log returns what the process logged.
func (r *Replica) Log() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "veilig.log"))
	return string(b)
}
