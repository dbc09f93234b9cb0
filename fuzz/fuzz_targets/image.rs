//! Image decoding and re-encoding (`server/src/media`): any file, as a received upload, goes through
//! `media::prepare` (typed by its bytes, images decoded with their limits, upright, re-encoded without
//! metadata, a thumbnail made) and, when it is an image, `images::avatar`. A file is refused with a
//! `MediaError` or comes out within the limits; nothing panics, and no refusal is an internal error.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use hallway_server::media::images::{self, MAX_SIDE};
use hallway_server::media::sniff::{self, FileKind};
use hallway_server::media::upload::Received;
use hallway_server::media::{self, MediaError};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tempfile::{NamedTempFile, TempDir};

fn staging() -> &'static TempDir {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap_or_else(|err| panic!("no temporary directory: {err}")))
}

fuzz_target!(|data: &[u8]| {
    let dir = staging().path();
    let Ok(mut file) = NamedTempFile::new_in(dir) else { return };
    if file.write_all(data).is_err() {
        return;
    }
    let kind = sniff::sniff(file.path());
    if let Ok(kind @ (FileKind::Jpeg | FileKind::Png | FileKind::WebP | FileKind::Gif)) = kind {
        match images::avatar(file.path(), kind) {
            Ok(avatar) => assert_eq!(avatar.mime, "image/jpeg"),
            Err(err) => refused(&err),
        }
    }
    let sha256 = Sha256::digest(data).into();
    let received = Received { file, file_name: None, len: data.len() as u64, sha256 };
    match media::prepare(received, dir) {
        Ok(prepared) => {
            if let (Some(width), Some(height)) = (prepared.width, prepared.height) {
                assert!(width.max(height) <= MAX_SIDE, "an image over the side limit was accepted");
                assert!(prepared.thumbnail.is_some(), "an image without a thumbnail");
            }
            assert!(prepared.main.len > 0 || data.is_empty());
        }
        Err(err) => refused(&err),
    }
});

/// Bad input is the client's fault (413/415/400), never a 500.
fn refused(err: &MediaError) {
    match err {
        MediaError::TooLarge(_) | MediaError::Unsupported(_) | MediaError::Invalid(_) => {}
        other => panic!("a file was refused as an internal error: {other:?}"),
    }
}
