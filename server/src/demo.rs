//! The demo school of the contract: seven people, one guardian link each for two families, and the group
//! "Class 4B" with a few messages. Reseeding is idempotent; every demo password is reset at each start.

use hallway_protocol::Role;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::auth::password;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo people: username, display name, role.
pub const DEMO_USERS: [(&str, &str, Role); 7] = [
    ("admin", "Alex Morgan", Role::Admin),
    ("teacher1", "Ms. Rivera", Role::Teacher),
    ("teacher2", "Mr. Okafor", Role::Teacher),
    ("parent1", "Mei Chen", Role::Parent),
    ("parent2", "Ravi Singh", Role::Parent),
    ("student1", "Lily Chen", Role::Student),
    ("student2", "Arjun Singh", Role::Student),
];

const GROUP_NAME: &str = "Class 4B";
const GROUP_MESSAGES: [(&str, &str); 4] = [
    ("teacher2", "Welcome to the Class 4B group! I'll share news about our class here."),
    ("parent2", "Thank you, Mr. Okafor. Looking forward to it."),
    ("admin", "Reminder: the science museum trip is on Friday. Please return the permission slips by Wednesday."),
    ("teacher2", "The class did a wonderful job on their science projects this week 🎉"),
];

/// Why the demo school could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "--demo refuses this database: it holds users who are not part of the demo school ({0}). \
         Use another --data-dir (or DATABASE_URL) for the demo."
    )]
    ForeignUsers(String),
    #[error("seeding the demo school: {0}")]
    Database(#[from] sqlx::Error),
    #[error("hashing the demo password: {0}")]
    Hash(#[from] anyhow::Error),
}

/// Seeds (or re-seeds) the demo school.
pub async fn seed(db: &PgPool) -> Result<(), DemoError> {
    let demo_names: Vec<&str> = DEMO_USERS.iter().map(|(name, _, _)| *name).collect();
    let foreign: Vec<String> =
        sqlx::query_scalar("SELECT username FROM users WHERE lower(username) <> ALL($1) ORDER BY username LIMIT 5")
            .bind(&demo_names)
            .fetch_all(db)
            .await?;
    if !foreign.is_empty() {
        return Err(DemoError::ForeignUsers(foreign.join(", ")));
    }
    let hash =
        tokio::task::spawn_blocking(|| password::hash_blocking(DEMO_PASSWORD)).await.map_err(anyhow::Error::from)??;

    let mut tx = db.begin().await?;
    for (username, display_name, role) in DEMO_USERS {
        sqlx::query(
            "INSERT INTO users (id, username, email, display_name, role, password_hash, username_skeleton)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (lower(username)) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()",
        )
        .bind(Uuid::now_v7())
        .bind(username)
        .bind(format!("{username}@demo.example"))
        .bind(display_name)
        .bind(role.as_str())
        .bind(&hash)
        .bind(crate::usernames::skeleton(username))
        .execute(&mut *tx)
        .await?;
    }
    for (parent, student) in [("parent1", "student1"), ("parent2", "student2")] {
        sqlx::query(
            "INSERT INTO guardianships (parent_id, student_id)
             SELECT p.id, s.id FROM users p, users s WHERE p.username = $1 AND s.username = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(parent)
        .bind(student)
        .execute(&mut *tx)
        .await?;
    }
    let has_group: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversations c JOIN users u ON u.id = c.created_by
                        WHERE c.kind = 'group' AND c.name = $1 AND u.username = 'teacher2')",
    )
    .bind(GROUP_NAME)
    .fetch_one(&mut *tx)
    .await?;
    if !has_group {
        seed_group(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn seed_group(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let id_of =
        |name: &'static str| sqlx::query_scalar::<_, Uuid>("SELECT id FROM users WHERE username = $1").bind(name);
    let conversation_id = Uuid::now_v7();
    let start = OffsetDateTime::now_utc() - Duration::hours(3);
    let teacher2 = id_of("teacher2").fetch_one(&mut *tx).await?;
    sqlx::query("INSERT INTO conversations (id, kind, name, created_by, created_at) VALUES ($1, 'group', $2, $3, $4)")
        .bind(conversation_id)
        .bind(GROUP_NAME)
        .bind(teacher2)
        .bind(start)
        .execute(&mut *tx)
        .await?;
    for (i, (member, role)) in
        [("teacher2", "admin"), ("parent2", "member"), ("admin", "member")].into_iter().enumerate()
    {
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
             SELECT $1, id, $3, $4 FROM users WHERE username = $2",
        )
        .bind(conversation_id)
        .bind(member)
        .bind(role)
        .bind(start + Duration::seconds(i as i64))
        .execute(&mut *tx)
        .await?;
    }
    for (i, (sender, body)) in GROUP_MESSAGES.into_iter().enumerate() {
        let seq = i as i64 + 1;
        let at = start + Duration::minutes(20 * seq);
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
             SELECT $1, $2, $3, id, $4, $5, $6 FROM users WHERE username = $7",
        )
        .bind(Uuid::now_v7())
        .bind(conversation_id)
        .bind(seq)
        .bind(format!("demo-{seq}"))
        .bind(body)
        .bind(at)
        .bind(sender)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE conversations SET next_seq = $2 + 1, last_message_at = $3 WHERE id = $1")
            .bind(conversation_id)
            .bind(seq)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        // Each author has read up to their own message.
        sqlx::query(
            "UPDATE conversation_members SET last_read_seq = $2
             WHERE conversation_id = $1 AND user_id = (SELECT id FROM users WHERE username = $3)",
        )
        .bind(conversation_id)
        .bind(seq)
        .bind(sender)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// What `serve --demo` prints once the server listens.
pub fn banner(url: &str) -> String {
    let mut text =
        format!("\nHallway demo school is running at {url}\nSign in with any of these (password `{DEMO_PASSWORD}`):\n");
    for (username, display_name, role) in DEMO_USERS {
        text.push_str(&format!("  {username:<10} {display_name:<12} ({})\n", role.as_str()));
    }
    text.push_str(&format!(
        "For example:\n  curl -s {url}/api/v1/auth/login -H 'content-type: application/json' \\\n    -d '{{\"login\":\"parent1\",\"password\":\"{DEMO_PASSWORD}\"}}'\n"
    ));
    text
}
