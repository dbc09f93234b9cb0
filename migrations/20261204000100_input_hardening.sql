-- A file whose message was deleted (by its sender, a group admin, moderation or retention) is removed at once:
-- deleting the message unlinks it, and `removed_at` keeps it from being served (to link holders and to its
-- uploader alike) or attached again until the cleanup task deletes it and its blob.
ALTER TABLE attachments ADD COLUMN removed_at timestamptz;
