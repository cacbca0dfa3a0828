package yivi

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/sirupsen/logrus"
)

// irmago logs through logrus, in package globals (irmaserver.New installs the
// server's logger for all of irmago). At Info and below it writes session
// requests (with the clientReturnUrl, which holds the phone code), tokens,
// and at Trace every HTTP body (with attribute values). So the bridge:
//
//   - sets logrus to Warn, which also keeps irmago from taking the code
//     paths that build those messages (it checks IsLevelEnabled);
//   - forwards warnings and errors to slog, with the message scrubbed and
//     only a few known fields that carry no personal data or secrets.
func newIrmaLogger(l *slog.Logger) *logrus.Logger {
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	lg.SetLevel(logrus.WarnLevel)
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	lg.AddHook(slogHook{l.With("component", "irmago")})
	return lg
}

type slogHook struct{ l *slog.Logger }

func (slogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

// Fields irmago attaches that are safe to pass on. Left out on purpose:
// "session" and "clienttoken" (tokens), "url", "headers", "response",
// "message" of request logs, "requestor" details, "configuration".
var safeFields = map[string]bool{
	"status":      true, // HTTP status of a remote error
	"error":       true, // irmago error name
	"description": true, // irmago error description
	"err":         true, // error type name
	"msg":         true, // fixed context text from LogError(err, msg)
	"type":        true, // component: "sse", "client", ...
	"action":      true, // disclosing, issuing, signing
}

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelWarn
	if e.Level <= logrus.ErrorLevel {
		level = slog.LevelError
	}
	attrs := make([]slog.Attr, 0, len(e.Data))
	for k, v := range e.Data {
		if !safeFields[k] {
			continue
		}
		if s, ok := v.(string); ok {
			v = scrub(s)
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	h.l.LogAttrs(context.Background(), level, scrub(e.Message), attrs...)
	return nil
}

var (
	// irmago's session tokens and frontend authorizations are 20
	// alphanumerics; anything that long is redacted (hashes too, which is
	// a fair price).
	tokenPattern = regexp.MustCompile(`[0-9A-Za-z]{20,}`)
	telPattern   = regexp.MustCompile(`(?i)tel:[^\s"',]*(,[^\s"']*)?`)
)

// scrub removes what must never reach a log from a text irmago produced:
// tokens, tel: URIs (number and code) and JSON dumps of requests or results,
// which irmago appends to some messages.
func scrub(s string) string {
	if i := strings.IndexByte(s, '{'); i >= 0 {
		s = s[:i] + "{…}"
	}
	s = telPattern.ReplaceAllString(s, "tel:[redacted]")
	return tokenPattern.ReplaceAllString(s, "[redacted]")
}
