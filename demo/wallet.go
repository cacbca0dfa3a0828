package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

// walletTimeout bounds a request to the demo wallet, waiting for its turn
// included; it stays under the public listener's write timeout (30 s), so
// the page always gets an answer. A session takes about a second.
const walletTimeout = 25 * time.Second

// demoWallet is the server's one demo wallet. irmago's client keeps
// process-wide state per session, so sessions run one at a time: turn is
// held for each issuance or disclosure, and guards the fields below.
type demoWallet struct {
	cfg  Config
	log  *slog.Logger
	turn chan struct{} // a lock that a request can stop waiting for

	w        *wallet.Wallet // nil until first use
	issuedAt time.Time      // zero: holds nothing
	closed   bool
}

// lock waits for the wallet's turn, or for ctx.
func (dw *demoWallet) lock(ctx context.Context) bool {
	select {
	case dw.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (dw *demoWallet) unlock() { <-dw.turn }

func newDemoWallet(cfg Config, log *slog.Logger) (*demoWallet, error) {
	if cfg.WalletDir == "" {
		return nil, errors.New("demo: no wallet directory")
	}
	// Start empty, so what the page says the wallet holds is what it holds.
	if err := os.RemoveAll(cfg.WalletDir); err != nil {
		return nil, fmt.Errorf("demo wallet: %w", err)
	}
	return &demoWallet{cfg: cfg, log: log, turn: make(chan struct{}, 1)}, nil
}

// open creates the wallet on first use. Called in the wallet's turn.
func (dw *demoWallet) open() (*wallet.Wallet, error) {
	if dw.closed {
		return nil, errors.New("demo wallet: closed")
	}
	if dw.w != nil {
		return dw.w, nil
	}
	schemes, _, err := demoscheme.Extract(filepath.Join(dw.cfg.WalletDir, "assets"))
	if err != nil {
		return nil, fmt.Errorf("demo wallet: %w", err)
	}
	var opts []wallet.Option
	if dw.cfg.DeveloperMode {
		opts = append(opts, wallet.WithDeveloperMode())
	}
	w, err := wallet.New(filepath.Join(dw.cfg.WalletDir, "wallet"), schemes, opts...)
	if err != nil {
		return nil, fmt.Errorf("demo wallet: %w", err)
	}
	dw.w = w
	return w, nil
}

// issue fills the wallet with the demo credentials through a real issuance
// session on the embedded Yivi server. Called in the wallet's turn.
func (dw *demoWallet) issue(ctx context.Context) error {
	w, err := dw.open()
	if err != nil {
		return err
	}
	ptr, err := dw.cfg.Issuer.StartIssuance(ctx, Credentials())
	if err != nil {
		return fmt.Errorf("start issuance: %w", err)
	}
	if err := w.Issue(ctx, ptr); err != nil {
		return err
	}
	dw.issuedAt = time.Now().UTC()
	return nil
}

func (dw *demoWallet) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), walletTimeout)
	defer cancel()
	if !dw.lock(ctx) {
		return errors.New("demo wallet: busy at close")
	}
	defer dw.unlock()
	dw.closed = true
	if dw.w == nil {
		return nil
	}
	return dw.w.Close()
}

// walletView is what the wallet page shows: the credentials the wallet
// accepted in its issuance session, with their values.
type walletView struct {
	Available   bool               `json:"available"`
	Credentials []credentialView   `json:"credentials"`
	IssuedAt    *time.Time         `json:"issuedAt,omitempty"`
	Disclosed   *disclosureOutcome `json:"disclosed,omitempty"`
	Issued      bool               `json:"issuedNow,omitempty"`
}

type credentialView struct {
	Type       string            `json:"type"`
	Attributes map[string]string `json:"attributes"`
}

type disclosureOutcome struct {
	// ClientReturnURL is what the Yivi app would open now: the tel: URI.
	ClientReturnURL string `json:"clientReturnUrl"`
	Number          string `json:"number,omitempty"`
	Code            string `json:"code,omitempty"`
}

func (dw *demoWallet) view() walletView {
	v := walletView{Available: true, Credentials: []credentialView{}}
	if !dw.issuedAt.IsZero() {
		at := dw.issuedAt
		v.IssuedAt = &at
		for _, c := range Credentials() {
			v.Credentials = append(v.Credentials, credentialView{Type: c.Type, Attributes: c.Attributes})
		}
	}
	return v
}

func (d *Demo) walletState(w http.ResponseWriter, r *http.Request) {
	if d.wallet == nil {
		writeJSON(w, http.StatusOK, walletView{Credentials: []credentialView{}})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), walletTimeout)
	defer cancel()
	if !d.wallet.lock(ctx) {
		d.busy(w)
		return
	}
	v := d.wallet.view()
	d.wallet.unlock()
	writeJSON(w, http.StatusOK, v)
}

func (d *Demo) busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the demo wallet is busy with another session; try again in a moment")
}

func (d *Demo) noWallet(w http.ResponseWriter) bool {
	if d.wallet != nil {
		return false
	}
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the demo wallet needs the embedded Yivi server (yivi.mode: embedded)")
	return true
}

// walletCredentials (re)issues the demo credentials to the demo wallet.
func (d *Demo) walletCredentials(w http.ResponseWriter, r *http.Request) {
	if d.noWallet(w) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), walletTimeout)
	defer cancel()
	dw := d.wallet
	if !dw.lock(ctx) {
		d.busy(w)
		return
	}
	defer dw.unlock()
	if err := dw.issue(ctx); err != nil {
		d.log.Warn("demo wallet: issuance failed", "err", scrub(err.Error()))
		writeError(w, http.StatusBadGateway, "unavailable", "the demo credentials could not be issued; see the server log")
		return
	}
	v := dw.view()
	v.Issued = true
	writeJSON(w, http.StatusOK, v)
}

// walletDisclose discloses the demo credentials in the session the page
// pasted, as the Yivi app does after a scan, getting the credentials first
// if the wallet has none yet. Only sessions of this server's own Yivi
// server are accepted: the demo wallet is no proxy to other hosts.
func (d *Demo) walletDisclose(w http.ResponseWriter, r *http.Request) {
	if d.noWallet(w) {
		return
	}
	var req struct {
		Session string `json:"session"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ptr, err := ParseSessionPointer(req.Session)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if ptr.Irmaqr != "disclosing" {
		writeError(w, http.StatusBadRequest, "invalid", "this is a Yivi "+ptr.Irmaqr+" session; the demo wallet only discloses")
		return
	}
	if !strings.HasPrefix(ptr.U, strings.TrimSuffix(d.cfg.PublicURL, "/")+"/irma/session/") {
		writeError(w, http.StatusBadRequest, "invalid", "this session is not of this Veilig Contact server; the demo wallet only talks to "+d.cfg.PublicURL)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), walletTimeout)
	defer cancel()
	dw := d.wallet
	if !dw.lock(ctx) {
		d.busy(w)
		return
	}
	defer dw.unlock()
	issuedNow := false
	if dw.issuedAt.IsZero() {
		if err := dw.issue(ctx); err != nil {
			d.log.Warn("demo wallet: issuance failed", "err", scrub(err.Error()))
			writeError(w, http.StatusBadGateway, "unavailable", "the demo credentials could not be issued; see the server log")
			return
		}
		issuedNow = true
	}
	ret, err := dw.w.Disclose(ctx, ptr.JSON())
	if err != nil {
		// irmago's messages can hold session URLs and tokens: the log
		// gets them scrubbed, the page gets none of it.
		d.log.Info("demo wallet: disclosure did not complete", "err", scrub(err.Error()))
		writeError(w, http.StatusConflict, "conflict", "the demo wallet could not disclose in this session: it has expired, was cancelled or was already used, or it asks for attributes the demo credentials do not have; start a new one")
		return
	}
	v := dw.view()
	v.Issued = issuedNow
	v.Disclosed = &disclosureOutcome{ClientReturnURL: ret}
	if dial, err := ParseDial(ret); err == nil {
		v.Disclosed.Number, v.Disclosed.Code = dial.Number, dial.Digits
	}
	writeJSON(w, http.StatusOK, v)
}

// issue starts an issuance session of the demo credentials and answers its
// session pointer, for a wallet elsewhere (`veilig demo wallet`).
func (d *Demo) issue(w http.ResponseWriter, r *http.Request) {
	if d.cfg.Issuer == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "demo issuance needs the embedded Yivi server")
		return
	}
	ptr, err := d.cfg.Issuer.StartIssuance(r.Context(), Credentials())
	if err != nil {
		d.log.Error("demo issuance", "err", scrub(err.Error()))
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the demo issuance could not start")
		return
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{"sessionPtr": ptr})
}

var (
	urlPattern   = regexp.MustCompile(`(?i)\b(https?|tel):\S*`)
	tokenPattern = regexp.MustCompile(`[0-9A-Za-z]{20,}`)
)

// scrub removes from an irmago error what must never reach a log: URLs
// (session URLs carry tokens), tel: URIs (number and code), tokens, and the
// JSON dumps irmago appends to some messages.
func scrub(s string) string {
	if i := strings.IndexByte(s, '{'); i >= 0 {
		s = s[:i] + "{…}"
	}
	s = urlPattern.ReplaceAllString(s, "[redacted]")
	return tokenPattern.ReplaceAllString(s, "[redacted]")
}
