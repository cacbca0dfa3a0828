// Package testpg gives tests a fresh PostgreSQL database of their own.
//
// The server is the one in VEILIG_TEST_POSTGRES_URL, by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. When it
// cannot be reached, tests are skipped, except under CI=true, where a
// missing database is a broken pipeline rather than a developer laptop.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server used when VEILIG_TEST_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the URL of the server tests create databases on.
func ServerURL() string {
	if u := os.Getenv("VEILIG_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// unreachable remembers that the server did not answer, so that each
// later test skips at once instead of waiting for its own timeout.
var unreachable struct {
	sync.Mutex
	err error
}

const timeout = 10 * time.Second

// URL creates an empty database for t, drops it when t ends, and returns
// its URL.
func URL(t testing.TB) string {
	t.Helper()
	server := ServerURL()
	unreachable.Lock()
	err := unreachable.err
	unreachable.Unlock()
	if err != nil {
		unavailable(t, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		unreachable.Lock()
		unreachable.err = err
		unreachable.Unlock()
		unavailable(t, err)
	}
	defer conn.Close(context.Background())

	b := make([]byte, 8)
	rand.Read(b)
	name := "veilig_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, server, name)
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testpg: PostgreSQL at %s is required under CI: %v", redacted(ServerURL()), err)
	}
	t.Skipf("testpg: PostgreSQL at %s unavailable (set VEILIG_TEST_POSTGRES_URL): %v", redacted(ServerURL()), err)
}

// withDatabase returns server with its database replaced by name, for
// both URL and key=value connection strings.
func withDatabase(t testing.TB, server, name string) string {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			t.Fatalf("testpg: %v", err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return server + " dbname=" + name
}

func redacted(server string) string {
	if u, err := url.Parse(server); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the configured server"
}
