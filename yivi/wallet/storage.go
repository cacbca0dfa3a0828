package wallet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/privacybydesign/irmago/eudi/credentials/sdjwtvc"
	eudi_jwt "github.com/privacybydesign/irmago/eudi/jwt"
	"github.com/privacybydesign/irmago/eudi/sdjwt"
	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/irmaclient"
)

// This file holds the only hack in the package, kept here on purpose.
//
// irmaclient.NewIrmaClient needs a *irmaclient.storage, which only
// irmaclient.NewIrmaStorage(*clientstorage.Storage, ...) makes, and
// clientstorage is an internal package of irmago: code outside irmago can
// neither name its type nor call clientstorage.NewStorage. The supported
// entry point, irmago/client.New, needs cgo and SQLCipher. So we build the
// clientstorage.Storage by reflection: allocate one, set its two unexported
// fields (storagePath and encryptionMiddleware), call Open, and pass the
// values on through reflect calls.
//
// This depends on irmago v1.3.0's unexported field names and signatures
// (the module is pinned in go.mod). newIrmaClient checks every assumption
// first and fails with errIrmagoChanged instead of panicking, so an upgrade
// that breaks it fails loudly in the wallet tests. The clean alternative is
// a small fork exporting clientstorage.NewStorage.

var errIrmagoChanged = errors.New("wallet: irmago's client storage internals differ from v1.3.0 (the wallet builds them by reflection; see yivi/wallet/storage.go)")

// irmaClient is an irmaclient.IrmaClient and the storage it needs closed.
type irmaClient struct {
	*irmaclient.IrmaClient
	closeStorage func() error
}

func newIrmaClient(dir string, key [32]byte, conf *irma.Configuration, handler irmaclient.ClientHandler) (*irmaClient, error) {
	newStorage := reflect.ValueOf(irmaclient.NewIrmaStorage)
	nst := newStorage.Type()
	if nst.NumIn() != 2 || nst.NumOut() != 1 || nst.In(1) != reflect.TypeFor[*irma.Configuration]() {
		return nil, errIrmagoChanged
	}
	csPtr := nst.In(0) // *clientstorage.Storage
	if csPtr.Kind() != reflect.Pointer || csPtr.Elem().Kind() != reflect.Struct || csPtr.Elem().Name() != "Storage" {
		return nil, errIrmagoChanged
	}

	cs := reflect.New(csPtr.Elem())
	path := cs.Elem().FieldByName("storagePath")
	mw := cs.Elem().FieldByName("encryptionMiddleware")
	var enc any = newAESGCM(key)
	if !path.IsValid() || path.Kind() != reflect.String ||
		!mw.IsValid() || mw.Kind() != reflect.Interface || !reflect.TypeOf(enc).Implements(mw.Type()) {
		return nil, errIrmagoChanged
	}
	setUnexported(path, reflect.ValueOf(dir))
	setUnexported(mw, reflect.ValueOf(enc))

	open, closeFn := cs.MethodByName("Open"), cs.MethodByName("Close")
	errType := reflect.TypeFor[error]()
	for _, m := range []reflect.Value{open, closeFn} {
		if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 || m.Type().Out(0) != errType {
			return nil, errIrmagoChanged
		}
	}
	if err := callErr(open); err != nil {
		return nil, fmt.Errorf("wallet: open storage: %w", err)
	}
	closeStorage := func() error { return callErr(closeFn) }

	storage := newStorage.Call([]reflect.Value{cs, reflect.ValueOf(conf)})[0]

	newClient := reflect.ValueOf(irmaclient.NewIrmaClient)
	nct := newClient.Type()
	if nct.NumIn() != 7 || nct.In(3) != storage.Type() || nct.NumOut() != 2 {
		_ = closeStorage()
		return nil, errIrmagoChanged
	}
	sdStore, err := irmaclient.NewInMemorySdJwtVcStorage()
	if err != nil {
		_ = closeStorage()
		return nil, err
	}
	// SD-JWT issuance is not used with our schemes; these are the neutral
	// in-memory versions the constructor insists on.
	sdCtx := sdjwtvc.SdJwtVcVerificationContext{
		X509VerificationContext: &eudi_jwt.StaticVerificationContext{},
		Clock:                   eudi_jwt.NewSystemClock(),
		JwtVerifier:             sdjwt.NewJwxJwtVerifier(),
	}
	args := []reflect.Value{
		reflect.ValueOf(conf),
		reflect.ValueOf(handler),
		reflect.ValueOf(irmaclient.Signer(noKeyshareSigner{})),
		storage,
		reflect.ValueOf(sdCtx),
		reflect.ValueOf(sdStore),
		reflect.ValueOf(sdjwt.NewDefaultKeyBinder(sdjwt.NewInMemoryKeyBindingStorage())),
	}
	for i, a := range args {
		if !a.Type().AssignableTo(nct.In(i)) {
			_ = closeStorage()
			return nil, errIrmagoChanged
		}
	}
	out := newClient.Call(args)
	client, _ := out[0].Interface().(*irmaclient.IrmaClient)
	if err, _ := out[1].Interface().(error); err != nil || client == nil {
		if client != nil {
			client.Close()
		}
		_ = closeStorage()
		if err == nil {
			err = errIrmagoChanged
		}
		return nil, fmt.Errorf("wallet: start client: %w", err)
	}
	return &irmaClient{IrmaClient: client, closeStorage: closeStorage}, nil
}

// setUnexported writes an unexported struct field, which reflect refuses
// through Set; the field belongs to a value we allocated ourselves.
func setUnexported(f, v reflect.Value) {
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(v)
}

func callErr(m reflect.Value) error {
	err, _ := m.Call(nil)[0].Interface().(error)
	return err
}

// aesGCM encrypts the client's database values the way irmago's own
// AESEncryptionMiddleware does (12-byte nonce, then the sealed data), so a
// wallet directory stays readable by irmago's client.
type aesGCM struct{ aead cipher.AEAD }

func newAESGCM(key [32]byte) *aesGCM {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &aesGCM{aead: aead}
}

func (a *aesGCM) Encrypt(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, a.aead.NonceSize(), a.aead.NonceSize()+len(plaintext)+a.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.aead.Seal(nonce, nonce, plaintext, nil), nil
}

func (a *aesGCM) Decrypt(ciphertext []byte) ([]byte, error) {
	n := a.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("wallet: ciphertext too short")
	}
	return a.aead.Open(nil, ciphertext[:n], ciphertext[n:], nil)
}

// noKeyshareSigner is the Signer irmaclient requires. It is used only with
// keyshare servers (PIN-protected schemes such as pbdf), which this wallet
// does not support, so it refuses.
type noKeyshareSigner struct{}

func (noKeyshareSigner) PublicKey(string) ([]byte, error) {
	return nil, errors.New("wallet: keyshare schemes are not supported")
}

func (noKeyshareSigner) Sign(string, []byte) ([]byte, error) {
	return nil, errors.New("wallet: keyshare schemes are not supported")
}
