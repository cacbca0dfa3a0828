// Package wallet is a real Yivi wallet in Go, irmago's irmaclient, for tests
// and a demo wallet page: it receives credentials and discloses them against
// any Yivi server, doing the same cryptography as the Yivi app.
//
// It is not the app: no PIN and no keyshare server (so no pbdf credentials),
// no pairing, no signatures. It consents to everything it is asked unless
// told to refuse.
//
// irmago keeps some state in package globals, which affects tests:
//
//   - The TLS configuration of outgoing connections is process-global: to
//     reach an https server with a test certificate, call
//     irma.SetTLSClientConfig with a pool that trusts it.
//   - A plain-http server needs the wallet in developer mode
//     (WithDeveloperMode), and so does a server not in production mode
//     (its requests carry devMode).
//   - irmago's HTTP transport writes a package global per session, so two
//     sessions in parallel, even in two wallets, are a data race under
//     -race. A Wallet runs one session at a time; run wallets one after
//     another.
//
// The client storage is built by reflection on irmago v1.3.0 internals; see
// storage.go.
package wallet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/privacybydesign/irmago/client/clientsettings"
	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/irmaclient"
)

// Wallet holds credentials in a directory and performs sessions with them.
type Wallet struct {
	mu     sync.Mutex // one session at a time, and Close after it
	client *irmaClient
	closed bool
}

// Option configures a Wallet.
type Option func(*options)

type options struct{ developerMode bool }

// WithDeveloperMode lets the wallet talk to servers over plain http and
// accept requests marked devMode (servers not in production mode), like the
// Yivi app's developer mode.
func WithDeveloperMode() Option { return func(o *options) { o.developerMode = true } }

// New opens (or creates) a wallet in dir. schemesAssetsPath is an
// irma_configuration directory whose schemes the wallet trusts (for the demo:
// the schemes path demoscheme.Extract returns); the wallet copies them into
// dir and recopies when the assets' timestamp is newer.
//
// The wallet's database is encrypted with a key kept in dir/storage.key:
// this is a demo wallet, the encryption only keeps irmago's format.
func New(dir, schemesAssetsPath string, opts ...Option) (*Wallet, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if schemesAssetsPath == "" {
		return nil, errors.New("wallet: no schemes assets path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	key, err := storageKey(filepath.Join(dir, "storage.key"))
	if err != nil {
		return nil, err
	}
	conf, err := irma.NewConfiguration(filepath.Join(dir, "irma_configuration"), irma.ConfigurationOptions{
		Assets:            schemesAssetsPath,
		IgnorePrivateKeys: true, // a wallet never holds issuer keys
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: schemes: %w", err)
	}
	c, err := newIrmaClient(dir, key, conf, clientHandler{})
	if err != nil {
		return nil, err
	}
	if o.developerMode {
		c.SetPreferences(clientsettings.Preferences{DeveloperMode: true})
	}
	return &Wallet{client: c}, nil
}

func storageKey(path string) ([32]byte, error) {
	var key [32]byte
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) == len(key):
		copy(key[:], b)
		return key, nil
	case err == nil:
		return key, fmt.Errorf("wallet: %s is not a 32-byte key", path)
	case !errors.Is(err, os.ErrNotExist):
		return key, fmt.Errorf("wallet: %w", err)
	}
	if _, err := rand.Read(key[:]); err != nil {
		return key, fmt.Errorf("wallet: %w", err)
	}
	if err := os.WriteFile(path, key[:], 0o600); err != nil {
		return key, fmt.Errorf("wallet: %w", err)
	}
	return key, nil
}

// Issue performs an issuance session: it accepts the credentials offered at
// sessionPtr ({"u": ..., "irmaqr": "issuing"}) and stores them.
func (w *Wallet) Issue(ctx context.Context, sessionPtr json.RawMessage) error {
	_, err := w.session(ctx, sessionPtr, irma.ActionIssuing, false)
	return err
}

// Disclose performs a disclosure session, consenting and choosing for each
// disjunction the first alternative the wallet can satisfy. It returns the
// clientReturnUrl the server sent, exactly as the app would open it.
func (w *Wallet) Disclose(ctx context.Context, sessionPtr json.RawMessage) (clientReturnURL string, err error) {
	return w.session(ctx, sessionPtr, irma.ActionDisclosing, false)
}

// Refuse opens the session at sessionPtr and declines it, as a person
// pressing "cancel" in the app: the server's session ends CANCELLED. Refuse
// returns when the wallet has declined; irmago tells the server in the
// background, a moment later.
func (w *Wallet) Refuse(ctx context.Context, sessionPtr json.RawMessage) error {
	_, err := w.session(ctx, sessionPtr, "", true)
	return err
}

// Close stops the client's background jobs and closes its database.
func (w *Wallet) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.client.Close()
	return w.client.closeStorage()
}

func (w *Wallet) session(ctx context.Context, sessionPtr json.RawMessage, want irma.Action, refuse bool) (string, error) {
	var qr irma.Qr
	if err := json.Unmarshal(sessionPtr, &qr); err != nil || qr.Validate() != nil {
		return "", errors.New("wallet: not a session pointer")
	}
	if want != "" && qr.Type != want {
		return "", fmt.Errorf("wallet: session pointer is for %s, not %s", qr.Type, want)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return "", errors.New("wallet: closed")
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}

	h := newSessionHandler(refuse)
	d := w.client.NewSession(string(sessionPtr), h)
	select {
	case <-h.done:
	case <-ctx.Done():
		if d != nil {
			d.Dismiss() // tells the server; ends our handler
		}
		<-h.done
		return "", ctx.Err()
	}
	if h.err != nil && d != nil {
		// An error we raised ourselves (pairing, keyshare) leaves the
		// session open at irmago; end it.
		d.Dismiss()
	}
	return h.clientReturnURL(), h.err
}

// clientHandler receives the client's events outside sessions. Errors of
// background jobs are irrelevant to a demo wallet; the rest does not happen
// without keyshare.
type clientHandler struct{}

var _ irmaclient.ClientHandler = clientHandler{}

func (clientHandler) EnrollmentFailure(irma.SchemeManagerIdentifier, error) {}
func (clientHandler) EnrollmentSuccess(irma.SchemeManagerIdentifier)        {}
func (clientHandler) ChangePinFailure(irma.SchemeManagerIdentifier, error)  {}
func (clientHandler) ChangePinSuccess()                                     {}
func (clientHandler) ChangePinIncorrect(irma.SchemeManagerIdentifier, int)  {}
func (clientHandler) ChangePinBlocked(irma.SchemeManagerIdentifier, int)    {}
func (clientHandler) UpdateConfiguration(*irma.IrmaIdentifierSet)           {}
func (clientHandler) UpdateAttributes()                                     {}
func (clientHandler) Revoked(*irma.CredentialIdentifier)                    {}
func (clientHandler) ReportError(error)                                     {}
