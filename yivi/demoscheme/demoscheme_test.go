package demoscheme_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privacybydesign/irmago/irma"

	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// The committed scheme must pass irmago's own checks, parse the way the
// server parses it, and contain exactly the ids the constants name.
func TestCommittedScheme(t *testing.T) {
	dir := t.TempDir()
	schemes, keys, err := demoscheme.Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := demoscheme.Verify(schemes, keys); err != nil {
		t.Fatal(err)
	}

	// What irmaserver.New does with SchemesPath.
	conf, err := irma.NewConfiguration(schemes, irma.ConfigurationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := conf.ParseFolder(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conf.Scheduler.Stop()
		_ = conf.Revocation.Close()
	})
	if len(conf.DisabledSchemeManagers) > 0 || len(conf.SchemeManagers) != 1 {
		t.Fatalf("schemes: %v, disabled: %v", conf.SchemeManagers, conf.DisabledSchemeManagers)
	}
	sm := conf.SchemeManagers[irma.NewSchemeManagerIdentifier(demoscheme.SchemeID)]
	if sm == nil || sm.Demo || sm.KeyshareServer != "" || !strings.Contains(sm.URL, ".invalid/") {
		t.Fatalf("scheme manager = %+v", sm)
	}
	iss := conf.Issuers[irma.NewIssuerIdentifier(demoscheme.IssuerID)]
	if iss == nil || iss.Name["nl"] != "Demo gemeente" {
		t.Fatalf("issuer = %+v", iss)
	}

	want := map[string][2]string{ // id → nl, en name
		demoscheme.BSN:          {"BSN", "Citizen service number (BSN)"},
		demoscheme.FullName:     {"Volledige naam", "Full name"},
		demoscheme.FamilyName:   {"Achternaam", "Family name"},
		demoscheme.DateOfBirth:  {"Geboortedatum", "Date of birth"},
		demoscheme.City:         {"Woonplaats", "City of residence"},
		demoscheme.MobileNumber: {"Mobiel telefoonnummer", "Mobile phone number"},
	}
	if len(conf.AttributeTypes) != len(want) {
		t.Errorf("scheme has %d attribute types, want %d", len(conf.AttributeTypes), len(want))
	}
	for id, names := range want {
		at := conf.AttributeTypes[irma.NewAttributeTypeIdentifier(id)]
		if at == nil {
			t.Errorf("attribute %s missing", id)
			continue
		}
		if at.Name["nl"] != names[0] || at.Name["en"] != names[1] {
			t.Errorf("%s names = %v", id, at.Name)
		}
	}
	for _, id := range []string{demoscheme.PersonalDataCredential, demoscheme.MobileNumberCredential} {
		if conf.CredentialTypes[irma.NewCredentialTypeIdentifier(id)] == nil {
			t.Errorf("credential type %s missing", id)
		}
	}

	// Fail long before wallets start refusing credentials, so there is time
	// to run go generate.
	pk, err := conf.PublicKeyLatest(irma.NewIssuerIdentifier(demoscheme.IssuerID))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(time.Unix(pk.ExpiryDate, 0)); left < 180*24*time.Hour {
		t.Errorf("demo issuer key expires in %s: run go generate ./yivi/demoscheme", left.Round(time.Hour))
	}
	if bits := pk.N.BitLen(); bits != 1024 {
		t.Errorf("issuer key has %d bits, want 1024", bits)
	}
}

// Extract replaces an earlier extraction, so a stale or edited file cannot
// linger in the signed directory.
func TestExtractTwice(t *testing.T) {
	dir := t.TempDir()
	schemes, keys, err := demoscheme.Extract(dir)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(schemes, demoscheme.SchemeID, "gemeente", "PublicKeys", "7.xml")
	if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := demoscheme.Extract(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale file survived extraction: %v", err)
	}
	if err := demoscheme.Verify(schemes, keys); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(keys, demoscheme.IssuerID+".0.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v, want 0600", fi.Mode().Perm())
	}
}

// One changed byte breaks the signature: what irmago would do to anyone
// editing the committed files by hand.
func TestTamperedSchemeRejected(t *testing.T) {
	schemes, keys, err := demoscheme.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(schemes, demoscheme.SchemeID, "gemeente", "Issues", "personalData", "description.xml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "Woonplaats", "Woonplaatz", 1))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	err = demoscheme.Verify(schemes, keys)
	if err == nil || !strings.Contains(err.Error(), "does not match scheme manager index") {
		t.Fatalf("Verify of tampered scheme: %v", err)
	}
}

// Generate at 1024 bits takes a few seconds (safe primes); 2048 would take
// minutes, which is why no test generates those.
func TestGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an issuer key")
	}
	dir := t.TempDir()
	start := time.Now()
	// Verify, run by Generate, rejects keys expiring within a month.
	if err := demoscheme.Generate(dir, 1024, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	t.Logf("Generate(1024 bits) took %s", time.Since(start).Round(time.Millisecond))
	schemes := filepath.Join(dir, demoscheme.SchemesDir)
	keys := filepath.Join(dir, demoscheme.PrivateKeysDir)
	if err := demoscheme.Verify(schemes, keys); err != nil {
		t.Fatal(err)
	}
	// The private key is outside the signed scheme and not in its index.
	index, err := os.ReadFile(filepath.Join(schemes, demoscheme.SchemeID, "index"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(index), "PrivateKeys") {
		t.Error("index lists a private key")
	}
	if err := demoscheme.Generate(dir, 1024, time.Hour); err == nil {
		t.Error("Generate over an existing scheme succeeded")
	}
	if err := demoscheme.Generate(t.TempDir(), 1000, time.Hour); err == nil {
		t.Error("Generate with an unsupported key size succeeded")
	}
}
