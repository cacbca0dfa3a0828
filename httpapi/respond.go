package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// MaxBodyBytes bounds every JSON request body: the largest legitimate one (a
// sign-in) is far below it.
const MaxBodyBytes = 16 << 10

var statusByCode = map[string]int{
	veilig.ECONFLICT:     http.StatusConflict,
	veilig.EEXPIRED:      http.StatusGone,
	veilig.EFORBIDDEN:    http.StatusForbidden,
	veilig.EINTERNAL:     http.StatusInternalServerError,
	veilig.EINVALID:      http.StatusBadRequest,
	veilig.ENOTFOUND:     http.StatusNotFound,
	veilig.ENOMATCH:      http.StatusNotFound,
	veilig.ERATELIMIT:    http.StatusTooManyRequests,
	veilig.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	veilig.EUNAUTHORIZED: http.StatusUnauthorized,
	veilig.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err as {"error":{"code","message"}} with the status
// its code maps to. Internal errors are logged and answered generically, so
// no detail of ours (let alone personal data) reaches the caller.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := veilig.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == veilig.EINTERNAL {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == veilig.ERATELIMIT {
		retry := 60
		if d := veilig.ErrorRetryAfter(err); d > 0 {
			retry = int((d + time.Second - 1) / time.Second)
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = veilig.ErrorMessage(err)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a bounded request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	// A declared length over the bound is refused before reading: a client
	// that sent "Expect: 100-continue" then gets the 413 instead of a
	// connection reset halfway through its upload.
	if r.ContentLength > MaxBodyBytes {
		return nil, veilig.Errorf(veilig.ETOOLARGE, "the request body is larger than %d bytes", MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, veilig.Errorf(veilig.ETOOLARGE, "the request body is larger than %d bytes", MaxBodyBytes)
	} else if err != nil {
		return nil, veilig.Errorf(veilig.EINVALID, "the request body could not be read")
	}
	return body, nil
}

// readJSON reads a bounded request body and decodes it as decodeJSON does.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(r, body, v)
}

// decodeJSON decodes exactly one JSON object from body into v, refusing
// unknown fields, so a typo in a field name is an error and not a silent
// default.
func decodeJSON(r *http.Request, body []byte, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return veilig.Errorf(veilig.EINVALID, "the request body must be JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return veilig.Errorf(veilig.EINVALID, "the request body is not valid JSON for this endpoint: %s", jsonProblem(err))
	}
	if dec.More() {
		return veilig.Errorf(veilig.EINVALID, "the request body must hold one JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing input values; a
// field name is ours to echo only when it is one we could have defined.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error"
	case errors.As(err, &typ) && typ.Field == "":
		return "it must be a JSON object"
	case errors.As(err, &typ):
		if plainField.MatchString(typ.Field) {
			return "field " + typ.Field + " has the wrong type"
		}
		return "a field has the wrong type"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end"
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		if name, ok = strings.CutSuffix(name, `"`); ok && plainField.MatchString(name) {
			return "unknown field " + name
		}
		return "unknown field"
	}
	return "malformed"
}

// plainField is what a field name we echo may look like.
var plainField = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,39}$`)
