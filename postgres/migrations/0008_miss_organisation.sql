-- The organisation whose line a code that matched nothing was typed on, so
-- that a supervisor counts only their organisation's unverified calls.
-- Misses from before are the default organisation's.
ALTER TABLE telephony_misses ADD COLUMN org_id TEXT NOT NULL DEFAULT 'default';
CREATE INDEX telephony_misses_org ON telephony_misses (org_id, at);
