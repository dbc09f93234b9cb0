//! What school admins see, built from the store's rows: people with their status and guardian links, entries
//! of the audit log, and usage per day.

use std::collections::HashMap;

use hallway_protocol::User;
use hallway_protocol::admin::{AdminUserView, AuditEntryView, DayStats, RoleCounts, UserStatus};
use sqlx::PgExecutor;
use time::Date;
use uuid::Uuid;

use crate::store::{self, audit_search::AuditRow, people::AdminUserRow, stats::DayRoleRow};

/// People as admins see them, in the rows' order, with the guardian links of all of them read in one query.
pub async fn people(db: impl PgExecutor<'_>, rows: Vec<AdminUserRow>) -> Result<Vec<AdminUserView>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut children: HashMap<Uuid, Vec<User>> = HashMap::new();
    let mut guardians: HashMap<Uuid, Vec<User>> = HashMap::new();
    for (parent_id, student_id, parent, student) in store::people::guardianships_of(db, &ids).await? {
        children.entry(parent_id).or_default().push(super::user(&student));
        guardians.entry(student_id).or_default().push(super::user(&parent));
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let (children, guardians) =
                (children.remove(&row.id).unwrap_or_default(), guardians.remove(&row.id).unwrap_or_default());
            person(row, children, guardians)
        })
        .collect())
}

/// One person with their guardian links: for a parent the students, for a student the parents.
fn person(row: AdminUserRow, children: Vec<User>, guardians: Vec<User>) -> AdminUserView {
    AdminUserView {
        role: row.role(),
        status: status(&row),
        avatar_url: super::avatar_url(row.id, row.avatar_key.as_deref()),
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        email: row.email,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        deactivated_at: row.deactivated_at,
        children,
        guardians,
    }
}

/// Deactivation wins over activation: a deactivated person cannot sign in either way (`store::people`'s
/// `status` filter follows the same rule).
fn status(row: &AdminUserRow) -> UserStatus {
    if row.deactivated_at.is_some() {
        UserStatus::Deactivated
    } else if row.activated {
        UserStatus::Active
    } else {
        UserStatus::NotActivated
    }
}

/// One entry of the audit log.
pub fn audit_entry(row: AuditRow) -> AuditEntryView {
    AuditEntryView {
        id: row.id,
        at: row.at,
        actor_id: row.actor_id,
        actor_username: row.actor_username,
        action: row.action,
        target: row.target,
        address: row.address,
        details: row.details,
    }
}

/// One entry per day from `store::stats::usage`'s rows, which come grouped by day in day order: senders
/// and messages counted by role.
pub fn usage(rows: &[DayRoleRow]) -> Vec<DayStats> {
    rows.chunk_by(|a, b| a.day == b.day)
        .filter_map(|day_rows| {
            let day = day_rows.first()?.day;
            let (mut active_users, mut messages) = (RoleCounts::default(), RoleCounts::default());
            for row in day_rows {
                active_users.add(row.role(), row.senders);
                messages.add(row.role(), row.messages);
            }
            Some(DayStats { date: iso_date(day), active_users, messages })
        })
        .collect()
}

/// `YYYY-MM-DD`.
fn iso_date(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn row(day: Date, role: &str, senders: i64, messages: i64) -> DayRoleRow {
        DayRoleRow { day, role: role.into(), senders, messages }
    }

    #[test]
    fn usage_is_one_entry_per_day_with_each_role_counted_apart() {
        let (first, second) = (date!(2026 - 03 - 09), date!(2026 - 03 - 10));
        let rows = [
            row(first, "admin", 0, 0),
            row(first, "teacher", 2, 7),
            row(first, "parent", 1, 1),
            row(first, "student", 0, 0),
            row(second, "admin", 0, 0),
            row(second, "teacher", 0, 0),
            row(second, "parent", 0, 0),
            row(second, "student", 3, 4),
        ];

        let days = usage(&rows);

        let counts = |admin, teacher, parent, student| RoleCounts {
            admin,
            teacher,
            parent,
            student,
            total: admin + teacher + parent + student,
        };
        assert_eq!(
            days,
            vec![
                DayStats { date: "2026-03-09".into(), active_users: counts(0, 2, 1, 0), messages: counts(0, 7, 1, 0) },
                DayStats { date: "2026-03-10".into(), active_users: counts(0, 0, 0, 3), messages: counts(0, 0, 0, 4) },
            ]
        );
        assert!(usage(&[]).is_empty());
    }
}
