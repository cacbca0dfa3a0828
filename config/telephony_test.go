package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTelephonySettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "veilig.yaml")
	os.WriteFile(file, []byte(`
data_dir: `+dir+`
telephony:
  twilio:
    public_url: https://contact.example.nl
    enqueue: verified
    unverified_enqueue: unverified
    retries: 2
    gather_timeout: 7s
  asterisk:
    fastagi_listen: 10.0.0.5:4573
    fastagi_allow: [10.0.0.0/24]
`), 0o600)
	c, err := Load(file, []string{
		"VEILIG_TELEPHONY_TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef",
		"VEILIG_TELEPHONY_ASTERISK_FASTAGI_ALLOW=10.0.0.0/24, 192.168.1.7/32",
	})
	if err != nil {
		t.Fatal(err)
	}
	tw, as := c.Telephony.Twilio, c.Telephony.Asterisk
	if tw.AuthToken != "0123456789abcdef0123456789abcdef" || tw.PublicURL != "https://contact.example.nl" || tw.Enqueue != "verified" ||
		tw.UnverifiedEnqueue != "unverified" || tw.Retries != 2 || tw.GatherTimeout != 7*time.Second || tw.Language != "nl-NL" {
		t.Errorf("twilio = %+v", tw)
	}
	if as.FastAGIListen != "10.0.0.5:4573" || len(as.FastAGIAllow) != 2 || as.FastAGIAllow[1] != "192.168.1.7/32" {
		t.Errorf("asterisk = %+v", as)
	}
	// Off by default.
	d := Default()
	if d.Telephony.Twilio.AuthToken != "" || d.Telephony.Asterisk.FastAGIListen != "" || d.Telephony.Twilio.Retries != 1 {
		t.Errorf("defaults %+v", d.Telephony)
	}
}

func TestTelephonySettingsProblems(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "veilig.yaml")
	os.WriteFile(file, []byte(`
data_dir: `+dir+`
telephony:
  twilio:
    auth_token: not-a-token
    public_url: https://contact.example.nl/twilio
    enqueue: verified
    dial: "0612345678"
    workflow_sid: WW1
    retries: 9
    num_digits: 40
    gather_timeout: 1500ms
    language: dutch
    voice: "Polly Lotte"
  asterisk:
    fastagi_listen: "4573"
    fastagi_allow: [10.0.0.0/33]
`), 0o600)
	_, err := Load(file, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{
		"telephony.twilio.auth_token:", "telephony.twilio.public_url:", "telephony.twilio.dial:", "telephony.twilio.workflow_sid:",
		"telephony.twilio.retries:", "telephony.twilio.num_digits:", "telephony.twilio.gather_timeout:", "telephony.twilio.language:",
		"telephony.twilio.voice:", "telephony.asterisk.fastagi_listen:", "telephony.asterisk.fastagi_allow:",
	} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("no problem reported for %s in:\n%v", key, err)
		}
	}
	if strings.Contains(err.Error(), "not-a-token") {
		t.Error("the problem list repeats the auth token")
	}

	// Routing without a token, and a token without routing.
	c := Default()
	c.Telephony.Twilio.Enqueue = "verified"
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "telephony.twilio.auth_token:") {
		t.Errorf("enqueue without a token: %v", err)
	}
	c = Default()
	c.Telephony.Twilio.AuthToken = "0123456789abcdef0123456789abcdef"
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "telephony.twilio.enqueue:") {
		t.Errorf("a token without routing: %v", err)
	}
	c = Default()
	c.Telephony.Asterisk.FastAGIListen = c.Internal.Listen
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "telephony.asterisk.fastagi_listen:") {
		t.Errorf("FastAGI on the internal listener's address: %v", err)
	}
}
