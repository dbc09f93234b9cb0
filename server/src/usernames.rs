//! Usernames that pass for others: two names whose confusable skeletons (Unicode TS #39, of their lower case)
//! are equal look alike (`аdmin` with a Cyrillic а and `admin`, `paypa1` and `paypal`), and the database keeps
//! skeletons unique (`users_username_skeleton_key`). The skeleton is derived from the username alone, like a
//! generated column PostgreSQL cannot compute: the store fills it on every insert, and `backfill` fills it for
//! rows written before the column existed.

use sqlx::PgPool;
use unicode_security::confusable_detection::skeleton as uts39_skeleton;
use uuid::Uuid;

/// The constraint that refuses a username too much like an existing one.
pub const SKELETON_CONSTRAINT: &str = "users_username_skeleton_key";

/// The confusable skeleton of a username (usernames are compared ignoring letter case, so of its lower case).
pub fn skeleton(username: &str) -> String {
    uts39_skeleton(&username.to_lowercase()).collect()
}

/// Fills the skeleton of users that have none (accounts made before it existed). Two existing names with the
/// same skeleton cannot both hold it: the later one keeps none, and is logged for an admin to rename.
pub async fn backfill(db: &PgPool) -> Result<(), sqlx::Error> {
    let missing: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, username FROM users WHERE username_skeleton IS NULL ORDER BY created_at, id")
            .fetch_all(db)
            .await?;
    for (id, username) in missing {
        let result = sqlx::query("UPDATE users SET username_skeleton = $2 WHERE id = $1")
            .bind(id)
            .bind(skeleton(&username))
            .execute(db)
            .await;
        match result {
            Ok(_) => {}
            Err(err) if crate::store::violated_unique_constraint(&err) == Some(SKELETON_CONSTRAINT) => {
                tracing::warn!(user_id = %id, "this username looks like an older one: an admin should rename it");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_skeleton_and_different_names_do_not() {
        assert_eq!(skeleton("\u{430}dmin"), skeleton("admin"), "Cyrillic а");
        assert_eq!(skeleton("ADMIN"), skeleton("admin"));
        assert_eq!(skeleton("paypa1"), skeleton("paypal"));
        assert_ne!(skeleton("mei"), skeleton("ravi"));
        assert_ne!(skeleton("student1"), skeleton("student2"));
    }
}
