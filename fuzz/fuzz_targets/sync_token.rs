//! The `since` token of `GET /sync` (`server/src/sync.rs`): any string a client sends back decodes to a
//! place or is refused, never panics; and every token the server hands out decodes, for its user only, to
//! exactly what was encoded, and any byte changed or cut off makes it invalid.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hallway_server::auth::tokens::Keys;
use hallway_server::store::changes::Position;
use hallway_server::sync::{Place, TOKEN_MAX_AGE, Token};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use uuid::Uuid;

const USER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const OTHER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys::from_secret(b"fuzzing secret"))
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    // Anything sent back, at any time.
    let now = read_i64(data.get(..8).unwrap_or(&[]));
    if let Ok(raw) = std::str::from_utf8(data) {
        let _ = Token::decode(keys, USER, raw, now);
        let _ = Token::decode(keys, USER, raw, 1_800_000_000);
    }

    // A token made from the input's numbers round-trips, and nothing else about it passes.
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut numbers = rest.chunks(8).map(read_i64);
    let mut next = || numbers.next().unwrap_or(0);
    let made_at = next();
    let place = if mode % 2 == 0 {
        Place::Feed(Position { xid: next(), id: next() })
    } else {
        let horizon = next();
        let conversation_id = Uuid::from_u64_pair(next() as u64, next() as u64);
        Place::History { horizon, conversation_id, seq: next() }
    };
    let token = Token { place, made_at };
    let raw = token.encode(keys, USER);
    let max_age = TOKEN_MAX_AGE.as_secs() as i64;
    match Token::decode(keys, USER, &raw, made_at) {
        Ok(decoded) => assert_eq!(decoded, token, "a token decoded to something else"),
        Err(err) => panic!("a fresh token was refused: {err}"),
    }
    assert!(Token::decode(keys, OTHER, &raw, made_at).is_err(), "another user's token was accepted");
    if let Some(late) = made_at.checked_add(max_age + 1) {
        assert!(Token::decode(keys, USER, &raw, late).is_err(), "an expired token was accepted");
    }
    let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(&raw) else { panic!("a token is not base64") };
    let at = usize::from(mode) % bytes.len();
    let mut cut = bytes.clone();
    cut.truncate(at);
    assert!(Token::decode(keys, USER, &URL_SAFE_NO_PAD.encode(&cut), made_at).is_err(), "a cut token passed");
    bytes[at] ^= rest.first().copied().unwrap_or(1).max(1);
    assert!(Token::decode(keys, USER, &URL_SAFE_NO_PAD.encode(&bytes), made_at).is_err(), "an altered token passed");
});

/// Up to eight bytes as a big-endian number, zero-padded.
fn read_i64(bytes: &[u8]) -> i64 {
    let mut buffer = [0u8; 8];
    let n = bytes.len().min(8);
    buffer[..n].copy_from_slice(&bytes[..n]);
    i64::from_be_bytes(buffer)
}
