//! What a client sends over the WebSocket, as the server reads it: the bytes through actix's frame codec
//! (configured as `http::ws` does, with the 64 KiB limit), each text frame through `parse_client_frame` (JSON,
//! the text-input rule, the frame's shape), then the checks `dispatch` applies before anything is stored
//! (`messaging::Outgoing::parse` for a send, `Emoji::parse` for a reaction). The input is also read as one
//! text message, and as a server frame the way the client SDK parses them. Nothing may panic.
#![no_main]

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame};
use bytes::BytesMut;
use hallway_protocol::messages::SendMessageRequest;
use hallway_protocol::validate::Emoji;
use hallway_protocol::ws::{ClientFrame, ServerFrame};
use hallway_server::messaging::Outgoing;
use hallway_server::realtime::session::{MAX_FRAME_BYTES, parse_client_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        text_message(text);
        // client-sdk's `sync::parse`.
        let _ = serde_json::from_str::<ServerFrame>(text);
    }
    let mut codec = Codec::new().max_size(MAX_FRAME_BYTES);
    let mut buffer = BytesMut::from(data);
    // Each decoded frame consumes bytes, so this ends; an error closes the socket in the server.
    while let Ok(Some(frame)) = codec.decode(&mut buffer) {
        if let Frame::Text(bytes) = frame {
            assert!(bytes.len() <= MAX_FRAME_BYTES, "the codec let through a frame over the limit");
            if let Ok(text) = std::str::from_utf8(&bytes) {
                text_message(text);
            }
        }
    }
});

fn text_message(text: &str) {
    let frame = match parse_client_frame(text) {
        Ok(frame) => frame,
        // What the `error` frame would say.
        Err((error, _reference)) => {
            let _ = (error.code(), error.public_message());
            return;
        }
    };
    // A frame the server accepts is one the SDK can write: it survives its own serialisation unchanged.
    match serde_json::to_string(&frame).map(|again| parse_client_frame(&again)) {
        Ok(Ok(again)) => assert_eq!(again, frame, "a frame changed on a round trip"),
        _ => panic!("an accepted frame does not round-trip: {frame:?}"),
    }
    match frame {
        ClientFrame::Send { client_msg_id, body, attachment_ids, urgent, .. } => {
            let _ = Outgoing::parse(&SendMessageRequest { client_msg_id, body, attachment_ids, urgent });
        }
        ClientFrame::React { emoji, .. } => {
            let _ = Emoji::parse(&emoji);
        }
        _ => {}
    }
}
