package httpapi

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func TestAuditFilter(t *testing.T) {
	r := httptest.NewRequest("GET", "/api/v1/admin/audit?agent=a1&action=contact.opened&contact=s1&purpose=demo&subject=a2&since=2030-01-01T00:00:00%2B01:00&until=2030-01-02T00:00:00Z", nil)
	f, err := auditFilter(r, "default")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2029, 12, 31, 23, 0, 0, 0, time.UTC)
	if f.OrgID != "default" || f.AgentID != "a1" || f.Action != veilig.AuditContactOpened || f.SessionID != "s1" || f.PurposeID != "demo" || f.Subject != "a2" || !f.Since.Equal(since) || !f.Until.Equal(time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("filter %+v", f)
	}
	if got := describeFilter(f); got != "agent=a1 action=contact.opened contact=s1 purpose=demo subject=a2 since=2029-12-31T23:00:00Z until=2030-01-02T00:00:00Z" {
		t.Errorf("describe %q", got)
	}
	if got := describeFilter(veilig.AuditFilter{}); got != "all" {
		t.Errorf("describe empty %q", got)
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-1": "'-1", "@sum": "'@sum", "\tx": "'\tx", "\rx": "'\rx",
		"alice": "alice", "": "", "2001:db8::1": "2001:db8::1", "a=b": "a=b",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzAuditFilter: any query is a filter of plain ids and times or a clear
// error, and a filter never carries what the patterns forbid into the
// audit detail of an export.
func FuzzAuditFilter(f *testing.F) {
	f.Add("agent=a1&since=2030-01-01T00:00:00Z")
	f.Add("action=contact.opened&contact=%00")
	f.Add("until=9999-99-99&purpose=%3Cscript%3E")
	f.Add("agent=a%20b&agent=c")
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/api/v1/admin/audit", nil)
		r.URL.RawQuery = q
		fl, err := auditFilter(r, "default")
		if err != nil {
			if veilig.ErrorCode(err) != veilig.EINVALID {
				t.Fatalf("error code %s", veilig.ErrorCode(err))
			}
			return
		}
		for _, v := range []string{fl.AgentID, fl.SessionID, fl.PurposeID, fl.Subject, fl.Action} {
			if v != "" && !filterIDPattern.MatchString(v) {
				t.Fatalf("accepted %q", v)
			}
		}
		if fl.Action != "" && !slices.Contains(veilig.AuditActions, fl.Action) {
			t.Fatalf("accepted action %q", fl.Action)
		}
		if d := describeFilter(fl); strings.ContainsAny(d, "\n\r\"<>") {
			t.Fatalf("detail %q", d)
		}
	})
}
