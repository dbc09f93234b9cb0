-- Announcements, urgent messages, acknowledgements and receipts (contract 1.1).

-- A third kind of conversation, which has a name like a group. The two CHECKs that name the kinds were created
-- without names; they are found by their definition, so this does not depend on PostgreSQL's naming.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'conversations'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%''group''%'
    LOOP
        EXECUTE format('ALTER TABLE conversations DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE conversations
    ADD CONSTRAINT conversations_kind_check CHECK (kind IN ('direct', 'group', 'announcement')),
    ADD CONSTRAINT conversations_direct_name_check CHECK (kind <> 'direct' OR name IS NULL);

-- An urgent message asks its readers to acknowledge it. Adding a column with a constant default rewrites
-- nothing.
ALTER TABLE messages ADD COLUMN urgent boolean NOT NULL DEFAULT false;

-- The highest seq a session of this member was handed (or the member fetched): what receipts call
-- "delivered". Written in batches by the server; a read marker past it counts as delivered too.
ALTER TABLE conversation_members ADD COLUMN last_delivered_seq bigint NOT NULL DEFAULT 0
    CHECK (last_delivered_seq >= 0);

-- Who acknowledged which message; acknowledging again changes nothing.
CREATE TABLE message_acknowledgements (
    message_id      uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    acknowledged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id)
);
