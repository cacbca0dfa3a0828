package twilio

import (
	"net/url"
	"strings"
	"testing"

	twilioclient "github.com/twilio/twilio-go/client"
)

// Twilio's published examples (docs "Webhooks security", and the test
// vectors of twilio-go's RequestValidator).
const vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"

var vectors = []struct {
	name, url string
	params    url.Values
	sig       string
}{
	{
		name: "docs example",
		url:  vectorURL,
		params: url.Values{
			"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
			"From": {"+12349013030"}, "To": {"+18005551212"},
		},
		sig: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
	},
	{
		name: "twilio-go vector (Reason sorts before ReasonConferenceEnded)",
		url:  vectorURL,
		params: url.Values{
			"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
			"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
		},
		sig: "vOEb5UThFn24KEfnOFLQY2AE5FY=",
	},
	{
		name:   "twilio-go form body vector",
		url:    vectorURL,
		params: url.Values{"property": {"value"}, "boolean": {"true"}},
		sig:    "NBdBDr/T/lgjI+tlgpXjKZQZs/k=",
	},
	{
		name: "twilio-go http vector, signed without the port",
		url:  "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
		params: url.Values{
			"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
			"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
		},
		sig: "n2xBNyzSW7rfYStDtOFiFMv7qNo=",
	},
}

func TestSignatureVectors(t *testing.T) {
	for _, v := range vectors {
		if !ValidSignature("12345", v.url, v.params, v.sig) {
			t.Errorf("%s: the published signature is refused (we compute %s)", v.name, Signature("12345", v.url, v.params))
		}
	}
	v := vectors[1]
	if got := Signature("12345", v.url, v.params); got != v.sig {
		t.Errorf("Signature = %s, want %s", got, v.sig)
	}
	// Twilio documents this value as what sorting "key+value" strings
	// (instead of keys) gives: it must be refused.
	if ValidSignature("12345", v.url, v.params, "95+Bu0JVPi0r/SsESZCVf0dWAjw=") {
		t.Error("accepted the signature of wrongly sorted parameters")
	}
	for name, tc := range map[string]struct {
		token, url string
		params     url.Values
		sig        string
	}{
		"other token":   {"54321", v.url, v.params, v.sig},
		"other path":    {"12345", strings.Replace(v.url, "myapp", "yourapp", 1), v.params, v.sig},
		"other query":   {"12345", strings.Replace(v.url, "foo=1", "foo=2", 1), v.params, v.sig},
		"other digits":  {"12345", v.url, with(v.params, "Digits", "1235"), v.sig},
		"extra param":   {"12345", v.url, with(v.params, "Extra", "x"), v.sig},
		"other scheme":  {"12345", strings.Replace(v.url, "https", "http", 1), v.params, v.sig},
		"empty":         {"12345", v.url, v.params, ""},
		"not base64":    {"12345", v.url, v.params, "!!!!"},
		"short":         {"12345", v.url, v.params, "vOEb5UThFn24KEfn"},
		"no auth token": {"", v.url, v.params, Signature("", v.url, v.params)},
	} {
		if ValidSignature(tc.token, tc.url, tc.params, tc.sig) {
			t.Errorf("%s: accepted", name)
		}
	}
	// Explicit default port, or none: Twilio has signed both ways.
	if !ValidSignature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", v.params, v.sig) {
		t.Error("refused the URL with its explicit default port")
	}
	if !ValidSignature("12345", v.url, v.params, Signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", v.params)) {
		t.Error("refused a signature made over the URL with the default port")
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}

// TestSignatureAgreesWithTwilioGo cross-checks our validator with the
// official library's on the vectors and on signatures we make.
func TestSignatureAgreesWithTwilioGo(t *testing.T) {
	for _, v := range vectors {
		checkAgainstTwilioGo(t, "12345", v.url, v.params, v.sig)
		checkAgainstTwilioGo(t, "12345", v.url, v.params, Signature("12345", v.url, v.params))
		checkAgainstTwilioGo(t, "12345", v.url, v.params, "vOEb5UThFn24KEfnOFLQY2AE5FY=")
	}
}

func checkAgainstTwilioGo(t *testing.T, token, u string, params url.Values, sig string) {
	t.Helper()
	rv := twilioclient.NewRequestValidator(token)
	flat := map[string]string{}
	for k, v := range params {
		flat[k] = v[0]
	}
	theirs := rv.Validate(u, flat, sig)
	theirsBody := theirs
	if pu, err := url.Parse(u); err == nil && !pu.Query().Has("bodySHA256") {
		// ValidateBody refuses what it cannot parse, and treats a URL with
		// bodySHA256 as a JSON webhook; Validate does neither.
		theirsBody = rv.ValidateBody(u, []byte(params.Encode()), sig)
	}
	ours := ValidSignature(token, u, params, sig)
	if ours != theirs || ours != theirsBody {
		t.Errorf("%s %v %s: ours %v, twilio-go Validate %v, ValidateBody %v", u, params, sig, ours, theirs, theirsBody)
	}
}

// FuzzSignature: for any URL and single-valued form, our validator and
// twilio-go's agree, and a signature we make validates.
func FuzzSignature(f *testing.F) {
	f.Add("12345", vectorURL, "Digits=1234&CallSid=CA1234567890ABCDE&From=%2B14158675309", "")
	f.Add("t", "http://h:8080/p?q=1", "a=1&b=2", "vOEb5UThFn24KEfnOFLQY2AE5FY=")
	f.Add("", "::", "%zz", "====")
	f.Fuzz(func(t *testing.T, token, u, form, sig string) {
		params, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		for _, v := range params {
			if len(v) != 1 {
				return // twilio-go takes the first of repeated names only
			}
		}
		if token == "" {
			return
		}
		own := Signature(token, u, params)
		if !ValidSignature(token, u, params, own) {
			t.Fatal("our own signature is refused")
		}
		if pu, err := url.Parse(u); err == nil && strings.Contains(pu.Hostname(), ":") {
			return // twilio-go mangles IPv6 hosts when it strips a port
		}
		checkAgainstTwilioGo(t, token, u, params, own)
		if sig != "" {
			checkAgainstTwilioGo(t, token, u, params, sig)
		}
	})
}
