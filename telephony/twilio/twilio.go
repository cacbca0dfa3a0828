// Package twilio plugs Twilio Programmable Voice into Veilig Contact: the
// webhooks a Twilio number calls, answered with TwiML. It is the one place
// where Twilio's requests become telephony.Core calls.
//
// The call goes: the number's voice webhook (PathVoice) answers a <Gather>
// for the code the phone types after the pause; Twilio posts the digits to
// PathGather, which reports the call and answers <Enqueue> (or <Dial>) with
// the contact reference passed along, never the code; a miss gets one more
// <Gather> (Config.Retries), then the caller goes on unverified. The
// number's status callback (PathStatus) reports the end of the call, which
// destroys the attributes.
//
// Every request must carry a valid X-Twilio-Signature for the exact URL
// Twilio requested (Config.BaseURL + path and query) and its form
// parameters; others are refused with 403 and nothing of them is used.
// (The bounded form body is read first: the signature covers it.)
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// Provider is the provider name Twilio calls are reported under; the call
// id is the CallSid.
const Provider = "twilio"

// Webhook paths, on the public listener.
const (
	PathVoice       = "/twilio/voice"        // the number's "A call comes in" webhook
	PathGather      = "/twilio/gather"       // <Gather action>: the digits
	PathStatus      = "/twilio/status"       // the number's call status callback
	PathQueueResult = "/twilio/queue-result" // <Enqueue action>: why the caller left the queue
)

// maxBody bounds a webhook body; Twilio's are about 1 KiB.
const maxBody = 64 << 10

// Config configures the webhooks.
type Config struct {
	Core telephony.Core
	// AuthToken is the Twilio account's auth token: the key of its
	// request signatures.
	AuthToken string
	// BaseURL is the scheme and host (and port, if any) Twilio requests, as
	// configured on the number, e.g. https://contact.example.nl. Behind a
	// proxy it is the public address, not the one veilig listens on.
	BaseURL string

	// Where callers go: a queue (Enqueue, optionally through TaskRouter
	// with WorkflowSID) or a <Dial> target (Dial: a phone number, a SIP URI
	// or client:<identity>). Exactly one of Enqueue and Dial.
	Enqueue           string
	UnverifiedEnqueue string // the queue of unverified callers; Enqueue when empty
	WorkflowSID       string
	Dial              string

	Retries       int           // extra attempts after a miss (0-3)
	NumDigits     int           // digits to gather (the code length); 0: up to '#' or the timeout
	GatherTimeout time.Duration // Twilio's <Gather timeout>, whole seconds (default 5s)
	Language      string        // <Say language>, e.g. nl-NL
	Voice         string        // <Say voice>, e.g. Polly.Lotte; empty: Twilio's default
	Timeout       time.Duration // bounds each call to the core (telephony.DefaultTimeout when zero)
	// Prefix is where the webhooks are: "" is /twilio (PathVoice...); an
	// organisation's own account has /twilio/<organisation>.
	Prefix string
	Logger *slog.Logger
}

// Handler serves the webhooks.
type Handler struct {
	cfg  Config
	base string
	msgs messages
	log  *slog.Logger
}

var (
	queueName     = regexp.MustCompile(`^[\x21-\x7e][\x20-\x7e]{0,63}$`)
	workflowSID   = regexp.MustCompile(`^WW[0-9a-f]{32}$`)
	callSID       = regexp.MustCompile(`^CA[0-9a-f]{32}$`)
	prefixPattern = regexp.MustCompile(`^/twilio(/[a-z0-9][a-z0-9-]{0,62})?$`)
)

// New checks cfg and returns the webhooks' handler.
func New(cfg Config) (*Handler, error) {
	var problems []string
	if cfg.Core == nil {
		problems = append(problems, "no core")
	}
	if cfg.AuthToken == "" {
		problems = append(problems, "an auth token is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		problems = append(problems, "the base URL must be scheme://host[:port] as Twilio requests it")
	}
	if (cfg.Enqueue == "") == (cfg.Dial == "") {
		problems = append(problems, "exactly one of enqueue and dial is required")
	}
	for _, q := range []string{cfg.Enqueue, cfg.UnverifiedEnqueue} {
		if q != "" && !queueName.MatchString(q) {
			problems = append(problems, "queue names are 1-64 printable characters")
		}
	}
	if cfg.WorkflowSID != "" && (!workflowSID.MatchString(cfg.WorkflowSID) || cfg.Enqueue == "") {
		problems = append(problems, "workflow_sid is a TaskRouter workflow SID (WW and 32 hex digits) and goes with enqueue")
	}
	if cfg.Retries < 0 || cfg.Retries > 3 {
		problems = append(problems, "retries must be 0-3")
	}
	if cfg.NumDigits < 0 || cfg.NumDigits > veilig.MaxCodeLength {
		problems = append(problems, fmt.Sprintf("num_digits must be 0-%d", veilig.MaxCodeLength))
	}
	if cfg.GatherTimeout == 0 {
		cfg.GatherTimeout = 5 * time.Second
	}
	if cfg.GatherTimeout < time.Second || cfg.GatherTimeout > time.Minute {
		problems = append(problems, "the gather timeout must be 1s-1m")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/twilio"
	}
	if !prefixPattern.MatchString(cfg.Prefix) {
		problems = append(problems, "the prefix must be /twilio or /twilio/<organisation>")
	}
	if len(problems) > 0 {
		return nil, errors.New("twilio: " + strings.Join(problems, "; "))
	}
	if cfg.UnverifiedEnqueue == "" {
		cfg.UnverifiedEnqueue = cfg.Enqueue
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, base: strings.TrimSuffix(cfg.BaseURL, "/"), msgs: messagesFor(cfg.Language), log: log}, nil
}

// path is one of the Path* webhooks under the handler's prefix.
func (h *Handler) path(p string) string {
	return h.cfg.Prefix + strings.TrimPrefix(p, "/twilio")
}

// Routes returns the webhooks by net/http pattern, to mount on the public
// listener (Twilio's cloud must reach them).
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST " + h.path(PathVoice):       h.webhook(h.voice),
		"POST " + h.path(PathGather):      h.webhook(h.gather),
		"POST " + h.path(PathStatus):      h.webhook(h.status),
		"POST " + h.path(PathQueueResult): h.webhook(h.queueResult),
	}
}

// webhook reads the bounded form body, refuses a request whose signature is
// not Twilio's (403), and hands the parameters on.
func (h *Handler) webhook(next func(http.ResponseWriter, *http.Request, url.Values)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			plain(w, http.StatusUnsupportedMediaType, "Twilio webhooks are application/x-www-form-urlencoded POSTs")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			plain(w, http.StatusRequestEntityTooLarge, "the request body is too large")
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			plain(w, http.StatusBadRequest, "the request body is not a valid form")
			return
		}
		if !ValidSignature(h.cfg.AuthToken, h.base+r.URL.RequestURI(), form, r.Header.Get(SignatureHeader)) {
			h.log.Warn("refused a Twilio webhook without a valid signature", "path", r.URL.Path)
			plain(w, http.StatusForbidden, "missing or invalid X-Twilio-Signature")
			return
		}
		next(w, r, form)
	})
}

// callID returns the request's CallSid, or answers 400: Twilio always sends
// one, so a signed request without it is broken.
func (h *Handler) callID(w http.ResponseWriter, form url.Values) (string, bool) {
	sid := form.Get("CallSid")
	if !callSID.MatchString(sid) {
		plain(w, http.StatusBadRequest, "CallSid is missing or malformed")
		return "", false
	}
	return sid, true
}

func (h *Handler) voice(w http.ResponseWriter, r *http.Request, form url.Values) {
	if _, ok := h.callID(w, form); !ok {
		return
	}
	writeTwiML(w, h.gatherTwiML(1, h.msgs.prompt))
}

func (h *Handler) gatherTwiML(attempt int, prompt string) string {
	action := h.base + h.path(PathGather) + "?attempt=" + strconv.Itoa(attempt)
	t := newTwiML().open("Gather",
		"input", "dtmf", "action", action, "method", "POST",
		"numDigits", digits(h.cfg.NumDigits), "finishOnKey", "#",
		"timeout", strconv.Itoa(int(h.cfg.GatherTimeout/time.Second)))
	h.say(t, prompt)
	t.close("Gather")
	// Without input Twilio goes on to the next verb: the same action,
	// without Digits, which counts as "no code".
	return t.elem("Redirect", action, "method", "POST").String()
}

func digits(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (h *Handler) say(t *twiml, text string) {
	t.elem("Say", text, "language", h.cfg.Language, "voice", h.cfg.Voice)
}

// withheldKeypad are numbers that spell ANONYMOUS, RESTRICTED, BLOCKED,
// UNKNOWN and UNAVAILABLE on a keypad, which Twilio passes as From when the
// caller withheld the number.
var withheldKeypad = map[string]bool{
	"+266696687": true, "+7378742833": true, "+2562533": true, "+8656696": true, "+86282452253": true,
}

func (h *Handler) gather(w http.ResponseWriter, r *http.Request, form url.Values) {
	sid, ok := h.callID(w, form)
	if !ok {
		return
	}
	attempt, err := strconv.Atoi(r.URL.Query().Get("attempt"))
	if err != nil || attempt < 1 {
		attempt = h.cfg.Retries + 1 // a mangled action URL gets no more tries
	}
	var o telephony.Outcome
	from := form.Get("From")
	if withheldKeypad[from] {
		from = veilig.AnonymousCaller
	}
	caller, err := telephony.CallerNumber(from)
	if err != nil {
		// Twilio always sends From; without it nothing is looked up, and
		// the caller still reaches the centre.
		h.log.Warn("Twilio call without a caller number; routed unverified without a lookup", "provider", Provider, "call", sid)
		o.Result = telephony.ResultInvalid
	} else {
		o, err = telephony.Match(r.Context(), h.cfg.Core, veilig.IncomingCall{
			Code: form.Get("Digits"), CallerNumber: caller, Provider: Provider, CallID: sid,
			CalledNumber: telephony.CalledNumber(form.Get("To")),
		}, h.cfg.Timeout)
		if err != nil {
			h.log.Error("report call", "provider", Provider, "call", sid, "result", o.Result, "err", err)
		} else {
			h.log.Info("call reported", "provider", Provider, "call", sid, "result", o.Result, "attempt", attempt, "contactRef", o.ContactRef)
		}
	}
	switch {
	case o.Matched():
		writeTwiML(w, h.routeTwiML(o, h.msgs.verified))
	case o.Result.Retry() && attempt <= h.cfg.Retries:
		writeTwiML(w, h.gatherTwiML(attempt+1, h.msgs.retry))
	default:
		writeTwiML(w, h.routeTwiML(o, h.msgs.unverified))
	}
}

// routeTwiML sends the caller to the agents: verified callers with their
// contact reference where the verb can carry it.
func (h *Handler) routeTwiML(o telephony.Outcome, say string) string {
	t := newTwiML()
	h.say(t, say)
	ref := o.ContactRef
	if h.cfg.Enqueue != "" {
		queue := h.cfg.Enqueue
		if !o.Matched() {
			queue = h.cfg.UnverifiedEnqueue
		}
		t.open("Enqueue", "action", h.base+h.path(PathQueueResult), "method", "POST", "workflowSid", h.cfg.WorkflowSID)
		if h.cfg.WorkflowSID != "" {
			// TaskRouter: the task's attributes reach the agent's
			// application; the ref is opaque and no secret.
			task, _ := json.Marshal(map[string]any{"veiligVerified": o.Matched(), "veiligContactRef": ref})
			t.elem("Task", string(task))
		} else {
			t.text(queue)
		}
		return t.close("Enqueue").String()
	}
	t.open("Dial")
	switch target := h.cfg.Dial; {
	case strings.HasPrefix(target, "client:"):
		t.open("Client").elem("Identity", strings.TrimPrefix(target, "client:"))
		if ref != "" {
			t.empty("Parameter", "name", "veiligContactRef", "value", ref)
		}
		t.close("Client")
	case strings.HasPrefix(target, "sip:"), strings.HasPrefix(target, "sips:"):
		// Twilio sends X- query parameters of a SIP URI as SIP headers.
		if ref != "" {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "X-Veilig-Contact-Ref=" + url.QueryEscape(ref)
		}
		t.elem("Sip", target)
	default:
		t.elem("Number", target)
	}
	return t.close("Dial").String()
}

// endStatuses are the CallStatus values of a call that is over.
var endStatuses = map[string]bool{"completed": true, "busy": true, "failed": true, "no-answer": true, "canceled": true}

func (h *Handler) status(w http.ResponseWriter, r *http.Request, form url.Values) {
	sid, ok := h.callID(w, form)
	if !ok {
		return
	}
	if !endStatuses[form.Get("CallStatus")] {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !h.report(r.Context(), w, sid, veilig.ConnectionEnded) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// report reports a call state, answering 503 when veilig cannot record it.
func (h *Handler) report(ctx context.Context, w http.ResponseWriter, sid string, st veilig.ConnectionState) bool {
	found, err := telephony.ReportState(ctx, h.cfg.Core, Provider, sid, st, h.cfg.Timeout)
	if err != nil {
		h.log.Error("report call state", "provider", Provider, "call", sid, "state", st, "err", err)
		plain(w, http.StatusServiceUnavailable, "the call state could not be recorded")
		return false
	}
	if found {
		h.log.Info("call state reported", "provider", Provider, "call", sid, "state", st)
	}
	return true
}

// queueResult ends the call when the caller left the queue without an
// agent because of the queue (full or failing): those contacts are over.
// Other results (bridged, hangup) leave the end to the status callback.
func (h *Handler) queueResult(w http.ResponseWriter, r *http.Request, form url.Values) {
	sid, ok := h.callID(w, form)
	if !ok {
		return
	}
	switch form.Get("QueueResult") {
	case "queue-full", "system-error", "error":
		if !h.report(r.Context(), w, sid, veilig.ConnectionUnavailable) {
			return
		}
		t := newTwiML()
		h.say(t, h.msgs.unavailable)
		writeTwiML(w, t.empty("Hangup").String())
	default:
		writeTwiML(w, newTwiML().empty("Hangup").String())
	}
}

func writeTwiML(w http.ResponseWriter, doc string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, doc)
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// messages are what the caller hears.
type messages struct{ prompt, retry, verified, unverified, unavailable string }

func messagesFor(language string) messages {
	if strings.HasPrefix(strings.ToLower(language), "en") {
		return messages{
			prompt:      "Welcome. Please type your code.",
			retry:       "We did not recognise that code. Please type it again.",
			verified:    "Thank you. Your identity has been confirmed. We are connecting you.",
			unverified:  "We are connecting you with an agent.",
			unavailable: "We cannot take your call right now. Please try again later.",
		}
	}
	return messages{
		prompt:      "Welkom. Toets nu uw code.",
		retry:       "Die code herkennen we niet. Toets de code nog een keer.",
		verified:    "Dank u. Uw identiteit is bevestigd. We verbinden u door.",
		unverified:  "We verbinden u door met een medewerker.",
		unavailable: "Op dit moment kunnen we uw gesprek niet aannemen. Probeer het later nog eens.",
	}
}
