package postgres

import "time"

// SetPingInterval shortens how long the listeners of stores opened
// afterwards wait before pinging a quiet connection.
func SetPingInterval(d time.Duration) (restore func()) {
	old := pingInterval
	pingInterval = d
	return func() { pingInterval = old }
}
