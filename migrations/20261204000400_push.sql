-- Push notifications (issue 16): the devices people registered, and the durable queue of pushes to them.

-- A device that receives pushes. It belongs to the sign-in session that registered it: ending the session
-- (sign-out, sign-out everywhere, password change, deactivation) deletes it in the same statement
-- (store::sessions), since sessions are only marked revoked, not deleted.
CREATE TABLE devices (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    platform    text NOT NULL CHECK (platform IN ('apns', 'fcm', 'webpush', 'unifiedpush')),
    -- The APNs or FCM token, or the Web Push / UnifiedPush endpoint URL.
    address     text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 2048),
    -- RFC 8291 keys (base64url), for the endpoints that encrypt.
    p256dh      text,
    auth        text,
    app_version text,
    locale      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform, address),
    CHECK ((p256dh IS NULL) = (auth IS NULL))
);
CREATE INDEX devices_user_idx ON devices (user_id);
CREATE INDEX devices_session_idx ON devices (session_id);

-- Pushes waiting to go out. A sent push is deleted; one that failed its last try stays as 'dead' (the
-- dead-letter record). `locked_until` is the lease of the worker sending it: a server killed mid-send leaves
-- a lease that simply runs out, and the next server sends the row again.
CREATE TABLE push_queue (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id       uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    payload         jsonb NOT NULL,
    -- Collapses notifications of one conversation (Web Push `Topic`, APNs `apns-collapse-id`, FCM `tag`).
    topic           text NOT NULL,
    urgency         text NOT NULL CHECK (urgency IN ('low', 'normal', 'high')),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_queue_due_idx ON push_queue (next_attempt_at) WHERE state = 'pending';
CREATE INDEX push_queue_device_idx ON push_queue (device_id);
