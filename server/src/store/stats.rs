//! Usage statistics for the admin console, computed from the messages themselves (nothing to keep in sync).
//!
//! "Active users" on a day are the people who sent at least one message that day. Sessions would also count
//! people who only read, but the server keeps only each session's last use, not a history of uses, so a past
//! day's readers cannot be counted honestly; senders can, from the messages table alone.

use hallway_protocol::Role;
use sqlx::{FromRow, PgExecutor};
use time::Date;

/// What the people of one role did on one UTC day.
#[derive(Debug, Clone, FromRow)]
pub struct DayRoleRow {
    pub day: Date,
    pub role: String,
    /// How many of them sent at least one message.
    pub senders: i64,
    /// How many messages they sent.
    pub messages: i64,
}

impl DayRoleRow {
    /// The role: one of the four known names, which the query lists itself.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Student)
    }
}

/// One row per day and role for the last `days` days in UTC (today included, oldest first), empty days
/// included: every day has a row for each of the four roles.
pub async fn usage(db: impl PgExecutor<'_>, days: i32) -> Result<Vec<DayRoleRow>, sqlx::Error> {
    sqlx::query_as(
        "WITH bounds AS (SELECT (now() AT TIME ZONE 'UTC')::date - ($1 - 1) AS first_day),
              days AS (
                  SELECT d::date AS day
                  FROM bounds, generate_series(first_day, (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d),
              sent AS (
                  SELECT (m.created_at AT TIME ZONE 'UTC')::date AS day, u.role,
                         count(*) AS messages, count(DISTINCT m.sender_id) AS senders
                  FROM messages m JOIN users u ON u.id = m.sender_id, bounds
                  WHERE m.created_at >= bounds.first_day::timestamp AT TIME ZONE 'UTC'
                  GROUP BY 1, 2)
         SELECT days.day, r.role, coalesce(sent.senders, 0) AS senders, coalesce(sent.messages, 0) AS messages
         FROM days CROSS JOIN unnest(ARRAY['admin', 'teacher', 'parent', 'student']) AS r (role)
         LEFT JOIN sent ON sent.day = days.day AND sent.role = r.role
         ORDER BY days.day",
    )
    .bind(days)
    .fetch_all(db)
    .await
}
