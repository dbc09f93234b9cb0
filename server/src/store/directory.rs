//! The directory: whom a person may start a chat with, searched by name.
//!
//! Search rule: the text is cut into words at white space, and every word must appear somewhere in the
//! person's display name or username, ignoring letter case and accents (`hallway_fold`, so "jose" finds
//! "José" and "elodie" finds "ÉLODIE"). Substrings rather than word prefixes, because a school's names are
//! multilingual: Chinese or Japanese names have no spaces between their parts, and people often type the
//! middle of a surname. Words may come in any order ("chen mei" finds "Mei Chen").

use hallway_protocol::Role;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::users::UserRow;

/// One page of a directory search; the caller has already turned the policy into `roles`.
pub struct Search<'a> {
    /// Never listed: nobody starts a chat with themselves.
    pub caller_id: Uuid,
    /// The roles the caller may reach (and, if asked, the one role they filter on).
    pub roles: &'a [Role],
    /// The words of the search text, as typed (folded in SQL); empty lists everyone.
    pub words: &'a [String],
    pub limit: i64,
    pub offset: i64,
}

/// Active (not deactivated) people of the given roles matching every word, ordered by display name
/// (case- and accent-insensitively, then by id so that pages never overlap or skip).
pub async fn search(db: impl PgExecutor<'_>, search: &Search<'_>) -> Result<Vec<UserRow>, sqlx::Error> {
    let roles: Vec<&str> = search.roles.iter().map(|r| r.as_str()).collect();
    sqlx::query_as(
        "WITH words AS (SELECT hallway_fold(w) AS word FROM unnest($3::text[]) AS w)
         SELECT u.id, u.username, u.email, u.display_name, u.role, u.password_hash, u.avatar_key, u.deactivated_at
         FROM users u
         WHERE u.deactivated_at IS NULL
           AND u.id <> $1
           AND u.role = ANY($2)
           AND NOT EXISTS (
               SELECT 1 FROM words
               WHERE strpos(hallway_fold(u.display_name), word) = 0 AND strpos(hallway_fold(u.username), word) = 0)
         ORDER BY hallway_fold(u.display_name), u.display_name, u.id
         LIMIT $4 OFFSET $5",
    )
    .bind(search.caller_id)
    .bind(&roles)
    .bind(search.words)
    .bind(search.limit)
    .bind(search.offset)
    .fetch_all(db)
    .await
}
