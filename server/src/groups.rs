//! The shape of conversations: creating direct chats, groups and announcements, and changing a group's name,
//! members and admins, under the school's rules, and each member's own settings.
//!
//! Creation runs before there is anything to order. Every change to an existing conversation runs inside its
//! conversation actor (`RenameGroup`, `AddMembers`, `RemoveMember`, `LeaveGroup`, `PromoteAdmin`, `UpdateSettings`
//! in `realtime::conversation`), which is so the one writer of
//! everything about it: it commits, reloads the members and tells them before it takes the next intent, so a
//! message sent after a removal never reaches the person removed. Correctness still comes from PostgreSQL:
//! each change takes the conversation's row lock (`lock_for_change`) and reads the caller's membership under
//! it, so two writers could delay each other but never interleave.

use std::collections::{HashMap, HashSet};

use hallway_protocol::announcements::MAX_ANNOUNCEMENT_MEMBERS;
use hallway_protocol::conversations::MAX_GROUP_MEMBERS;
use hallway_protocol::validate::{GroupName, Invalid};
use hallway_protocol::{ConversationKind, ErrorCode};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::messaging::{Outcome, Refusal};
use crate::policy::{self, Party, Policy, Verdict};
use crate::store::conversations::{self as store_conversations, MemberRow, NewConversation, SettingsChange};
use crate::store::users::UserRow;
use crate::store::{self, violated_unique_constraint};

/// A change to a group (or an announcement, managed alike), each made by one of its members.
#[derive(Debug, Clone)]
pub enum GroupChange {
    /// Group admins only.
    Rename(GroupName),
    /// Group admins only. Each new member must be someone the adder may message; people already in it, and
    /// the adder, are skipped.
    AddMembers(Vec<Uuid>),
    /// Someone else out (group admins only; an admin may remove another admin). To leave, `Leave`.
    RemoveMember(Uuid),
    /// Any member. When the last admin leaves, the longest-standing remaining member becomes admin.
    Leave,
    /// Makes a member a group admin (group admins only; promoting an admin again changes nothing).
    PromoteAdmin(Uuid),
}

/// Who joined and who left through a change (both empty for a rename or a promotion).
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
}

/// A conversation created, or the existing direct chat of the same pair.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: Uuid,
    /// `false` for a direct chat that existed already.
    pub new: bool,
    /// Everyone in it, the creator first.
    pub members: Vec<Uuid>,
}

/// Creates a conversation of `kind` with the creator and `member_ids` (repeats and the creator skipped).
/// A direct chat needs exactly one other person and no name, and the same pair always gets the same chat,
/// whichever of the two asks; a group or an announcement needs a name, and its creator is its first admin.
/// Announcements (contract 1.1) are created by school admins and teachers only. Every member must be someone
/// the creator may message (the directory rule).
pub async fn create(
    db: &PgPool,
    policy: &Policy,
    creator: &UserRow,
    kind: ConversationKind,
    name: Option<&str>,
    member_ids: &[Uuid],
) -> Outcome<Created> {
    let others = distinct_others(member_ids, creator.id);
    match kind {
        ConversationKind::Direct => create_direct(db, policy, creator, name, &others).await,
        ConversationKind::Announcement if !policy::may_create_announcement(creator.role()) => {
            Err(Refusal::PolicyForbids("only school admins and teachers may create announcements".into()))
        }
        ConversationKind::Group | ConversationKind::Announcement => {
            create_named(db, policy, creator, kind, name, &others).await
        }
    }
}

async fn create_direct(
    db: &PgPool,
    policy: &Policy,
    creator: &UserRow,
    name: Option<&str>,
    others: &[Uuid],
) -> Outcome<Created> {
    if name.is_some() {
        return Err(invalid_field("name", "a direct chat has no name"));
    }
    let &[other] = others else {
        return Err(invalid_field("member_ids", "a direct chat needs exactly one other person"));
    };
    check_addable(db, policy, creator, &[other], "member_ids").await?;
    let members = vec![creator.id, other];
    let key = store_conversations::direct_key(creator.id, other);
    if let Some(id) = store_conversations::find_direct(db, &key).await? {
        return Ok(Created { id, new: false, members });
    }
    let rows = [(creator.id, false), (other, false)];
    let new = NewConversation { kind: ConversationKind::Direct, name: None, created_by: creator.id, members: &rows };
    let mut tx = db.begin().await?;
    match store_conversations::create(&mut tx, &new).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(Created { id, new: true, members })
        }
        Err(err) if violated_unique_constraint(&err) == Some(store_conversations::DIRECT_KEY_CONSTRAINT) => {
            // The other person (or another device) created it at the same moment: theirs is ours.
            tx.rollback().await?;
            let id = store_conversations::find_direct(db, &key).await?.ok_or(sqlx::Error::RowNotFound)?;
            Ok(Created { id, new: false, members })
        }
        Err(err) => Err(err.into()),
    }
}

async fn create_named(
    db: &PgPool,
    policy: &Policy,
    creator: &UserRow,
    kind: ConversationKind,
    name: Option<&str>,
    others: &[Uuid],
) -> Outcome<Created> {
    let name = name.ok_or_else(|| invalid_field("name", "a group or an announcement needs a name"))?;
    let name = GroupName::parse(name)?;
    if others.len() + 1 > member_limit(kind) {
        return Err(too_many_members(kind, "member_ids"));
    }
    check_addable(db, policy, creator, others, "member_ids").await?;
    let rows: Vec<(Uuid, bool)> =
        std::iter::once((creator.id, true)).chain(others.iter().map(|id| (*id, false))).collect();
    let new = NewConversation { kind, name: Some(name.as_str()), created_by: creator.id, members: &rows };
    let mut tx = db.begin().await?;
    let id = store_conversations::create(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(Created { id, new: true, members: rows.into_iter().map(|(user_id, _)| user_id).collect() })
}

/// Applies a change to group `id` made by `caller`, and commits it. The conversation actor calls this, and
/// reloads its members after it.
pub async fn apply(db: &PgPool, policy: &Policy, caller: &UserRow, id: Uuid, change: &GroupChange) -> Outcome<Applied> {
    // Who is named is checked first: a request that names nobody is wrong whatever the group.
    let wanted = match change {
        GroupChange::AddMembers(wanted) => distinct_others(wanted, caller.id),
        _ => Vec::new(),
    };
    if matches!(change, GroupChange::AddMembers(_)) && wanted.is_empty() {
        return Err(invalid_field("user_ids", "name at least one person other than yourself"));
    }
    let need = if matches!(change, GroupChange::Leave) { Need::Member } else { Need::Admin };
    let mut locked = Locked::begin(db, id, caller.id, need).await?;
    let tx = &mut *locked.tx;
    let mut applied = Applied::default();
    match change {
        GroupChange::Rename(name) => store_conversations::rename(&mut *tx, id, name.as_str()).await?,
        GroupChange::AddMembers(_) => {
            let current: HashSet<Uuid> = store_conversations::member_ids(&mut *tx, id).await?.into_iter().collect();
            applied.added = wanted.into_iter().filter(|user_id| !current.contains(user_id)).collect();
            if !applied.added.is_empty() {
                if current.len() + applied.added.len() > member_limit(locked.kind) {
                    return Err(too_many_members(locked.kind, "user_ids"));
                }
                check_addable(&mut *tx, policy, caller, &applied.added, "user_ids").await?;
                store_conversations::add_members(&mut *tx, id, &applied.added).await?;
            }
        }
        GroupChange::RemoveMember(user_id) => {
            if *user_id == caller.id {
                return Err(invalid_field("user_id", "to leave a group yourself, use POST /conversations/{id}/leave"));
            }
            if !store_conversations::remove_member(&mut *tx, id, *user_id).await? {
                return Err(Refusal::NotFound);
            }
            applied.removed.push(*user_id);
        }
        GroupChange::Leave => {
            store_conversations::remove_member(&mut *tx, id, caller.id).await?;
            if locked.me.is_admin()
                && let Some(promoted) = store_conversations::ensure_an_admin(tx, id).await?
            {
                tracing::info!(conversation_id = %id, user_id = %promoted, "the last admin left: promoted the longest-standing member");
            }
            applied.removed.push(caller.id);
        }
        GroupChange::PromoteAdmin(user_id) => {
            if !store_conversations::promote(&mut *tx, id, *user_id).await? {
                return Err(invalid_field("user_id", "not a member of this conversation"));
            }
        }
    }
    locked.tx.commit().await?;
    Ok(applied)
}

/// Changes `user_id`'s own mute, pin and archive settings in conversation `id` (`NotFound` when they are not
/// in it). The conversation actor calls this, so the change is ordered with the rest of the conversation's.
pub async fn update_settings(db: &PgPool, id: Uuid, user_id: Uuid, change: SettingsChange) -> Outcome<()> {
    if store_conversations::update_settings(db, id, user_id, change).await? { Ok(()) } else { Err(Refusal::NotFound) }
}

/// Who may make a group change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any member (leaving).
    Member,
    /// A group admin (rename, add, remove, promote).
    Admin,
}

/// A change to a group in progress: the transaction holds the conversation's row lock, and the caller's
/// membership was read under it.
struct Locked {
    tx: Transaction<'static, Postgres>,
    me: MemberRow,
    /// A group or an announcement (which are managed alike).
    kind: ConversationKind,
}

impl Locked {
    /// Locks the conversation and checks, in this order: the caller is a member (else `NotFound`, as if it did
    /// not exist), it is a group (else `invalid_input`: a direct chat's pair, and its lack of name and admins,
    /// are fixed), and the caller is a group admin when the change needs one (else `forbidden`).
    async fn begin(db: &PgPool, id: Uuid, caller: Uuid, need: Need) -> Outcome<Locked> {
        let mut tx = db.begin().await?;
        let kind = store_conversations::lock_for_change(&mut tx, id).await?.ok_or(Refusal::NotFound)?;
        let me = store_conversations::membership(&mut *tx, id, caller).await?.ok_or(Refusal::NotFound)?;
        if kind == ConversationKind::Direct {
            let problem = match need {
                Need::Member => "a direct chat cannot be left: archive it instead",
                Need::Admin => "a direct chat has no name, admins or member changes",
            };
            return Err(invalid_field("conversation", problem));
        }
        if need == Need::Admin && !me.is_admin() {
            return Err(Refusal::Forbidden("only a group admin may do this"));
        }
        Ok(Locked { tx, me, kind })
    }
}

/// The ids in the order given, without repeats and without the caller (naming oneself changes nothing).
fn distinct_others(ids: &[Uuid], caller: Uuid) -> Vec<Uuid> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| *id != caller && seen.insert(*id)).collect()
}

/// Checks that `adder` may bring every one of `ids` into a conversation: each must exist (else
/// `invalid_input` naming `field`: the request names nobody, while the conversation is fine) and be someone
/// the policy lets the adder message, which also rules out deactivated accounts (else `policy_forbids`).
async fn check_addable(
    db: impl sqlx::PgExecutor<'_>,
    policy: &Policy,
    adder: &UserRow,
    ids: &[Uuid],
    field: &str,
) -> Outcome<()> {
    let people = store::users::find_many(db, ids).await?;
    let by_id: HashMap<Uuid, &UserRow> = people.iter().map(|u| (u.id, u)).collect();
    if let Some(unknown) = ids.iter().find(|id| !by_id.contains_key(id)) {
        return Err(invalid_field(field, &format!("no user has the id {unknown}")));
    }
    let from = party(adder);
    let refused: Vec<(Uuid, Verdict)> = ids
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|user| (user.id, policy.may_message(from, party(user))))
        .filter(|(_, verdict)| !verdict.is_allowed())
        .collect();
    let Some(&(first, verdict)) = refused.first() else { return Ok(()) };
    let reason = match verdict {
        Verdict::Deactivated => format!("the account of {first} is deactivated"),
        _ => format!("the school's rules do not let you message {first}"),
    };
    let more = match refused.len() {
        1 => String::new(),
        n => format!(" (and {} more of the people named)", n - 1),
    };
    Err(Refusal::PolicyForbids(format!("{field}: {reason}{more}").into()))
}

fn party(user: &UserRow) -> Party {
    Party { role: user.role(), deactivated: user.is_deactivated() }
}

/// Most people in a conversation of this kind, its admins included.
fn member_limit(kind: ConversationKind) -> usize {
    match kind {
        ConversationKind::Announcement => MAX_ANNOUNCEMENT_MEMBERS,
        ConversationKind::Direct | ConversationKind::Group => MAX_GROUP_MEMBERS,
    }
}

fn too_many_members(kind: ConversationKind, field: &str) -> Refusal {
    let what = if kind == ConversationKind::Announcement { "an announcement" } else { "a group" };
    invalid_field(field, &format!("{what} holds at most {} people, its admins included", member_limit(kind)))
}

/// `invalid_input` naming the field of the request that is wrong.
fn invalid_field(field: &str, problem: &str) -> Refusal {
    Refusal::Invalid(Invalid { code: ErrorCode::InvalidInput, message: format!("{field}: {problem}") })
}
