// Package yivi implements veilig.DisclosureService with Yivi (formerly IRMA),
// on irmago v1.3.0, in two modes:
//
//   - [Embedded] runs irmago's server library in this process. The Yivi app
//     talks to [Embedded.Handler], mounted at /irma on the public listener.
//   - [External] uses a separate Yivi server (`irma server`) over its
//     requestor API with requestor token authentication.
//
// Both turn what the Yivi server reports into a veilig.ProofResult with
// the same function, [Outcome], which is where Yivi statuses are read, so
// judging a disclosure does not depend on the mode.
//
// Schemes are never downloaded: the operator supplies them on disk (the demo
// scheme comes from package demoscheme), and a missing or broken scheme
// directory is an error at start rather than a silent download.
//
// Nothing here logs attribute values, session tokens or the clientReturnUrl
// (it carries the phone code). irmago's own logging is cut down to warnings
// and scrubbed before it reaches the slog logger; see [EmbeddedConfig.Logger].
package yivi
