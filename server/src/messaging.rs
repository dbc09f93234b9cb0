//! The rules of messaging: who may send, read, edit, delete and react, and what each does. The REST
//! handlers call these now and the WebSocket session and conversation actors will call the same ones, so
//! both ways in behave alike. Inputs arrive parsed (`validate`'s newtypes, `Paging`, `SearchQuery`); every
//! refusal is a `Refusal` carrying the contract's error code.
//!
//! Visibility: whoever is not a member of a conversation (now, not once) gets `NotFound` for it and for
//! everything in it, exactly as if it did not exist.

use hallway_protocol::messages::{MessagePage, SearchHit, SendMessageRequest};
use hallway_protocol::validate::{self, ClientMsgId, Emoji, Invalid, MessageBody};
use hallway_protocol::{ConversationKind, ErrorCode, Message};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::tokens::Keys;
use crate::error::ApiError;
use crate::policy::{Party, Policy, Verdict};
use crate::safety::banned_words::BannedWords;
use crate::store::attachments::ClaimError;
use crate::store::conversations::MemberRow;
use crate::store::deliveries::DeliveryLog;
use crate::store::group_commit::GroupCommit;
use crate::store::messages::{Inserted, MessageRow, NewMessage, NewText, Window};
use crate::store::users::UserRow;
use crate::store::{self, violated_unique_constraint};

/// Messages in one history page when the client does not say.
pub const DEFAULT_PAGE_LIMIT: i64 = 50;
/// Most messages in one history page.
pub const MAX_PAGE_LIMIT: i64 = 200;
/// Search results when the client does not say.
pub const DEFAULT_SEARCH_LIMIT: i64 = 20;
/// Most search results in one answer.
pub const MAX_SEARCH_LIMIT: i64 = 100;
/// Longest search text, in characters: enough for any sentence someone remembers.
pub const MAX_SEARCH_CHARS: usize = 256;
/// Most words of a search that count (each one narrows the results).
pub const MAX_SEARCH_WORDS: usize = 16;

/// Why an action was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The input is malformed; the code is the contract's (`body_empty`, `invalid_emoji`, ...).
    #[error("{}", .0.message)]
    Invalid(Invalid),
    /// No such conversation or message, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The caller sees it but may not do this (not their message, not a group admin).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The school's rules forbid this contact (the sentence may name the people refused).
    #[error("{0}")]
    PolicyForbids(std::borrow::Cow<'static, str>),
    /// The thing is in a state that does not allow this (a deleted message).
    #[error("{0}")]
    Conflict(&'static str),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl From<Invalid> for Refusal {
    fn from(invalid: Invalid) -> Refusal {
        Refusal::Invalid(invalid)
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Invalid(Invalid { code, message }) => ApiError::new(code, message),
            Refusal::NotFound => ApiError::not_found(),
            Refusal::Forbidden(why) => ApiError::new(ErrorCode::Forbidden, why),
            Refusal::PolicyForbids(why) => ApiError::new(ErrorCode::PolicyForbids, why),
            Refusal::Conflict(why) => ApiError::new(ErrorCode::Conflict, why),
            Refusal::Database(err) => ApiError::Database(err),
        }
    }
}

/// What refusals and outcomes return.
pub type Outcome<T> = Result<T, Refusal>;

/// A message to send, checked: the REST body and the WebSocket `send` frame parse into this alike.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub client_msg_id: ClientMsgId,
    pub body: MessageBody,
    /// Distinct, at most `validate::MAX_ATTACHMENTS`; whether the sender may attach them is checked on send.
    pub attachment_ids: Vec<Uuid>,
    /// Asked to be urgent; whether the sender may is checked on send.
    pub urgent: bool,
}

impl Outgoing {
    /// Checks the shape of a send: the id, the body (which may be empty only with attachments) and the
    /// number of attachments.
    pub fn parse(request: &SendMessageRequest) -> Result<Outgoing, Invalid> {
        let client_msg_id = ClientMsgId::parse(&request.client_msg_id)?;
        if request.attachment_ids.len() > validate::MAX_ATTACHMENTS {
            return Err(invalid_input(&format!(
                "attachment_ids: at most {} attachments per message",
                validate::MAX_ATTACHMENTS
            )));
        }
        let mut attachment_ids = Vec::with_capacity(request.attachment_ids.len());
        for id in &request.attachment_ids {
            if attachment_ids.contains(id) {
                return Err(invalid_input("attachment_ids: the same attachment is named twice"));
            }
            attachment_ids.push(*id);
        }
        let body = MessageBody::parse(&request.body, !attachment_ids.is_empty())?;
        Ok(Outgoing { client_msg_id, body, attachment_ids, urgent: request.urgent })
    }
}

/// The result of a send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Message,
    /// `false` when this repeated a `client_msg_id` and `message` is the original, unchanged.
    pub new: bool,
}

/// The result of an edit, a delete or a reaction.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The message as it now stands.
    pub message: Message,
    /// `false` when the action changed nothing (same body, already deleted, reaction already there or
    /// already gone): nothing to tell the other members.
    pub changed: bool,
}

/// The caller's membership, or `NotFound`.
pub async fn require_member(db: &PgPool, conversation_id: Uuid, user_id: Uuid) -> Outcome<MemberRow> {
    store::conversations::membership(db, conversation_id, user_id).await?.ok_or(Refusal::NotFound)
}

/// Sends a message into a conversation the sender is a member of, with the next `seq`.
///
/// A repeated `client_msg_id` returns the original, unchanged, whatever else the repeat says (before any
/// policy or attachment check: a retry must get what the first attempt committed). In a direct chat the
/// other person must be active and the school's rules must allow the contact in one direction at least (a
/// teacher may start a chat that a student may then answer); groups are governed when people are added.
/// A body with a word on the school's banned list is refused (`banned_word`) and never stored.
#[expect(
    clippy::too_many_arguments,
    reason = "the database, its group-commit writer, the keys and the rules in force: each is used"
)]
pub async fn send(
    db: &PgPool,
    writer: &GroupCommit,
    keys: &Keys,
    policy: &Policy,
    banned: &BannedWords,
    sender: &UserRow,
    conversation: (Uuid, ConversationKind),
    outgoing: &Outgoing,
) -> Outcome<Sent> {
    let conversation_id = conversation.0;
    let client_msg_id = outgoing.client_msg_id.as_str();
    if let Err(refusal) = admissible(db, policy, banned, sender, conversation, outgoing).await {
        // A retry must get what the first attempt committed, whatever has changed since.
        if let Some(existing) = store::messages::find_by_client_msg_id(db, sender.id, client_msg_id).await? {
            return original(db, keys, sender.id, existing).await;
        }
        return Err(refusal);
    }
    let new = NewMessage {
        conversation_id,
        sender_id: sender.id,
        client_msg_id: &outgoing.client_msg_id,
        body: &outgoing.body,
        attachment_ids: &outgoing.attachment_ids,
    };
    // Urgent messages are rare: they take the general path, which stores the flag, and leave the group
    // commit's statement as it is.
    if outgoing.attachment_ids.is_empty() && !outgoing.urgent {
        // The common case, in one statement (shared with other messages waiting at the same moment):
        // membership, the next seq, the insert and the read marker.
        let text = NewText {
            conversation_id,
            sender_id: sender.id,
            client_msg_id: client_msg_id.to_owned(),
            body: outgoing.body.as_str().to_owned(),
        };
        return match writer.insert(text).await {
            Ok(Some(row)) => Ok(Sent { message: crate::views::messages::fresh(row), new: true }),
            Ok(None) => Err(Refusal::NotFound),
            Err(err) if violated_unique_constraint(&err) == Some("messages_sender_client_msg_id_key") => {
                let existing = store::messages::find_by_client_msg_id(db, sender.id, client_msg_id).await?;
                original(db, keys, sender.id, existing.ok_or(Refusal::NotFound)?).await
            }
            Err(err) => Err(err.into()),
        };
    }
    require_member(db, conversation_id, sender.id).await?;
    // A repeated client_msg_id comes back as `Existing` (looked up inside the insert's transaction).
    match store::messages::insert_with_urgency(db, &new, outgoing.urgent).await {
        Ok(Inserted::New(row)) => Ok(Sent { message: one_to_wire(db, keys, row).await?, new: true }),
        Ok(Inserted::Existing(row)) => original(db, keys, sender.id, row).await,
        // The unique `message_attachments.attachment_id` is the last line of defence behind the claim.
        Err(ClaimError::Database(err))
            if violated_unique_constraint(&err) != Some("message_attachments_attachment_id_key") =>
        {
            Err(err.into())
        }
        // Someone else's upload, a missing one, one sent already, or one named twice: the same answer for
        // all, so that no one learns whether another person's upload exists.
        Err(_) => Err(unattachable()),
    }
}

/// The checks of a send before it is stored: in an announcement only its admins post (`forbidden`), an urgent
/// message needs a sender the school lets send one (`policy_forbids`), no banned words, and in a direct chat
/// the policy.
async fn admissible(
    db: &PgPool,
    policy: &Policy,
    banned: &BannedWords,
    sender: &UserRow,
    (conversation_id, kind): (Uuid, ConversationKind),
    outgoing: &Outgoing,
) -> Outcome<()> {
    if kind == ConversationKind::Announcement && !require_member(db, conversation_id, sender.id).await?.is_admin() {
        return Err(Refusal::Forbidden("only the announcement's admins may post in it"));
    }
    if outgoing.urgent {
        crate::announcements::check_urgent(db, sender).await?;
    }
    check_banned_words(banned, outgoing.body.as_str())?;
    if kind == ConversationKind::Direct {
        check_direct_contact(db, policy, sender, conversation_id).await?;
    }
    Ok(())
}

/// The original of a repeated send. It is the sender's own message, but if they have since left its
/// conversation (the id was reused elsewhere) it is no longer theirs to see: 409, the id is taken.
async fn original(db: &PgPool, keys: &Keys, sender_id: Uuid, row: MessageRow) -> Outcome<Sent> {
    if store::conversations::membership(db, row.conversation_id, sender_id).await?.is_none() {
        return Err(Refusal::Conflict("client_msg_id: already used for a message in another conversation"));
    }
    Ok(Sent { message: one_to_wire(db, keys, row).await?, new: false })
}

async fn check_direct_contact(db: &PgPool, policy: &Policy, sender: &UserRow, conversation_id: Uuid) -> Outcome<()> {
    let me = Party { role: sender.role(), deactivated: sender.is_deactivated() };
    for other_id in store::conversations::member_ids(db, conversation_id).await? {
        if other_id == sender.id {
            continue;
        }
        let Some(other) = store::users::find(db, other_id).await? else { continue };
        let them = Party { role: other.role(), deactivated: other.is_deactivated() };
        match policy.may_message(me, them) {
            Verdict::Allowed => {}
            Verdict::Deactivated => {
                return Err(Refusal::PolicyForbids("the other person's account is deactivated".into()));
            }
            Verdict::ForbiddenByRoles if policy.roles_allow(them.role, me.role) => {}
            Verdict::ForbiddenByRoles => {
                return Err(Refusal::PolicyForbids("the school's rules do not allow messages between you".into()));
            }
        }
    }
    Ok(())
}

/// Refuses text that contains a banned word or phrase. The answer does not repeat the word: the sender
/// knows what they wrote, and the message is not logged anywhere.
fn check_banned_words(banned: &BannedWords, body: &str) -> Outcome<()> {
    if banned.matches(body) {
        return Err(Refusal::Invalid(Invalid {
            code: ErrorCode::BannedWord,
            message: "body: contains a word or phrase that the school does not allow".to_owned(),
        }));
    }
    Ok(())
}

fn unattachable() -> Refusal {
    Refusal::Invalid(invalid_input("attachment_ids: each must be your own upload, not yet sent with a message"))
}

/// Which page of history to read, checked: the query `before_seq`, `after_seq` and `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub window: Window,
    pub limit: i64,
}

impl Paging {
    /// Parses the raw query values (absent or empty means not given). Both seqs, a negative seq, a limit
    /// outside 1 to 200 or anything not a number is `invalid_paging`.
    pub fn parse(before_seq: Option<&str>, after_seq: Option<&str>, limit: Option<&str>) -> Result<Paging, Invalid> {
        let number = |name: &str, raw: Option<&str>| -> Result<Option<i64>, Invalid> {
            match raw.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| invalid_paging(&format!("{name}: not a number"))),
            }
        };
        let before = number("before_seq", before_seq)?;
        let after = number("after_seq", after_seq)?;
        let limit = number("limit", limit)?.unwrap_or(DEFAULT_PAGE_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            return Err(invalid_paging(&format!("limit: 1 to {MAX_PAGE_LIMIT}")));
        }
        let window = match (before, after) {
            (Some(_), Some(_)) => return Err(invalid_paging("before_seq and after_seq: give one or neither")),
            (Some(seq), None) | (None, Some(seq)) if seq < 0 => {
                return Err(invalid_paging("before_seq, after_seq: must not be negative"));
            }
            (Some(seq), None) => Window::Before(seq),
            (None, Some(seq)) => Window::After(seq),
            (None, None) => Window::Latest,
        };
        Ok(Paging { window, limit })
    }
}

/// A page of a conversation's history, for members only. What the member fetched counts as delivered to them
/// (recorded in the background, see `store::deliveries`).
pub async fn history(
    db: &PgPool,
    keys: &Keys,
    deliveries: &DeliveryLog,
    user_id: Uuid,
    conversation_id: Uuid,
    paging: Paging,
) -> Outcome<MessagePage> {
    require_member(db, conversation_id, user_id).await?;
    let (rows, has_more) = store::messages::page(db, conversation_id, paging.window, paging.limit).await?;
    if let Some(newest) = rows.last() {
        deliveries.record(conversation_id, newest.seq, vec![user_id]);
    }
    Ok(MessagePage { messages: crate::views::messages::many(db, keys, rows).await?, has_more })
}

/// A message and the caller's membership of its conversation, or `NotFound` for either.
pub(crate) async fn visible_message(db: &PgPool, user_id: Uuid, message_id: Uuid) -> Outcome<(MessageRow, MemberRow)> {
    let row = store::messages::find(db, message_id).await?.ok_or(Refusal::NotFound)?;
    let member = require_member(db, row.conversation_id, user_id).await?;
    Ok((row, member))
}

/// Edits a message: its sender only, and not once deleted (409). The old body is kept in `message_edits`;
/// the same body again changes nothing (no edit recorded, `edited_at` untouched). A new body with a banned
/// word is refused like a send.
pub async fn edit(
    db: &PgPool,
    keys: &Keys,
    banned: &BannedWords,
    user_id: Uuid,
    message_id: Uuid,
    raw_body: &str,
) -> Outcome<Changed> {
    let (row, _) = visible_message(db, user_id, message_id).await?;
    if row.sender_id != user_id {
        return Err(Refusal::Forbidden("only the sender may edit a message"));
    }
    let body = MessageBody::parse(raw_body, store::messages::has_attachments(db, message_id).await?)?;
    check_banned_words(banned, body.as_str())?;
    let mut tx = db.begin().await?;
    let row = store::messages::find_for_update(&mut tx, message_id).await?.ok_or(Refusal::NotFound)?;
    if row.deleted_at.is_some() {
        return Err(Refusal::Conflict("the message has been deleted"));
    }
    if row.body == body.as_str() {
        tx.rollback().await?;
        return Ok(Changed { message: one_to_wire(db, keys, row).await?, changed: false });
    }
    let row = store::messages::edit(&mut tx, message_id, &body).await?;
    tx.commit().await?;
    Ok(Changed { message: one_to_wire(db, keys, row).await?, changed: true })
}

/// Deletes a message: its sender, or an admin of the group it is in. Idempotent: deleting it again
/// answers the deleted message with `changed: false`.
pub async fn delete(db: &PgPool, keys: &Keys, user_id: Uuid, message_id: Uuid) -> Outcome<Changed> {
    let (row, member) = visible_message(db, user_id, message_id).await?;
    if row.sender_id != user_id {
        let group = store::conversations::kind(db, row.conversation_id).await? == Some(ConversationKind::Group);
        if !(group && member.is_admin()) {
            return Err(Refusal::Forbidden("only the sender or a group admin may delete a message"));
        }
    }
    soft_delete(db, keys, message_id).await
}

/// Deletes any message on a school admin's behalf (moderation, a report's resolution): no membership or
/// sender check, which the admin endpoints replace with `AdminUser` and the audit log. Idempotent like a
/// member's delete.
pub async fn moderator_delete(db: &PgPool, keys: &Keys, message_id: Uuid) -> Outcome<Changed> {
    soft_delete(db, keys, message_id).await
}

async fn soft_delete(db: &PgPool, keys: &Keys, message_id: Uuid) -> Outcome<Changed> {
    let mut tx = db.begin().await?;
    let row = store::messages::find_for_update(&mut tx, message_id).await?.ok_or(Refusal::NotFound)?;
    if row.deleted_at.is_some() {
        tx.rollback().await?;
        return Ok(Changed { message: one_to_wire(db, keys, row).await?, changed: false });
    }
    let row = store::messages::soft_delete(&mut tx, message_id).await?.ok_or(Refusal::NotFound)?;
    tx.commit().await?;
    Ok(Changed { message: one_to_wire(db, keys, row).await?, changed: true })
}

/// Adds (`on`) or takes back a reaction, for members; not on a deleted message (409). Repeating either
/// changes nothing.
pub async fn react(
    db: &PgPool,
    keys: &Keys,
    user_id: Uuid,
    message_id: Uuid,
    emoji: &Emoji,
    on: bool,
) -> Outcome<Changed> {
    visible_message(db, user_id, message_id).await?;
    let mut tx = db.begin().await?;
    // The lock orders this after a concurrent delete, which removes reactions.
    let row = store::messages::find_for_update(&mut tx, message_id).await?.ok_or(Refusal::NotFound)?;
    if row.deleted_at.is_some() {
        return Err(Refusal::Conflict("the message has been deleted"));
    }
    let changed = if on {
        store::reactions::add(&mut *tx, message_id, user_id, emoji).await?
    } else {
        store::reactions::remove(&mut *tx, message_id, user_id, emoji).await?
    };
    tx.commit().await?;
    Ok(Changed { message: one_to_wire(db, keys, row).await?, changed })
}

/// Moves the caller's read marker forward (never back; a seq past the end is the end) and returns it.
pub async fn mark_read(db: &PgPool, user_id: Uuid, conversation_id: Uuid, seq: i64) -> Outcome<i64> {
    if seq < 0 {
        return Err(Refusal::Invalid(invalid_input("seq: must not be negative")));
    }
    store::read_markers::advance(db, conversation_id, user_id, seq).await?.ok_or(Refusal::NotFound)
}

/// A full-text search, checked: the words to look for (each matching as a word prefix) and how many hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Runs of letters and digits, as typed (folding happens in the database, as for the index).
    words: Vec<String>,
    limit: i64,
}

impl SearchQuery {
    /// `q` must hold something besides white space and be at most 256 characters; `limit` 1 to 100.
    pub fn parse(q: Option<&str>, limit: Option<&str>) -> Result<SearchQuery, Invalid> {
        let q = q.unwrap_or_default().trim();
        if q.is_empty() {
            return Err(invalid_input("q: what to search for"));
        }
        if q.chars().count() > MAX_SEARCH_CHARS {
            return Err(invalid_input(&format!("q: at most {MAX_SEARCH_CHARS} characters")));
        }
        let limit = match limit.map(str::trim).filter(|v| !v.is_empty()) {
            None => DEFAULT_SEARCH_LIMIT,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
                .ok_or_else(|| invalid_input(&format!("limit: 1 to {MAX_SEARCH_LIMIT}")))?,
        };
        // Words are runs of letters and digits, as the index's parser sees them; the store quotes each.
        let words = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(MAX_SEARCH_WORDS)
            .map(str::to_owned)
            .collect();
        Ok(SearchQuery { words, limit })
    }

    /// The words, space-separated, as the store takes them. `None` when no word is left (only punctuation).
    fn words(&self) -> Option<String> {
        (!self.words.is_empty()).then(|| self.words.join(" "))
    }
}

/// Messages matching every word, in conversations the caller is a member of now, not deleted, newest first.
pub async fn search(db: &PgPool, keys: &Keys, user_id: Uuid, query: &SearchQuery) -> Outcome<Vec<SearchHit>> {
    let Some(words) = query.words() else { return Ok(Vec::new()) };
    let rows = store::messages::search(db, user_id, &words, query.limit).await?;
    Ok(crate::views::messages::many(db, keys, rows)
        .await?
        .into_iter()
        .map(|message| SearchHit { conversation_id: message.conversation_id, seq: message.seq, message })
        .collect())
}

async fn one_to_wire(db: &PgPool, keys: &Keys, row: MessageRow) -> Outcome<Message> {
    crate::views::messages::many(db, keys, vec![row]).await?.pop().ok_or(Refusal::NotFound)
}

fn invalid_input(message: &str) -> Invalid {
    Invalid { code: ErrorCode::InvalidInput, message: message.to_owned() }
}

fn invalid_paging(message: &str) -> Invalid {
    Invalid { code: ErrorCode::InvalidPaging, message: message.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_reads_each_mode_and_refuses_the_rest() {
        let ok = |b, a, l| Paging::parse(b, a, l).unwrap();
        assert_eq!(ok(None, None, None), Paging { window: Window::Latest, limit: DEFAULT_PAGE_LIMIT });
        assert_eq!(ok(Some(""), Some(" "), Some("")), Paging { window: Window::Latest, limit: DEFAULT_PAGE_LIMIT });
        assert_eq!(ok(Some("7"), None, Some("200")), Paging { window: Window::Before(7), limit: 200 });
        assert_eq!(ok(None, Some("0"), Some("1")), Paging { window: Window::After(0), limit: 1 });
        let bad = [
            (Some("1"), Some("2"), None),
            (Some("-1"), None, None),
            (None, Some("-1"), None),
            (None, Some("x"), None),
            (None, None, Some("0")),
            (None, None, Some("201")),
            (None, None, Some("-5")),
            (None, None, Some("1e2")),
        ];
        for (b, a, l) in bad {
            assert_eq!(Paging::parse(b, a, l).unwrap_err().code, ErrorCode::InvalidPaging, "{b:?} {a:?} {l:?}");
        }
    }

    #[test]
    fn search_queries_keep_letters_and_digits_only() {
        let q = SearchQuery::parse(Some("  O'Brien's (1/2) day & élève: 日本 "), None).unwrap();
        assert_eq!(q.words(), Some("O Brien s 1 2 day élève 日本".to_owned()));
        assert_eq!(q.limit, DEFAULT_SEARCH_LIMIT);
        assert_eq!(SearchQuery::parse(Some("&!:*"), Some("100")).unwrap().words(), None);
        let many = "w ".repeat(40);
        assert_eq!(SearchQuery::parse(Some(&many), None).unwrap().words.len(), MAX_SEARCH_WORDS);
        for (q, limit) in [(None, None), (Some(" "), None), (Some("a"), Some("0")), (Some("a"), Some("101"))] {
            assert_eq!(SearchQuery::parse(q, limit).unwrap_err().code, ErrorCode::InvalidInput, "{q:?} {limit:?}");
        }
    }

    #[test]
    fn sends_are_checked_before_anything_is_stored() {
        let request = |id: &str, body: &str, attachments: Vec<Uuid>| SendMessageRequest {
            client_msg_id: id.to_owned(),
            body: body.to_owned(),
            attachment_ids: attachments,
            urgent: false,
        };
        assert!(Outgoing::parse(&request("a", "hi", vec![])).is_ok());
        assert!(Outgoing::parse(&request("a", "", vec![Uuid::now_v7()])).is_ok());
        assert_eq!(Outgoing::parse(&request("a", " ", vec![])).unwrap_err().code, ErrorCode::BodyEmpty);
        assert_eq!(Outgoing::parse(&request("", "hi", vec![])).unwrap_err().code, ErrorCode::InvalidInput);
        let twice = Uuid::now_v7();
        assert_eq!(Outgoing::parse(&request("a", "hi", vec![twice, twice])).unwrap_err().code, ErrorCode::InvalidInput);
        let eleven = (0..11).map(|_| Uuid::now_v7()).collect();
        assert_eq!(Outgoing::parse(&request("a", "hi", eleven)).unwrap_err().code, ErrorCode::InvalidInput);
    }
}
