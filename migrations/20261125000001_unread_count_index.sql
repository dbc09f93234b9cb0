-- Unread counts are derived on every conversation list (messages after the read marker, sent by others, not
-- deleted). This partial index holds exactly the rows that count, with the sender beside the key, so the count
-- is an index-only scan instead of a heap visit per unread message (measured: 1.1 s for a 500,000-message
-- backlog before; see docs/benchmarks.md).
CREATE INDEX messages_unread_idx ON messages (conversation_id, seq) INCLUDE (sender_id) WHERE deleted_at IS NULL;
