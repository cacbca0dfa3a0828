package wallet

import (
	"errors"
	"fmt"
	"sync"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/irmaclient"
)

// sessionHandler plays the person holding the phone for one session:
// it consents (or refuses) when asked and reports how the session ended.
// irmaclient calls it from its own goroutines, possibly from within the
// permission callback; the first end reported wins.
type sessionHandler struct {
	refuse bool

	once sync.Once
	done chan struct{}
	err  error // set before done is closed

	mu        sync.Mutex
	returnURL string
}

var _ irmaclient.Handler = (*sessionHandler)(nil)

func newSessionHandler(refuse bool) *sessionHandler {
	return &sessionHandler{refuse: refuse, done: make(chan struct{})}
}

func (h *sessionHandler) end(err error) {
	h.once.Do(func() {
		h.err = err
		close(h.done)
	})
}

func (h *sessionHandler) clientReturnURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.returnURL
}

func (h *sessionHandler) StatusUpdate(irma.Action, irma.ClientStatus) {}

func (h *sessionHandler) ClientReturnURLSet(u string) {
	h.mu.Lock()
	h.returnURL = u
	h.mu.Unlock()
}

func (h *sessionHandler) PairingRequired(string) {
	h.end(errors.New("wallet: the session requires pairing, which the wallet does not do"))
}

func (h *sessionHandler) Success(string) { h.end(nil) }

func (h *sessionHandler) Cancelled() {
	if h.refuse {
		h.end(nil)
		return
	}
	h.end(errors.New("wallet: session cancelled"))
}

func (h *sessionHandler) Failure(err *irma.SessionError) {
	h.end(fmt.Errorf("wallet: session failed: %w", err))
}

func (h *sessionHandler) KeyshareBlocked(irma.SchemeManagerIdentifier, int) {
	h.end(errors.New("wallet: keyshare schemes are not supported"))
}

func (h *sessionHandler) KeyshareEnrollmentMissing(irma.SchemeManagerIdentifier) {
	h.end(errors.New("wallet: keyshare schemes are not supported"))
}

func (h *sessionHandler) RequestIssuancePermission(_ *irma.IssuanceRequest, satisfiable bool, candidates [][]irmaclient.DisclosureCandidates, _ *irma.RequestorInfo, callback irmaclient.PermissionHandler) {
	h.answer(satisfiable, candidates, callback)
}

func (h *sessionHandler) RequestVerificationPermission(_ *irma.DisclosureRequest, satisfiable bool, candidates [][]irmaclient.DisclosureCandidates, _ *irma.RequestorInfo, callback irmaclient.PermissionHandler) {
	h.answer(satisfiable, candidates, callback)
}

func (h *sessionHandler) RequestSignaturePermission(_ *irma.SignatureRequest, _ bool, _ [][]irmaclient.DisclosureCandidates, _ *irma.RequestorInfo, callback irmaclient.PermissionHandler) {
	// Signatures need a timestamp server (network) and are not what this
	// wallet is for.
	if !h.refuse {
		h.end(errors.New("wallet: signature sessions are not supported"))
	}
	callback(false, nil)
}

func (h *sessionHandler) RequestPin(_ int, callback irmaclient.PinHandler) {
	h.end(errors.New("wallet: keyshare schemes are not supported"))
	callback(false, "")
}

// answer consents with, for each disjunction, the first alternative whose
// credentials the wallet holds, or declines.
func (h *sessionHandler) answer(satisfiable bool, candidates [][]irmaclient.DisclosureCandidates, callback irmaclient.PermissionHandler) {
	if h.refuse {
		callback(false, nil)
		return
	}
	if !satisfiable {
		h.end(errors.New("wallet: the wallet lacks credentials the request asks for"))
		callback(false, nil)
		return
	}
	choice := &irma.DisclosureChoice{}
	for _, discon := range candidates {
		var picked []*irma.AttributeIdentifier
		for _, option := range discon {
			if ids, err := option.Choose(); err == nil {
				picked = ids
				break
			}
		}
		if picked == nil {
			h.end(errors.New("wallet: no alternative of a disjunction can be disclosed"))
			callback(false, nil)
			return
		}
		choice.Attributes = append(choice.Attributes, picked)
	}
	callback(true, choice)
}
