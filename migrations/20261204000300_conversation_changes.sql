-- The change feed behind `GET /api/v1/sync` (docs/protocol.md, "Catching up in one request").
--
-- Every change to a conversation leaves one row here, written by the triggers below in the SAME transaction
-- as the change itself, whichever code path made it (a send, the group-commit batch, an edit, a delete by the
-- sender, a group admin, moderation or retention, reactions, membership, renames, admins, a member's own
-- settings, read markers, a member's profile, the safeguarding setting; the demo and bench seeds too). A row
-- names what changed, not how: the sync answers with current state.
--
-- Order: `xid` is the writing transaction's id (64-bit, never wraps). A sync reads the snapshot horizon
-- `pg_snapshot_xmin(pg_current_snapshot())`: every transaction below it has finished, so no row with a
-- smaller `xid` can appear later, whereas an identity alone is not commit order (id 10 may commit after 11).
-- A sync token is a position (xid, id) in that order. No foreign keys: a row is a tombstone that outlives
-- what it names, and the hot path pays no extra lookups.
CREATE TABLE conversation_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    conversation_id uuid NOT NULL,
    -- message | edited | deleted | reaction | member_added | member_removed | renamed | admins | settings |
    -- read | profile | safeguarding
    kind            text NOT NULL,
    message_id      uuid,
    -- The member concerned: who joined, left or was removed, whose settings, read marker or profile changed.
    user_id         uuid,
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- A sync scans each of the caller's conversations from its token's position.
CREATE INDEX conversation_changes_position_idx ON conversation_changes (conversation_id, xid, id);
-- The messages of a sync page, without reading the (more numerous) read markers in between.
CREATE INDEX conversation_changes_messages_idx ON conversation_changes (conversation_id, xid, id)
    WHERE message_id IS NOT NULL;
-- Removals are found by person: the caller is no longer a member of those conversations.
CREATE INDEX conversation_changes_removed_idx ON conversation_changes (user_id, xid, id)
    WHERE kind = 'member_removed';
-- Pruning old rows (`sync::prune`).
CREATE INDEX conversation_changes_created_at_idx ON conversation_changes (created_at);

-- New messages: one statement may insert many (group commit), so one trigger call per statement.
CREATE FUNCTION hallway_changes_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_changes (conversation_id, kind, message_id, user_id)
    SELECT conversation_id, 'message', id, sender_id FROM inserted;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_messages_inserted AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION hallway_changes_messages_inserted();

-- Edits and deletes (by anyone: sender, group admin, moderation, retention).
CREATE FUNCTION hallway_changes_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_changes (conversation_id, kind, message_id)
    VALUES (NEW.conversation_id,
            CASE WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'deleted' ELSE 'edited' END,
            NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_messages_updated AFTER UPDATE ON messages FOR EACH ROW
    WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
          OR OLD.edited_at IS DISTINCT FROM NEW.edited_at)
    EXECUTE FUNCTION hallway_changes_messages_updated();

-- Reactions on and off (a delete's or retention's removal too, though the message's own row says it all).
CREATE FUNCTION hallway_changes_reactions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed reactions;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    INSERT INTO conversation_changes (conversation_id, kind, message_id, user_id)
    SELECT m.conversation_id, 'reaction', m.id, changed.user_id FROM messages m WHERE m.id = changed.message_id;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_reactions AFTER INSERT OR DELETE ON reactions FOR EACH ROW
    EXECUTE FUNCTION hallway_changes_reactions();

-- Joining: a group may start with a thousand people in one statement.
CREATE FUNCTION hallway_changes_members_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_changes (conversation_id, kind, user_id)
    SELECT conversation_id, 'member_added', user_id FROM added;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_members_added AFTER INSERT ON conversation_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION hallway_changes_members_added();

-- Leaving or being removed.
CREATE FUNCTION hallway_changes_members_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_changes (conversation_id, kind, user_id)
    SELECT conversation_id, 'member_removed', user_id FROM removed;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_members_removed AFTER DELETE ON conversation_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION hallway_changes_members_removed();

-- A member's role (admins), own settings (visible to that member only) and read marker.
CREATE FUNCTION hallway_changes_members_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role IS DISTINCT FROM NEW.role THEN
        INSERT INTO conversation_changes (conversation_id, kind, user_id)
        VALUES (NEW.conversation_id, 'admins', NEW.user_id);
    END IF;
    IF (OLD.muted, OLD.pinned, OLD.archived) IS DISTINCT FROM (NEW.muted, NEW.pinned, NEW.archived) THEN
        INSERT INTO conversation_changes (conversation_id, kind, user_id)
        VALUES (NEW.conversation_id, 'settings', NEW.user_id);
    END IF;
    IF OLD.last_read_seq IS DISTINCT FROM NEW.last_read_seq THEN
        INSERT INTO conversation_changes (conversation_id, kind, user_id)
        VALUES (NEW.conversation_id, 'read', NEW.user_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_members_updated AFTER UPDATE ON conversation_members FOR EACH ROW
    WHEN ((OLD.role, OLD.muted, OLD.pinned, OLD.archived, OLD.last_read_seq)
          IS DISTINCT FROM (NEW.role, NEW.muted, NEW.pinned, NEW.archived, NEW.last_read_seq))
    EXECUTE FUNCTION hallway_changes_members_updated();

-- Renames (the seq counter and last_message_at move with every message and are covered by its row).
CREATE FUNCTION hallway_changes_conversations_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_changes (conversation_id, kind) VALUES (NEW.id, 'renamed');
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_conversations_renamed AFTER UPDATE ON conversations FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION hallway_changes_conversations_renamed();

-- A member's name, username, role or avatar: every conversation they are in shows them.
CREATE FUNCTION hallway_changes_profile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_changes (conversation_id, kind, user_id)
    SELECT conversation_id, 'profile', NEW.id FROM conversation_members WHERE user_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_profile AFTER UPDATE ON users FOR EACH ROW
    WHEN ((OLD.username, OLD.display_name, OLD.role, OLD.avatar_key)
          IS DISTINCT FROM (NEW.username, NEW.display_name, NEW.role, NEW.avatar_key))
    EXECUTE FUNCTION hallway_changes_profile();

-- The safeguarding setting flags direct chats (`Conversation.safeguarding`); it changes rarely.
CREATE FUNCTION hallway_changes_safeguarding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key = 'safeguarding' AND (TG_OP = 'INSERT' OR OLD.value IS DISTINCT FROM NEW.value) THEN
        INSERT INTO conversation_changes (conversation_id, kind)
        SELECT id, 'safeguarding' FROM conversations WHERE kind = 'direct';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_changes_safeguarding AFTER INSERT OR UPDATE ON settings FOR EACH ROW
    EXECUTE FUNCTION hallway_changes_safeguarding();
