//! `GET /sync`: catching a client up in one request (contract 1.1, docs/protocol.md "Catching up in one
//! request").
//!
//! Every change to a conversation leaves a row in `conversation_changes`, written by database triggers in
//! the change's own transaction (so no code path can forget it, and several server processes stay right).
//! Rows are ordered by `(xid, id)`; a sync only trusts the part of that order below the snapshot horizon
//! (`store::changes::horizon`), where no transaction is still running, so a position handed out as a token
//! never has an unseen change before it. The answer is state, not a log: each conversation and message that
//! changed, as it stands now. Changes already visible above the horizon ride along on the last page and come
//! again in the next sync (harmless: the client applies state).
//!
//! Two kinds of token: a position in the feed, and, while a first sync (no `since`) pages through all history,
//! a place in that history plus the horizon taken when it began, from which the feed continues afterwards.
//! Tokens are signed for their user, carry their time, and die after `TOKEN_MAX_AGE`; the feed keeps rows a
//! day longer (`PRUNE_AFTER`), so a live token never points into pruned rows.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hallway_protocol::ErrorCode;
use hallway_protocol::sync::{SYNC_DEFAULT_LIMIT, SYNC_MAX_LIMIT, SyncResponse};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::tokens::{Keys, SYNC_TAG_LEN};
use crate::error::ApiError;
use crate::lifecycle::Background;
use crate::store::changes::{self, Position};
use crate::views::conversations as conversation_views;

/// How long a sync token stays usable: a phone away longer starts over.
pub const TOKEN_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How long the feed keeps a change: a day beyond the tokens, so no live token points past a pruned row.
pub const PRUNE_AFTER: Duration = Duration::from_secs(31 * 24 * 60 * 60);
/// How often old changes are pruned.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// Rows deleted per statement while pruning, so no single statement holds locks for long.
const PRUNE_BATCH: i64 = 10_000;

const VERSION: u8 = 1;
const MODE_FEED: u8 = 0;
const MODE_HISTORY: u8 = 1;

/// Why a sync was refused.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Garbled, another user's, from another database, or older than `TOKEN_MAX_AGE`.
    #[error("since: not a valid sync token (start over without it)")]
    InvalidToken,
    #[error("limit: 1 to {SYNC_MAX_LIMIT}")]
    InvalidLimit,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl From<SyncError> for ApiError {
    fn from(err: SyncError) -> ApiError {
        match err {
            SyncError::InvalidToken => ApiError::new(ErrorCode::InvalidSyncToken, err.to_string()),
            SyncError::InvalidLimit => ApiError::new(ErrorCode::InvalidPaging, err.to_string()),
            SyncError::Database(err) => ApiError::Database(err),
        }
    }
}

/// Where a client stands. Public with `Token` so `fuzz/` can check any token decodes or is refused, never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Everything in the feed up to this position has been delivered.
    Feed(Position),
    /// A first sync paging through all history: messages after `(conversation, seq)` remain, then the feed
    /// from `horizon` (taken before the first page, so nothing that changed meanwhile is missed).
    History { horizon: i64, conversation_id: Uuid, seq: i64 },
}

/// A decoded token: a place, and when it was made (for `TOKEN_MAX_AGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub place: Place,
    /// Unix seconds; no change after `place` is older than this.
    pub made_at: i64,
}

impl Token {
    /// The token as handed to `user_id`: its fields, signed for that user, in unpadded URL-safe base64.
    pub fn encode(&self, keys: &Keys, user_id: Uuid) -> String {
        let mut bytes = vec![VERSION];
        match self.place {
            Place::Feed(position) => {
                bytes.push(MODE_FEED);
                bytes.extend_from_slice(&self.made_at.to_be_bytes());
                bytes.extend_from_slice(&position.xid.to_be_bytes());
                bytes.extend_from_slice(&position.id.to_be_bytes());
            }
            Place::History { horizon, conversation_id, seq } => {
                bytes.push(MODE_HISTORY);
                bytes.extend_from_slice(&self.made_at.to_be_bytes());
                bytes.extend_from_slice(&horizon.to_be_bytes());
                bytes.extend_from_slice(conversation_id.as_bytes());
                bytes.extend_from_slice(&seq.to_be_bytes());
            }
        }
        let tag = keys.sign_sync_token(user_id, &bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a token `user_id` sent back at `now` (Unix seconds): anything garbled, altered, signed for
    /// someone else or too old is `InvalidToken`.
    pub fn decode(keys: &Keys, user_id: Uuid, raw: &str, now: i64) -> Result<Token, SyncError> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| SyncError::InvalidToken)?;
        let split = bytes.len().checked_sub(SYNC_TAG_LEN).ok_or(SyncError::InvalidToken)?;
        let (content, tag) = bytes.split_at(split);
        if !keys.verify_sync_token(user_id, content, tag) {
            return Err(SyncError::InvalidToken);
        }
        let mut reader = Reader(content);
        if reader.byte()? != VERSION {
            return Err(SyncError::InvalidToken);
        }
        let mode = reader.byte()?;
        let made_at = reader.i64()?;
        let place = match mode {
            MODE_FEED => Place::Feed(Position { xid: reader.i64()?, id: reader.i64()? }),
            MODE_HISTORY => Place::History {
                horizon: reader.i64()?,
                conversation_id: Uuid::from_bytes(reader.array()?),
                seq: reader.i64()?,
            },
            _ => return Err(SyncError::InvalidToken),
        };
        if !reader.0.is_empty() || now.saturating_sub(made_at) > TOKEN_MAX_AGE.as_secs() as i64 {
            return Err(SyncError::InvalidToken);
        }
        Ok(Token { place, made_at })
    }
}

/// Reads a token's fields in order; running short is an invalid token.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], SyncError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(SyncError::InvalidToken)?;
        self.0 = rest;
        Ok(*head)
    }

    fn byte(&mut self) -> Result<u8, SyncError> {
        Ok(self.array::<1>()?[0])
    }

    fn i64(&mut self) -> Result<i64, SyncError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
}

/// Parses `limit`: absent or empty is the default; otherwise 1 to `SYNC_MAX_LIMIT`.
pub fn parse_limit(raw: Option<&str>) -> Result<i64, SyncError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(SYNC_DEFAULT_LIMIT),
        Some(v) => v.parse::<i64>().ok().filter(|n| (1..=SYNC_MAX_LIMIT).contains(n)).ok_or(SyncError::InvalidLimit),
    }
}

/// One page of `GET /sync` for `user_id`, after `since` (the start of time without it), with at most `limit`
/// messages.
pub async fn sync(
    db: &PgPool,
    keys: &Keys,
    user_id: Uuid,
    since: Option<&str>,
    limit: i64,
) -> Result<SyncResponse, SyncError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let token = match since.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(Token::decode(keys, user_id, raw, now)?),
        None => None,
    };
    match token {
        None => {
            let horizon = changes::horizon(db).await?;
            let start = Token { place: Place::History { horizon, conversation_id: Uuid::nil(), seq: 0 }, made_at: now };
            history_page(db, keys, user_id, start, limit, true).await
        }
        Some(token @ Token { place: Place::History { .. }, .. }) => {
            history_page(db, keys, user_id, token, limit, false).await
        }
        Some(Token { place: Place::Feed(after), .. }) => feed_page(db, keys, user_id, after, limit, now).await,
    }
}

/// A page of a first sync: every conversation on the first page, then all messages, conversation by
/// conversation in seq order; after the last, the feed from the horizon taken at the start.
async fn history_page(
    db: &PgPool,
    keys: &Keys,
    user_id: Uuid,
    token: Token,
    limit: i64,
    first: bool,
) -> Result<SyncResponse, SyncError> {
    let Place::History { horizon, conversation_id, seq } = token.place else { return Err(SyncError::InvalidToken) };
    let conversations = if first { conversation_views::list_for(db, keys, user_id).await? } else { Vec::new() };
    let mut rows = changes::all_messages_after(db, user_id, (conversation_id, seq), limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let place = match rows.last() {
        Some(last) if has_more => Place::History { horizon, conversation_id: last.conversation_id, seq: last.seq },
        _ => Place::Feed(Position { xid: horizon, id: 0 }),
    };
    Ok(SyncResponse {
        next: Token { place, made_at: token.made_at }.encode(keys, user_id),
        has_more,
        conversations,
        removed_conversation_ids: Vec::new(),
        messages: crate::views::messages::many(db, keys, rows).await?,
    })
}

/// A page of the feed after `after`: the first `limit` messages to change, with every conversation that
/// changed and every removal up to where the page ends.
async fn feed_page(
    db: &PgPool,
    keys: &Keys,
    user_id: Uuid,
    after: Position,
    limit: i64,
    now: i64,
) -> Result<SyncResponse, SyncError> {
    let horizon = changes::horizon(db).await?;
    if after.xid > horizon {
        // Horizons only grow: this position comes from another database (a restore onto a new cluster).
        return Err(SyncError::InvalidToken);
    }
    let mut firsts = changes::first_message_changes(db, user_id, after, limit + 1).await?;
    let cut = firsts.get(usize::try_from(limit).unwrap_or(0)).filter(|c| c.xid < horizon).cloned();
    firsts.truncate(usize::try_from(limit).unwrap_or(0));
    let (upto, next) = match &cut {
        // More messages below the horizon than fit: the page ends just before the first one left out.
        Some(cut) => {
            let upto = Position { xid: cut.xid, id: cut.id - 1 };
            (upto, Token { place: Place::Feed(upto), made_at: cut.created_at.unix_timestamp().min(now) })
        }
        // All of it: what is visible above the horizon rides along; the next sync starts at the horizon.
        None => (Position::END, Token { place: Place::Feed(Position { xid: horizon, id: 0 }), made_at: now }),
    };
    let conversation_ids = changes::changed_conversations(db, user_id, after, upto).await?;
    let removed_conversation_ids = changes::removed_conversations(db, user_id, after, upto).await?;
    let message_ids: Vec<Uuid> = firsts.iter().map(|f| f.message_id).collect();
    let rows = changes::messages(db, &message_ids).await?;
    Ok(SyncResponse {
        next: next.encode(keys, user_id),
        has_more: cut.is_some(),
        conversations: conversation_views::some_for(db, keys, user_id, &conversation_ids).await?,
        removed_conversation_ids,
        messages: crate::views::messages::many(db, keys, rows).await?,
    })
}

/// Deletes changes older than `PRUNE_AFTER`, in batches; returns how many went.
pub async fn prune(db: &PgPool) -> Result<u64, sqlx::Error> {
    let cutoff = OffsetDateTime::now_utc() - PRUNE_AFTER;
    let mut total = 0;
    loop {
        let deleted = changes::prune(db, cutoff, PRUNE_BATCH).await?;
        total += deleted;
        if deleted < PRUNE_BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Starts the hourly pruning on the current runtime; a failed run is logged and retried at the next tick. It
/// stops with `background` (a run already going finishes).
pub fn spawn_pruning(db: PgPool, background: &Background) {
    let stop = background.stopping().clone();
    background.spawn_local(async move {
        let mut ticks = actix_rt::time::interval(PRUNE_INTERVAL);
        while stop.run_until_cancelled(ticks.tick()).await.is_some() {
            match prune(&db).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "pruned old entries of the change feed"),
                Err(err) => tracing::error!(error = %err, "pruning the change feed failed; retried in an hour"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_for_their_user_only() {
        let keys = Keys::from_secret(b"secret");
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let now = 1_800_000_000;
        let places = [
            Place::Feed(Position { xid: 12_345, id: 67 }),
            Place::History { horizon: 9, conversation_id: Uuid::now_v7(), seq: 41 },
        ];
        for place in places {
            let token = Token { place, made_at: now - 10 };
            let raw = token.encode(&keys, me);
            assert_eq!(Token::decode(&keys, me, &raw, now).unwrap(), token);
            assert!(Token::decode(&keys, other, &raw, now).is_err(), "another user's token");
            assert!(Token::decode(&Keys::from_secret(b"other"), me, &raw, now).is_err(), "another server's");
            let old = now + TOKEN_MAX_AGE.as_secs() as i64;
            assert!(Token::decode(&keys, me, &raw, old).is_err(), "too old");
            let mut bytes = URL_SAFE_NO_PAD.decode(&raw).unwrap();
            bytes[5] ^= 1;
            assert!(Token::decode(&keys, me, &URL_SAFE_NO_PAD.encode(&bytes), now).is_err(), "altered");
        }
        for garbage in ["", "x", "!!!", "AAAA", &"A".repeat(200)] {
            assert!(Token::decode(&keys, me, garbage, now).is_err(), "{garbage}");
        }
    }

    #[test]
    fn limits_outside_one_to_a_thousand_are_refused() {
        assert_eq!(parse_limit(None).unwrap(), SYNC_DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some(" ")).unwrap(), SYNC_DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("1000")).unwrap(), 1000);
        for bad in ["0", "1001", "-1", "x", "2.5"] {
            assert!(matches!(parse_limit(Some(bad)), Err(SyncError::InvalidLimit)), "{bad}");
        }
    }
}
