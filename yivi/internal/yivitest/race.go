package yivitest

import (
	"github.com/privacybydesign/irmago/irma"
	"github.com/sirupsen/logrus"
)

// QuietIrmaclientRace works around a data race inside irmago v1.3.0's
// irmaclient when tests run with -race: the client pauses its background
// jobs at the start of every session and restarts them at the end, and the
// jobs goroutine clears the pause channel without synchronisation
// (IrmaClient.StartJobs/PauseJobs). The jobs goroutine does that within
// microseconds, the session takes milliseconds, so in practice the order is
// always right, but nothing tells the race detector so.
//
// Both goroutines log a Debug line right around those accesses; with
// irmago's logger at Debug level logrus takes its mutex for them, which
// gives the detector the ordering. Call it once the server has installed its
// logger. Output still goes only where the logger sends Warn and above (the
// yivi bridge forwards nothing below Warn), so this changes no test's
// expectations about what is logged.
func QuietIrmaclientRace() {
	irma.Logger.SetLevel(logrus.DebugLevel)
}
