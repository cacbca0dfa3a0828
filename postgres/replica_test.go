package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig/internal/testpg"
)

// TestLockAcrossReplicas: a lock one replica holds is refused to another
// until released, and comes free when the holder's connection dies (a
// replica killed, or cut off from the database), which Held then reports.
func TestLockAcrossReplicas(t *testing.T) {
	url := testpg.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()

	la, ok, err := a.TryLock(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("a: TryLock = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "maintenance"); err != nil || ok {
		t.Fatalf("b: TryLock of a lock a holds = %v, %v; want refused", ok, err)
	}
	la.Unlock()
	lb, ok, err := b.TryLock(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("b: TryLock after a unlocked = %v, %v", ok, err)
	}
	if !lb.Held(ctx) {
		t.Fatal("b: Held = false for a lock it holds")
	}

	// Kill the connection holding b's lock, as a lost replica loses it.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid); err != nil {
		t.Fatalf("find the lock holder: %v", err)
	}
	terminate(t, url, pid)

	deadline := time.Now().Add(wait)
	for {
		la, ok, err := a.TryLock(ctx, "maintenance")
		if err == nil && ok {
			defer la.Unlock()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a never got the lock of a dead connection: %v, %v", ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lb.Held(ctx) {
		t.Fatal("b: Held = true after its connection died")
	}
	lb.Unlock() // must not panic or release a's lock
	if _, ok, _ := b.TryLock(ctx, "maintenance"); ok {
		t.Fatal("b took the lock a holds")
	}
}
