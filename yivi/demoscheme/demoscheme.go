// Package demoscheme holds a locally generated and signed Yivi (IRMA) scheme,
// veilig-demo, with one issuer and its private key, so that Veilig Contact
// can run a complete disclosure without the network: in the demo, in tests
// and with the demo wallet.
//
// It is for demo and tests only, never for production:
//
//   - the issuer private key is committed to the repository and embedded in
//     the binary, so anyone can issue veilig-demo credentials;
//   - the issuer key is 1024 bits (see [Generate]): generating it takes 2-6 s
//     instead of about 4 minutes at 2048 bits, which keeps regeneration and
//     the test of Generate fast;
//   - the real Yivi app only trusts the schemes it bundles (pbdf, irma-demo),
//     so production must request real pbdf attributes instead.
//
// The scheme is not marked <Demo> (that would make irmago look for private
// keys inside the scheme and demand "Demo " in every name) and has no
// keyshare server, so no PIN is involved. Its URL is on an .invalid host:
// nothing can ever download or update it.
//
// The committed copy lives in data/ and is regenerated with
//
//	go generate ./yivi/demoscheme
//
// which writes new keys, valid for ten years, and a new signature.
package demoscheme

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:generate go run gen.go

// Identifiers of the demo scheme. Attribute ids are what purposes list in
// their condiscon.
const (
	SchemeID = "veilig-demo"
	IssuerID = SchemeID + ".gemeente"

	PersonalDataCredential = IssuerID + ".personalData"
	MobileNumberCredential = IssuerID + ".mobilenumber"

	BSN          = PersonalDataCredential + ".bsn"
	FullName     = PersonalDataCredential + ".fullname"
	FamilyName   = PersonalDataCredential + ".familyname"
	DateOfBirth  = PersonalDataCredential + ".dateofbirth"
	City         = PersonalDataCredential + ".city"
	MobileNumber = MobileNumberCredential + ".mobilenumber"
)

// Layout of a generated or extracted directory. The server takes the two
// directories as server.Configuration.SchemesPath and IssuerPrivateKeysPath;
// the private key stays outside the signed scheme directory so it is never
// signed, copied to a wallet or served.
const (
	SchemesDir     = "irma_configuration"
	PrivateKeysDir = "privatekeys"
)

//go:embed data
var data embed.FS

// FS returns the committed scheme and private key: SchemesDir and
// PrivateKeysDir at its root (next to a README).
func FS() fs.FS {
	sub, err := fs.Sub(data, "data")
	if err != nil {
		panic(err) // the embed pattern guarantees data/ exists
	}
	return sub
}

// Extract writes the embedded scheme and issuer private key under dir and
// returns the paths to hand to the Yivi server (SchemesPath and
// IssuerPrivateKeysPath). irmago reads schemes and keys from disk only, hence
// the copy.
//
// Anything left from an earlier extraction of this scheme is removed first:
// a stale file in a signed scheme directory makes irmago ignore it or skip
// keys. Other schemes and keys under dir are left alone.
func Extract(dir string) (schemesPath, privateKeysPath string, err error) {
	schemesPath = filepath.Join(dir, SchemesDir)
	privateKeysPath = filepath.Join(dir, PrivateKeysDir)
	if err := os.RemoveAll(filepath.Join(schemesPath, SchemeID)); err != nil {
		return "", "", fmt.Errorf("demoscheme: remove old scheme: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(privateKeysPath, SchemeID+".*"))
	if err != nil {
		return "", "", fmt.Errorf("demoscheme: %w", err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return "", "", fmt.Errorf("demoscheme: remove old key: %w", err)
		}
	}

	src := FS()
	for _, root := range []string{SchemesDir, PrivateKeysDir} {
		err = fs.WalkDir(src, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			dst := filepath.Join(dir, filepath.FromSlash(p))
			if d.IsDir() {
				return os.MkdirAll(dst, dirMode(p))
			}
			b, err := fs.ReadFile(src, p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, fileMode(p))
		})
		if err != nil {
			return "", "", fmt.Errorf("demoscheme: extract: %w", err)
		}
	}
	return schemesPath, privateKeysPath, nil
}

// The private key directory and key are readable by the owner only, as the
// CLI's keygen does; the scheme is public.
func dirMode(p string) os.FileMode {
	if p == PrivateKeysDir || strings.HasPrefix(p, PrivateKeysDir+"/") {
		return 0o700
	}
	return 0o755
}

func fileMode(p string) os.FileMode {
	if strings.HasPrefix(p, PrivateKeysDir+"/") {
		return 0o600
	}
	return 0o644
}
