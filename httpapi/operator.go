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
// organisation's totals since since (as the supervisor's overview: by
// default midnight), never a contact, an attribute, an account or an
// audit entry.
func (s *server) operatorOverview(w http.ResponseWriter, r *http.Request) {
	since, err := overviewSince(r, s.Clock())
	if err != nil {
		writeError(w, r, s.log, err)
		return
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
