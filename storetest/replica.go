package storetest

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func locker(t *testing.T, st veilig.Store) veilig.Locker {
	t.Helper()
	l, ok := st.(veilig.Locker)
	if !ok {
		t.Fatalf("%T does not implement veilig.Locker", st)
	}
	return l
}

func follows(t *testing.T, st veilig.Store) veilig.DisclosureFollows {
	t.Helper()
	f, ok := st.(veilig.DisclosureFollows)
	if !ok {
		t.Fatalf("%T does not implement veilig.DisclosureFollows", st)
	}
	return f
}

// testLocker: a held lock is refused to everyone, the holder included,
// until it is released; locks of other names are independent.
func testLocker(t *testing.T, st veilig.Store) {
	l := locker(t, st)
	ctx := t.Context()
	lock, ok, err := l.TryLock(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v; want it taken", ok, err)
	}
	if !lock.Held(ctx) {
		t.Fatal("Held of a lock just taken = false")
	}
	if _, ok, err := l.TryLock(ctx, "maintenance"); err != nil || ok {
		t.Fatalf("second TryLock of a held lock = %v, %v; want refused", ok, err)
	}
	other, ok, err := l.TryLock(ctx, "another job")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name = %v, %v; want it taken", ok, err)
	}
	other.Unlock()
	lock.Unlock()
	if lock.Held(ctx) {
		t.Fatal("Held after Unlock = true")
	}
	lock.Unlock() // a second Unlock does nothing
	again, ok, err := l.TryLock(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock = %v, %v; want it taken", ok, err)
	}
	again.Unlock()
}

// testLockerExclusive: of many goroutines trying at once, exactly one
// holds the lock at any time.
func testLockerExclusive(t *testing.T, st veilig.Store) {
	l := locker(t, st)
	var (
		mu      sync.Mutex
		holders int
		maxHeld int
		wins    int
		wg      sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				lock, ok, err := l.TryLock(t.Context(), "exclusive")
				if err != nil {
					t.Errorf("TryLock: %v", err)
					return
				}
				if !ok {
					continue
				}
				mu.Lock()
				holders++
				wins++
				maxHeld = max(maxHeld, holders)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				holders--
				mu.Unlock()
				lock.Unlock()
			}
		}()
	}
	wg.Wait()
	if maxHeld != 1 || wins == 0 {
		t.Fatalf("lock held by %d at once (%d wins); want exactly 1", maxHeld, wins)
	}
}

func withToken(t *testing.T, st veilig.Store, id string, at time.Time) {
	t.Helper()
	token := "yivi-token-" + id
	transition(t, st, veilig.Transition{
		SessionID: id, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateCreated, At: at, ProofRef: &token,
	})
}

func claimedIDs(cs []veilig.FollowClaim) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.SessionID)
	}
	sort.Strings(ids)
	return ids
}

// testDisclosureFollows: follows are leases on unfinished disclosures.
func testDisclosureFollows(t *testing.T, st veilig.Store) {
	f := follows(t, st)
	ctx := t.Context()
	t0 := base

	followed := create(t, st, "p", t0)
	withToken(t, st, followed.ID, t0)
	unfollowed := create(t, st, "p", t0)
	withToken(t, st, unfollowed.ID, t0)
	noToken := create(t, st, "p", t0) // Yivi never answered: nothing to follow
	done := create(t, st, "p", t0)
	withToken(t, st, done.ID, t0)

	if err := f.FollowDisclosure(ctx, "no-such-session", "a", t0.Add(time.Minute)); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Fatalf("FollowDisclosure of an unknown session: %v, want ENOTFOUND", err)
	}
	for _, id := range []string{followed.ID, done.ID} {
		if err := f.FollowDisclosure(ctx, id, "a", t0.Add(10*time.Second)); err != nil {
			t.Fatalf("FollowDisclosure: %v", err)
		}
	}
	disclose(t, st, done.ID, t0.Add(time.Second))

	// Within the grace period nothing is an orphan: the unfollowed session
	// may still be about to get its follow.
	claims, err := f.ClaimOrphans(ctx, "b", t0.Add(time.Second), t0, t0.Add(20*time.Second), 10)
	if err != nil || len(claims) != 0 {
		t.Fatalf("ClaimOrphans in grace = %v, %v; want none", claims, err)
	}
	// After it, the never-followed session is; a's follows still hold.
	claims, err = f.ClaimOrphans(ctx, "b", t0.Add(2*time.Second), t0.Add(time.Second), t0.Add(20*time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 || claims[0].SessionID != unfollowed.ID || claims[0].ProofRef != "yivi-token-"+unfollowed.ID {
		t.Fatalf("ClaimOrphans = %+v, want only %s with its token", claims, unfollowed.ID)
	}
	// Claimed means followed: nobody gets it again while b's follow holds.
	if claims, _ := f.ClaimOrphans(ctx, "c", t0.Add(3*time.Second), t0.Add(3*time.Second), t0.Add(20*time.Second), 10); len(claims) != 0 {
		t.Fatalf("second ClaimOrphans = %+v, want none", claims)
	}

	// a renews its unfinished follow only, and drops that of the session
	// that moved on.
	n, err := f.RenewFollows(ctx, "a", t0.Add(30*time.Second))
	if err != nil || n != 1 {
		t.Fatalf("RenewFollows = %d, %v; want 1", n, err)
	}
	// At 25 s b's follow ran out, a's did not.
	claims, err = f.ClaimOrphans(ctx, "c", t0.Add(25*time.Second), t0.Add(25*time.Second), t0.Add(60*time.Second), 10)
	if err != nil || len(claims) != 1 || claims[0].SessionID != unfollowed.ID {
		t.Fatalf("ClaimOrphans after b stopped renewing = %+v, %v; want %s", claims, err, unfollowed.ID)
	}
	// b lost it: its renewal no longer covers the session.
	if n, err := f.RenewFollows(ctx, "b", t0.Add(90*time.Second)); err != nil || n != 0 {
		t.Fatalf("RenewFollows of a replica that lost its follow = %d, %v; want 0", n, err)
	}
	// At 40 s a's follow ran out too; the limit is respected.
	claims, err = f.ClaimOrphans(ctx, "d", t0.Add(65*time.Second), t0.Add(65*time.Second), t0.Add(90*time.Second), 1)
	if err != nil || len(claims) != 1 {
		t.Fatalf("ClaimOrphans with limit 1 = %+v, %v; want 1", claims, err)
	}
	claims2, err := f.ClaimOrphans(ctx, "d", t0.Add(65*time.Second), t0.Add(65*time.Second), t0.Add(90*time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := claimedIDs(append(claims, claims2...))
	want := []string{followed.ID, unfollowed.ID}
	sort.Strings(want)
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("claimed %v, want %v (never %s without a token or %s finished)", got, want, noToken.ID, done.ID)
	}
}

// testClaimOrphansRace: replicas claiming at once never get the same
// session, and together they get each one.
func testClaimOrphansRace(t *testing.T, st veilig.Store) {
	f := follows(t, st)
	t0 := base
	want := map[string]bool{}
	for range 20 {
		c := create(t, st, "p", t0)
		withToken(t, st, c.ID, t0)
		want[c.ID] = true
	}
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	for _, owner := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				claims, err := f.ClaimOrphans(t.Context(), owner, t0.Add(time.Minute), t0.Add(time.Minute), t0.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("ClaimOrphans: %v", err)
					return
				}
				mu.Lock()
				for _, c := range claims {
					if prev, dup := got[c.SessionID]; dup {
						t.Errorf("session claimed by %s and %s", prev, owner)
					}
					got[c.SessionID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != len(want) {
		t.Fatalf("claimed %d sessions, want %d", len(got), len(want))
	}
}
