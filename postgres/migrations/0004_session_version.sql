-- Every write of a session row bumps its version: a transition reads the
-- row, decides in Go and writes only if the version is still the one it
-- read, in one statement instead of a locking transaction.
ALTER TABLE sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
