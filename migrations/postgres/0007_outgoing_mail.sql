-- Outgoing email, written in the transaction of the change it announces, so that a crash or a
-- mail outage after the commit loses nothing: a worker sends what is due and retries with backoff.
CREATE TABLE outgoing_mail (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- The invite the message announces: deleting the invite drops its unsent message.
    invite_id TEXT REFERENCES invites (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- NULL once sent: an invitation's body holds a live link.
    body TEXT,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- When a worker may next try it; NULL once sent or given up.
    next_attempt_at BIGINT,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX outgoing_mail_due ON outgoing_mail (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX outgoing_mail_invite ON outgoing_mail (invite_id) WHERE invite_id IS NOT NULL;
