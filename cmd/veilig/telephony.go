package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/httpapi"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/telephony/asterisk"
	"github.com/veiligcontact/veilig/telephony/twilio"
)

// telephonyAdapters are the platform adapters veilig serves itself (the
// Amazon Connect Lambda runs in AWS and uses the internal listener's signed
// API). Each calls the service in-process through telephony.Core.
type telephonyAdapters struct {
	agi   *asterisk.Server // nil when telephony.asterisk.fastagi_listen is empty
	agiLn net.Listener
}

// setupTelephony mounts the Twilio webhooks on the public listener (Twilio's
// cloud must reach them; their signature is the gate) and opens the FastAGI
// listener, as configured.
func (a *app) setupTelephony(hcfg *httpapi.Config, purposes []*veilig.Purpose) error {
	tw := a.cfg.Telephony.Twilio
	if tw.AuthToken != "" {
		base := tw.PublicURL
		if base == "" {
			base = a.publicURL
		}
		numDigits := tw.NumDigits
		if numDigits == 0 {
			// The phone types exactly the code; with one code length Twilio
			// need not wait for the timeout after the last digit.
			for _, p := range purposes {
				if ps := telephony.SettingsOf(p); ps != nil {
					numDigits = max(numDigits, ps.CodeLength)
				}
			}
		}
		h, err := twilio.New(twilio.Config{
			Core: a.service, AuthToken: tw.AuthToken, BaseURL: base,
			Enqueue: tw.Enqueue, UnverifiedEnqueue: tw.UnverifiedEnqueue, WorkflowSID: tw.WorkflowSID, Dial: tw.Dial,
			Retries: tw.Retries, NumDigits: numDigits, GatherTimeout: tw.GatherTimeout,
			Language: tw.Language, Voice: tw.Voice,
			Logger: a.log.With("component", "twilio"),
		})
		if err != nil {
			return fmt.Errorf("telephony.twilio: %w", err)
		}
		if hcfg.Pages == nil {
			hcfg.Pages = map[string]http.Handler{}
		}
		for pattern, handler := range h.Routes() {
			hcfg.Pages[pattern] = handler
		}
	}

	ast := a.cfg.Telephony.Asterisk
	if ast.FastAGIListen != "" {
		var allow []netip.Prefix
		for _, n := range ast.FastAGIAllow {
			pfx, err := netip.ParsePrefix(n)
			if err != nil {
				return fmt.Errorf("telephony.asterisk.fastagi_allow: %q is not a network", n)
			}
			allow = append(allow, pfx)
		}
		ln, err := net.Listen("tcp", ast.FastAGIListen)
		if err != nil {
			return fmt.Errorf("FastAGI listener: %w", err)
		}
		a.tel.agiLn = ln
		a.tel.agi = &asterisk.Server{Core: a.service, Allow: allow, Logger: a.log.With("component", "fastagi")}
	}
	return nil
}

// startTelephony serves the FastAGI listener.
func (a *app) startTelephony() {
	if a.tel.agi == nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.tel.agi.Serve(a.tel.agiLn); err != nil && !errors.Is(err, net.ErrClosed) {
			a.log.Error("FastAGI server stopped", "err", err)
		}
	}()
}

// stopTelephony stops the FastAGI server, letting running sessions finish
// until ctx is done.
func (a *app) stopTelephony(ctx context.Context) {
	if a.tel.agi != nil {
		_ = a.tel.agi.Shutdown(ctx)
	}
}

// closeTelephony closes what setupTelephony opened but start never served.
func (a *app) closeTelephony() {
	if a.tel.agiLn != nil {
		_ = a.tel.agiLn.Close()
	}
}

// fastAGIAddr is the FastAGI server's address ("" when off).
func (a *app) fastAGIAddr() string {
	if a.tel.agiLn == nil {
		return ""
	}
	return a.tel.agiLn.Addr().String()
}
