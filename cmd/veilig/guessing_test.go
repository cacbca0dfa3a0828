package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// Guessing codes, as an attacker would, against the real app with 1,000
// sessions disclosed by the real wallet (docs/security.md has the
// arithmetic these tests hold the code to).

const liveSessions = veilig.LiveSessionsAssumed

// guessLine is the guessing purpose's number, which guesses call.
const guessLine = "+31850000002"

// guessPurpose is a purpose of the given code length (0: the default)
// that asks one attribute, so a thousand disclosures stay quick.
func guessPurpose(codeLength int) config.Purpose {
	return config.Purpose{
		ID:          "guess",
		Labels:      map[string]string{"nl": "Raden", "en": "Guessing"},
		Disclose:    [][][]string{{{demoscheme.FullName}}},
		PhoneNumber: guessLine,
		CodeLength:  codeLength,
		// startSession sends the public URL as its Origin.
		AllowedOrigins: []string{"*"},
	}
}

// discloseMany starts n sessions of purpose and has two real wallets
// (one per core) disclose them; it returns their codes.
func (ta *testApp) discloseMany(purpose string, n int) []string {
	ta.t.Helper()
	sessions := make([]startedSession, n)
	for i := range sessions {
		sessions[i] = ta.startSession(purpose)
	}
	const workers = 2
	errs := make(chan error, workers)
	for k := range workers {
		w := ta.newWallet()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			for i := k; i < n; i += workers {
				if _, err := w.Disclose(ctx, sessions[i].SessionPtr); err != nil {
					errs <- fmt.Errorf("disclose %d: %w", i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			ta.t.Fatal(err)
		}
	}
	codes := make([]string, n)
	for i, s := range sessions {
		ta.waitState(s, veilig.StateDisclosed)
		codes[i] = s.Dial.Code
	}
	return codes
}

// randomCode is a uniformly random well-formed code of n digits: what a
// guesser sends (the check digit is public arithmetic).
func randomCode(n int) string {
	var b strings.Builder
	for range n - 1 {
		b.WriteByte('0' + byte(rand.N(10)))
	}
	prefix := b.String()
	for d := byte('0'); d <= '9'; d++ {
		if c := prefix + string(d); veilig.CodeWellFormed(c) {
			return c
		}
	}
	panic("Damm: no check digit")
}

// poissonTails returns P(X <= k) and P(X >= k) for X ~ Poisson(lambda).
func poissonTails(k int, lambda float64) (below, above float64) {
	term := math.Exp(-lambda)
	cdf := 0.0
	for i := 0; i <= k; i++ {
		if i > 0 {
			term *= lambda / float64(i)
		}
		cdf += term
	}
	return cdf, 1 - (cdf - term)
}

// TestGuessingHitRate measures what one guess is worth. With the limits
// off and short codes (7 digits, so hits are common enough to count), the
// hits of random well-formed guesses against 1,000 live codes must agree
// with the arithmetic: each lookup hits with probability live/10^6.
func TestGuessingHitRate(t *testing.T) {
	const codeLength, guesses = 7, 20000
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Telephony.MissPerCaller, c.Telephony.MissOverall = 0, 0
		c.Purposes = append(c.Purposes, guessPurpose(codeLength))
	})
	// The operator was warned at start-up, naming the purpose and the limits.
	for _, want := range []string{`purpose \"guess\": phone.code_length 7`, "miss_per_caller is 0", "miss_overall is 0"} {
		if !strings.Contains(ta.logs.String(), want) {
			t.Errorf("no start-up warning %q in the log", want)
		}
	}
	ta.discloseMany("guess", liveSessions)
	ctx := context.Background()
	live := liveSessions
	expected := 0.0
	hits := 0
	space := math.Pow10(codeLength - 1)
	for i := range guesses {
		expected += float64(live) / space
		m, err := ta.service.ReportCall(ctx, veilig.IncomingCall{
			Code: randomCode(codeLength), CallerNumber: fmt.Sprintf("+3161%07d", i), CalledNumber: guessLine, Provider: "asterisk", CallID: fmt.Sprint("g", i),
		})
		if err != nil {
			t.Fatalf("guess %d: %v", i, err)
		}
		if m.Matched {
			hits++
			live-- // a matched code is used up
		}
	}
	below, above := poissonTails(hits, expected)
	t.Logf("%d guesses, %d hits, %.1f expected (live/10^%d per guess); P(X<=hits)=%.3g P(X>=hits)=%.3g", guesses, hits, expected, codeLength-1, below, above)
	// Two-sided, one in a million: fails for a generator or a match that is
	// off, practically never by chance.
	if below < 5e-7 || above < 5e-7 {
		t.Fatalf("%d hits in %d guesses; the arithmetic expects %.1f", hits, guesses, expected)
	}
}

// TestGuessingFlood floods the app on its defaults (10-digit codes, 5
// misses per caller in 15 minutes, the alarm at 60 misses a minute) from
// 1,000 caller numbers at 20 guesses a second, with honest callers among
// them: every honest caller with a valid code matches on the first try,
// and a guess is worth at most one in 10^6 hits.
func TestGuessingFlood(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Purposes = append(c.Purposes, guessPurpose(0))
	})
	if strings.Contains(ta.logs.String(), "below the goal") {
		t.Error("the defaults were warned about")
	}
	codes := ta.discloseMany("guess", liveSessions)
	if len(codes[0]) != veilig.DefaultCodeLength {
		t.Fatalf("code length %d, want the default %d", len(codes[0]), veilig.DefaultCodeLength)
	}
	ctx := context.Background()
	const numbers, rounds = 1000, 10
	attempts, lookups, refused, hits, honest := 0, 0, 0, 0, 0
	for r := range rounds {
		for n := range numbers {
			ta.clock.Advance(50 * time.Millisecond) // 20 guesses a second
			attempts++
			m, err := ta.service.ReportCall(ctx, veilig.IncomingCall{
				Code: randomCode(veilig.DefaultCodeLength), CallerNumber: fmt.Sprintf("+3162%07d", n),
				CalledNumber: guessLine, Provider: "asterisk", CallID: fmt.Sprintf("f%d-%d", r, n),
			})
			if m.Matched {
				hits++
			}
			switch {
			case veilig.ErrorCode(err) == veilig.ERATELIMIT:
				refused++
			case err != nil:
				t.Fatalf("guess: %v", err)
			default:
				lookups++
			}
			if n%100 == 99 {
				// An honest caller, from a number of their own, with a valid code.
				code := codes[honest]
				m, err := ta.service.ReportCall(ctx, veilig.IncomingCall{
					Code: code, CallerNumber: fmt.Sprintf("+3163%07d", honest), CalledNumber: guessLine, Provider: "asterisk", CallID: fmt.Sprint("honest", honest),
				})
				if err != nil || !m.Matched {
					t.Fatalf("honest caller %d during the flood (round %d): %+v %v", honest, r, m, err)
				}
				honest++
			}
		}
	}
	live := liveSessions - honest
	perLookup := float64(live) / math.Pow10(veilig.DefaultCodeLength-1)
	guessesPerHit := float64(attempts) / (float64(lookups) * perLookup)
	t.Logf("%d guesses from %d numbers: %d looked up, %d refused, %d hits; %d honest callers all matched; expected guesses per hit %.3g",
		attempts, numbers, lookups, refused, hits, honest, guessesPerHit)
	if guessesPerHit < veilig.GuessesPerHitGoal {
		t.Fatalf("expected guesses per hit %.3g, below %.0f", guessesPerHit, veilig.GuessesPerHitGoal)
	}
	// The alarm held the flood to about one lookup per number after the
	// first minute: far below the 5 per number the per-caller limit allows.
	if lookups > 2*numbers {
		t.Errorf("%d lookups for %d numbers: the guessing alarm did not hold them back", lookups, numbers)
	}
	if !strings.Contains(ta.logs.String(), "guessing suspected") {
		t.Error("no log line told the operator about the guessing")
	}
	logs := ta.logs.String()
	for _, code := range codes {
		if strings.Contains(logs, code) {
			t.Fatal("a code is in the log")
		}
	}
	for _, number := range []string{"+31620000000", "31620000999", "+31630000000"} {
		if strings.Contains(logs, number) {
			t.Fatalf("a caller number (%s) is in the log", number)
		}
	}
}

// TestGuessingAnonymous: a guesser who withholds their number uses up the
// attempts of their own call only; another withheld caller with a valid
// code matches, and so does the guesser's next call.
func TestGuessingAnonymous(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	w := ta.newWallet()
	s := ta.startSession("demo")
	ta.disclose(w, s)
	for i := range 8 {
		_, err := ta.call(wellFormedCode(3000+i), veilig.AnonymousCaller, "anon-guesser")
		if i < 5 && err != nil {
			t.Fatalf("guess %d: %v", i, err)
		}
		if i >= 5 && apiCode(err) != veilig.ERATELIMIT {
			t.Fatalf("guess %d in the same call after 5 misses: %v", i, err)
		}
	}
	if m, err := ta.call(s.Dial.Code, veilig.AnonymousCaller, "anon-honest"); err != nil || !m.Matched {
		t.Fatalf("another withheld caller with a valid code: %+v %v", m, err)
	}
}

// TestGuessingConcurrent: 50 simultaneous calls from one number, all
// with codes that match nothing, get at most the limit of lookups, in
// both stores.
func TestGuessingConcurrent(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ta := startApp(t, db(t), nil)
			const n, limit = 50, 5
			var wg sync.WaitGroup
			var mu sync.Mutex
			results := map[string]int{}
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := ta.service.ReportCall(context.Background(), veilig.IncomingCall{
						Code: wellFormedCode(4000 + i), CallerNumber: "+31640000000", CalledNumber: demoPhoneNumber, Provider: "asterisk", CallID: "c" + strconv.Itoa(i),
					})
					mu.Lock()
					results[veilig.ErrorCode(err)]++
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if results[""] != limit || results[veilig.ERATELIMIT] != n-limit {
				t.Fatalf("%d concurrent calls from one number: %v (\"\" = looked up); want %d looked up", n, results, limit)
			}
			misses, err := ta.store.CountMisses(context.Background(), nil, time.Time{})
			if err != nil || misses != limit {
				t.Fatalf("misses recorded: %d %v, want %d", misses, err, limit)
			}
		})
	}
}
