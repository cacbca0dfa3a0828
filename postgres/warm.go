package postgres

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/veiligcontact/veilig"
)

// A new connection is slow for its first statements: pgx prepares each
// statement once per connection, and a new PostgreSQL backend loads the
// catalog entries of every table and index it touches. Measured on a
// fresh replica under a telephony burst (docs/benchmarks.md), connections
// opened on demand took 20-40 ms per first statement, some of it while
// holding the event-order lock, so every other transition queued behind
// them: the first second of a fresh replica saw p99 latencies of hundreds
// of milliseconds, a warm one single milliseconds.
//
// So the pool is opened whole (MinConns defaults to MaxConns) before the
// replica serves, and every connection runs the statements of the
// telephony match path once, in a transaction that is rolled back, before
// the pool hands it out.

// warmTimeout bounds the warm-up of the pool at Open.
const warmTimeout = 10 * time.Second

// warmConn runs the hot statements on conn: the ones a call runs
// (signature, guessing count, the lookup with its match, the session
// reads) with values that match nothing, then rolls everything back.
// A failure is not the connection's: the statements run cold instead.
func warmConn(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	w := &Store{db: tx}
	key := make([]byte, 32)
	rand.Read(key)
	now := time.Now()
	steps := []func() error{
		func() error { return w.RememberSignature(ctx, key, now.Add(time.Minute)) },
		func() error { _, err := w.CountMisses(ctx, nil, now.Add(-time.Minute)); return err },
		func() error {
			_, err := w.LookUpCode(ctx, veilig.Attempt{CallerKey: key, Since: now.Add(-time.Minute), Max: 5, At: now}, key,
				veilig.Connection{Platform: "warm-up", ID: veilig.NewID()})
			return err
		},
		func() error { _, err := w.Session(ctx, veilig.NewID()); return notMissing(err) },
		func() error { _, err := w.SessionByConnection(ctx, "warm-up", veilig.NewID()); return notMissing(err) },
		func() error { _, err := w.SessionByCode(ctx, key, now); return notMissing(err) },
		func() error { return w.ForgiveMiss(ctx, 0) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func notMissing(err error) error {
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		return nil
	}
	return err
}

// warmPool opens the pool's MinConns connections at once, each warmed by
// AfterConnect, so that a replica's first calls find them ready.
func warmPool(ctx context.Context, pool *pgxpool.Pool, n int) error {
	ctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	conns := make([]*pgxpool.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = pool.Acquire(ctx) })
	}
	wg.Wait()
	for i, c := range conns {
		if c != nil {
			c.Release()
		} else if errs[i] != nil {
			return errs[i]
		}
	}
	return nil
}
