-- The invitation email's HTML part, beside its plain text (both NULL once sent: they hold a live
-- link).
ALTER TABLE outgoing_mail ADD COLUMN html_body TEXT;

-- The links of invites deleted before they were accepted: opened, they say the invitation was
-- withdrawn instead of "unknown". Only the token's digest is kept, as for a live invite.
CREATE TABLE revoked_invite_tokens (
    token_digest TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    invited_by TEXT,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_invite_tokens_org ON revoked_invite_tokens (org_id);
