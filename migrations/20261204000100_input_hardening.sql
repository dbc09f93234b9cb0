-- A file whose message was deleted (by its sender, a group admin, moderation or retention) is removed at once:
-- deleting the message unlinks it, and `removed_at` keeps it from being served (to link holders and to its
-- uploader alike) or attached again until the cleanup task deletes it and its blob.
ALTER TABLE attachments ADD COLUMN removed_at timestamptz;

-- Usernames that pass for others (Cyrillic `аdmin` for `admin`) are refused: each username's confusable
-- skeleton (Unicode TS #39, of its lower case) is unique. PostgreSQL cannot compute it, so the server fills it
-- on every insert and, for rows from before this migration, at start-up (rows whose skeleton an older row
-- already holds stay NULL, and are logged).
ALTER TABLE users ADD COLUMN username_skeleton text;
CREATE UNIQUE INDEX users_username_skeleton_key ON users (username_skeleton);
