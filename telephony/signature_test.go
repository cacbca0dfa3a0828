package telephony

import (
	"strconv"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestSignVerify(t *testing.T) {
	now := time.Unix(1795383765, 0)
	body := []byte(`{"code":"12345674"}`)
	nonce := NewNonce()
	sig := Sign(secret, now, nonce, "POST", "/telephony/v1/calls", body)
	ts := strconv.FormatInt(now.Unix(), 10)
	if _, err := Verify(secret, now.Add(time.Minute), 5*time.Minute, ts, nonce, sig, "POST", "/telephony/v1/calls", body); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, tc := range map[string]struct {
		ts, nonce, sig, method, path, body string
		at                                 time.Time
		want                               error
	}{
		"no headers":   {"", "", "", "POST", "/telephony/v1/calls", string(body), now, ErrMissing},
		"no nonce":     {ts, "", sig, "POST", "/telephony/v1/calls", string(body), now, ErrMissing},
		"bad nonce":    {ts, "short", sig, "POST", "/telephony/v1/calls", string(body), now, ErrNonce},
		"other nonce":  {ts, NewNonce(), sig, "POST", "/telephony/v1/calls", string(body), now, ErrSignature},
		"other body":   {ts, nonce, sig, "POST", "/telephony/v1/calls", `{"code":"12345675"}`, now, ErrSignature},
		"other path":   {ts, nonce, sig, "POST", "/telephony/v1/call-states", string(body), now, ErrSignature},
		"other method": {ts, nonce, sig, "PUT", "/telephony/v1/calls", string(body), now, ErrSignature},
		"too late":     {ts, nonce, sig, "POST", "/telephony/v1/calls", string(body), now.Add(6 * time.Minute), ErrTimestamp},
		"too early":    {ts, nonce, sig, "POST", "/telephony/v1/calls", string(body), now.Add(-6 * time.Minute), ErrTimestamp},
		"bad ts":       {"12a", nonce, sig, "POST", "/telephony/v1/calls", string(body), now, ErrTimestamp},
		"no v1":        {ts, nonce, sig[3:], "POST", "/telephony/v1/calls", string(body), now, ErrSignature},
		"short":        {ts, nonce, sig[:20], "POST", "/telephony/v1/calls", string(body), now, ErrSignature},
	} {
		if _, err := Verify(secret, tc.at, 5*time.Minute, tc.ts, tc.nonce, tc.sig, tc.method, tc.path, []byte(tc.body)); err != tc.want {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := Verify([]byte("another secret, also 32 bytes...."), now, 5*time.Minute, ts, nonce, sig, "POST", "/telephony/v1/calls", body); err != ErrSignature {
		t.Errorf("other secret: %v", err)
	}
	// Alike requests in one second sign differently: only a true replay
	// repeats a signature.
	first, second := Sign(secret, now, NewNonce(), "POST", "/p", body), Sign(secret, now, NewNonce(), "POST", "/p", body)
	if first == second {
		t.Error("two fresh nonces gave one signature")
	}
}

// FuzzVerify: whatever arrives in the headers and body, Verify never panics
// and accepts only what Sign produced for exactly that request.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1795383765, 0)
	n := "0123456789abcdef"
	f.Add("1795383765", n, Sign(secret, now, n, "POST", "/p", []byte("{}")), "/p", []byte("{}"))
	f.Add("", "", "v1=", "/p", []byte(nil))
	f.Add("-1", "x\n", "v1=zz", "", []byte("\x00"))
	f.Fuzz(func(t *testing.T, ts, nonce, sig, path string, body []byte) {
		_, err := Verify(secret, now, 5*time.Minute, ts, nonce, sig, "POST", path, body)
		if err == nil {
			sec, _ := strconv.ParseInt(ts, 10, 64)
			if Sign(secret, time.Unix(sec, 0), nonce, "POST", path, body) != sig {
				t.Fatalf("accepted a signature Sign did not make")
			}
		}
	})
}
