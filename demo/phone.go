package demo

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// Provider is the name the demo phone network reports calls under.
const Provider = "demo"

// DefaultCaller is the demo phone's own number: the mobile number in the
// demo credentials.
const DefaultCaller = "+31612345678"

func callerNumber() string { return DefaultCaller }

var (
	callerPattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	callIDPattern = regexp.MustCompile(`^demo-[0-9a-z]{12}$`)
)

// phoneCall "dials": it routes the number like a carrier (only the
// purposes' numbers reach Veilig Contact) and reports the call with the
// digits typed after the pause to the signed telephony API, as a telephony
// platform does when its IVR has read the tones.
func (d *Demo) phoneCall(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Dial   string `json:"dial"`
		Caller string `json:"caller"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	dial, err := ParseDial(req.Dial)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	caller := strings.TrimSpace(req.Caller)
	if caller == "" {
		caller = DefaultCaller
	}
	if !callerPattern.MatchString(caller) {
		writeError(w, http.StatusBadRequest, "invalid", "the caller's number must be an international number such as +31612345678")
		return
	}
	if !slices.Contains(d.cfg.phoneNumbers(), dial.Number) {
		writeJSON(w, http.StatusOK, map[string]any{"result": "not_in_service", "number": dial.Number})
		return
	}
	if dial.Digits == "" {
		writeError(w, http.StatusBadRequest, "invalid", "the contact centre asks for your code: dial the number, a comma, then the code (+31850000000,12345678)")
		return
	}
	callID := "demo-" + strings.ToLower(veilig.NewID()[:12])
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	m, err := d.cfg.Telephony.ReportCall(ctx, veilig.IncomingCall{
		Code: dial.Digits, CallerNumber: caller, CalledNumber: dial.Number, Provider: Provider, CallID: callID,
	})
	if err != nil {
		d.telephonyError(w, err)
		return
	}
	if !m.Matched {
		// What the IVR says to a code that is unknown, used or expired.
		writeJSON(w, http.StatusOK, map[string]any{"result": "no_match", "number": dial.Number})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"result": "connected", "number": dial.Number, "callId": callID, "contact": m.ContactRef, "purpose": m.PurposeID,
	})
}

// phoneCallState tells the demo phone what became of its call, as a caller
// hears it: "queued" while it waits for an agent, "answered" once an agent
// has the contact, "ended" when the contact is over (the agent ended it, or
// the call was hung up). The page asks while the call lasts.
func (d *Demo) phoneCallState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !callIDPattern.MatchString(id) || d.cfg.CallState == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such demo call")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	state, err := d.cfg.CallState(ctx, Provider, id)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		writeError(w, http.StatusNotFound, "not_found", "no such demo call")
		return
	} else if err != nil {
		d.log.Error("demo phone: call state", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the call's state cannot be read now")
		return
	}
	heard := "ended"
	switch state {
	case veilig.StateMatched:
		heard = "queued"
	case veilig.StateAnswered:
		heard = "answered"
	}
	writeJSON(w, http.StatusOK, map[string]any{"callId": id, "state": heard})
}

// phoneHangup reports that the demo phone hung up.
func (d *Demo) phoneHangup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !callIDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, "not_found", "no such demo call")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := d.cfg.Telephony.ReportConnectionState(ctx, Provider, id, veilig.ConnectionEnded); err != nil {
		d.telephonyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": "ended", "callId": id})
}

// telephonyError passes on the telephony API's refusal (a throttled caller,
// a call that already ended) and hides everything else.
func (d *Demo) telephonyError(w http.ResponseWriter, err error) {
	if status, ok := passedOn[veilig.ErrorCode(err)]; ok {
		writeError(w, status, veilig.ErrorCode(err), veilig.ErrorMessage(err))
		return
	}
	d.log.Error("demo phone: telephony API", "err", scrub(err.Error()))
	writeError(w, http.StatusBadGateway, "unavailable", "the telephony API did not answer; see the server log")
}

// passedOn are the telephony API's refusals the demo phone shows, with
// the status the API answered them with.
var passedOn = map[string]int{
	veilig.EINVALID:   http.StatusBadRequest,
	veilig.ENOTFOUND:  http.StatusNotFound,
	veilig.ECONFLICT:  http.StatusConflict,
	veilig.ETOOLARGE:  http.StatusRequestEntityTooLarge,
	veilig.ERATELIMIT: http.StatusTooManyRequests,
}
