package postgres

import (
	"context"
	"time"
)

// SetPingInterval shortens how long the listeners of stores opened
// afterwards wait before pinging a quiet connection.
func SetPingInterval(d time.Duration) (restore func()) {
	old := pingInterval
	pingInterval = d
	return func() { pingInterval = old }
}

// PreparedPerConn counts, on every idle connection of s's pool, the
// statements prepared on it.
func PreparedPerConn(ctx context.Context, s *Store) ([]int, error) {
	conns := s.pool.AcquireAllIdle(ctx)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	counts := make([]int, len(conns))
	for i, c := range conns {
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM pg_prepared_statements`).Scan(&counts[i]); err != nil {
			return nil, err
		}
	}
	return counts, nil
}
