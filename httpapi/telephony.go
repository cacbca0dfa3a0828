package httpapi

import (
	"crypto/sha256"
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// signed checks the HMAC signature and freshness of a telephony request and
// refuses replays (remembered in the store, so across replicas), then hands
// the verified body on.
// signed checks the request's signature by the platform's secret or an
// organisation's own, and hands next the core that signer may use: the
// service itself, or the organisation's Reporter.
func (s *server) signed(next func(http.ResponseWriter, *http.Request, []byte, telephony.Core)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		now := s.Clock()
		verify := func(secret []byte) ([]byte, error) {
			return telephony.Verify(secret, now, s.ReplayWindow,
				r.Header.Get(telephony.TimestampHeader), r.Header.Get(telephony.NonceHeader), r.Header.Get(telephony.SignatureHeader), r.Method, r.URL.Path, body)
		}
		var core telephony.Core = s.Service
		sig, err := verify(s.TelephonySecret)
		if errors.Is(err, telephony.ErrSignature) {
			for _, org := range slices.Sorted(maps.Keys(s.OrgTelephonySecrets)) {
				if osig, oerr := verify(s.OrgTelephonySecrets[org]); oerr == nil {
					sig, err, core = osig, nil, s.Service.Reporter(org)
					break
				}
			}
		}
		if err != nil {
			s.Metrics.signatureFail.Inc()
			writeError(w, r, s.log, veilig.Errorf(veilig.EUNAUTHORIZED, "%s", err.Error()))
			return
		}
		h := sha256.Sum256(sig)
		// Remember past the far edge of the window, so the same timestamp
		// cannot be accepted again later.
		if err := s.Store.RememberSignature(r.Context(), h[:], now.Add(2*s.ReplayWindow)); err != nil {
			if veilig.ErrorCode(err) == veilig.ECONFLICT {
				s.Metrics.signatureFail.Inc()
				err = veilig.Errorf(veilig.EUNAUTHORIZED, "this request was already received (replay)")
			}
			writeError(w, r, s.log, err)
			return
		}
		next(w, r, body, core)
	}
}

func (s *server) reportCall(w http.ResponseWriter, r *http.Request, body []byte, core telephony.Core) {
	var call veilig.IncomingCall
	if err := decodeJSON(r, body, &call); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	m, err := core.ReportCall(r.Context(), call)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *server) reportCallState(w http.ResponseWriter, r *http.Request, body []byte, core telephony.Core) {
	var rep telephony.CallStateReport
	if err := decodeJSON(r, body, &rep); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := core.ReportConnectionState(r.Context(), rep.Provider, rep.CallID, rep.State); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
