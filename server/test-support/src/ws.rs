//! A real WebSocket client (tokio-tungstenite) for black-box tests of `/api/v1/ws`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TestServer;

/// How long a test waits for a frame it expects before failing.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// One open socket, after its `hello`.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `hello` frame the server sent first.
    pub hello: Value,
}

/// How a wait for frames ended.
#[derive(Debug)]
pub enum Closed {
    /// The server sent a close frame (with its code and reason).
    Frame(Option<CloseFrame>),
    /// The connection ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects with an `Authorization` header and reads the `hello`.
    pub async fn connect(server: &TestServer, token: &str) -> WsClient {
        let url = format!("{}/api/v1/ws", server.base_url.replacen("http", "ws", 1));
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).expect("a ws URL");
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("a header value"));
        let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket upgrade succeeds");
        WsClient::after_upgrade(stream).await
    }

    /// Connects to a server at `base_url` (`http://host:port`) that may be down or restarting: `None` when the
    /// connection or the upgrade fails, for tests that play a phone reconnecting to a crashed server.
    pub async fn try_connect(base_url: &str, token: &str) -> Option<WsClient> {
        let url = format!("{}/api/v1/ws", base_url.replacen("http", "ws", 1));
        let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).ok()?;
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().ok()?);
        let (stream, _) =
            tokio::time::timeout(FRAME_TIMEOUT, tokio_tungstenite::connect_async(request)).await.ok()?.ok()?;
        let mut client = WsClient { stream, hello: Value::Null };
        let hello = client.next_frame().await?;
        (hello["type"] == "hello").then(|| WsClient { hello, ..client })
    }

    /// Sends one JSON text frame; `false` when the socket is gone.
    pub async fn try_send(&mut self, frame: Value) -> bool {
        self.stream.send(WsMessage::text(frame.to_string())).await.is_ok()
    }

    /// Connects through a socket with a tiny receive buffer, so a test can play a phone that stops reading.
    pub async fn connect_with_small_receive_buffer(server: &TestServer, token: &str) -> WsClient {
        let address = server.base_url.trim_start_matches("http://").parse().expect("a socket address");
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket.set_recv_buffer_size(4096).expect("setting SO_RCVBUF");
        let stream = socket.connect(address).await.expect("connecting");
        let url = format!("ws://{address}/api/v1/ws");
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).expect("a ws URL");
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("a header value"));
        let (stream, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await.expect("the upgrade");
        WsClient::after_upgrade(stream).await
    }

    /// Connects with the token in the query (as browsers must) and reads the `hello`.
    pub async fn connect_with_query_token(server: &TestServer, token: &str) -> WsClient {
        let url = format!("{}/api/v1/ws?access_token={token}", server.base_url.replacen("http", "ws", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket upgrade succeeds");
        WsClient::after_upgrade(stream).await
    }

    /// Wraps a stream whose upgrade the test made itself, reading the `hello`.
    pub async fn after_upgrade(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> WsClient {
        let mut client = WsClient { stream, hello: Value::Null };
        let hello = client.next_frame().await.expect("a hello frame");
        assert_eq!(hello["type"], "hello", "the first frame is hello: {hello}");
        client.hello = hello;
        client
    }

    /// Sends one JSON text frame.
    pub async fn send(&mut self, frame: Value) {
        self.stream.send(WsMessage::text(frame.to_string())).await.expect("sending a frame");
    }

    /// Sends raw text (for malformed frames).
    pub async fn send_raw(&mut self, text: String) {
        self.stream.send(WsMessage::text(text)).await.expect("sending a frame");
    }

    /// The next text frame, or `None` if the socket closed or nothing came within `FRAME_TIMEOUT`.
    pub async fn next_frame(&mut self) -> Option<Value> {
        self.next_frame_within(FRAME_TIMEOUT).await
    }

    /// The next text frame within `limit`.
    pub async fn next_frame_within(&mut self, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            match next.ok()? {
                WsMessage::Text(text) => return serde_json::from_str(&text).ok(),
                WsMessage::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next frame of type `kind`, skipping others (presence, say); fails the test if none comes.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_frame_within(left).await.unwrap_or_else(|| panic!("no `{kind}` frame came"));
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Asserts that no frame of the given types arrives within `limit` (other types are skipped).
    pub async fn expect_none_of(&mut self, kinds: &[&str], limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame_within(left).await {
                None => return,
                Some(frame) => {
                    let kind = frame["type"].as_str().unwrap_or_default();
                    assert!(!kinds.contains(&kind), "unexpected frame: {frame}");
                }
            }
        }
    }

    /// Reads until the server closes the socket, returning how it closed and the text frames before it.
    pub async fn until_closed(&mut self, limit: Duration) -> (Closed, Vec<Value>) {
        let deadline = tokio::time::Instant::now() + limit;
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => panic!("the socket was not closed within {limit:?}"),
                Ok(None) | Ok(Some(Err(_))) => return (Closed::Dropped, frames),
                Ok(Some(Ok(WsMessage::Close(frame)))) => return (Closed::Frame(frame), frames),
                Ok(Some(Ok(WsMessage::Text(text)))) => frames.push(serde_json::from_str(&text).unwrap_or_default()),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next text frame (`Ok`), or how the socket ended (`Err`); `None` when nothing came within `limit`.
    /// For tests that keep sending while they read and must see the close itself.
    pub async fn next_or_closed_within(&mut self, limit: Duration) -> Option<Result<Value, Closed>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(Err(Closed::Dropped)),
                Ok(Some(Ok(WsMessage::Close(frame)))) => return Some(Err(Closed::Frame(frame))),
                Ok(Some(Ok(WsMessage::Text(text)))) => {
                    return Some(Ok(serde_json::from_str(&text).unwrap_or_default()));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The close code the server sent, failing the test if the socket did not close with one in time.
    pub async fn close_code(&mut self, limit: Duration) -> u16 {
        match self.until_closed(limit).await.0 {
            Closed::Frame(Some(frame)) => frame.code.into(),
            other => panic!("expected a close frame with a code, got {other:?}"),
        }
    }
}
