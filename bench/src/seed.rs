//! What `hallway-bench-seed` does: fills a database for the load generator quickly (batched `UNNEST` inserts,
//! not one HTTP call per user) and mints access tokens with the server's own secret, so that a run measures
//! the messaging, not 50,000 argon2 sign-ins. The tokens file is what `hallway-loadgen` reads.
//!
//! Minting tokens with the server's secret is a skeleton key, so it lives here, in the bench crate, and never
//! in the `hallway-server` binary; and it fills only a database with nobody in it (checked under a lock, in
//! the same transaction as the inserts), so it cannot hand out tokens, or add people, to a real school.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use hallway_server::auth::tokens::Keys;

/// Rows sent per statement: large enough to amortise round trips, small enough for PostgreSQL's limits.
const CHUNK: usize = 10_000;

/// What to create.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub users: usize,
    pub groups: usize,
    pub members_per_group: usize,
    /// Messages in one extra two-person conversation, for the history scenario (0: none).
    pub history_messages: i64,
    /// How long the minted access tokens live (a run may last longer than the usual 15 minutes).
    pub token_ttl: Duration,
    /// One password hash every user gets, for the sign-in scenario (`None`: nobody can sign in).
    pub password_hash: Option<String>,
}

/// What was created: the load generator's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedOutput {
    pub users: Vec<SeededUser>,
    pub groups: Vec<SeededGroup>,
    pub history: Option<SeededHistory>,
}

/// One user and a ready access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededUser {
    pub id: Uuid,
    /// What the user signs in with (the sign-in scenario).
    #[serde(default)]
    pub username: String,
    pub token: String,
}

/// One group and its members, as indices into `users` (the first is its admin).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededGroup {
    pub id: Uuid,
    pub members: Vec<usize>,
}

/// The conversation that holds the history messages, and a member who reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededHistory {
    pub conversation_id: Uuid,
    pub reader: usize,
    pub messages: i64,
}

/// Creates the users, their sessions, the groups and the history, and mints one token per user; all in one
/// transaction, and only when the database holds nobody (else nothing is written and the error says why).
pub async fn seed(db: &PgPool, keys: &Keys, plan: &SeedPlan) -> anyhow::Result<SeedOutput> {
    anyhow::ensure!(plan.users >= 2, "at least two users");
    anyhow::ensure!(plan.members_per_group <= plan.users, "a group cannot have more members than there are users");
    let mut tx = db.begin().await?;
    // EXCLUSIVE: others may still read, but nobody can add a person between the check and the inserts.
    sqlx::query("LOCK TABLE users IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *tx).await?;
    anyhow::ensure!(
        people == 0,
        "refusing to seed a database that holds people ({people} users): the bench seed mints tokens with the \
         server's secret, so it fills only a database with nobody in it; give it a fresh data dir or \
         DATABASE_URL"
    );
    let run = &Uuid::now_v7().simple().to_string()[20..];
    let user_ids: Vec<Uuid> = (0..plan.users).map(|_| Uuid::now_v7()).collect();
    let session_ids: Vec<Uuid> = (0..plan.users).map(|_| Uuid::now_v7()).collect();
    let usernames: Vec<String> = (0..plan.users).map(|i| format!("bench-{run}-{i}")).collect();
    for (start, ids) in user_ids.chunks(CHUNK).enumerate().map(|(i, c)| (i * CHUNK, c)) {
        let names = &usernames[start..start + ids.len()];
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, username_skeleton)
             SELECT id, name, name, 'teacher', $3, skeleton
               FROM UNNEST($1::uuid[], $2::text[], $4::text[]) AS t(id, name, skeleton)",
        )
        .bind(ids)
        .bind(names)
        .bind(plan.password_hash.as_deref())
        .bind(names.iter().map(|n| hallway_server::usernames::skeleton(n)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO sessions (id, user_id) SELECT * FROM UNNEST($1::uuid[], $2::uuid[])")
            .bind(&session_ids[start..start + ids.len()])
            .bind(ids)
            .execute(&mut *tx)
            .await?;
    }

    let mut groups = Vec::with_capacity(plan.groups);
    let (mut member_conversations, mut member_users, mut member_roles) = (Vec::new(), Vec::new(), Vec::new());
    for g in 0..plan.groups {
        let id = Uuid::now_v7();
        let members: Vec<usize> =
            (0..plan.members_per_group).map(|j| (g * plan.members_per_group + j) % plan.users).collect();
        for (j, index) in members.iter().enumerate() {
            member_conversations.push(id);
            member_users.push(user_ids[*index]);
            member_roles.push(if j == 0 { "admin" } else { "member" });
        }
        groups.push(SeededGroup { id, members });
    }
    for chunk in groups.chunks(CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|g| g.id).collect();
        let creators: Vec<Uuid> = chunk.iter().map(|g| user_ids[g.members.first().copied().unwrap_or(0)]).collect();
        sqlx::query(
            "INSERT INTO conversations (id, kind, name, created_by)
             SELECT id, 'group', 'Bench group', creator FROM UNNEST($1::uuid[], $2::uuid[]) AS t(id, creator)",
        )
        .bind(&ids)
        .bind(&creators)
        .execute(&mut *tx)
        .await?;
    }
    for start in (0..member_users.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(member_users.len());
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id, role)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[])",
        )
        .bind(&member_conversations[start..end])
        .bind(&member_users[start..end])
        .bind(&member_roles[start..end])
        .execute(&mut *tx)
        .await?;
    }

    let history = if plan.history_messages > 0 {
        Some(seed_history(&mut tx, &user_ids, plan.history_messages).await?)
    } else {
        None
    };
    tx.commit().await?;
    if history.is_some() {
        // What autovacuum would do soon after a real school's day: statistics for the planner, and the
        // visibility map that lets counts use index-only scans. Without it a run would measure a table nobody
        // vacuumed. (VACUUM cannot run inside the transaction.)
        sqlx::query("VACUUM (ANALYZE) messages").execute(db).await?;
    }

    let now = OffsetDateTime::now_utc();
    let users = user_ids
        .iter()
        .zip(&session_ids)
        .zip(usernames)
        .map(|((id, session), username)| SeededUser {
            id: *id,
            username,
            token: keys.issue_access(*id, *session, now, plan.token_ttl),
        })
        .collect();
    Ok(SeedOutput { users, groups, history })
}

/// How many of the history's messages its reader has not read yet.
const HISTORY_UNREAD: i64 = 25;

/// A two-person conversation between users 0 and 1 holding `count` messages, written by one statement.
async fn seed_history(tx: &mut sqlx::PgConnection, user_ids: &[Uuid], count: i64) -> anyhow::Result<SeededHistory> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO conversations (id, kind, name, created_by) VALUES ($1, 'group', 'History', $2)")
        .bind(id)
        .bind(user_ids[0])
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO conversation_members (conversation_id, user_id, role) VALUES ($1, $2, 'admin'), ($1, $3, 'member')",
    )
    .bind(id)
    .bind(user_ids[0])
    .bind(user_ids[1])
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
         SELECT gen_random_uuid(), $1, s, CASE WHEN s % 2 = 0 THEN $2 ELSE $3 END, 'history-' || s,
                'History message number ' || s || ', about the class trip and the science fair',
                now() - make_interval(secs => ($4 - s)::double precision)
         FROM generate_series(1, $4::bigint) AS s",
    )
    .bind(id)
    .bind(user_ids[0])
    .bind(user_ids[1])
    .bind(count)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE conversations SET next_seq = $2 + 1, last_message_at = now() WHERE id = $1")
        .bind(id)
        .bind(count)
        .execute(&mut *tx)
        .await?;
    // People read their chats: a realistic reader is a few messages behind, not a million.
    sqlx::query("UPDATE conversation_members SET last_read_seq = greatest($2 - $3, 0) WHERE conversation_id = $1")
        .bind(id)
        .bind(count)
        .bind(HISTORY_UNREAD)
        .execute(&mut *tx)
        .await?;
    Ok(SeededHistory { conversation_id: id, reader: 1, messages: count })
}
