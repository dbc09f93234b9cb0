-- Attachments and profile pictures share content-addressed blobs; a blob is deleted only when no row names
-- it any more. These indexes keep that check, and the hourly search for uploads nobody sent, cheap.
CREATE INDEX attachments_storage_key_idx ON attachments (storage_key);
CREATE INDEX attachments_thumbnail_key_idx ON attachments (thumbnail_key) WHERE thumbnail_key IS NOT NULL;
CREATE INDEX attachments_created_at_idx ON attachments (created_at);
CREATE INDEX users_avatar_key_idx ON users (avatar_key) WHERE avatar_key IS NOT NULL;
