//! A lean WebSocket client for many connections: small buffers, a chosen loopback source address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One open socket, after its `hello`.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Buffers sized for chat frames: tungstenite's defaults (128 KiB read buffer) would cost the load
/// generator gigabytes at 50,000 connections and distort what is measured.
fn lean_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0).max_frame_size(Some(1 << 20))
}

/// The loopback source address for connection `index` (127.0.0.2, 127.0.0.3, ...).
pub fn source_address(index: usize, spread: u8) -> IpAddr {
    let spread = spread.max(1) as usize;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (index % spread) as u8))
}

/// Connects, authenticates with `token`, and waits for the `hello` frame.
pub async fn connect(server: SocketAddr, token: &str, source: IpAddr) -> anyhow::Result<Socket> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0)).context("binding the source address")?;
    let stream = socket.connect(server).await.context("connecting")?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{server}/api/v1/ws").into_client_request()?;
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, MaybeTlsStream::Plain(stream), Some(lean_config()))
            .await
            .context("upgrading")?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text)?;
                anyhow::ensure!(frame["type"] == "hello", "expected hello, got {}", frame["type"]);
                return Ok(ws);
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.into()),
            None => anyhow::bail!("closed before hello"),
        }
    }
}
