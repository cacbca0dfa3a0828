-- Every write of a session row bumps its version: a transition reads the
-- row, decides in Go and writes only if the version is still the one it
-- read, in one statement instead of a locking transaction. The trigger
-- bumps it for every writer, so the check also holds against replicas of
-- an older release during a rolling upgrade (they lock the row instead and
-- do not know the column) and against any hand-made UPDATE.
ALTER TABLE sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION sessions_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := OLD.version + 1;
	RETURN NEW;
END;
$$;

CREATE TRIGGER sessions_version BEFORE UPDATE ON sessions
	FOR EACH ROW EXECUTE FUNCTION sessions_bump_version();
