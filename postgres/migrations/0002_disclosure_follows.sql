-- Which replica follows which unfinished disclosure (see
-- veilig.DisclosureFollows): a lease, renewed by its owner, taken over by
-- another replica when it runs out.
CREATE TABLE disclosure_follows (
	session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
	owner      TEXT NOT NULL,
	until      TIMESTAMPTZ NOT NULL
);

CREATE INDEX disclosure_follows_owner ON disclosure_follows (owner);

-- ClaimOrphans scans the unfinished sessions only.
CREATE INDEX sessions_unfinished ON sessions (created_at) WHERE state IN ('created', 'disclosing');
