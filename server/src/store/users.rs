//! People: accounts, roles, credentials and deactivation.

use hallway_protocol::Role;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A `users` row as the server needs it (the password hash never leaves the server).
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub avatar_key: Option<String>,
    pub deactivated_at: Option<OffsetDateTime>,
}

impl UserRow {
    /// The role, which the table's CHECK constraint keeps to the four known names.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Student)
    }

    /// Whether the account has been switched off by an admin.
    pub fn is_deactivated(&self) -> bool {
        self.deactivated_at.is_some()
    }
}

/// The columns of a `UserRow`, as a macro so queries stay `&'static str` (sqlx audits dynamic SQL).
macro_rules! user_columns {
    () => {
        "id, username, email, display_name, role, password_hash, avatar_key, deactivated_at"
    };
}

/// A new account; `password_hash` is `None` until the person activates it.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

/// Inserts a user and returns it. A taken username or email is a unique violation
/// (`users_username_key` / `users_email_key`), and so is a username that looks like a taken one
/// (`users_username_skeleton_key`; the skeleton is derived here, as a generated column would be).
pub async fn insert(db: impl PgExecutor<'_>, new: &NewUser<'_>) -> Result<UserRow, sqlx::Error> {
    sqlx::query_as(concat!(
        "INSERT INTO users (id, username, email, display_name, role, password_hash, username_skeleton)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        user_columns!()
    ))
    .bind(Uuid::now_v7())
    .bind(new.username)
    .bind(new.email)
    .bind(new.display_name)
    .bind(new.role.as_str())
    .bind(new.password_hash)
    .bind(crate::usernames::skeleton(new.username))
    .fetch_one(db)
    .await
}

/// Renames a user (and their skeleton, as [`insert`] derives it). A taken name violates `users_username_key`
/// or `users_username_skeleton_key`.
pub async fn set_username(db: impl PgExecutor<'_>, id: Uuid, username: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET username = $2, username_skeleton = $3 WHERE id = $1")
        .bind(id)
        .bind(username)
        .bind(crate::usernames::skeleton(username))
        .execute(db)
        .await?;
    Ok(())
}

/// Finds a user by id.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// Finds several users by id in one query (absent ids are simply missing from the answer).
pub async fn find_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = ANY($1)")).bind(ids).fetch_all(db).await
}

/// Finds a user by username or email, ignoring letter case.
pub async fn find_by_login(db: impl PgExecutor<'_>, login: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users
         WHERE lower(username) = lower($1) OR (email IS NOT NULL AND lower(email) = lower($1))
         ORDER BY lower(username) = lower($1) DESC LIMIT 1"
    ))
    .bind(login)
    .fetch_optional(db)
    .await
}

/// Replaces the password hash.
pub async fn set_password_hash(db: impl PgExecutor<'_>, id: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(db)
        .await
        .map(|_| ())
}

/// Locks a user's row for the rest of the transaction; whether the account is deactivated, `None` if
/// there is no such user. Two admins deactivating at once then change (and audit) it once.
pub async fn lock_deactivated(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar("SELECT deactivated_at IS NOT NULL FROM users WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Switches an account off (`true`) or on again (`false`). Returns whether the user exists.
pub async fn set_deactivated(db: impl PgExecutor<'_>, id: Uuid, deactivated: bool) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE users SET deactivated_at = CASE WHEN $2 THEN coalesce(deactivated_at, now()) END,
                          updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(deactivated)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}
