-- The organisation a session and an agent account are of. Rows from
-- before organisations are the default organisation's, which is what a
-- deployment that names none serves.
ALTER TABLE sessions ADD COLUMN org_id TEXT NOT NULL DEFAULT 'default';
ALTER TABLE agents ADD COLUMN org_id TEXT NOT NULL DEFAULT 'default';
