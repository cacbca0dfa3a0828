package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"time"
)

var (
	twilioToken    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	twilioWorkflow = regexp.MustCompile(`^WW[0-9a-f]{32}$`)
	twilioQueue    = regexp.MustCompile(`^[\x21-\x7e][\x20-\x7e]{0,63}$`)
	twilioDial     = regexp.MustCompile(`^(\+[0-9]{6,15}|sips?:[\x21-\x7e]{3,250}|client:[A-Za-z0-9_.@-]{1,120})$`)
	sayLanguage    = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)
	sayVoice       = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// problems of the Twilio settings, each with its key.
func (t *Twilio) problems(prefix string) []string {
	var p []string
	add := func(key, msg string, args ...any) {
		p = append(p, prefix+key+": "+fmt.Sprintf(msg, args...))
	}
	if t.AuthToken == "" {
		if t.Enqueue != "" || t.Dial != "" {
			add("auth_token", "is required to turn the Twilio webhooks on (enqueue or dial is set)")
		}
		return p
	}
	if !twilioToken.MatchString(t.AuthToken) {
		add("auth_token", "must be the Twilio account's auth token (32 hexadecimal digits)")
	}
	if t.PublicURL != "" {
		if u, err := url.Parse(t.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			add("public_url", "must be the base URL Twilio requests, without a path, such as https://contact.example.nl")
		}
	}
	switch {
	case t.Enqueue == "" && t.Dial == "":
		add("enqueue", "one of enqueue (a queue name) and dial (a number, SIP URI or client:identity) is required")
	case t.Enqueue != "" && t.Dial != "":
		add("dial", "enqueue and dial exclude each other")
	}
	if t.Enqueue != "" && !twilioQueue.MatchString(t.Enqueue) {
		add("enqueue", "must be a queue name of 1-64 printable characters")
	}
	if t.UnverifiedEnqueue != "" && (!twilioQueue.MatchString(t.UnverifiedEnqueue) || t.Enqueue == "") {
		add("unverified_enqueue", "must be a queue name of 1-64 printable characters, and goes with enqueue")
	}
	if t.WorkflowSID != "" && (!twilioWorkflow.MatchString(t.WorkflowSID) || t.Enqueue == "") {
		add("workflow_sid", "must be a TaskRouter workflow SID (WW and 32 hexadecimal digits), and goes with enqueue")
	}
	if t.Dial != "" && !twilioDial.MatchString(t.Dial) {
		add("dial", "must be a number such as +31201234567, a SIP URI such as sip:agents@pbx.example.nl, or client:<identity>")
	}
	if t.Retries < 0 || t.Retries > 3 {
		add("retries", "must be 0-3")
	}
	if t.NumDigits < 0 || t.NumDigits > 16 {
		add("num_digits", "must be 0 (the longest code length of the purposes) to 16")
	}
	if t.GatherTimeout < time.Second || t.GatherTimeout > time.Minute || t.GatherTimeout%time.Second != 0 {
		add("gather_timeout", "must be whole seconds from 1s to 1m")
	}
	if !sayLanguage.MatchString(t.Language) {
		add("language", "must be a language tag such as nl-NL")
	}
	if t.Voice != "" && !sayVoice.MatchString(t.Voice) {
		add("voice", "must be a Twilio voice name such as Polly.Lotte")
	}
	return p
}

// problems of the Asterisk settings, each with its key.
func (a *Asterisk) problems(c *Config, prefix string) []string {
	var p []string
	if a.FastAGIListen == "" {
		return p
	}
	if _, port, err := net.SplitHostPort(a.FastAGIListen); err != nil || port == "" {
		p = append(p, prefix+"fastagi_listen: must be host:port, such as 10.0.0.5:4573")
	} else if (a.FastAGIListen == c.Public.Listen || a.FastAGIListen == c.Internal.Listen) && port != "0" {
		p = append(p, prefix+"fastagi_listen: must differ from public.listen and internal.listen")
	}
	for _, n := range a.FastAGIAllow {
		if _, err := netip.ParsePrefix(n); err != nil {
			p = append(p, fmt.Sprintf(prefix+"fastagi_allow: %q is not a network such as 10.0.0.0/24", n))
		}
	}
	return p
}
