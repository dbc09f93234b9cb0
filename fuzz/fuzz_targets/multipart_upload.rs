//! The multipart upload path (`POST /attachments`, `POST /me/avatar`): a request body, cut into chunks as the
//! network might deliver it, read by `media::upload::receive` (the `file` field streamed to a staged file,
//! other fields bounded, the size limit enforced) and then, as the handler does, `media::prepare`.
//!
//! Input: byte 0 picks the chunk size (1 to 256 bytes); when byte 1 is `\n` or above 0x7f the request's
//! `Content-Type` is the input's next line, otherwise it is `multipart/form-data; boundary=XyZ`; the rest is
//! the body. A received file must be exactly the body's bytes with their hash, within the limit.
#![no_main]

use std::sync::OnceLock;

use actix_http::error::PayloadError;
use actix_http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use actix_multipart::Multipart;
use bytes::Bytes;
use hallway_server::media::{self, MediaError, upload};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// Small, so the fuzzer reaches the limit often.
const MAX_BYTES: u64 = 16 * 1024;

fn staging() -> &'static TempDir {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap_or_else(|err| panic!("no temporary directory: {err}")))
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|err| panic!("no runtime: {err}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk) + 1;
    let (content_type, body) = match rest.split_first() {
        Some((&b, rest)) if b == b'\n' || b > 0x7f => match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, &[][..]),
        },
        _ => (&b"multipart/form-data; boundary=XyZ"[..], rest),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        headers.insert(CONTENT_TYPE, value);
    }
    let chunks: Vec<Result<Bytes, PayloadError>> = body.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let form = Multipart::new(&headers, futures_util::stream::iter(chunks));
    let dir = staging().path();
    let received = runtime().block_on(upload::receive(form, dir, MAX_BYTES));
    let received = match received {
        Ok(received) => received,
        Err(err) => return refused(&err),
    };
    let Ok(stored) = std::fs::read(received.file.path()) else { panic!("the staged file is gone") };
    assert_eq!(stored.len() as u64, received.len, "the length is not the file's");
    assert!(received.len <= MAX_BYTES, "a file over the limit was received");
    assert_eq!(<[u8; 32]>::from(Sha256::digest(&stored)), received.sha256, "the hash is not the file's");
    if let Err(err) = media::prepare(received, dir) {
        refused(&err);
    }
});

/// Bad input is the client's fault (400/413/415), never a 500.
fn refused(err: &MediaError) {
    match err {
        MediaError::TooLarge(_)
        | MediaError::Unsupported(_)
        | MediaError::UnsupportedRequest(_)
        | MediaError::Invalid(_) => {}
        other => panic!("an upload was refused as an internal error: {other:?}"),
    }
}
