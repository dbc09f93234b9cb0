//! Who is calling: passwords, access and refresh tokens, the request extractor, sign-in rate limits, and
//! the session flows (sign in, rotate, sign out) that the HTTP handlers call.

pub mod activation;
pub mod admin;
pub mod extractor;
pub mod password;
pub mod rate_limit;
pub mod tokens;

use hallway_protocol::ErrorCode;
use hallway_protocol::auth::TokenResponse;
use hallway_protocol::ws::session_ended;
use time::OffsetDateTime;
use uuid::Uuid;

pub use admin::AdminUser;
pub use extractor::AuthUser;

use crate::error::{ApiError, ApiResult};
use crate::realtime::SessionFilter;
use crate::state::AppState;
use crate::store::{self, audit::AuditEntry, users::UserRow};

/// Opens a new session (one device) for a user who proved who they are, and returns its first tokens.
pub async fn start_session(
    state: &AppState,
    user: &UserRow,
    user_agent: Option<&str>,
    address: Option<&str>,
) -> ApiResult<TokenResponse> {
    let mut tx = state.db.begin().await?;
    let session_id = store::sessions::create(&mut *tx, user.id, user_agent, address).await?;
    let refresh_token = tokens::new_refresh_token();
    let expires_at = OffsetDateTime::now_utc() + state.config.tokens.refresh;
    store::sessions::insert_refresh_token(
        &mut *tx,
        &tokens::hash_refresh_token(&refresh_token),
        session_id,
        expires_at,
    )
    .await?;
    tx.commit().await?;
    Ok(token_response(state, user, session_id, refresh_token))
}

/// Exchanges a refresh token for a new pair. The old token stops working; presented again within the grace
/// period it yields the same successor (an app killed mid-refresh stays signed in); presented later, it is
/// taken as stolen and the whole session is revoked.
///
/// Everything happens in one transaction that holds the old token's row locked: a crash between the
/// statements undoes them all (the old token still works, no half-made successor), and concurrent refreshes
/// with the same token take turns, so the second sees the first's successor and answers that same one.
pub async fn rotate(state: &AppState, refresh_token: &str) -> ApiResult<TokenResponse> {
    let invalid = || ApiError::new(ErrorCode::InvalidRefreshToken, "the refresh token is not valid");
    let hash = tokens::hash_refresh_token(refresh_token);
    let mut tx = state.db.begin().await?;
    let Some(row) = store::sessions::lock_refresh_token(&mut *tx, &hash).await? else {
        return Err(invalid());
    };
    let now = OffsetDateTime::now_utc();
    if row.session_revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    let user = store::users::find(&mut *tx, row.user_id).await?.ok_or_else(invalid)?;
    if user.is_deactivated() {
        return Err(ApiError::new(ErrorCode::AccountDeactivated, "this account has been deactivated"));
    }
    let successor = state.keys.successor(refresh_token);
    let successor_hash = tokens::hash_refresh_token(&successor);
    if let Some(rotated_at) = row.rotated_at {
        // Used before: a lost answer being retried, or a stolen token being replayed.
        let within_grace = now - rotated_at <= state.config.tokens.refresh_grace;
        let successor_unused = store::sessions::find_refresh_token(&mut *tx, &successor_hash)
            .await?
            .is_some_and(|s| s.rotated_at.is_none());
        if !(within_grace && successor_unused) {
            store::sessions::revoke(&mut *tx, row.session_id).await?;
            tx.commit().await?;
            let ended = SessionFilter::Sessions(vec![row.session_id]);
            state.realtime.close_sessions(row.user_id, ended, session_ended::SESSION_REVOKED);
            tracing::warn!(session = %row.session_id, "refresh token reused: session revoked");
            return Err(invalid());
        }
    } else {
        store::sessions::claim_rotation(&mut *tx, &hash).await?;
        let expires_at = now + state.config.tokens.refresh;
        store::sessions::insert_refresh_token(&mut *tx, &successor_hash, row.session_id, expires_at).await?;
    }
    store::sessions::touch(&mut *tx, row.session_id).await?;
    tx.commit().await?;
    Ok(token_response(state, &user, row.session_id, successor))
}

/// Signs one device out. The refresh token alone proves the session, so this works when the access token
/// has expired or is missing (contract 1.1); a caller who also shows a live access token ends that session
/// too (v1 clients send both). Unknown or already ended: nothing to do. Ended sessions' sockets close.
pub async fn sign_out(state: &AppState, caller: Option<&AuthUser>, refresh_token: &str) -> ApiResult<()> {
    let hash = tokens::hash_refresh_token(refresh_token);
    let mut tx = state.db.begin().await?;
    let mut ended = Vec::new();
    if let Some((session_id, user_id)) = store::sessions::revoke_by_refresh_token(&mut *tx, &hash).await? {
        ended.push((user_id, session_id));
    }
    if let Some(caller) = caller
        && store::sessions::revoke(&mut *tx, caller.session_id).await?
    {
        ended.push((caller.id(), caller.session_id));
    }
    tx.commit().await?;
    for (user_id, session_id) in ended {
        state.realtime.close_sessions(user_id, SessionFilter::Sessions(vec![session_id]), session_ended::SIGNED_OUT);
    }
    Ok(())
}

/// What a deactivation or reactivation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// There is no such user.
    NotFound,
    /// The account was already so: nothing changed and nothing was audited.
    Unchanged,
    /// The account changed, and `audit` was recorded.
    Changed,
}

/// Deactivates or reactivates an account. The change, the end of every session (on deactivation) and its
/// audit record commit together, so a crash can neither leave a deactivation unaudited nor audit one that
/// did not happen; the row is locked, so two admins at once change and audit it once. The sockets close
/// after the commit.
pub async fn set_deactivated(
    state: &AppState,
    user_id: Uuid,
    deactivated: bool,
    audit: AuditEntry<'_>,
) -> ApiResult<AccountChange> {
    let mut tx = state.db.begin().await?;
    match store::users::lock_deactivated(&mut *tx, user_id).await? {
        None => return Ok(AccountChange::NotFound),
        Some(now) if now == deactivated => return Ok(AccountChange::Unchanged),
        Some(_) => {}
    }
    store::users::set_deactivated(&mut *tx, user_id, deactivated).await?;
    if deactivated {
        store::sessions::revoke_all_of_user(&mut *tx, user_id, None).await?;
    }
    store::audit::record(&mut *tx, audit).await?;
    tx.commit().await?;
    if deactivated {
        state.realtime.close_sessions(user_id, SessionFilter::All, session_ended::ACCOUNT_DEACTIVATED);
    }
    Ok(AccountChange::Changed)
}

fn token_response(state: &AppState, user: &UserRow, session_id: Uuid, refresh_token: String) -> TokenResponse {
    let ttl = state.config.tokens.access;
    TokenResponse {
        access_token: state.keys.issue_access(user.id, session_id, OffsetDateTime::now_utc(), ttl),
        refresh_token,
        expires_in: ttl.as_secs(),
        user: crate::views::user(user),
    }
}
