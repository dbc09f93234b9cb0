//! The admin web console at `/admin`: three static files compiled into the binary (no build step, nothing
//! fetched from outside), served with a strict Content-Security-Policy. The console itself holds no secrets:
//! it signs in and talks to the public REST API like any other client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

/// Only our own script, styles and API; no inline script, no framing, no outside origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const INDEX_HTML: &str = include_str!("../../console/index.html");
const CONSOLE_JS: &str = include_str!("../../console/console.js");
const CONSOLE_CSS: &str = include_str!("../../console/console.css");

/// Registers the console's routes (outside `/api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(index))
        .route("/admin/", web::get().to(index))
        .route("/admin/console.js", web::get().to(script))
        .route("/admin/console.css", web::get().to(styles));
}

async fn index() -> HttpResponse {
    file("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> HttpResponse {
    file("text/javascript; charset=utf-8", CONSOLE_JS)
}

async fn styles() -> HttpResponse {
    file("text/css; charset=utf-8", CONSOLE_CSS)
}

fn file(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // A new server version brings a new console: revalidate rather than run a stale script.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(body)
}
