package httpapi

import (
	"cmp"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/httpstatus"
)

// Metrics are the Prometheus metrics of one process. Labels are organisations, purposes,
// routes and outcomes: never anything personal.
type Metrics struct {
	requests      *prometheus.HistogramVec
	sessions      *prometheus.CounterVec
	disclosures   *prometheus.CounterVec
	calls         *prometheus.CounterVec
	opened        *prometheus.CounterVec
	streams       prometheus.Gauge
	signatureFail prometheus.Counter
	alarm         prometheus.Gauge
	alarms        prometheus.Counter
}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "veilig_http_request_duration_seconds", Help: "HTTP requests by route, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status"}),
		sessions:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "veilig_sessions_started_total", Help: "Sessions started, by organisation and purpose."}, []string{"organisation", "purpose"}),
		disclosures:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "veilig_disclosures_total", Help: "Finished Yivi disclosures by organisation, purpose and resulting state."}, []string{"organisation", "purpose", "state"}),
		calls:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "veilig_calls_total", Help: "Reported calls by the organisation whose line was called (none: no organisation's) and result (matched, no_match, malformed, proof_pending, rate_limited, invalid, no_line, other_line)."}, []string{"organisation", "result"}),
		opened:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "veilig_contacts_opened_total", Help: "Contacts whose attributes an agent opened, by organisation and purpose."}, []string{"organisation", "purpose"}),
		streams:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "veilig_event_streams", Help: "Open event streams (SSE)."}),
		signatureFail: prometheus.NewCounter(prometheus.CounterOpts{Name: "veilig_telephony_signature_failures_total", Help: "Telephony requests refused for a bad, old or replayed signature."}),
		alarm:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "veilig_guessing_alarm", Help: "1 while this replica sees the guessing alarm raised (codes that matched nothing reached telephony.miss_overall), else 0."}),
		alarms:        prometheus.NewCounter(prometheus.CounterOpts{Name: "veilig_guessing_alarms_total", Help: "Times this replica saw the guessing alarm raised."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.sessions, m.disclosures, m.calls, m.opened, m.streams, m.signatureFail, m.alarm, m.alarms)
	}
	return m
}

// Observer returns the service hooks that feed these metrics.
func (m *Metrics) Observer() veilig.Observer {
	return veilig.Observer{
		SessionStarted: func(o, p string) { m.sessions.WithLabelValues(o, p).Inc() },
		Disclosure:     func(o, p string, s veilig.SessionState) { m.disclosures.WithLabelValues(o, p, string(s)).Inc() },
		Call:           func(o, r string) { m.calls.WithLabelValues(cmp.Or(o, "none"), r).Inc() },
		ContactOpened:  func(o, p string) { m.opened.WithLabelValues(o, p).Inc() },
		GuessingAlarm: func(raised bool) {
			if raised {
				m.alarm.Set(1)
				m.alarms.Inc()
			} else {
				m.alarm.Set(0)
			}
		},
	}
}

func (m *Metrics) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &httpstatus.Recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.Status)).Observe(time.Since(start).Seconds())
	})
}
