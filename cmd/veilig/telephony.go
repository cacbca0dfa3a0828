package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/httpapi"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/telephony/asterisk"
	"github.com/veiligcontact/veilig/telephony/twilio"
)

// telephonyAdapters are the platform adapters veilig serves itself (the
// Amazon Connect Lambda runs in AWS and uses the internal listener's signed
// API). Each calls the service in-process through telephony.Core.
type telephonyAdapters struct {
	agi []fastAGI // the platform's and organisations' FastAGI servers, as configured
}

// fastAGI is one Asterisk's FastAGI server and its listener.
type fastAGI struct {
	org string // "" for the platform's
	srv *asterisk.Server
	ln  net.Listener
}

// setupTelephony mounts the Twilio webhooks on the public listener (Twilio's
// cloud must reach them; their signature is the gate) and opens the FastAGI
// listeners, as configured: the platform's, and each organisation's own,
// whose calls report through its Reporter (its lines only).
func (a *app) setupTelephony(hcfg *httpapi.Config, purposes []*veilig.Purpose) error {
	numDigits := a.cfg.Telephony.Twilio.NumDigits
	if numDigits == 0 {
		// The phone types exactly the code; with one code length Twilio
		// need not wait for the timeout after the last digit.
		for _, p := range purposes {
			if ps := telephony.SettingsOf(p); ps != nil {
				numDigits = max(numDigits, ps.CodeLength)
			}
		}
	}
	if err := a.mountTwilio(hcfg, a.cfg.Telephony.Twilio, a.service, "", numDigits); err != nil {
		return fmt.Errorf("telephony.twilio: %w", err)
	}
	if err := a.listenFastAGI(a.cfg.Telephony.Asterisk, a.service, ""); err != nil {
		return err
	}
	hcfg.OrgTelephonySecrets = map[string][]byte{}
	for _, o := range a.cfg.Organisations {
		core := a.service.Reporter(o.ID)
		if o.Telephony.Secret != "" {
			hcfg.OrgTelephonySecrets[o.ID], _ = base64.StdEncoding.DecodeString(o.Telephony.Secret) // checked by the configuration
		}
		if err := a.mountTwilio(hcfg, o.TwilioSettings(a.cfg.Telephony.Twilio), core, "/twilio/"+o.ID, numDigits); err != nil {
			return fmt.Errorf("organisations.%s.telephony.twilio: %w", o.ID, err)
		}
		if err := a.listenFastAGI(o.Telephony.Asterisk, core, o.ID); err != nil {
			return fmt.Errorf("organisations.%s.telephony.asterisk: %w", o.ID, err)
		}
	}
	return nil
}

// mountTwilio mounts one Twilio account's webhooks under prefix ("": the
// platform's, /twilio); nothing while it has no auth token.
func (a *app) mountTwilio(hcfg *httpapi.Config, tw config.Twilio, core telephony.Core, prefix string, numDigits int) error {
	if tw.AuthToken == "" {
		return nil
	}
	base := tw.PublicURL
	if base == "" {
		base = a.publicURL
	}
	h, err := twilio.New(twilio.Config{
		Core: core, AuthToken: tw.AuthToken, BaseURL: base, Prefix: prefix,
		Enqueue: tw.Enqueue, UnverifiedEnqueue: tw.UnverifiedEnqueue, WorkflowSID: tw.WorkflowSID, Dial: tw.Dial,
		Retries: tw.Retries, NumDigits: numDigits, GatherTimeout: tw.GatherTimeout,
		Language: tw.Language, Voice: tw.Voice,
		Logger: a.log.With("component", "twilio", "organisation", prefix),
	})
	if err != nil {
		return err
	}
	if hcfg.Pages == nil {
		hcfg.Pages = map[string]http.Handler{}
	}
	for pattern, handler := range h.Routes() {
		hcfg.Pages[pattern] = handler
	}
	return nil
}

// listenFastAGI opens one Asterisk's FastAGI listener (org "": the
// platform's); nothing while it has no fastagi_listen.
func (a *app) listenFastAGI(ast config.Asterisk, core telephony.Core, org string) error {
	if ast.FastAGIListen == "" {
		return nil
	}
	var allow []netip.Prefix
	for _, n := range ast.FastAGIAllow {
		pfx, err := netip.ParsePrefix(n)
		if err != nil {
			return fmt.Errorf("fastagi_allow: %q is not a network", n)
		}
		allow = append(allow, pfx)
	}
	ln, err := net.Listen("tcp", ast.FastAGIListen)
	if err != nil {
		return fmt.Errorf("FastAGI listener: %w", err)
	}
	a.tel.agi = append(a.tel.agi, fastAGI{
		org: org, ln: ln,
		srv: &asterisk.Server{Core: core, Allow: allow, Logger: a.log.With("component", "fastagi", "organisation", org)},
	})
	return nil
}

// startTelephony serves the FastAGI listeners.
func (a *app) startTelephony() {
	for _, f := range a.tel.agi {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := f.srv.Serve(f.ln); err != nil && !errors.Is(err, net.ErrClosed) {
				a.log.Error("FastAGI server stopped", "organisation", f.org, "err", err)
			}
		}()
	}
}

// stopTelephony stops the FastAGI servers, letting running sessions finish
// until ctx is done.
func (a *app) stopTelephony(ctx context.Context) {
	for _, f := range a.tel.agi {
		_ = f.srv.Shutdown(ctx)
	}
}

// closeTelephony closes what setupTelephony opened but start never served.
func (a *app) closeTelephony() {
	for _, f := range a.tel.agi {
		_ = f.ln.Close()
	}
}

// fastAGIAddr is the address of the FastAGI server of organisation org
// ("": the platform's), "" when it has none.
func (a *app) fastAGIAddr(org ...string) string {
	want := ""
	if len(org) > 0 {
		want = org[0]
	}
	for _, f := range a.tel.agi {
		if f.org == want {
			return f.ln.Addr().String()
		}
	}
	return ""
}
