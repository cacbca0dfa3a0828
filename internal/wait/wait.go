// Package wait waits for a while or until a context ends, for the loops
// that retry or poll (the service's streams and calls, the Yivi client).
package wait

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done, and reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
