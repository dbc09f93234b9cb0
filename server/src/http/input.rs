//! The text-input rule at the edge: one middleware applies `protocol`'s rule (`validate::check_text`) to every
//! query parameter and to every string of every JSON body before any extractor sees them, so that no handler,
//! and no field added later, can let a NUL reach PostgreSQL (which refuses it with an error that would be a 500).
//! Uploaded file names, roster cells and socket frames go through the same rule where they are read.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use hallway_protocol::validate::{check_json_text, check_text};

use crate::error::ApiError;
use crate::http::MAX_JSON_BODY;

/// Refuses, with 400 `invalid_input` naming the field, a request whose query or JSON body holds a control
/// character the rule forbids. Bodies that are not JSON, not valid JSON or too large pass through untouched, so
/// the extractors answer them as before (`invalid_json`, `too_large`, ...).
pub async fn refuse_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(err) = check_query(req.query_string()) {
        return Ok(req.error_response(err).map_into_right_body());
    }
    if is_json(&req) {
        let (head, rest) = read_up_to(req.take_payload(), MAX_JSON_BODY).await;
        if rest.is_none()
            && may_hold_a_control_character(&head)
            && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&head)
            && let Err(invalid) = check_json_text(&value)
        {
            let err = ApiError::from(invalid);
            return Ok(ServiceResponse::new(req.request().clone(), err.error_response()).map_into_right_body());
        }
        req.set_payload(replay(head, rest));
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// Whether a JSON text could hold a refused character in a string: JSON forbids raw C0 controls there (the
/// extractor answers `invalid_json`), so only a `\u` escape or a raw DEL can bring one. Most bodies have
/// neither, and skip the second parse.
fn may_hold_a_control_character(json: &[u8]) -> bool {
    json.contains(&0x7f) || json.windows(2).any(|pair| pair == b"\\u")
}

/// Each parameter's name and value, percent-decoded, under the rule; the parameter's name is the field named.
fn check_query(query: &str) -> Result<(), ApiError> {
    if query.is_empty() {
        return Ok(());
    }
    // A query that does not decode is left to the extractor, which answers it with its own 400.
    let Ok(pairs) = web::Query::<Vec<(String, String)>>::from_query(query) else {
        return Ok(());
    };
    for (name, value) in pairs.iter() {
        check_text("query parameter", name)?;
        check_text(name, value)?;
    }
    Ok(())
}

/// Whether the body is declared JSON (`application/json` or a `+json` type), as `web::Json` reads it.
fn is_json(req: &ServiceRequest) -> bool {
    req.mime_type()
        .ok()
        .flatten()
        .is_some_and(|mime| mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
}

/// Reads the body up to `limit` bytes. Past the limit (or at a read error) it stops and also returns the rest
/// of the stream, from the first unread chunk (or the error) on, so the extractor still meets the whole body.
async fn read_up_to(mut payload: Payload, limit: usize) -> (Bytes, Option<Payload>) {
    let mut head = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if head.len() + chunk.len() <= limit => head.extend_from_slice(&chunk),
            unread => {
                let tail = futures_util::stream::iter([unread]).chain(payload);
                return (head.freeze(), Some(Payload::Stream { payload: Box::pin(tail) }));
            }
        }
    }
    (head.freeze(), None)
}

/// The body again for the extractors: what was read, then what was not.
fn replay(head: Bytes, rest: Option<Payload>) -> Payload {
    match rest {
        None => Payload::from(head),
        Some(tail) => {
            let read = futures_util::stream::iter([Ok(head)]);
            Payload::Stream { payload: Box::pin(read.chain(tail)) }
        }
    }
}
