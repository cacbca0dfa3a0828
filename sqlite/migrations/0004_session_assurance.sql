-- The level of assurance the proof gave, as its means reported it, so that
-- lists show it without opening the sealed disclosure. '' until disclosed
-- (and for sessions disclosed by a release before this column).
ALTER TABLE sessions ADD COLUMN assurance TEXT NOT NULL DEFAULT '';
