package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// accountView is an account as admins see it: never the password hash,
// only whether there is one (accounts without sign in with single sign-on
// only).
type accountView struct {
	*veilig.Agent
	HasPassword bool `json:"hasPassword"`
}

func viewAccount(a *veilig.Agent) accountView {
	return accountView{Agent: a, HasPassword: a.PasswordHash != ""}
}

func (s *server) adminAgents(w http.ResponseWriter, r *http.Request) {
	list, err := s.Service.Accounts(r.Context(), agentFrom(r).agent)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]accountView, 0, len(list))
	for _, a := range list {
		out = append(out, viewAccount(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

type accountInput struct {
	Username    string      `json:"username"`
	DisplayName string      `json:"displayName"`
	Role        veilig.Role `json:"role"`
	Purposes    []string    `json:"purposes"`
	// Password is optional: an account without one signs in with single
	// sign-on only.
	Password string `json:"password"`
}

type accountPatch struct {
	DisplayName *string      `json:"displayName"`
	Role        *veilig.Role `json:"role"`
	Purposes    *[]string    `json:"purposes"`
	Disabled    *bool        `json:"disabled"`
}

type passwordInput struct {
	Password string `json:"password"`
}

// audit writes the entry of an admin's act that changes nothing stored (an
// export), before the act. If it cannot be written the request fails.
func (s *server) audit(ctx context.Context, r *http.Request, e *veilig.AuditEntry) error {
	e.At = s.Clock()
	e.AgentID = agentFrom(r).agent.ID
	e.OrgID = veilig.OrganisationOr(agentFrom(r).agent.OrgID)
	e.RemoteAddr = clientAddr(r, s.TrustedProxies)
	if err := s.Store.AddAudit(ctx, e); err != nil {
		s.log.Error("write audit entry", "action", e.Action, "err", err)
		return err
	}
	return nil
}

func (s *server) adminCreateAgent(w http.ResponseWriter, r *http.Request) {
	var in accountInput
	if err := readJSON(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := s.Service.CreateAccount(r.Context(), agentFrom(r).agent, veilig.NewAccount{
		Username: in.Username, DisplayName: in.DisplayName, Role: in.Role, Purposes: in.Purposes, Password: in.Password,
	}, clientAddr(r, s.TrustedProxies))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewAccount(a))
}

func (s *server) adminUpdateAgent(w http.ResponseWriter, r *http.Request) {
	var in accountPatch
	if err := readJSON(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := s.Service.UpdateAccount(r.Context(), agentFrom(r).agent, r.PathValue("id"), veilig.AccountPatch{
		DisplayName: in.DisplayName, Role: in.Role, Purposes: in.Purposes, Disabled: in.Disabled,
	}, clientAddr(r, s.TrustedProxies))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, viewAccount(a))
}

func (s *server) adminSetPassword(w http.ResponseWriter, r *http.Request) {
	var in passwordInput
	if err := readJSON(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.Service.SetAccountPassword(r.Context(), agentFrom(r).agent, r.PathValue("id"), in.Password, clientAddr(r, s.TrustedProxies)); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Audit log limits: a page in the console, and an export.
const (
	auditPageDefault = 200
	auditPageMax     = 1000
	auditExportMax   = 100_000
)

var filterIDPattern = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,128}$`)

// auditFilter reads the audit filters of a request: agent, action,
// contact, purpose, subject (ids), since and until (RFC 3339 times; since
// inclusive, until exclusive).
// auditFilter reads the selection of the audit log from the query, always
// within organisation org (the admin's own).
func auditFilter(r *http.Request, org string) (veilig.AuditFilter, error) {
	q := r.URL.Query()
	f := veilig.AuditFilter{OrgID: org}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"agent", &f.AgentID}, {"contact", &f.SessionID}, {"purpose", &f.PurposeID}, {"subject", &f.Subject}, {"action", &f.Action}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if !filterIDPattern.MatchString(v) {
			return f, veilig.Errorf(veilig.EINVALID, "%s must be an id", p.name)
		}
		*p.dst = v
	}
	if f.Action != "" && !slices.Contains(veilig.AuditActions, f.Action) {
		return f, veilig.Errorf(veilig.EINVALID, "action must be one of %s", strings.Join(veilig.AuditActions, ", "))
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, veilig.Errorf(veilig.EINVALID, "%s must be a time such as 2025-01-31T00:00:00+01:00", p.name)
		}
		*p.dst = t
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, veilig.Errorf(veilig.EINVALID, "until must be after since")
	}
	return f, nil
}

// describeFilter says what a filter selected, for the audit detail of an export.
func describeFilter(f veilig.AuditFilter) string {
	var parts []string
	for _, p := range []struct{ k, v string }{{"agent", f.AgentID}, {"action", f.Action}, {"contact", f.SessionID}, {"purpose", f.PurposeID}, {"subject", f.Subject}} {
		if p.v != "" {
			parts = append(parts, p.k+"="+p.v)
		}
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since="+f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until="+f.Until.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}

func (s *server) adminAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r, veilig.OrganisationOr(agentFrom(r).agent.OrgID))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f.Limit = auditPageDefault
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > auditPageMax {
			writeError(w, r, s.log, veilig.Errorf(veilig.EINVALID, "limit must be between 1 and %d", auditPageMax))
			return
		}
		f.Limit = n
	}
	// One more than asked says whether there are more.
	want := f.Limit
	f.Limit++
	entries, err := s.Store.Audit(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	more := len(entries) > want
	if more {
		entries = entries[:want]
	}
	if entries == nil {
		entries = []*veilig.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "more": more})
}

// exportEntry is an audit entry with the usernames it names, so an export
// reads on its own, also after accounts changed.
type exportEntry struct {
	*veilig.AuditEntry
	AgentUsername   string `json:"agentUsername,omitempty"`
	SubjectUsername string `json:"subjectUsername,omitempty"`
}

// adminAuditExport sends the selected audit entries as CSV or JSON. The
// export itself is written to the audit log (who, when, which selection,
// how many entries) before any entry leaves the server.
func (s *server) adminAuditExport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		writeError(w, r, s.log, veilig.Errorf(veilig.EINVALID, "format must be csv or json"))
		return
	}
	f, err := auditFilter(r, veilig.OrganisationOr(agentFrom(r).agent.OrgID))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f.Limit = auditExportMax + 1
	entries, err := s.Store.Audit(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if len(entries) > auditExportMax {
		writeError(w, r, s.log, veilig.Errorf(veilig.EINVALID, "the selection holds more than %d entries; choose a shorter period", auditExportMax))
		return
	}
	agents, err := s.Service.Accounts(r.Context(), agentFrom(r).agent)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	names := map[string]string{}
	for _, a := range agents {
		names[a.ID] = a.Username
	}
	now := s.Clock()
	if err := s.audit(r.Context(), r, &veilig.AuditEntry{Action: veilig.AuditExported,
		Detail: fmt.Sprintf("format=%s entries=%d filter: %s", format, len(entries), describeFilter(f))}); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	actor := agentFrom(r).agent
	s.log.Info("audit log exported", "by", actor.ID, "format", format, "entries", len(entries))

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="veilig-audit-%s.%s"`, now.UTC().Format("20060102T150405Z"), format))
	out := make([]exportEntry, len(entries))
	for i, e := range entries {
		out[i] = exportEntry{AuditEntry: e, AgentUsername: names[e.AgentID], SubjectUsername: names[e.Subject]}
	}
	if format == "json" {
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{
			"exportedAt": now.UTC(), "exportedBy": actor.Username, "filter": describeFilter(f),
			"count": len(out), "entries": out,
		})
		return
	}
	h.Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "at", "agent_id", "agent_username", "action", "contact_id", "purpose", "attributes", "remote_addr", "subject", "subject_username", "detail"})
	for _, e := range out {
		_ = cw.Write([]string{
			strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), csvSafe(e.AgentID), csvSafe(e.AgentUsername),
			csvSafe(e.Action), csvSafe(e.SessionID), csvSafe(e.PurposeID), csvSafe(strings.Join(e.Attributes, " ")),
			csvSafe(e.RemoteAddr), csvSafe(e.Subject), csvSafe(e.SubjectUsername), csvSafe(e.Detail),
		})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (CSV
// injection): a cell that starts with = + - @ or a tab or carriage return
// gets a leading apostrophe.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
