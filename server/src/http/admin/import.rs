//! `POST /admin/import[?dry_run=true]`: a roster CSV in, people with activation codes out.
//!
//! All or nothing: the file is checked in full (on its own, then against the database, inside the import's
//! transaction), and a file with any problem imports nobody. People, codes and guardian links go in with one
//! `unnest` statement each, so thousands of people take one round trip per table rather than one per row.

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;
use hallway_protocol::admin::ImportReport;
use hallway_protocol::{ErrorBody, ErrorCode, ErrorDetail, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::record;
use crate::auth::{AdminUser, activation};
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, UNAUTHENTICATED};
use crate::roster::{self, Existing, Roster};
use crate::state::AppState;
use crate::store::{self, people::NewPeople};

/// `?dry_run=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true`: check the file and answer the report, importing nobody. `false` when absent.
    #[serde(default)]
    dry_run: bool,
}

/// A refused import: the contract's error envelope, with the full report beside it.
#[derive(Serialize)]
struct Refused {
    #[serde(flatten)]
    error: ErrorBody,
    report: ImportReport,
}

/// `POST /admin/import`: the body is the CSV file itself (any content type). A dry run answers 200 with the
/// report and writes nothing. A real import answers 200 with a CSV of `username,display_name,role,
/// activation_code` (the codes are shown this once), or 400 `invalid_input` with the report and nothing
/// imported. 413 `too_large` past 5 MiB.
#[utoipa::path(
    operation_id = "admin_import_roster",
    tag = "admin",
    params(ImportParams),
    description = "All or nothing: a file with any problem imports nobody. The file is read raw, whatever the \
        request's `Content-Type` (no multipart form): a header line, then one person per line. Audited as \
        `roster.import`.",
    request_body(content = String, content_type = "text/csv",
        description = "The roster CSV itself, at most 5 MiB"),
    responses(
        (status = 200, description = "A dry run: the report (`valid` says whether the file would import). A real \
            import: the people imported with their activation codes, shown this once, as a CSV of \
            `username,display_name,role,activation_code`",
            content(
                (ImportReport = "application/json"),
                (String = "text/csv; charset=utf-8"),
            ),
            headers(
                ("Content-Disposition" = String, description = "CSV only: `attachment; \
                    filename=\"activation-codes-<unix time>.csv\"`"),
                ("Cache-Control" = String, description = "CSV only: `no-store`"),
            )),
        (status = 400, body = ErrorBody, description = "`invalid_input`: the file has problems and nobody was \
            imported; the envelope then carries `report` (an `ImportReport`, listing every problem by line) beside \
            `error`. `invalid_input`: `dry_run` is not `true` or `false`, or the body could not be read"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 409, description = "`conflict`: a username or email was taken during the import: try again",
            body = ErrorBody),
        (status = 413, description = "`too_large`: the file is over 5 MiB", body = ErrorBody),
    )
)]
#[post("/api/v1/admin/import", wrap = "from_fn(require_admin)")]
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    params: web::Query<ImportParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let bytes = read_limited(payload, roster::MAX_BYTES).await?;
    // Parsing thousands of lines is CPU work: off the runtime's threads.
    let mut roster = web::block(move || Roster::parse(&bytes)).await.map_err(anyhow::Error::from)?;
    let mut tx = state.db.begin().await?;
    roster.check_against(&existing(&mut tx, &roster).await?);
    if params.dry_run {
        return Ok(HttpResponse::Ok().json(roster.report()));
    }
    if !roster.is_valid() {
        let report = roster.report();
        let message = format!("the file has {} problem(s): nobody was imported", report.problems.len());
        let error = ErrorBody { error: ErrorDetail { code: ErrorCode::InvalidInput, message } };
        return Ok(HttpResponse::BadRequest().json(Refused { error, report }));
    }
    let codes = match insert(&mut tx, &roster, admin.id()).await {
        Ok(codes) => codes,
        // Someone took a username or email between the check and the insert.
        Err(err) if store::violated_unique_constraint(&err) == Some(crate::usernames::SKELETON_CONSTRAINT) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "username: one of the usernames is too much like an existing one (or another in the file)",
            ));
        }
        Err(err) if store::violated_unique_constraint(&err).is_some() => {
            return Err(ApiError::new(ErrorCode::Conflict, "a username or email was taken meanwhile: try again"));
        }
        Err(err) => return Err(err.into()),
    };
    let report = roster.report();
    let details = json!({ "people": report.rows, "by_role": report.by_role, "guardianships": report.guardianships });
    record(&mut *tx, &admin, &req, "roster.import", None, details).await?;
    tx.commit().await?;
    let csv = web::block(move || codes_csv(&roster, &codes)).await.map_err(anyhow::Error::from)??;
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"activation-codes-{stamp}.csv\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(csv))
}

/// The request body, refused with 413 once it passes `limit` bytes.
async fn read_limited(mut payload: web::Payload, limit: usize) -> ApiResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid_input("body", &e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!("a roster file may be at most {} MiB", limit >> 20),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What the database knows about the usernames and emails the file names.
async fn existing(tx: &mut PgConnection, roster: &Roster) -> Result<Existing, sqlx::Error> {
    let (usernames, emails) = roster.lookups();
    let roles: HashMap<String, Role> = store::people::roles_by_username(&mut *tx, &usernames)
        .await?
        .into_iter()
        .filter_map(|(name, role)| Some((name, Role::parse(&role)?)))
        .collect();
    let emails: HashSet<String> = store::people::taken_emails(&mut *tx, &emails).await?.into_iter().collect();
    Ok(Existing { roles, emails })
}

/// Inserts everyone with a fresh code each and links the guardians; returns the codes in row order.
async fn insert(tx: &mut PgConnection, roster: &Roster, admin_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    let mut people = NewPeople::default();
    let mut codes = Vec::with_capacity(roster.rows.len());
    let mut hashes = Vec::with_capacity(roster.rows.len());
    for row in &roster.rows {
        people.ids.push(Uuid::now_v7());
        people.usernames.push(row.username.as_str().to_owned());
        people.emails.push(row.email.as_ref().map(|e| e.as_str().to_owned()));
        people.display_names.push(row.display_name.as_str().to_owned());
        people.roles.push(row.role.as_str().to_owned());
        let code = activation::new_code();
        let normalized = activation::normalize(&code)
            .ok_or_else(|| sqlx::Error::Protocol("a fresh activation code does not normalize".into()))?;
        hashes.push(activation::hash(&normalized).to_vec());
        codes.push(code);
    }
    store::people::insert_many(&mut *tx, &people).await?;
    let expires_at = OffsetDateTime::now_utc() + activation::VALIDITY;
    store::activation_codes::insert_many(&mut *tx, &people.ids, &hashes, admin_id, expires_at).await?;
    let (parents, students) = roster.guardianships();
    store::people::link_many_by_username(&mut *tx, &parents, &students).await?;
    Ok(codes)
}

/// The answer of a real import: one line per person with their code, in the file's order.
fn codes_csv(roster: &Roster, codes: &[String]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["username", "display_name", "role", "activation_code"])?;
    for (row, code) in roster.rows.iter().zip(codes) {
        writer.write_record([row.username.as_str(), row.display_name.as_str(), row.role.as_str(), code])?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("writing the codes: {e}"))
}
