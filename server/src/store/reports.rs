//! Members' reports of messages and their resolution by school admins.

use hallway_protocol::safety::{ReportAction, ReportReason, ReportStatus};
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A `reports` row.
#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub id: Uuid,
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub reporter_id: Uuid,
    pub reason: String,
    pub note: Option<String>,
    pub reported_body: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub action: Option<String>,
    pub resolution_note: Option<String>,
    pub handled_by: Option<Uuid>,
    pub handled_at: Option<OffsetDateTime>,
}

impl ReportRow {
    /// The reason; the table's CHECK keeps it to the known names.
    pub fn reason(&self) -> ReportReason {
        ReportReason::parse(&self.reason).unwrap_or(ReportReason::Other)
    }

    /// The status; the table's CHECK keeps it to the known names.
    pub fn status(&self) -> ReportStatus {
        ReportStatus::parse(&self.status).unwrap_or(ReportStatus::Open)
    }

    /// What was done, once handled.
    pub fn action(&self) -> Option<ReportAction> {
        self.action.as_deref().and_then(ReportAction::parse)
    }
}

macro_rules! report_columns {
    () => {
        "id, message_id, conversation_id, reporter_id, reason, note, reported_body, status, created_at, action,
         resolution_note, handled_by, handled_at"
    };
}

/// A report to file; the caller has checked that the reporter is a member of the message's conversation.
pub struct NewReport<'a> {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub reporter_id: Uuid,
    pub reason: ReportReason,
    pub note: Option<&'a str>,
    pub reported_body: &'a str,
}

/// Files a report; `(row, true)` when new, `(existing, false)` when this person already reported this
/// message (the first report stands, whatever the repeat says).
pub async fn insert(db: &sqlx::PgPool, new: &NewReport<'_>) -> Result<(ReportRow, bool), sqlx::Error> {
    let inserted: Option<ReportRow> = sqlx::query_as(concat!(
        "INSERT INTO reports (id, message_id, conversation_id, reporter_id, reason, note, reported_body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ON CONSTRAINT reports_message_reporter_key DO NOTHING RETURNING ",
        report_columns!()
    ))
    .bind(Uuid::now_v7())
    .bind(new.message_id)
    .bind(new.conversation_id)
    .bind(new.reporter_id)
    .bind(new.reason.as_str())
    .bind(new.note)
    .bind(new.reported_body)
    .fetch_optional(db)
    .await?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = find_of_reporter(db, new.message_id, new.reporter_id).await?.ok_or(sqlx::Error::RowNotFound)?;
    Ok((existing, false))
}

/// This person's report of this message, if they made one.
pub async fn find_of_reporter(
    db: impl PgExecutor<'_>,
    message_id: Uuid,
    reporter_id: Uuid,
) -> Result<Option<ReportRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", report_columns!(), " FROM reports WHERE message_id = $1 AND reporter_id = $2"))
        .bind(message_id)
        .bind(reporter_id)
        .fetch_optional(db)
        .await
}

/// One report by id.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ReportRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", report_columns!(), " FROM reports WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The reporter's own reports, newest first.
pub async fn list_of_reporter(
    db: impl PgExecutor<'_>,
    reporter_id: Uuid,
    limit: i64,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        report_columns!(),
        " FROM reports WHERE reporter_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(reporter_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The queue: reports with this status (any with `None`), oldest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    status: Option<ReportStatus>,
    limit: i64,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        report_columns!(),
        " FROM reports WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at, id LIMIT $2"
    ))
    .bind(status.map(ReportStatus::as_str))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// What a moderator decided.
pub struct Resolution<'a> {
    pub action: ReportAction,
    pub note: Option<&'a str>,
    pub handled_by: Uuid,
}

/// Marks open reports handled: the one given and, when `same_message` is set, every other open report of
/// its message (deleting a message settles all of its reports). Returns the rows it changed; none when the
/// report was handled already (a concurrent resolution won).
pub async fn resolve(
    db: impl PgExecutor<'_>,
    report: &ReportRow,
    resolution: &Resolution<'_>,
    same_message: bool,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE reports SET status = 'handled', action = $3, resolution_note = $4, handled_by = $5,
                            handled_at = now()
         WHERE status = 'open' AND (id = $1 OR ($6 AND message_id = $2)) RETURNING ",
        report_columns!()
    ))
    .bind(report.id)
    .bind(report.message_id)
    .bind(resolution.action.as_str())
    .bind(resolution.note)
    .bind(resolution.handled_by)
    .bind(same_message)
    .fetch_all(db)
    .await
}
