-- Times are INTEGER unix milliseconds UTC; NULL is the zero time.

CREATE TABLE sessions (
	id                TEXT PRIMARY KEY,
	purpose_id        TEXT NOT NULL,
	channel           TEXT NOT NULL,
	means             TEXT NOT NULL,
	state             TEXT NOT NULL,
	reason            TEXT NOT NULL DEFAULT '',
	yivi_token        TEXT NOT NULL DEFAULT '',
	-- NULL once the code can never match again; NULLs do not clash.
	code_hash         BLOB UNIQUE,
	status_token_hash BLOB NOT NULL UNIQUE,
	disclosure_key_id TEXT NOT NULL DEFAULT '',
	disclosure        BLOB,
	caller_key_id     TEXT NOT NULL DEFAULT '',
	caller            BLOB,
	provider          TEXT NOT NULL DEFAULT '',
	call_id           TEXT NOT NULL DEFAULT '',
	taken_by          TEXT NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,
	disclosed_at      INTEGER,
	matched_at        INTEGER,
	answered_at       INTEGER,
	ended_at          INTEGER,
	retain_until      INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX sessions_call ON sessions (provider, call_id) WHERE call_id <> '';
CREATE INDEX sessions_state ON sessions (state, purpose_id);
CREATE INDEX sessions_purpose_expiry ON sessions (purpose_id, state, expires_at);
CREATE INDEX sessions_retain_until ON sessions (retain_until);

-- AUTOINCREMENT: a purged last event must not have its Seq handed out
-- again, or a stream resuming from it would skip the new event.
CREATE TABLE events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	purpose_id TEXT NOT NULL,
	type       TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	at         INTEGER NOT NULL
) STRICT;

CREATE INDEX events_session ON events (session_id, seq);
CREATE INDEX events_purpose ON events (purpose_id, seq);

CREATE TABLE agents (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL,
	purposes      TEXT NOT NULL DEFAULT '[]', -- JSON array of purpose ids
	password_hash TEXT NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE agent_sessions (
	token_hash   BLOB PRIMARY KEY,
	agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	csrf_token   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id);
CREATE INDEX agent_sessions_expires ON agent_sessions (expires_at);

-- No foreign keys: the audit trail outlives the sessions and may outlive
-- the accounts it names.
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	at          INTEGER NOT NULL,
	agent_id    TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	session_id  TEXT NOT NULL DEFAULT '',
	purpose_id  TEXT NOT NULL DEFAULT '',
	attributes  TEXT NOT NULL DEFAULT '[]', -- JSON array of attribute type ids
	remote_addr TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_agent ON audit_log (agent_id, at);
CREATE INDEX audit_log_session ON audit_log (session_id, at);

CREATE TABLE telephony_signatures (
	sig_hash   BLOB PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX telephony_signatures_expires ON telephony_signatures (expires_at);

CREATE TABLE telephony_misses (
	id         INTEGER PRIMARY KEY,
	caller_key BLOB, -- keyed hash of the caller number; NULL when withheld
	at         INTEGER NOT NULL
) STRICT;

CREATE INDEX telephony_misses_caller ON telephony_misses (caller_key, at);
CREATE INDEX telephony_misses_at ON telephony_misses (at);
