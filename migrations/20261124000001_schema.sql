-- The whole data model of DESIGN.md. Counters that could drift (unread counts) are derived, never stored.

CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is only STABLE (its dictionary could change); this wrapper pins the dictionary so that
-- indexes and generated columns may use it.
CREATE FUNCTION hallway_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    username       text NOT NULL CHECK (char_length(username) BETWEEN 1 AND 64),
    email          text CHECK (email IS NULL OR char_length(email) <= 254),
    display_name   text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 128),
    role           text NOT NULL CHECK (role IN ('admin', 'teacher', 'parent', 'student')),
    -- NULL until the person activates their account and chooses a password.
    password_hash  text,
    avatar_key     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    last_seen_at   timestamptz
);
-- Usernames and emails are case-insensitive.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
-- The directory searches names and usernames case- and accent-insensitively.
CREATE INDEX users_directory_idx ON users (role, hallway_fold(display_name));

CREATE TABLE guardianships (
    parent_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    student_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (parent_id, student_id),
    CHECK (parent_id <> student_id)
);
CREATE INDEX guardianships_student_idx ON guardianships (student_id);

CREATE TABLE conversations (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('direct', 'group')),
    name            text CHECK (name IS NULL OR char_length(name) BETWEEN 1 AND 128),
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz,
    -- The seq the next message takes: taken with `UPDATE ... RETURNING` in the insert's transaction, so
    -- two writers can never produce a duplicate or a gap.
    next_seq        bigint NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
    -- For direct chats: the two member ids, ordered, so the same pair always finds the same chat.
    direct_key      text UNIQUE,
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL)),
    CHECK (kind = 'group' OR name IS NULL)
);

CREATE TABLE conversation_members (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    last_read_seq   bigint NOT NULL DEFAULT 0 CHECK (last_read_seq >= 0),
    muted           boolean NOT NULL DEFAULT false,
    pinned          boolean NOT NULL DEFAULT false,
    archived        boolean NOT NULL DEFAULT false,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint NOT NULL CHECK (seq >= 1),
    sender_id       uuid NOT NULL REFERENCES users (id),
    client_msg_id   text NOT NULL CHECK (char_length(client_msg_id) BETWEEN 1 AND 64),
    body            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    deleted_at      timestamptz,
    -- Full-text search over what people wrote ('simple': no language guesses for a multilingual school).
    search          tsvector GENERATED ALWAYS AS (to_tsvector('simple', hallway_fold(body))) STORED,
    CONSTRAINT messages_conversation_seq_key UNIQUE (conversation_id, seq),
    CONSTRAINT messages_sender_client_msg_id_key UNIQUE (sender_id, client_msg_id),
    CHECK (deleted_at IS NULL OR body = '')
);
CREATE INDEX messages_search_idx ON messages USING gin (search);
CREATE INDEX messages_created_at_idx ON messages (created_at) WHERE deleted_at IS NULL;

-- Earlier versions of an edited message, for the school's records.
CREATE TABLE message_edits (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    old_body   text NOT NULL,
    edited_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_edits_message_idx ON message_edits (message_id);

CREATE TABLE attachments (
    id            uuid PRIMARY KEY,
    uploader_id   uuid NOT NULL REFERENCES users (id),
    sha256        bytea NOT NULL CHECK (octet_length(sha256) = 32),
    file_name     text NOT NULL CHECK (char_length(file_name) BETWEEN 1 AND 255),
    mime_type     text NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes >= 0),
    width         integer,
    height        integer,
    storage_key   text NOT NULL,
    thumbnail_key text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id);
CREATE INDEX attachments_sha256_idx ON attachments (sha256);

-- An attachment belongs to one message.
CREATE TABLE message_attachments (
    message_id    uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    attachment_id uuid NOT NULL UNIQUE REFERENCES attachments (id) ON DELETE CASCADE,
    position      smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
    PRIMARY KEY (message_id, position)
);

CREATE TABLE reactions (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Stored without U+FE0F so that variants of one emoji match.
    emoji      text NOT NULL CHECK (char_length(emoji) BETWEEN 1 AND 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id, emoji)
);

-- One signed-in device. Access tokens carry its id; revoking it ends the device's access and sockets.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    user_agent   text,
    address      text
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored as SHA-256 hashes. Rotation marks the old row; its successor is derived from the
-- old token under a server key (so a retry within the grace period gets the same one) and stored hashed.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    action     text NOT NULL,
    target     text,
    address    text,
    details    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);

-- Settings an admin may change at run time (policy, banned words, safeguarding, retention), as JSON.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
