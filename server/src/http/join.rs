//! Pages for people and for the phones' operating systems, outside `/api/v1` and without a token, registered
//! apart from the API table like the console (they are not API operations, so not in the OpenAPI document):
//!
//! - `GET /join/{code}`: the page an invitation link (a letter's QR code) opens on a phone without the app: the
//!   school's name, the code, the app stores, and a button with the `hallway://activate` link. It looks nothing
//!   up: a well-formed code gets the page whether or not it is valid, so the page reveals neither that nor
//!   whose it is; a malformed one gets a plain 404 page.
//! - `GET /.well-known/assetlinks.json` and `GET /.well-known/apple-app-site-association`: what Android and iOS
//!   fetch to let the apps open `https://<server>/join/...` links themselves (404 until configured).
//!
//! HTML comes from askama templates (`server/templates/`), which escape every value.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hallway_protocol::invitation::{self, JOIN_SEGMENT};
use serde_json::json;

use crate::config::Onboarding;
use crate::error::ApiError;
use crate::state::AppState;

/// No script, no outside resource, no framing; the page's own inline styles only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Registers the pages (outside `/api/v1`, apart from the API table).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(&format!("/{JOIN_SEGMENT}/{{code}}"), web::get().to(join))
        .route("/.well-known/assetlinks.json", web::get().to(assetlinks))
        .route("/.well-known/apple-app-site-association", web::get().to(apple_app_site_association));
}

/// The address phones reach this server at: the configured public URL, else the one this request came to.
pub fn public_url(onboarding: &Onboarding, req: &HttpRequest) -> String {
    match &onboarding.public_url {
        Some(url) => url.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage<'a> {
    school_name: &'a str,
    code: &'a str,
    app_link: &'a str,
    app_store_url: &'a str,
    play_store_url: &'a str,
}

#[derive(Template)]
#[template(path = "join_not_found.html")]
struct NotFoundPage<'a> {
    school_name: &'a str,
}

async fn join(state: web::Data<AppState>, req: HttpRequest, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let onboarding = &state.config.onboarding;
    let Some(normalized) = invitation::normalize_code(&code) else {
        let page = NotFoundPage { school_name: &onboarding.school_name };
        return html(StatusCode::NOT_FOUND, &page);
    };
    let code = invitation::format_code(&normalized);
    let app_link = invitation::app_link(&public_url(onboarding, &req), &code);
    let page = JoinPage {
        school_name: &onboarding.school_name,
        code: &code,
        app_link: &app_link,
        app_store_url: &onboarding.app_store_url,
        play_store_url: &onboarding.play_store_url,
    };
    html(StatusCode::OK, &page)
}

fn html(status: StatusCode, page: &impl Template) -> Result<HttpResponse, ApiError> {
    let body = page.render().map_err(|e| ApiError::from(anyhow::anyhow!("rendering a page: {e}")))?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        // The code is in the URL: no store link followed from the page may learn it.
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header(("x-robots-tag", HeaderValue::from_static("noindex")))
        .body(body))
}

/// Android's Digital Asset Links: the app (by package and signing certificates) may open this site's links.
async fn assetlinks(state: web::Data<AppState>) -> HttpResponse {
    let onboarding = &state.config.onboarding;
    let Some(package) = onboarding.android_package.as_deref().filter(|_| !onboarding.android_cert_sha256.is_empty())
    else {
        return crate::http::not_found().await;
    };
    HttpResponse::Ok().json(json!([{
        "relation": ["delegate_permission/common.handle_all_urls"],
        "target": {
            "namespace": "android_app",
            "package_name": package,
            "sha256_cert_fingerprints": onboarding.android_cert_sha256,
        },
    }]))
}

/// Apple's associated domains: the app may open this site's join links.
async fn apple_app_site_association(state: web::Data<AppState>) -> HttpResponse {
    let Some(app_id) = state.config.onboarding.apple_app_id.as_deref() else {
        return crate::http::not_found().await;
    };
    HttpResponse::Ok().json(json!({
        "applinks": {
            "details": [{
                "appIDs": [app_id],
                "components": [{ "/": format!("/{JOIN_SEGMENT}/*"), "comment": "invitations" }],
            }],
        },
    }))
}
