-- Which replica follows which unfinished disclosure (see
-- veilig.DisclosureFollows). With SQLite there is one process, but the
-- service is the same code everywhere.
CREATE TABLE disclosure_follows (
	session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
	owner      TEXT NOT NULL,
	until      INTEGER NOT NULL
) STRICT;

CREATE INDEX disclosure_follows_owner ON disclosure_follows (owner);
