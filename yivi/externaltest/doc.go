// Package externaltest tests yivi.External end to end against irmago's own
// requestor server (what `irma server` runs), started in process with token
// authentication and server-sent events, and a real wallet.
//
// It is a package of its own, holding only tests, so that its test binary
// runs exactly one irmago server: irmago installs its logger in package
// globals whenever a server starts, which the race detector flags when a
// second server (the embedded one of package yivi's tests) starts while the
// first one's goroutines run.
package externaltest
