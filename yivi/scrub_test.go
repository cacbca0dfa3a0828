package yivi

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		"session result requested of unknown session AbCdEfGhIjKlMnOpQrSt":                                  "session result requested of unknown session [redacted]",
		"return to tel:+31201234567,12345678 now":                                                           "return to tel:[redacted] now",
		"Session request (purged of attribute values): {\"clientReturnUrl\":\"tel:+31201234567,12345678\"}": "Session request (purged of attribute values): {…}",
		"Hash of /x/description.xml does not match scheme manager index":                                    "Hash of /x/description.xml does not match scheme manager index",
	} {
		if got := scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

// irmago's logging reaches slog at Warn and above only, with unsafe fields
// dropped.
func TestIrmaLogger(t *testing.T) {
	var buf bytes.Buffer
	lg := newIrmaLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	lg.WithField("session", "AbCdEfGhIjKlMnOpQrSt").Info("Session started")
	lg.Debug("debug")
	if lg.IsLevelEnabled(logrus.InfoLevel) {
		t.Error("irmago logger enabled at Info: it would log session requests")
	}
	lg.WithFields(logrus.Fields{"session": "AbCdEfGhIjKlMnOpQrSt", "error": "SESSION_UNKNOWN", "url": "/session/x"}).Warn("Session middleware: unknown session")
	lg.Error("failed for tel:+31201234567,12345678")
	out := buf.String()
	for _, bad := range []string{"Session started", "debug", "AbCdEfGhIjKlMnOpQrSt", "/session/x", "12345678"} {
		if strings.Contains(out, bad) {
			t.Errorf("log has %q:\n%s", bad, out)
		}
	}
	for _, good := range []string{"level=WARN", "unknown session", "error=SESSION_UNKNOWN", "level=ERROR", "tel:[redacted]"} {
		if !strings.Contains(out, good) {
			t.Errorf("log lacks %q:\n%s", good, out)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{first: 500 * time.Millisecond, max: 15 * time.Second}
	prev := time.Duration(0)
	for i := range 20 {
		d := b.next()
		lo, hi := b.cur-b.cur/5, b.cur+b.cur/5
		if d < lo || d > hi || b.cur > b.max {
			t.Fatalf("step %d: %s outside [%s, %s] (max %s)", i, d, lo, hi, b.max)
		}
		if b.cur < prev {
			t.Fatalf("step %d: backoff shrank", i)
		}
		prev = b.cur
	}
	b.reset()
	if d := b.next(); d > 600*time.Millisecond {
		t.Errorf("after reset: %s", d)
	}
}
