// Package postgres implements veilig.Store and veilig.EventBus on
// PostgreSQL (pgx v5), for replicas sharing one database.
//
// # Events across replicas
//
// Every transaction that appends an event also sends it with
// pg_notify('veilig_events', <event JSON>). PostgreSQL delivers a
// notification only when its transaction commits, in commit order, to every
// session listening on the channel. Each Store holds one dedicated
// connection that LISTENs and publishes what arrives to a local
// eventhub.Hub, which Subscribe hands out. A replica sees its own events the
// same way as everyone else's: one path, one order.
//
// Seq is a sequence, and sequences hand out numbers in call order, not
// commit order: two transactions could commit 11 before 10, and a stream
// that saw 11 and resumed from it would never see 10. So appending events
// takes a transaction-level advisory lock, held until commit, right before
// the first insert: event transactions commit in Seq order. It is taken as
// late as possible, after the session row locks, so it is held only for
// the insert, the notify and the commit.
//
// # Lost connections
//
// Notifications sent while the listening connection is down are lost. When
// it breaks, the listener calls Hub.Reset, which closes every subscription:
// as the veilig.EventBus contract says, subscribers then catch up from the
// store (EventsSince) and subscribe again. It reconnects with backoff and,
// once LISTEN is back, resets once more, because whoever subscribed while
// the connection was down may have missed events that committed before the
// new LISTEN took effect. A connection that goes quiet is pinged, so a
// half-open TCP connection is noticed within a minute rather than when the
// kernel gives up on it.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/eventhub"
)

// Channel is the notification channel events are sent on.
const Channel = "veilig_events"

// Advisory lock keys, arbitrary but fixed: every replica must use the same.
const (
	migrateLock int64 = 0x7665696c6967_01 // "veilig" 1: migrations
	eventsLock  int64 = 0x7665696c6967_02 // "veilig" 2: event Seq order
)

// Listener timing. Variables, not constants, so tests can shorten them;
// Open copies pingInterval so a running listener never reads the variable.
var (
	pingInterval   = 30 * time.Second // ping a connection that was quiet this long
	pingTimeout    = 10 * time.Second
	connectTimeout = 10 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 10 * time.Second
)

// Store is a veilig.Store and veilig.EventBus on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// db runs the statements: the pool, or while a new connection is
	// warmed up, a transaction on it (warm.go).
	db           querier
	listenConfig *pgx.ConnConfig
	hub          eventhub.Hub
	log          *slog.Logger
	pingInterval time.Duration

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// querier is what both the pool and a transaction do.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

var (
	_ veilig.Store    = (*Store)(nil)
	_ veilig.EventBus = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or key=value
// string), applies pending migrations and starts listening for events. The
// pool is named "veilig" and the listener "veilig-listener" in
// pg_stat_activity unless the URL sets application_name.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	app := cfg.ConnConfig.RuntimeParams["application_name"]
	if app == "" {
		app = "veilig"
		cfg.ConnConfig.RuntimeParams["application_name"] = app
	}
	listenConfig := cfg.ConnConfig.Copy()
	listenConfig.RuntimeParams["application_name"] = app + "-listener"
	// The pool is opened whole and warm before the replica serves
	// (warm.go); pool_min_conns in the URL overrides.
	if cfg.MinConns == 0 {
		cfg.MinConns = cfg.MaxConns
	}
	var migrated atomic.Bool
	log := slog.Default().With("component", "postgres")
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if migrated.Load() {
			if err := warmConn(ctx, conn); err != nil {
				log.Warn("warming a new connection up failed; its statements run cold", "err", err)
			}
		}
		return nil
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	// The connections opened before the tables existed were not warmed:
	// they go, and the pool is opened anew.
	migrated.Store(true)
	pool.Reset()
	if err := warmPool(ctx, pool, int(cfg.MinConns)); err != nil {
		log.Warn("warming the pool up failed; connections open on demand", "err", err)
	}
	s := &Store{
		pool:         pool,
		db:           pool,
		listenConfig: listenConfig,
		log:          slog.Default().With("component", "postgres listener"),
		pingInterval: pingInterval,
		done:         make(chan struct{}),
	}
	// The first LISTEN happens before Open returns, so that an event
	// committed after Open always reaches a subscriber.
	conn, err := s.listen(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.run(lctx, conn)
	return s, nil
}

// Close stops the listener, ends every subscription and closes the pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.hub.Reset()
		s.pool.Close()
	})
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Subscribe returns the events committed by any replica that match f.
func (s *Store) Subscribe(ctx context.Context, f veilig.EventFilter) (<-chan veilig.Event, error) {
	return s.hub.Subscribe(ctx, f)
}

// listen opens the listening connection.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

// run receives notifications until ctx ends, reconnecting as needed.
func (s *Store) run(ctx context.Context, conn *pgx.Conn) {
	defer close(s.done)
	for {
		err := s.receive(ctx, conn)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("lost the connection; subscribers catch up from the store", "err", err)
		s.hub.Reset()
		if conn = s.reconnect(ctx); conn == nil {
			return
		}
		s.log.Info("listening again")
		s.hub.Reset()
	}
}

// reconnect retries listen with exponential backoff and jitter, so that
// replicas that lost the database together do not return in lockstep. It
// returns nil when ctx ends.
func (s *Store) reconnect(ctx context.Context) *pgx.Conn {
	delay := minBackoff
	for {
		wait := delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		conn, err := s.listen(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("cannot listen yet", "err", err)
		delay = min(2*delay, maxBackoff)
	}
}

// receive publishes notifications until the connection fails or ctx ends.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, s.pingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !pgconn.Timeout(err) || conn.IsClosed() {
				return err
			}
			// Quiet is fine, silence is not: a timed-out wait leaves the
			// connection usable, so check it answers.
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		var e veilig.Event
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			// Not ours: someone else notified on the channel.
			s.log.Warn("ignoring a malformed notification", "err", err)
			continue
		}
		e.At = e.At.UTC()
		s.hub.Publish(e)
	}
}

// maxNotifyReason bounds the reason sent in a notification: payloads are
// limited to 8000 bytes and an over-long one would abort the transaction.
// The stored event keeps the whole reason.
const maxNotifyReason = 1024

// notifyPayload is e as sent on Channel.
func notifyPayload(e veilig.Event) (string, error) {
	if len(e.Reason) > maxNotifyReason {
		r := e.Reason[:maxNotifyReason]
		for len(r) > 0 && !utf8.ValidString(r) {
			r = r[:len(r)-1]
		}
		e.Reason = r
	}
	b, err := json.Marshal(e)
	return string(b), err
}

// appendEvents inserts es, which get their Seq, and notifies every
// listener on commit.
//
// The event-order lock serialises every event-writing transaction from
// the moment it is granted until commit, so each client round trip made
// while holding it is paid by every writer queued behind it, and a brief
// CPU shortage becomes a queue of every writer. One statement per event
// takes the lock, inserts and notifies, so the lock is held for that
// statement and the COMMIT only, not for three round trips. The payload is the event's JSON with the Seq spliced in
// by the database, byte for byte what notifyPayload gives.
func appendEvents(ctx context.Context, tx pgx.Tx, es []veilig.Event) error {
	for i := range es {
		e := &es[i]
		e.At = norm(e.At)
		e.Seq = 0
		payload, err := notifyPayload(*e)
		if err != nil {
			return err
		}
		rest, ok := strings.CutPrefix(payload, `{"seq":0,`)
		if !ok {
			return fmt.Errorf("event payload %.10q does not start with its seq", payload)
		}
		// pg_advisory_xact_lock is re-entrant: a second event of the same
		// transaction takes it again at no cost. The INSERT selects from
		// the lock, so its Seq is drawn only once the lock is held.
		if err := tx.QueryRow(ctx, `WITH lock AS (SELECT pg_advisory_xact_lock($1::bigint)),
			ins AS (INSERT INTO events (session_id, purpose_id, type, reason, at)
				SELECT $2::text, $3::text, $4::text, $5::text, $6::timestamptz FROM lock RETURNING seq)
			SELECT seq, pg_notify($7::text, '{"seq":' || seq || ',' || $8::text) FROM ins`,
			eventsLock, e.SessionID, e.PurposeID, e.Type, e.Reason, e.At, Channel, rest).Scan(&e.Seq, nil); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	return wrap(op, pgx.BeginFunc(ctx, s.db, fn))
}

// wrap adds op to internal errors; application errors pass unchanged so
// their message stays what the caller may show.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *veilig.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// violation returns the constraint a uniqueness (kind "unique") or foreign
// key (kind "foreign key") violation is about. The error's detail, which
// holds the offending values, is never used.
func violation(err error) (kind, constraint string, ok bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "", "", false
	}
	switch pe.Code {
	case "23505":
		return "unique", pe.ConstraintName, true
	case "23503":
		return "foreign key", pe.ConstraintName, true
	}
	return "", "", false
}

func isUnique(err error) (constraint string, ok bool) {
	kind, c, ok := violation(err)
	return c, ok && kind == "unique"
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return veilig.Errorf(veilig.ENOTFOUND, "%s not found", what)
	}
	return err
}

// norm returns t as PostgreSQL keeps it (microseconds, UTC), so what a
// method returns equals what a later read returns.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromDB returns a time read from the database in UTC, zero as zero.
func fromDB(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// fromNull returns a nullable time read from the database.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return fromDB(*t)
}

// nullBytes stores an empty byte slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// purposeFilter returns the purposes to filter on, nil for all.
func purposeFilter(ps []string) []string {
	for _, p := range ps {
		if p == "*" {
			return nil
		}
	}
	return ps
}
