-- The account an admin's account action was about, and a note in words
-- and ids (never personal values) of what was done, e.g. what an export held.
ALTER TABLE audit_log ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_action ON audit_log (action, at);

-- Supervisors count today's matched calls and the agents online.
CREATE INDEX sessions_matched_at ON sessions (matched_at) WHERE matched_at IS NOT NULL;
CREATE INDEX agent_sessions_last_seen ON agent_sessions (last_seen_at);
