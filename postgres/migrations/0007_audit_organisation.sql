-- The organisation an audit entry is of (a contact's, or an account's);
-- its admins alone read it. Entries from before are the default
-- organisation's.
ALTER TABLE audit_log ADD COLUMN org_id TEXT NOT NULL DEFAULT 'default';
CREATE INDEX audit_log_org ON audit_log (org_id, at);
