//! Usage statistics for the admin console, computed from the messages themselves (nothing to keep in sync).
//!
//! "Active users" on a day are the people who sent at least one message that day. Sessions would also count
//! people who only read, but the server keeps only each session's last use, not a history of uses, so a past
//! day's readers cannot be counted honestly; senders can, from the messages table alone.

use hallway_protocol::Role;
use hallway_protocol::admin::{DayStats, RoleCounts};
use sqlx::PgExecutor;
use time::Date;

/// One entry per day for the last `days` days in UTC (today included, oldest first), empty days included.
pub async fn usage(db: impl PgExecutor<'_>, days: i32) -> Result<Vec<DayStats>, sqlx::Error> {
    let rows: Vec<(Date, String, i64, i64)> = sqlx::query_as(
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
         SELECT days.day, r.role, coalesce(sent.senders, 0), coalesce(sent.messages, 0)
         FROM days CROSS JOIN unnest(ARRAY['admin', 'teacher', 'parent', 'student']) AS r (role)
         LEFT JOIN sent ON sent.day = days.day AND sent.role = r.role
         ORDER BY days.day",
    )
    .bind(days)
    .fetch_all(db)
    .await?;
    let mut out: Vec<DayStats> = Vec::with_capacity(days.max(0) as usize);
    let mut current: Option<(Date, RoleCounts, RoleCounts)> = None;
    for (day, role, senders, messages) in rows {
        let role = Role::parse(&role).unwrap_or(Role::Student);
        match &mut current {
            Some((d, active, sent)) if *d == day => {
                active.add(role, senders);
                sent.add(role, messages);
            }
            _ => {
                if let Some(done) = current.take() {
                    out.push(day_stats(done));
                }
                let (mut active, mut sent) = (RoleCounts::default(), RoleCounts::default());
                active.add(role, senders);
                sent.add(role, messages);
                current = Some((day, active, sent));
            }
        }
    }
    if let Some(done) = current {
        out.push(day_stats(done));
    }
    Ok(out)
}

fn day_stats((day, active_users, messages): (Date, RoleCounts, RoleCounts)) -> DayStats {
    let date = format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
    DayStats { date, active_users, messages }
}
