-- Safety and records: members' reports of messages, for the school admins' moderation queue. Banned words,
-- safeguarding and retention are settings (the `settings` table); exports and moderation need no table.

CREATE TABLE reports (
    id              uuid PRIMARY KEY,
    message_id      uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reporter_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason          text NOT NULL CHECK (reason IN ('bullying', 'inappropriate', 'spam', 'safety_concern', 'other')),
    note            text CHECK (note IS NULL OR char_length(note) <= 1000),
    -- The text as it was when reported: a sender who edits or deletes it afterwards does not hide it from the
    -- moderators (the message row itself is emptied on delete).
    reported_body   text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'handled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    action          text CHECK (action IN ('dismiss', 'delete_message', 'deactivate_sender')),
    resolution_note text CHECK (resolution_note IS NULL OR char_length(resolution_note) <= 1000),
    handled_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    handled_at      timestamptz,
    -- Reporting the same message twice gives back the first report.
    CONSTRAINT reports_message_reporter_key UNIQUE (message_id, reporter_id),
    CHECK ((status = 'handled') = (handled_at IS NOT NULL AND action IS NOT NULL))
);
-- The queue (open reports, oldest first) and each reporter's own list.
CREATE INDEX reports_status_idx ON reports (status, created_at);
CREATE INDEX reports_reporter_idx ON reports (reporter_id, created_at);
