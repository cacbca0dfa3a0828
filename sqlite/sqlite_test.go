package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/sqlite"
	"github.com/veiligcontact/veilig/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) veilig.Store {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "veilig.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) veilig.Store {
		st, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veilig.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	now := time.Now()
	s := &veilig.Session{ID: "s1", PurposeID: "p1", Channel: veilig.ChannelPhone, Means: veilig.MeansYivi,
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if _, err := st.CreateSession(t.Context(), s, []byte("code"), []byte("status"), now.Add(time.Hour)); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if fi, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode = %v, want 0600", fi.Mode().Perm())
	}

	st, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer st.Close()
	if _, err := st.Session(t.Context(), "s1"); err != nil {
		t.Errorf("Session after reopening: %v", err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	var versions int
	files, _ := filepath.Glob("migrations/*.sql")
	if err := db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != len(files) || len(files) == 0 {
		t.Errorf("schema_migrations has %d rows (%v), want one per file in migrations/ (%d)", versions, err, len(files))
	}
	if err := sqlite.Migrate(t.Context(), db); err != nil {
		t.Errorf("Migrate of a migrated database: %v", err)
	}
}

// TestRemoveOrganisationRaw: after removing an organisation no row of the
// database names it or one of its sessions or accounts (read with SQL,
// past the store).
func TestRemoveOrganisationRaw(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veilig.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	now := time.Now()
	for _, org := range []string{"gemeente-a", "gemeente-b"} {
		s := &veilig.Session{ID: "s-" + org, PurposeID: "p", OrgID: org, Channel: veilig.ChannelPhone, Means: veilig.MeansYivi, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := st.CreateSession(ctx, s, []byte("code-"+org), []byte("status-"+org), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAgent(ctx, &veilig.Agent{ID: "a-" + org, Username: "u-" + org, Role: veilig.RoleAgent, Purposes: []string{"*"}, OrgID: org, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddAudit(ctx, &veilig.AuditEntry{At: now, AgentID: "a-" + org, Action: veilig.AuditAgentSignIn, OrgID: org}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RemoveOrganisation(ctx, "gemeente-a", false); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for query, want := range map[string]int{
		`SELECT COUNT(*) FROM sessions WHERE org_id = 'gemeente-a' OR id = 's-gemeente-a'`:        0,
		`SELECT COUNT(*) FROM events WHERE session_id = 's-gemeente-a'`:                           0,
		`SELECT COUNT(*) FROM agents WHERE org_id = 'gemeente-a'`:                                 0,
		`SELECT COUNT(*) FROM audit_log WHERE org_id = 'gemeente-a' OR agent_id = 'a-gemeente-a'`: 0,
		`SELECT COUNT(*) FROM sessions WHERE org_id = 'gemeente-b'`:                               1,
		`SELECT COUNT(*) FROM events WHERE session_id = 's-gemeente-b'`:                           1,
		`SELECT COUNT(*) FROM agents WHERE org_id = 'gemeente-b'`:                                 1,
		`SELECT COUNT(*) FROM audit_log WHERE org_id = 'gemeente-b'`:                              1,
	} {
		var n int
		if err := db.QueryRow(query).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d", query, n, err, want)
		}
	}
}
