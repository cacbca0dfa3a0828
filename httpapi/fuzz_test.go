package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig"
)

// FuzzDecodeIncomingCall: the telephony body parser and the call validation
// never panic, and anything they accept is a well-formed call.
func FuzzDecodeIncomingCall(f *testing.F) {
	f.Add([]byte(`{"code":"12345674","callerNumber":"+31612345678","provider":"connect","callId":"abc"}`))
	f.Add([]byte(`{"code":1}`))
	f.Add([]byte(`{"code":"1","extra":{}}{}`))
	f.Add([]byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/telephony/v1/calls", nil)
		r.Header.Set("Content-Type", "application/json")
		var c veilig.IncomingCall
		if err := decodeJSON(r, body, &c); err != nil {
			if veilig.ErrorCode(err) != veilig.EINVALID {
				t.Fatalf("decode error with code %s", veilig.ErrorCode(err))
			}
			return
		}
		if err := c.Validate(); err == nil {
			if c.Provider == "" || c.CallID == "" || c.CallerNumber == "" || len(c.Code) > 64 {
				t.Fatalf("accepted %+v", c)
			}
		} else if strings.Contains(veilig.ErrorMessage(err), c.Code) && c.Code != "" && len(c.Code) > 3 {
			t.Fatalf("error message echoes the code: %v", err)
		}
	})
}

// FuzzLastEventID: a reconnecting client's Last-Event-ID is a number or a
// clear error, never a panic.
func FuzzLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "42", "-1", "9999999999999999999999", "1e3", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Last-Event-ID", v)
		n, err := lastEventID(r)
		if err == nil && n < 0 {
			t.Fatalf("negative id %d from %q", n, v)
		}
	})
}
