//! `POST /admin/letters`: printable invitation letters, one PDF page per person, each with a fresh activation
//! code (`letters` renders them). Audited as `letters.print`.

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, post, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::admin::{LettersRequest, MAX_LETTERS};
use hallway_protocol::invitation::join_link;
use serde_json::json;

use super::audit::record;
use crate::auth::{AdminUser, activation};
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::join::public_url;
use crate::http::openapi::{ADMIN_ONLY, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::letters::{self, Letter, School};
use crate::state::AppState;
use crate::store;

/// `POST /admin/letters` `{"user_ids": [...]}`: a PDF with one letter per person (a parent named twice, say
/// once per child, gets one). Every person gets a new activation code, which ends their earlier unused codes:
/// the last letters printed are the ones that work.
#[utoipa::path(
    operation_id = "admin_print_letters",
    tag = "admin",
    description = "One A4 page per person, in the order given (repeats dropped): their name, the school's name, \
        a fresh activation code, a QR code of the invitation link `<public URL>/join/<code>` and three steps. \
        Issuing the codes ends each person's earlier unused codes (their password and sessions stay). Audited as \
        `letters.print` with the people's ids.",
    request_body = LettersRequest,
    responses(
        (status = 200, description = "The letters, as a PDF download", content((String = "application/pdf")),
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"hallway-letters.pdf\"`"),
                ("Cache-Control" = String, description = "`no-store`"),
            )),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: `user_ids` is empty, \
            has more than 5,000 people, names someone who does not exist, or someone deactivated"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/admin/letters", wrap = "from_fn(require_admin)")]
pub async fn print(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    body: web::Json<LettersRequest>,
) -> ApiResult<HttpResponse> {
    let mut seen = HashSet::new();
    let ids: Vec<_> = body.into_inner().user_ids.into_iter().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Err(ApiError::invalid_input("user_ids", "name at least one person"));
    }
    if ids.len() > MAX_LETTERS {
        return Err(ApiError::invalid_input("user_ids", &format!("at most {MAX_LETTERS} people at a time")));
    }
    let onboarding = &state.config.onboarding;
    let server = public_url(onboarding, &req);
    let mut tx = state.db.begin().await?;
    let people: HashMap<_, _> =
        store::users::find_many(&mut *tx, &ids).await?.into_iter().map(|user| (user.id, user)).collect();
    let mut printed = Vec::with_capacity(ids.len());
    for id in &ids {
        let person =
            people.get(id).ok_or_else(|| ApiError::invalid_input("user_ids", &format!("no such person: {id}")))?;
        if person.is_deactivated() {
            return Err(ApiError::invalid_input("user_ids", &format!("{} is deactivated", person.username)));
        }
        let code = activation::issue(&mut tx, *id, Some(admin.id())).await?;
        printed.push(Letter {
            display_name: person.display_name.clone(),
            username: person.username.clone(),
            link: join_link(&server, &code.code),
            code: code.code,
            expires_at: code.expires_at,
        });
    }
    record(&mut *tx, &admin, &req, "letters.print", None, json!({ "people": ids.len(), "user_ids": ids })).await?;
    let school = (onboarding.school_name.clone(), onboarding.app_store_url.clone(), onboarding.play_store_url.clone());
    // Drawing thousands of QR codes is CPU work: off the runtime's threads, before the codes are committed.
    let pdf = web::block(move || {
        let (name, app_store_url, play_store_url) = &school;
        letters::render(&School { name, app_store_url, play_store_url }, &printed)
    })
    .await
    .map_err(|e| ApiError::from(anyhow::anyhow!("rendering letters: {e}")))?
    .map_err(|e| ApiError::from(anyhow::anyhow!(e)))?;
    tx.commit().await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"hallway-letters.pdf\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(pdf))
}
