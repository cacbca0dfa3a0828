package postgres_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/testpg"
	"github.com/veiligcontact/veilig/postgres"
)

func openB(b *testing.B) *postgres.Store {
	st, err := postgres.Open(b.Context(), testpg.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// The store's hot paths under the benchmarks' load: a session start, a
// telephony match, and a replica's follow round.

func BenchmarkCreateSession(b *testing.B) {
	st := openB(b)
	now := time.Now().UTC()
	b.ReportAllocs()
	for b.Loop() {
		s := &veilig.Session{ID: rand.Text(), PurposeID: "p1", Channel: veilig.ChannelPhone, Means: veilig.MeansYivi, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
		if _, err := st.CreateSession(b.Context(), s, randomBytes(32), randomBytes(32), now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchCode(b *testing.B) {
	st := openB(b)
	now := time.Now().UTC()
	codes := disclosedCodes(b, st, now, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := st.MatchCode(b.Context(), codes[i], veilig.Connection{Platform: "api", ID: rand.Text()}, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHonestCall is the store's work for a call whose code matches,
// side by side: "counted" is what release 8 did (count the caller's misses
// and everyone's, then match: three round trips, and a check that
// concurrent calls could pass together), "looked-up" what it does now
// (LookUpCode: the caller's lock, the count and the match in one round trip
// and one commit; everyone's misses are counted once a second per
// replica, not per call).
func BenchmarkHonestCall(b *testing.B) {
	for _, mode := range []string{"counted", "looked-up"} {
		b.Run(mode, func(b *testing.B) {
			st := openB(b)
			now := time.Now().UTC()
			codes := disclosedCodes(b, st, now, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				caller := randomBytes(32)
				call := veilig.Connection{Platform: "api", ID: rand.Text()}
				if mode == "counted" {
					if _, err := st.CountMisses(b.Context(), caller, now.Add(-15*time.Minute)); err != nil {
						b.Fatal(err)
					}
					if _, err := st.CountMisses(b.Context(), nil, now.Add(-time.Minute)); err != nil {
						b.Fatal(err)
					}
					if _, _, err := st.MatchCode(b.Context(), codes[i], call, now, 0); err != nil {
						b.Fatal(err)
					}
					continue
				}
				l, err := st.LookUpCode(b.Context(), veilig.Attempt{CallerKey: caller, Since: now.Add(-15 * time.Minute), Max: 5, At: now}, codes[i], call)
				if err != nil || l.Session == nil {
					b.Fatal(l, err)
				}
			}
		})
	}
}

// disclosedCodes makes n disclosed sessions and returns their code hashes.
func disclosedCodes(b *testing.B, st *postgres.Store, now time.Time, n int) [][]byte {
	codes := make([][]byte, n)
	for i := range codes {
		codes[i] = randomBytes(32)
		s := &veilig.Session{ID: rand.Text(), PurposeID: "p1", Channel: veilig.ChannelPhone, Means: veilig.MeansYivi, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
		if _, err := st.CreateSession(b.Context(), s, codes[i], randomBytes(32), now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		d := veilig.Sealed{KeyID: "k", Data: []byte("x")}
		if _, _, err := st.Transition(b.Context(), veilig.Transition{SessionID: s.ID, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateDisclosed, Event: "disclosed", At: now, SealedDisclosure: &d}); err != nil {
			b.Fatal(err)
		}
	}
	return codes
}

func BenchmarkFollowRound(b *testing.B) {
	st := openB(b)
	now := time.Now().UTC()
	for range 500 { // unfinished disclosures followed by this replica
		s := &veilig.Session{ID: rand.Text(), PurposeID: "p1", Channel: veilig.ChannelPhone, Means: veilig.MeansYivi, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
		if _, err := st.CreateSession(b.Context(), s, randomBytes(32), randomBytes(32), now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		if err := st.FollowDisclosure(b.Context(), s.ID, "me", now.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.RenewFollows(b.Context(), "me", time.Now().Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		if _, err := st.ClaimOrphans(b.Context(), "me", time.Now(), time.Now().Add(-time.Minute), time.Now().Add(time.Minute), 200); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateSessionParallel starts sessions from many goroutines at
// once, as replicas under load do: it shows what commits allow together.
func BenchmarkCreateSessionParallel(b *testing.B) {
	st := openB(b)
	now := time.Now().UTC()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := &veilig.Session{ID: rand.Text(), PurposeID: "p1", Channel: veilig.ChannelPhone, Means: veilig.MeansYivi, CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
			if _, err := st.CreateSession(b.Context(), s, randomBytes(32), randomBytes(32), now.Add(time.Hour)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
