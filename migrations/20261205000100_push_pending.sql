-- Messages whose pushes are still to be queued (docs/protocol.md, "Delivery"). A row is written by the statement
-- that inserts the message, so in its transaction, and taken (deleted) in the transaction that queues the
-- message's pushes. A server killed between a message's commit and its push look-up leaves the row behind, and
-- the next server (or another node) queues the pushes from it: a committed message is never left unpushed, and
-- never pushed twice, since only one transaction can take a row.
CREATE TABLE push_pending (
    conversation_id uuid NOT NULL,
    seq             bigint NOT NULL,
    sender_id       uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq)
);
-- The recovery sweep looks for rows older than a look-up takes.
CREATE INDEX push_pending_created_at_idx ON push_pending (created_at);
