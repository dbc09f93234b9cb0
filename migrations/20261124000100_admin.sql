-- School administration: activation codes for people who have not chosen a password yet (new, imported, or
-- reset by an admin), and the indexes the admin views page and filter by.

-- A one-time code an admin hands to a person so they can choose their password. Only its SHA-256 is kept: the
-- code is random (about 59 bits), so a fast hash is enough, and a stolen table gives nobody a working code.
CREATE TABLE activation_codes (
    code_hash  bytea PRIMARY KEY CHECK (octet_length(code_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The admin who issued it (NULL once that admin is deleted, or for codes issued by the server itself).
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX activation_codes_user_idx ON activation_codes (user_id);

-- The admin people list filters by role and status and sorts by folded display name.
CREATE INDEX users_admin_list_idx ON users (hallway_fold(display_name), id);
-- Usage statistics group messages by sender and day.
CREATE INDEX messages_sender_created_at_idx ON messages (created_at, sender_id);
