package httpapi

import (
	"net/http"
	"time"

	"github.com/veiligcontact/veilig"
)

// overviewWindow bounds how far back "today" may start: misses are kept 24
// hours, and a day with a clock change has 25.
const overviewWindow = 26 * time.Hour

// overviewSince is the since parameter of the supervisor's and the
// operator's overviews (RFC 3339; by default midnight where the server
// is), within overviewWindow of now.
func overviewSince(r *http.Request, now time.Time) (time.Time, error) {
	y, m, d := now.Date()
	since := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, veilig.Errorf(veilig.EINVALID, "since must be a time such as 2025-01-31T00:00:00+01:00")
		}
		since = t
	}
	if since.After(now) || now.Sub(since) > overviewWindow {
		return time.Time{}, veilig.Errorf(veilig.EINVALID, "since must be within the last %d hours", int(overviewWindow/time.Hour))
	}
	return since, nil
}

// supervisorOverview answers the supervisor view: agents online (signed in
// and not idle past the timeout), live contacts of every purpose, and the
// calls matched and unverified since the supervisor's start of the day
// (the since parameter, RFC 3339; by default midnight where the server is).
func (s *server) supervisorOverview(w http.ResponseWriter, r *http.Request) {
	now := s.Clock()
	since, err := overviewSince(r, now)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	o, err := s.Service.Overview(r.Context(), agentFrom(r).agent, now.Add(-s.Auth.IdleTimeout()), since)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}
