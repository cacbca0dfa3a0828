//go:build ignore

// gen regenerates the committed demo scheme in data/ (run by
// `go generate ./yivi/demoscheme`): new 1024-bit issuer keys valid for ten
// years, a new scheme signing key, a new signature. See the package comment
// for why 1024 bits is acceptable here and nowhere else.
package main

import (
	"log"
	"os"
	"time"

	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

func main() {
	// data/README.md stays; the generated directories are replaced.
	for _, dir := range []string{"data/" + demoscheme.SchemesDir, "data/" + demoscheme.PrivateKeysDir} {
		if err := os.RemoveAll(dir); err != nil {
			log.Fatal(err)
		}
	}
	start := time.Now()
	if err := demoscheme.Generate("data", 1024, 10*365*24*time.Hour); err != nil {
		log.Fatal(err)
	}
	log.Printf("generated demo scheme in data/ in %s", time.Since(start).Round(time.Millisecond))
}
