package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/veiligcontact/veilig"
)

// operatorOverviewResponse is a platform operator's view: the
// organisations' totals and whether the platform's database answers.
type operatorOverviewResponse struct {
	*veilig.PlatformOverview
	Database string `json:"database"` // "ok" or "unavailable"
}

// operatorOverview answers GET /api/v1/operator/overview: every
// organisation's totals since since (default: the last 24 hours), never
// a contact, an attribute, an account or an audit entry.
func (s *server) operatorOverview(w http.ResponseWriter, r *http.Request) {
	since := s.Clock().Add(-24 * time.Hour)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, r, s.log, veilig.Errorf(veilig.EINVALID, "since must be an RFC 3339 time such as 2026-12-08T00:00:00Z"))
			return
		}
		since = t
	}
	o, err := s.Service.PlatformOverview(r.Context(), agentFrom(r).agent, since)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := operatorOverviewResponse{PlatformOverview: o, Database: "ok"}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.Store.Ping(ctx) != nil {
		out.Database = "unavailable"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
