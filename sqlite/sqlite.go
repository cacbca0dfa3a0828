// Package sqlite implements veilig.Store and veilig.EventBus on a SQLite
// file (modernc.org/sqlite, pure Go): the embedded default, for a single
// process. Replicas sharing a database use package postgres instead.
//
// The database runs in WAL mode so readers never wait for the writer. All
// writes go through one connection, serialized in Go rather than by
// SQLite's busy handler: that keeps write transactions from failing with
// SQLITE_BUSY under load, makes MatchCode trivially race-free, and means
// events are committed, and therefore published, in Seq order. Times are
// stored as INTEGER unix milliseconds UTC (NULL for the zero time), so the
// store keeps millisecond precision.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/eventhub"
)

// Store is a veilig.Store and veilig.EventBus on one SQLite database.
type Store struct {
	db   *sql.DB // the one writer connection
	rdb  *sql.DB // readers; the same pool as db for an in-memory database
	wsem chan struct{}
	hub  eventhub.Hub

	closeOnce sync.Once
	closeErr  error
}

var (
	_ veilig.Store    = (*Store)(nil)
	_ veilig.EventBus = (*Store)(nil)
)

// busyTimeout only matters when another process (veilig migrate, a backup
// tool) holds the database; within this process writes queue in Go.
const busyTimeout = 10 * time.Second

// Open opens (creating if needed) the database at path and applies
// pending migrations. path ":memory:" gives a private in-memory database,
// for tests.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, veilig.Errorf(veilig.EINVALID, "sqlite: no database path")
	}
	memory := path == ":memory:"
	if !memory {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// An in-memory database lives as long as its connection, so the pool
	// must keep exactly one open for good.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, rdb: db, wsem: make(chan struct{}, 1)}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if !memory {
		s.rdb, err = sql.Open("sqlite", dsn(path, true))
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: open readers: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		s.rdb.SetMaxOpenConns(n)
		s.rdb.SetMaxIdleConns(n)
		if err := s.rdb.PingContext(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: open readers: %w", err)
		}
	}
	return s, nil
}

// createPrivate creates the database file readable by its owner only,
// unless it exists: it holds sealed personal data and the audit trail.
// SQLite gives the -wal and -shm files the database file's permissions.
func createPrivate(path string) error {
	name, _, _ := strings.Cut(path, "?")
	if strings.HasPrefix(name, "file:") {
		return nil // a URI: SQLite resolves it
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", name, err)
	}
	return f.Close()
}

// dsn adds the connection settings to path. synchronous=FULL because the
// audit trail is written with the acts it records and must survive a power
// cut; the write rate of a contact centre makes the extra fsync cheap.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// that reads before it writes cannot fail to upgrade its lock.
		q.Set("_txlock", "immediate")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode()
}

// Close closes the database and ends every subscription.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.hub.Reset()
		var errs []error
		if s.rdb != s.db {
			errs = append(errs, s.rdb.Close())
		}
		errs = append(errs, s.db.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Subscribe returns the events committed by this store that match f.
func (s *Store) Subscribe(ctx context.Context, f veilig.EventFilter) (<-chan veilig.Event, error) {
	return s.hub.Subscribe(ctx, f)
}

// write runs fn in a write transaction and publishes the events it returns
// once the transaction committed. The semaphore, not the pool, is what
// orders writers: it keeps commit and publish order equal to Seq order, and
// unlike a mutex it gives up when ctx ends.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) ([]veilig.Event, error)) error {
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: %s: %w", op, ctx.Err())
	}
	defer func() { <-s.wsem }()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", op, err)
	}
	events, err := fn(tx)
	if err != nil {
		tx.Rollback()
		return wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", op, err)
	}
	for _, e := range events {
		s.hub.Publish(e)
	}
	return nil
}

// wrap adds op to internal errors; application errors pass unchanged so
// their message stays what the caller may show.
func wrap(op string, err error) error {
	var e *veilig.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// constraint returns the message of a uniqueness or foreign key violation
// ("UNIQUE constraint failed: sessions.code_hash"): it names columns, never
// values. kind is "unique" or "foreign key"; ok is false for other errors.
func constraint(err error) (kind, msg string, ok bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return "", "", false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return "unique", se.Error(), true
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return "foreign key", se.Error(), true
	}
	return "", "", false
}

func isUnique(err error) (msg string, ok bool) {
	kind, msg, ok := constraint(err)
	return msg, ok && kind == "unique"
}

// norm returns t as the store keeps it, so that what a method returns
// equals what a later read returns.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// nullMillis stores the zero time as NULL.
func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMillis(v int64) time.Time {
	t := time.UnixMilli(v).UTC()
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

func fromNullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}

// nullBytes stores an empty byte slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// allPurposes reports whether a purpose filter selects everything.
func allPurposes(ps []string) bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if p == "*" {
			return true
		}
	}
	return false
}
