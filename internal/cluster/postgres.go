package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBin is where Debian puts the server programs of the newest
// PostgreSQL installed (/usr/lib/postgresql/<major>/bin), so the tests do not
// depend on the release a machine happens to have.
var PostgresBin = newestPostgresBin()

func newestPostgresBin() string {
	best, bestMajor := "/usr/lib/postgresql/15/bin", -1
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	for _, initdb := range found {
		bin := filepath.Dir(initdb)
		if major, err := strconv.Atoi(filepath.Base(filepath.Dir(bin))); err == nil && major > bestMajor {
			best, bestMajor = bin, major
		}
	}
	return best
}

// Postgres is a PostgreSQL server of our own.
type Postgres struct {
	Port int
	dir  string // parent of data/, socket/ and the log
	bin  string
	user string // the OS user running the server ("" for us)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartPostgres creates a cluster under dir and starts it on a free port of
// 127.0.0.1, trusting local connections (it is reachable from this machine
// only and lives as long as the test). PostgreSQL refuses to run as root,
// so as root it runs as the postgres user. fsync stays on: benchmarks
// measure what a real server pays for a commit.
func StartPostgres(ctx context.Context, dir, bin string) (*Postgres, error) {
	if bin == "" {
		bin = PostgresBin
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		return nil, fmt.Errorf("postgres: no initdb in %s (apt-get install postgresql): %w", bin, err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p := &Postgres{Port: port, dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		p.user = "postgres"
		if _, err := user.Lookup(p.user); err != nil {
			return nil, fmt.Errorf("postgres: running as root needs a postgres user: %w", err)
		}
	}
	for _, d := range []string{"data", "socket"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if p.user != "" {
		// The server's user must reach its directories.
		for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 && strings.HasPrefix(d, os.TempDir()) {
				_ = os.Chmod(d, st.Mode().Perm()|0o711)
			}
		}
		if out, err := exec.CommandContext(ctx, "chown", "-R", p.user, dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("postgres: chown: %v: %s", err, out)
		}
	}
	if out, err := p.run(ctx, "initdb", "-D", p.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"); err != nil {
		return nil, fmt.Errorf("postgres: initdb: %v: %s", err, out)
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Postgres) data() string    { return filepath.Join(p.dir, "data") }
func (p *Postgres) logFile() string { return filepath.Join(p.dir, "postgres.log") }

func (p *Postgres) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	path := filepath.Join(p.bin, prog)
	var cmd *exec.Cmd
	if p.user != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.user, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = p.dir
	return cmd.CombinedOutput()
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	opts := "-p " + strconv.Itoa(p.Port) + " -k " + filepath.Join(p.dir, "socket") +
		" -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB"
	if out, err := p.run(ctx, "pg_ctl", "-D", p.data(), "-l", p.logFile(), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		return fmt.Errorf("postgres: start: %v: %s", err, out)
	}
	return nil
}

// Stop stops the server: "fast" disconnects clients and shuts down
// cleanly, "immediate" is a crash (recovery on the next start).
func (p *Postgres) Stop(ctx context.Context, mode string) error {
	if out, err := p.run(ctx, "pg_ctl", "-D", p.data(), "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("postgres: stop: %v: %s", err, out)
	}
	return nil
}

// Restart stops the server with mode and starts it again.
func (p *Postgres) Restart(ctx context.Context, mode string) error {
	if err := p.Stop(ctx, mode); err != nil {
		return err
	}
	return p.Start(ctx)
}

// URL is the connection URL of database db.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// PoolURL is URL for a replica: pool_max_conns raises pgx's default pool
// (4 connections on two cores), too small for a replica under load.
func (p *Postgres) PoolURL(db string, conns int) string {
	return fmt.Sprintf("%s&pool_max_conns=%d", p.URL(db), conns)
}

// CreateDatabase creates database name.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// Log returns the server's log, for failure reports.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(p.logFile())
	return string(b)
}
