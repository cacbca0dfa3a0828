package postgres

import (
	"fmt"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// Session writes are single statements run outside an explicit
// transaction: PostgreSQL runs each in a transaction of its own, so a
// write costs one round trip instead of BEGIN, the statements and COMMIT.
// That also keeps the event-order lock (see appendEvents) held for the
// statement and its commit only, never across a round trip to us.

// params numbers the arguments of a statement as it is written.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return fmt.Sprintf("$%d", len(*p))
}

// eventCTEs are the common table expressions that append one event for
// the row that the CTE named src returns (if any) and notify listeners of
// it, as appendEvents does: the lock is taken before the Seq is drawn. The
// CTE they end with, "note", must be read by the main query (an unread
// plain CTE is never run); it yields the event's seq.
//
// The notification's JSON is the event as notifyPayload encodes it:
// session and purpose ids come from the row (ids are restricted to
// characters JSON does not escape), the rest from e.
func eventCTEs(p *params, src string, e veilig.Event) (string, error) {
	e.SessionID, e.PurposeID, e.Seq = "", "", 0
	payload, err := notifyPayload(e)
	if err != nil {
		return "", err
	}
	// {"seq":0,"sessionId":"","purpose":"",<rest>}
	rest, ok := strings.CutPrefix(payload, `{"seq":0,"sessionId":"","purpose":"",`)
	if !ok {
		return "", fmt.Errorf("event payload %.40q has an unexpected shape", payload)
	}
	return fmt.Sprintf(`lock AS (SELECT pg_advisory_xact_lock(%s::bigint) FROM %[2]s),
		ev AS (INSERT INTO events (session_id, purpose_id, type, reason, at)
			SELECT %[2]s.id, %[2]s.purpose_id, %[3]s::text, %[4]s::text, %[5]s::timestamptz FROM %[2]s, lock
			RETURNING seq, session_id, purpose_id),
		note AS (SELECT seq, pg_notify(%[6]s::text, '{"seq":' || seq || ',"sessionId":' || to_json(session_id)::text ||
			',"purpose":' || to_json(purpose_id)::text || ',' || %[7]s::text) FROM ev)`,
		p.add(eventsLock), src, p.add(e.Type), p.add(e.Reason), p.add(e.At), p.add(Channel), p.add(rest)), nil
}

// eventOf is the event eventCTEs appended, once the statement returned
// its seq.
func eventOf(sess *veilig.StoredSession, typ, reason string, at time.Time, seq int64) veilig.Event {
	return veilig.Event{Seq: seq, SessionID: sess.ID, PurposeID: sess.PurposeID, Type: typ, Reason: reason, At: at}
}
