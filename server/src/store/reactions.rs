//! Reactions: one row per user per emoji per message (the primary key), the emoji stored without U+FE0F.

use hallway_protocol::validate::Emoji;
use sqlx::PgExecutor;
use uuid::Uuid;

/// Adds a reaction; adding it again changes nothing. Returns whether a row was added.
pub async fn add(db: impl PgExecutor<'_>, message_id: Uuid, user_id: Uuid, emoji: &Emoji) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("INSERT INTO reactions (message_id, user_id, emoji) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(message_id)
            .bind(user_id)
            .bind(emoji.key())
            .execute(db)
            .await?;
    Ok(result.rows_affected() > 0)
}

/// Takes a reaction back; taking back one that is not there changes nothing. Returns whether a row went.
pub async fn remove(
    db: impl PgExecutor<'_>,
    message_id: Uuid,
    user_id: Uuid,
    emoji: &Emoji,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
        .bind(message_id)
        .bind(user_id)
        .bind(emoji.key())
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}
