// Package storetest is the contract every veilig.Store must meet. Package
// sqlite and package postgres run it against themselves, so both stores
// behave the same for the service: same error codes, same ordering, same
// treatment of zero times and of personal data.
//
// Contract details the interface leaves open, fixed here:
//   - times come back in UTC; zero times come back as zero. Tests use
//     millisecond precision, the coarsest a store may keep (SQLite).
//   - Sessions orders by MatchedAt, sessions never matched last, then by
//     CreatedAt.
//   - Transition also enforces the domain state machine
//     (SessionState.CanBecome) unless To equals the current state, and sets
//     the AuditEntry's ID (and its At, SessionID and PurposeID when unset).
//     AnsweredAt and EndedAt are set when the state changes. A transition
//     that neither changes the state nor gives a reason keeps the reason.
//   - Audit's Since is inclusive and Until exclusive; Limit <= 0 means no
//     limit, as it does for EventsSince.
//   - Purge removes misses older than 24 hours before now, and a purged Seq
//     is never handed out again.
//   - CreateSession sets the session's State to created; a nil code hash
//     stores no code. CreateAgentSession for an unknown agent is ENOTFOUND.
//   - TouchAgentSession returns ENOTFOUND for an unknown token;
//     DeleteAgentSession does not (signing out twice is fine).
//   - the store is also a veilig.EventBus that publishes each event after
//     its transaction committed, in Seq order.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// Run runs the contract tests as subtests of t. open must return a new,
// empty store for each call and close it in t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) veilig.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st veilig.Store)
	}{
		{"CreateSession", testCreateSession},
		{"CreateSessionConflicts", testCreateSessionConflicts},
		{"CodeHashUnique", testCodeHashUnique},
		{"TransitionSetsFields", testTransitionSetsFields},
		{"TransitionWrongState", testTransitionWrongState},
		{"TransitionNotFound", testTransitionNotFound},
		{"TransitionCallConflict", testTransitionCallConflict},
		{"TransitionRace", testTransitionRace},
		{"ConcurrentSameState", testConcurrentSameState},
		{"DestroyPersonal", testDestroyPersonal},
		{"MatchCode", testMatchCode},
		{"MatchCodeNotDisclosed", testMatchCodeNotDisclosed},
		{"MatchCodeExpired", testMatchCodeExpired},
		{"MatchCodeRace", testMatchCodeRace},
		{"MatchCodeCallConflict", testMatchCodeCallConflict},
		{"SessionByCall", testSessionByCall},
		{"Sessions", testSessions},
		{"ExpireSessions", testExpireSessions},
		{"Purge", testPurge},
		{"EventsSince", testEventsSince},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Agents", testAgents},
		{"Organisations", testOrganisations},
		{"MatchByLine", testMatchByLine},
		{"RemoveOrganisation", testRemoveOrganisation},
		{"AuditCutoffs", testAuditCutoffs},
		{"MissesByOrganisation", testMissesByOrganisation},
		{"ChangeAccount", testChangeAccount},
		{"AgentSessions", testAgentSessions},
		{"Audit", testAudit},
		{"AuditSubjectAndFilters", testAuditSubjectAndFilters},
		{"ActiveAgentSessions", testActiveAgentSessions},
		{"DeleteAgentSessions", testDeleteAgentSessions},
		{"CountMatched", testCountMatched},
		{"RememberSignature", testRememberSignature},
		{"Misses", testMisses},
		{"LookUpCodeLimits", testLookUpCodeLimits},
		{"LookUpCodeConcurrent", testLookUpCodeConcurrent},
		{"LookUpCodeMatches", testLookUpCodeMatches},
		{"MatchCodeForgives", testMatchCodeForgives},
		{"SessionByCode", testSessionByCode},
		{"Subscribe", testSubscribe},
		{"SubscribeSessionFilter", testSubscribeSessionFilter},
		{"Ping", testPing},
		{"Locker", testLocker},
		{"LockerExclusive", testLockerExclusive},
		{"DisclosureFollows", testDisclosureFollows},
		{"ClaimOrphansRace", testClaimOrphansRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is an arbitrary instant with millisecond precision, so that every
// store returns exactly what it was given.
var base = time.Date(2031, 5, 6, 7, 8, 9, 10_000_000, time.UTC)

// wait bounds every wait for an event, so a broken bus fails the test
// instead of hanging it.
const wait = 10 * time.Second

const ttl = 15 * time.Minute

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomID() string { return hex.EncodeToString(randomBytes(10)) }

// created is a session made by create with the secrets the test needs.
type created struct {
	*veilig.Session
	code, status []byte
	event        veilig.Event
}

func newSession(purpose string, at time.Time) *veilig.Session {
	return &veilig.Session{
		ID:        randomID(),
		PurposeID: purpose,
		Channel:   veilig.ChannelPhone,
		Means:     veilig.MeansYivi,
		CreatedAt: at,
		ExpiresAt: at.Add(ttl),
	}
}

// create makes a session for purpose created at at, with a fresh code,
// retained for a long time.
func create(t *testing.T, st veilig.Store, purpose string, at time.Time) created {
	t.Helper()
	s := newSession(purpose, at)
	c := created{Session: s, code: randomBytes(32), status: randomBytes(32)}
	ev, err := st.CreateSession(t.Context(), s, c.code, c.status, at.Add(1000*time.Hour))
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	c.event = ev
	return c
}

func transition(t *testing.T, st veilig.Store, tr veilig.Transition) (*veilig.StoredSession, veilig.Event) {
	t.Helper()
	s, ev, err := st.Transition(t.Context(), tr)
	if err != nil {
		t.Fatalf("Transition %s to %s: %v", tr.SessionID, tr.To, err)
	}
	return s, ev
}

var sealedDisclosure = veilig.Sealed{KeyID: "key-1", Data: []byte("sealed disclosure")}

// disclose moves a created session to disclosed with a sealed disclosure.
func disclose(t *testing.T, st veilig.Store, id string, at time.Time) *veilig.StoredSession {
	t.Helper()
	d := sealedDisclosure
	token := "yivi-token-" + id
	s, _ := transition(t, st, veilig.Transition{
		SessionID: id, From: []veilig.SessionState{veilig.StateCreated, veilig.StateDisclosing},
		To: veilig.StateDisclosed, Event: string(veilig.StateDisclosed), At: at,
		ProofRef: &token, SealedDisclosure: &d,
	})
	return s
}

func newCall() veilig.Connection {
	return veilig.Connection{
		Platform:      "api",
		ID:            "call-" + randomID(),
		SealedAddress: veilig.Sealed{KeyID: "key-1", Data: []byte("sealed caller")},
	}
}

func session(t *testing.T, st veilig.Store, id string) *veilig.StoredSession {
	t.Helper()
	s, err := st.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	return s
}

func lastSeq(t *testing.T, st veilig.Store) int64 {
	t.Helper()
	seq, err := st.LastEventSeq(t.Context())
	if err != nil {
		t.Fatalf("LastEventSeq: %v", err)
	}
	return seq
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := veilig.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

func sameSealed(t *testing.T, what string, got, want veilig.Sealed) {
	t.Helper()
	if got.KeyID != want.KeyID || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("%s = %q/%q, want %q/%q", what, got.KeyID, got.Data, want.KeyID, want.Data)
	}
}

// sameSession compares everything a store keeps of a session.
func sameSession(t *testing.T, got, want *veilig.StoredSession) {
	t.Helper()
	if got.ID != want.ID || got.PurposeID != want.PurposeID || got.Channel != want.Channel ||
		got.Means != want.Means || got.State != want.State || got.Reason != want.Reason ||
		got.ProofRef != want.ProofRef || got.Platform != want.Platform ||
		got.ConnectionID != want.ConnectionID || got.TakenBy != want.TakenBy {
		t.Errorf("session = %+v\nwant %+v", got.Session, want.Session)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "DisclosedAt", got.DisclosedAt, want.DisclosedAt)
	sameTime(t, "MatchedAt", got.MatchedAt, want.MatchedAt)
	sameTime(t, "AnsweredAt", got.AnsweredAt, want.AnsweredAt)
	sameTime(t, "EndedAt", got.EndedAt, want.EndedAt)
	sameSealed(t, "SealedDisclosure", got.SealedDisclosure, want.SealedDisclosure)
	sameSealed(t, "SealedCaller", got.SealedAddress, want.SealedAddress)
}

func sameEvent(t *testing.T, what string, got, want veilig.Event) {
	t.Helper()
	if got.Seq != want.Seq || got.SessionID != want.SessionID || got.PurposeID != want.PurposeID ||
		got.Type != want.Type || got.Reason != want.Reason || !got.At.Equal(want.At) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func ids(ss []*veilig.StoredSession) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func seqs(es []veilig.Event) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func increasing(t *testing.T, what string, es []veilig.Event) {
	t.Helper()
	for i := 1; i < len(es); i++ {
		if es[i].Seq <= es[i-1].Seq {
			t.Errorf("%s: Seq not increasing: %v", what, seqs(es))
			return
		}
	}
}

func eventsOf(t *testing.T, st veilig.Store, f veilig.EventFilter) []veilig.Event {
	t.Helper()
	es, err := st.EventsSince(t.Context(), f, 0, 0)
	if err != nil {
		t.Fatalf("EventsSince: %v", err)
	}
	return es
}

func types(es []veilig.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func states(ss ...veilig.SessionState) []veilig.SessionState { return ss }

func testPing(t *testing.T, st veilig.Store) {
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// recv returns the next event on ch, failing the test if none comes in time
// or the channel is closed.
func recv(t *testing.T, ch <-chan veilig.Event) veilig.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return e
	case <-time.After(wait):
		t.Fatal("no event within", wait)
	}
	return veilig.Event{}
}

// closed waits until ch is closed, discarding events.
func closed(t *testing.T, ch <-chan veilig.Event) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("subscription not closed within", wait)
		}
	}
}

func subscribe(t *testing.T, st veilig.Store, ctx context.Context, f veilig.EventFilter) <-chan veilig.Event {
	t.Helper()
	bus, ok := st.(veilig.EventBus)
	if !ok {
		t.Fatalf("%T does not implement veilig.EventBus", st)
	}
	ch, err := bus.Subscribe(ctx, f)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch
}
