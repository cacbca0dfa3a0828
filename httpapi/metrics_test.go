package httpapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsDocumented: docs/scaling.md's table lists exactly the veilig_*
// metrics a replica registers, each with its labels.
func TestMetricsDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	obs := m.Observer()
	obs.SessionStarted("o", "p")
	obs.Disclosure("o", "p", "disclosed")
	obs.Call("", "matched")
	obs.ContactOpened("o", "p")
	obs.GuessingAlarm(true)
	m.instrument("/x", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	labels := map[string]string{}
	for _, f := range families {
		registered = append(registered, f.GetName())
		var names []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			names = append(names, "`"+l.GetName()+"`")
		}
		labels[f.GetName()] = strings.Join(names, ", ")
		if f.GetName() == "veilig_calls_total" && !strings.Contains(f.GetMetric()[0].String(), `value:"none"`) {
			t.Errorf("a call on no organisation's line is not counted as organisation none: %v", f.GetMetric()[0])
		}
	}
	doc, err := os.ReadFile("../docs/scaling.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(veilig_[a-z_]+)` \\| [a-z]+ \\|([^|]*)\\|").FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
		if got := labels[m[1]]; strings.HasPrefix(m[1], "veilig_") && got != strings.TrimSpace(m[2]) && !(m[1] == "veilig_http_request_duration_seconds") {
			t.Errorf("%s: labels %q, documented %q", m[1], got, strings.TrimSpace(m[2]))
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	if !slices.Equal(registered, documented) {
		t.Fatalf("registered %v\ndocumented %v", registered, documented)
	}
}
