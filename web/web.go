// Package web holds the built front-end bundles (the citizen widget, the
// agent console, the demo pages), embedded so that `go build` needs no Node.
// Sources live in web/<project>/ and are built with npm into web/dist/<project>/
// by `make web`; CI rebuilds them from the lockfiles and fails if the
// committed bundles differ.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built bundles, one folder per project.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the folder is embedded above; this cannot fail
	}
	return sub
}
