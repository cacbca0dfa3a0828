package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader carries Twilio's signature of a webhook request.
const SignatureHeader = "X-Twilio-Signature"

// Signature computes Twilio's request signature: base64 of HMAC-SHA1 keyed
// with the account's auth token over the full URL Twilio requested (scheme,
// host, path and query, exactly as configured), followed by every POST
// parameter name and value, names sorted byte-wise, without separators.
// Several values of one name are appended in sorted order (as Twilio's
// Python and Node libraries do); Twilio's voice webhooks send each name once.
func Signature(authToken, fullURL string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ValidSignature reports whether sig is Twilio's signature of a request to
// fullURL with params. Twilio has signed URLs both with and without an
// explicit port, so both forms are accepted (as its own libraries do).
// The comparison is in constant time.
func ValidSignature(authToken, fullURL string, params url.Values, sig string) bool {
	if authToken == "" || sig == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha1.Size {
		return false
	}
	ok := false
	for _, u := range urlForms(fullURL) {
		want, _ := base64.StdEncoding.DecodeString(Signature(authToken, u, params))
		// No early exit: every form is checked, so timing says nothing.
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	return ok
}

// urlForms returns fullURL as given and, like Twilio's own libraries, the
// same URL with its scheme's default port when it has none, or without its
// port when it has one.
func urlForms(fullURL string) []string {
	u, err := url.Parse(fullURL)
	if err != nil || u.Host == "" {
		return []string{fullURL}
	}
	other := *u
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		other.Host = net.JoinHostPort(u.Hostname(), port)
	} else {
		other.Host = u.Hostname()
		if strings.Contains(other.Host, ":") {
			other.Host = "[" + other.Host + "]"
		}
	}
	return []string{fullURL, other.String()}
}
