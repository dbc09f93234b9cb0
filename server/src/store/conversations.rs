//! Conversations and their members.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A member's row: their place in the group and their own read marker and settings.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    /// `admin` or `member` (group admins may rename, add, remove and promote).
    pub role: String,
    pub last_read_seq: i64,
    pub muted: bool,
    pub pinned: bool,
    pub archived: bool,
    pub joined_at: OffsetDateTime,
}

impl MemberRow {
    /// Whether this member administers the group.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// The caller's membership of a conversation, or `None` when they are not in it (answer 404 then).
pub async fn membership(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    user_id: Uuid,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT conversation_id, user_id, role, last_read_seq, muted, pinned, archived, joined_at
         FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// The ids of every member of a conversation (whom its events reach).
pub async fn member_ids(db: impl PgExecutor<'_>, conversation_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY joined_at")
        .bind(conversation_id)
        .fetch_all(db)
        .await
}

/// The ids of a conversation's admins (who read receipts and hear of acknowledgements).
pub async fn admin_ids(db: impl PgExecutor<'_>, conversation_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND role = 'admin'")
        .bind(conversation_id)
        .fetch_all(db)
        .await
}

/// A group as school admins list it.
#[derive(Debug, Clone, FromRow)]
pub struct GroupSummary {
    pub id: Uuid,
    pub name: String,
    /// How many people are in it.
    pub members: i64,
}

/// Every group of the school with its size, ordered by name ignoring case and accents (then by id). A school
/// has a few hundred groups at most, so the list is not paged.
pub async fn groups(db: impl PgExecutor<'_>) -> Result<Vec<GroupSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, coalesce(c.name, '') AS name,
                (SELECT count(*) FROM conversation_members m WHERE m.conversation_id = c.id) AS members
         FROM conversations c WHERE c.kind = 'group'
         ORDER BY hallway_fold(coalesce(c.name, '')), c.id",
    )
    .fetch_all(db)
    .await
}

/// A conversation's kind, or `None` when it does not exist.
pub async fn kind(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
) -> Result<Option<hallway_protocol::ConversationKind>, sqlx::Error> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM conversations WHERE id = $1")
        .bind(conversation_id)
        .fetch_optional(db)
        .await?;
    Ok(kind.as_deref().and_then(hallway_protocol::ConversationKind::parse))
}

/// A conversation to create, with its first members (the creator among them, as group admin).
pub struct NewConversation<'a> {
    pub kind: hallway_protocol::ConversationKind,
    pub name: Option<&'a str>,
    pub created_by: Uuid,
    /// Everyone in it, the creator included; `true` marks a group admin.
    pub members: &'a [(Uuid, bool)],
}

/// The key that makes a direct chat unique per pair, whichever of the two starts it.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// Creates a conversation and its members in the caller's transaction, returning its id. For a direct chat
/// that exists already (unique `direct_key`), the insert fails with `conversations_direct_key_key`.
pub async fn create(tx: &mut sqlx::PgConnection, new: &NewConversation<'_>) -> Result<Uuid, sqlx::Error> {
    use hallway_protocol::ConversationKind;
    let id = Uuid::now_v7();
    let direct_key = match (new.kind, new.members) {
        (ConversationKind::Direct, [(a, _), (b, _)]) => Some(direct_key(*a, *b)),
        _ => None,
    };
    sqlx::query("INSERT INTO conversations (id, kind, name, created_by, direct_key) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(new.kind.as_str())
        .bind(new.name)
        .bind(new.created_by)
        .bind(direct_key)
        .execute(&mut *tx)
        .await?;
    // One statement for all members: a group may start with a thousand people.
    let (user_ids, admins): (Vec<Uuid>, Vec<bool>) = new.members.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO conversation_members (conversation_id, user_id, role)
         SELECT $1, m.user_id, CASE WHEN m.admin THEN 'admin' ELSE 'member' END
         FROM unnest($2::uuid[], $3::bool[]) AS m(user_id, admin)",
    )
    .bind(id)
    .bind(&user_ids)
    .bind(&admins)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// Messages after the member's read marker that others sent and that are not deleted: derived on every
/// read, never a counter that could drift.
pub async fn unread_count(db: impl PgExecutor<'_>, conversation_id: Uuid, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM messages m JOIN conversation_members cm
           ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
         WHERE m.conversation_id = $1 AND m.seq > cm.last_read_seq AND m.sender_id <> $2 AND m.deleted_at IS NULL",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Each user's unread total over all their conversations (the sum of `unread_count`), for push badges. Users
/// with nothing unread are absent.
pub async fn unread_totals(db: impl PgExecutor<'_>, user_ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT cm.user_id, count(*) FROM conversation_members cm
         JOIN messages m ON m.conversation_id = cm.conversation_id AND m.seq > cm.last_read_seq
                        AND m.sender_id <> cm.user_id AND m.deleted_at IS NULL
         WHERE cm.user_id = ANY($1)
         GROUP BY cm.user_id",
    )
    .bind(user_ids)
    .fetch_all(db)
    .await
}

/// The unique constraint that keeps one direct chat per pair; losing a creation race shows up as its violation.
pub const DIRECT_KEY_CONSTRAINT: &str = "conversations_direct_key_key";

/// The direct chat with this `direct_key`, if the pair has one.
pub async fn find_direct(db: impl PgExecutor<'_>, direct_key: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1").bind(direct_key).fetch_optional(db).await
}

/// A conversation's kind as stored; the table's CHECK constraint keeps it to the known names.
pub fn kind_from_db(kind: &str) -> hallway_protocol::ConversationKind {
    use hallway_protocol::ConversationKind;
    ConversationKind::parse(kind).unwrap_or(ConversationKind::Group)
}

/// Locks a conversation's row for a change to its name, members or admins, returning its kind (`None` when it
/// does not exist). Every such change takes this lock first, so two of them never interleave (two admins
/// leaving at once cannot both believe the other stays). `NO KEY UPDATE` leaves foreign-key checks free;
/// message inserts take the same row briefly for the seq, so a send waits at most for one short change.
pub async fn lock_for_change(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<hallway_protocol::ConversationKind>, sqlx::Error> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM conversations WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(kind.as_deref().map(kind_from_db))
}

/// Renames a group.
pub async fn rename(db: impl PgExecutor<'_>, id: Uuid, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE conversations SET name = $2 WHERE id = $1").bind(id).bind(name).execute(db).await.map(|_| ())
}

/// Adds people as plain members; people already in it are left as they are. All of one batch share one
/// `joined_at`, taken when the statement runs (after the lock was granted), not when the transaction began.
/// Newcomers start with the history marked read: they may read all of it, but a parent added to a year-old
/// class group is not greeted by hundreds of unread messages. Call it holding `lock_for_change`, which keeps
/// the last seq still until the commit.
pub async fn add_members(db: impl PgExecutor<'_>, id: Uuid, user_ids: &[Uuid]) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, last_read_seq)
         SELECT $1, user_id, 'member', statement_timestamp(), (SELECT next_seq - 1 FROM conversations WHERE id = $1)
         FROM unnest($2::uuid[]) AS user_id
         ON CONFLICT (conversation_id, user_id) DO NOTHING",
    )
    .bind(id)
    .bind(user_ids)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Takes someone out of a conversation; `false` when they were not in it.
pub async fn remove_member(db: impl PgExecutor<'_>, id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Makes a member a group admin (a no-op for an admin); `false` when they are not a member.
pub async fn promote(db: impl PgExecutor<'_>, id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE conversation_members SET role = 'admin' WHERE conversation_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// When a group has members but no admin left, makes the longest-standing member (earliest `joined_at`, then
/// lowest id among people who joined together) its admin, and returns who that is. Call it holding
/// `lock_for_change`, so that nobody joins, leaves or is promoted in between.
pub async fn ensure_an_admin(tx: &mut sqlx::PgConnection, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE conversation_members SET role = 'admin'
         WHERE conversation_id = $1
           AND NOT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND role = 'admin')
           AND user_id = (SELECT user_id FROM conversation_members WHERE conversation_id = $1
                          ORDER BY joined_at, user_id LIMIT 1)
         RETURNING user_id",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
}

/// A member's own settings to change; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsChange {
    pub muted: Option<bool>,
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
}

/// Changes a member's mute, pin and archive settings in one statement; `false` when they are not a member.
pub async fn update_settings(
    db: impl PgExecutor<'_>,
    id: Uuid,
    user_id: Uuid,
    change: SettingsChange,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE conversation_members
         SET muted = coalesce($3, muted), pinned = coalesce($4, pinned), archived = coalesce($5, archived)
         WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .bind(change.muted)
    .bind(change.pinned)
    .bind(change.archived)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}
