package demoscheme

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/privacybydesign/gabi/gabikeys"
	"github.com/privacybydesign/gabi/signed"
	"github.com/privacybydesign/irmago/irma"
)

// KeyCounter is the counter of the one issuer key pair Generate makes.
const KeyCounter = 0

// Generate writes a new veilig-demo scheme under dir, doing in-process what
// `yivi irma issuer keygen` followed by `yivi irma scheme sign` do:
//
//	dir/irma_configuration/veilig-demo/...          the signed scheme (SchemesPath)
//	dir/privatekeys/veilig-demo.gemeente.0.xml      the issuer private key (IssuerPrivateKeysPath)
//
// keyBits is the issuer key size: 1024, 2048 or 4096. Key generation looks
// for safe primes and its time varies a lot: 2-6 s at 1024 bits, about
// 4 minutes at 2048 on a 2-core machine. The committed demo scheme uses 1024
// bits, which is fine for a demo whose private key is public anyway and
// never fine for production. validFor is how long the public key is valid;
// wallets refuse credentials signed with an expired key.
//
// The scheme signing key (ECDSA P-256) is generated, used once and thrown
// away: to change the scheme, generate a new one. Generate refuses to write
// over an existing veilig-demo scheme under dir.
func Generate(dir string, keyBits int, validFor time.Duration) error {
	params, ok := gabikeys.DefaultSystemParameters[keyBits]
	if !ok {
		return fmt.Errorf("demoscheme: unsupported key size %d, use one of %v", keyBits, gabikeys.DefaultKeyLengths)
	}
	if validFor <= 0 {
		return errors.New("demoscheme: validFor must be positive")
	}
	schemeDir := filepath.Join(dir, SchemesDir, SchemeID)
	keyDir := filepath.Join(dir, PrivateKeysDir)
	if _, err := os.Stat(schemeDir); err == nil {
		return fmt.Errorf("demoscheme: %s already exists", schemeDir)
	}

	files, err := descriptions()
	if err != nil {
		return err
	}

	// Safe prime generation is the slow part; it uses all cores.
	counter := uint(KeyCounter)
	sk, pk, err := gabikeys.GenerateKeyPair(params, numAttributes(), counter, time.Now().Add(validFor))
	if err != nil {
		return fmt.Errorf("demoscheme: generate issuer key pair: %w", err)
	}
	var pkXML, skXML bytes.Buffer
	if _, err := pk.WriteTo(&pkXML); err != nil {
		return fmt.Errorf("demoscheme: encode public key: %w", err)
	}
	if _, err := sk.WriteTo(&skXML); err != nil {
		return fmt.Errorf("demoscheme: encode private key: %w", err)
	}
	files[filepath.Join(issuer.ID, "PublicKeys", strconv.Itoa(int(counter))+".xml")] = pkXML.Bytes()
	files["timestamp"] = []byte(strconv.FormatInt(time.Now().Unix(), 10) + "\n")

	for name, b := range files {
		p := filepath.Join(schemeDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("demoscheme: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("demoscheme: %w", err)
		}
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return fmt.Errorf("demoscheme: %w", err)
	}
	keyFile := filepath.Join(keyDir, fmt.Sprintf("%s.%d.xml", IssuerID, counter))
	if err := os.WriteFile(keyFile, skXML.Bytes(), 0o600); err != nil {
		return fmt.Errorf("demoscheme: %w", err)
	}

	if err := sign(schemeDir); err != nil {
		return err
	}
	// As `scheme sign` does: a scheme that irmago would refuse is not
	// worth returning.
	return Verify(filepath.Join(dir, SchemesDir), keyDir)
}

// numAttributes is the number of attribute bases in the issuer key. A
// credential needs one per attribute plus two (the secret key and the
// metadata attribute); irmago's ValidateKeys checks this. We keep the CLI's
// default of 12 so attributes can be added without a new key.
func numAttributes() int {
	n := 12
	for _, c := range credentials {
		n = max(n, len(c.Attributes)+2)
	}
	return n
}

// sign writes index (sha256 of every signed file), index.sig and pk.pem, as
// `yivi irma scheme sign` does. Signed are the .xml and .png files and the
// timestamp; nothing else is in the directory.
func sign(schemeDir string) error {
	index := irma.SchemeManagerIndex{}
	err := filepath.WalkDir(schemeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := filepath.Base(p)
		if ext := filepath.Ext(p); ext != ".xml" && ext != ".png" && base != "timestamp" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(schemeDir, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		index[SchemeID+"/"+filepath.ToSlash(rel)] = sum[:]
		return nil
	})
	if err != nil {
		return fmt.Errorf("demoscheme: index scheme: %w", err)
	}
	indexBytes := []byte(index.String())

	key, err := signed.GenerateKey()
	if err != nil {
		return fmt.Errorf("demoscheme: generate scheme key: %w", err)
	}
	sig, err := signed.Sign(key, indexBytes)
	if err != nil {
		return fmt.Errorf("demoscheme: sign index: %w", err)
	}
	pub, err := signed.MarshalPemPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("demoscheme: encode scheme key: %w", err)
	}
	for name, b := range map[string][]byte{"index": indexBytes, "index.sig": sig, "pk.pem": pub} {
		if err := os.WriteFile(filepath.Join(schemeDir, name), b, 0o644); err != nil {
			return fmt.Errorf("demoscheme: %w", err)
		}
	}
	return nil
}

// Verify checks a scheme directory and private key directory the way
// `yivi irma scheme verify` and the server do: the signature and every hash
// in the index, the descriptions, the public keys (enough attribute bases,
// not expired or expiring within a month), and that each private key belongs
// to its public key. Any irmago warning (a missing logo or translation, an
// unsigned file) is an error here: the demo scheme is meant to be clean.
func Verify(schemesPath, privateKeysPath string) error {
	conf, err := irma.NewConfiguration(schemesPath, irma.ConfigurationOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("demoscheme: verify: %w", err)
	}
	// ParseSchemeFolder (not ParseFolder) so no scheduler or revocation
	// storage is started for a one-off check.
	if _, err := conf.ParseSchemeFolder(filepath.Join(schemesPath, SchemeID)); err != nil {
		return fmt.Errorf("demoscheme: verify: %w", err)
	}
	if err := conf.ValidateKeys(); err != nil {
		return fmt.Errorf("demoscheme: verify keys: %w", err)
	}
	if len(conf.Warnings) > 0 {
		return fmt.Errorf("demoscheme: verify: %s", strings.Join(conf.Warnings, "; "))
	}
	if privateKeysPath != "" {
		ring, err := irma.NewPrivateKeyRingFolder(privateKeysPath, conf)
		if err != nil {
			return fmt.Errorf("demoscheme: verify private keys: %w", err)
		}
		if _, err := ring.Latest(irma.NewIssuerIdentifier(IssuerID)); err != nil {
			return fmt.Errorf("demoscheme: verify private keys: %w", err)
		}
	}
	return nil
}

// The XML shapes irmago parses (irma.SchemeManager, irma.Issuer,
// irma.CredentialType). Ours are smaller than irmago's own structs, so the
// files hold only what we set.

type xmlText struct {
	EN string `xml:"en"`
	NL string `xml:"nl"`
}

func (t text) xml() xmlText { return xmlText{EN: t.EN, NL: t.NL} }

type xmlScheme struct {
	XMLName     xml.Name `xml:"SchemeManager"`
	Version     int      `xml:"version,attr"`
	ID          string   `xml:"Id"`
	URL         string   `xml:"Url"`
	Demo        bool     `xml:"Demo"`
	Name        xmlText  `xml:"Name"`
	Description xmlText  `xml:"Description"`
	Languages   []string `xml:"Languages>Language"`
}

type xmlIssuer struct {
	XMLName      xml.Name `xml:"Issuer"`
	Version      int      `xml:"version,attr"`
	ID           string   `xml:"ID"`
	Name         xmlText  `xml:"Name"`
	Scheme       string   `xml:"SchemeManager"`
	ContactEMail string   `xml:"ContactEMail"`
}

type xmlAttribute struct {
	ID          string  `xml:"id,attr"`
	Name        xmlText `xml:"Name"`
	Description xmlText `xml:"Description"`
}

type xmlCredential struct {
	XMLName     xml.Name       `xml:"IssueSpecification"`
	Version     int            `xml:"version,attr"`
	Name        xmlText        `xml:"Name"`
	Scheme      string         `xml:"SchemeManager"`
	Issuer      string         `xml:"IssuerID"`
	ID          string         `xml:"CredentialID"`
	Description xmlText        `xml:"Description"`
	Singleton   bool           `xml:"ShouldBeSingleton"`
	Attributes  []xmlAttribute `xml:"Attributes>Attribute"`
}

// descriptions returns the scheme's description files and logos by path
// relative to the scheme directory.
func descriptions() (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, v any) error {
		b, err := xml.MarshalIndent(v, "", "\t")
		if err != nil {
			return fmt.Errorf("demoscheme: encode %s: %w", name, err)
		}
		files[name] = append(b, '\n')
		return nil
	}
	if err := add("description.xml", xmlScheme{
		Version: 7, ID: SchemeID, URL: scheme.URL, Demo: false,
		Name: scheme.Name.xml(), Description: scheme.Description.xml(),
		Languages: []string{"en", "nl"},
	}); err != nil {
		return nil, err
	}
	if err := add(filepath.Join(issuer.ID, "description.xml"), xmlIssuer{
		Version: 4, ID: issuer.ID, Name: issuer.Name.xml(), Scheme: SchemeID,
		ContactEMail: "demo@veiligcontact.invalid",
	}); err != nil {
		return nil, err
	}
	files[filepath.Join(issuer.ID, "logo.png")] = logo(color.RGBA{0x15, 0x42, 0x73, 0xff})
	for _, c := range credentials {
		x := xmlCredential{
			Version: 4, Name: c.Name.xml(), Scheme: SchemeID, Issuer: issuer.ID, ID: c.ID,
			Description: c.Description.xml(), Singleton: true,
		}
		for _, a := range c.Attributes {
			x.Attributes = append(x.Attributes, xmlAttribute{ID: a.ID, Name: a.Name.xml(), Description: a.Description.xml()})
		}
		dir := filepath.Join(issuer.ID, "Issues", c.ID)
		if err := add(filepath.Join(dir, "description.xml"), x); err != nil {
			return nil, err
		}
		files[filepath.Join(dir, "logo.png")] = logo(color.RGBA{0x2e, 0x7d, 0x32, 0xff})
	}
	return files, nil
}

// logo draws a plain square with a white border: irmago warns about issuers
// and credential types without logo.png, and wallets show it.
func logo(c color.RGBA) []byte {
	const size, border = 64, 6
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			if x < border || y < border || x >= size-border || y >= size-border {
				img.Set(x, y, color.White)
			} else {
				img.Set(x, y, c)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory RGBA image cannot fail
	}
	return buf.Bytes()
}
