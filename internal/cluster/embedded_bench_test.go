package cluster

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// BenchmarkEmbeddedStartDisclosure is the Yivi part of a session start
// with the embedded server: the hot path that bounds session starts/s.
func BenchmarkEmbeddedStartDisclosure(b *testing.B) {
	schemes, keys, err := demoscheme.Extract(filepath.Join(b.TempDir(), "yivi"))
	if err != nil {
		b.Fatal(err)
	}
	e, err := yivi.NewEmbedded(yivi.EmbeddedConfig{SchemesPath: schemes, IssuerPrivateKeysPath: keys, URL: "http://127.0.0.1:1/irma"})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop()
	req := veilig.DisclosureRequest{Disclose: [][][]string{{{demoscheme.BSN, demoscheme.FullName}}, {{demoscheme.DateOfBirth}}}, ClientReturnURL: "tel:+31850000000,1234567"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.StartDisclosure(context.Background(), req, veilig.DisclosureWatcher{}); err != nil {
			b.Fatal(err)
		}
	}
}
