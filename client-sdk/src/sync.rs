//! The connection: one task per signed-in client that keeps a WebSocket open, with heartbeats, reconnects
//! with exponential backoff and jitter, catches up on every (re)connect through `GET /sync`, applies live frames to the
//! store, and sends the outbox in order. While the app has paused the client (`Client::pause`, the app in the
//! background) it closes the socket cleanly and waits, holding none, until `Client::resume`.
//!
//! Nothing here is needed for correctness across restarts: the store says what was loaded up to which `seq`
//! and what is still unsent, so a new connection (or a new process) simply resumes from it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hallway_protocol::ErrorCode;
use hallway_protocol::messages::MessagePage;
use hallway_protocol::reconnect;
use hallway_protocol::sync::{SYNC_MAX_LIMIT, SyncResponse};
use hallway_protocol::ws::{ClientFrame, ServerFrame};
use rand::Rng;
use reqwest::Method;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::api::{NO_BODY, error_from_body};
use crate::error::{Error, Result};
use crate::models::{ConnectionState, SignOutReason};
use crate::send_pacer::SendPacer;
use crate::shared::{Change, Shared};
use crate::store::{self, LiveOutcome, OutboxEntry, OutboxFile, PageKind};

/// How long the upgrade and the `hello` may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a pause waits for the server to answer its close frame before letting go of the socket anyway
/// (a dead network never answers; the OS may suspend a backgrounded app soon after).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The reason in the close frame of a pause, for the server's logs.
const PAUSED_REASON: &str = "paused";
/// The SDK's own ping, so that the server (which drops sockets silent for 30 s) and this side both hear traffic.
const PING_INTERVAL: Duration = Duration::from_secs(10);
/// The server pings every 10 s: this long without hearing anything means the socket is dead.
const DEAD_AFTER: Duration = Duration::from_secs(25);
/// How often timers are checked (heartbeat, typing expiry, outbox retries).
const TICK: Duration = Duration::from_secs(1);
/// A send not acknowledged within this time is sent again (same `client_msg_id`, so at most once on the server).
const ACK_TIMEOUT: Duration = Duration::from_secs(20);
/// A send the server could not take (internal, unavailable) is tried again after this long.
const SEND_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Catching up a conversation asks for this many messages per page (the contract's maximum).
const BACKFILL_PAGE: u32 = 200;
/// Messages per `GET /sync` page: the contract's maximum, so that a catch-up takes as few requests as it can.
const SYNC_PAGE: i64 = SYNC_MAX_LIMIT;
/// A conversation with nothing loaded starts from its newest messages, this many.
pub(crate) const LATEST_PAGE: u32 = 50;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Sink = futures_util::stream::SplitSink<Socket, WsMessage>;
type Stream = futures_util::stream::SplitStream<Socket>;

/// How a socket's session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    /// The app paused the client and the socket was closed on purpose: no failure, no backoff.
    Paused,
    /// The socket broke, went silent, or the server closed it: reconnect after the backoff.
    Lost,
}

/// Keeps the client connected until it is signed out (or the task is aborted by `logout` or a drop), except
/// while the app has it paused.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut paused = shared.paused.subscribe();
    let mut failures: u32 = 0;
    loop {
        if *paused.borrow_and_update() {
            shared.set_connection(ConnectionState::Paused);
            until(&mut paused, false).await;
            // Back in the foreground: connect at once, whatever failed before the pause.
            failures = 0;
        }
        shared.set_connection(ConnectionState::Connecting);
        match connect(&shared, &mut paused).await {
            Ok(None) => continue,
            Ok(Some(socket)) => {
                let started = Instant::now();
                let end = session(&shared, socket, &mut paused).await;
                if let Ok(mut outgoing) = shared.outgoing.lock() {
                    *outgoing = None;
                }
                for conversation in shared.expire_typing(true) {
                    shared.typing_changed(conversation);
                }
                if shared.forget_presence() {
                    shared.changed(Change::Everything);
                }
                if end == SessionEnd::Paused {
                    // Paused, or already resumed while the socket was closing: the loop's top tells which.
                    continue;
                }
                if started.elapsed() >= reconnect::STABLE_AFTER {
                    failures = 0;
                }
            }
            Err(Error::NotSignedIn) => {
                // The server ended the session (the API already wiped the store when the refresh was refused;
                // wiping again catches what a catch-up still wrote meanwhile).
                if let Err(error) = shared.store.wipe_all().await {
                    tracing::warn!(%error, "wiping the local data after the session ended failed");
                }
                let reason = shared.api.ended_reason().unwrap_or(SignOutReason::SessionEnded);
                shared.set_connection(ConnectionState::SignedOut { reason });
                shared.changed(Change::Everything);
                return;
            }
            Err(error) => tracing::info!(%error, "connecting failed"),
        }
        failures = failures.saturating_add(1);
        let delay = backoff(failures);
        shared.set_connection(ConnectionState::WaitingToRetry {
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.reconnect_wake.notified() => {}
            () = until(&mut paused, true) => {}
        }
    }
}

/// Waits until the client's paused flag is `value` (at once if it is).
async fn until(paused: &mut watch::Receiver<bool>, value: bool) {
    // An error means the flag's sender is gone, which the task's own `Arc<Shared>` rules out; waiting forever
    // then keeps a `select!` from spinning on it.
    if paused.wait_for(|now| *now == value).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The contract's reconnection backoff (exponential, equal jitter), with this phone's own random draw, so that a
/// school's worth of phones coming back from the same outage does not reconnect in lockstep.
fn backoff(failures: u32) -> Duration {
    reconnect::delay(failures, rand::thread_rng().r#gen::<f64>())
}

/// Opens the socket with a fresh access token; when the upgrade is refused, the token is refreshed and the
/// upgrade tried once more. `None` when the client was paused before the socket opened. A pause never cuts a
/// token refresh short (the rotated refresh token would be lost with it): it stops only the upgrade.
async fn connect(shared: &Shared, paused: &mut watch::Receiver<bool>) -> Result<Option<Socket>> {
    let mut token = shared.api.access_token().await?;
    let mut refreshed = false;
    loop {
        let mut request = shared
            .api
            .ws_url()?
            .as_str()
            .into_client_request()
            .map_err(|_| Error::Internal("building the WebSocket request".into()))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::Protocol("an access token that is not a header value".into()))?;
        request.headers_mut().insert("authorization", bearer);
        // disable_nagle: a chat frame goes out at once instead of waiting for the previous one's ACK.
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(CONNECT_TIMEOUT, connecting) => attempt,
            () = until(paused, true) => return Ok(None),
        };
        match attempt {
            Err(_) => return Err(Error::Network("the WebSocket upgrade timed out".into())),
            Ok(Ok((socket, _))) => return Ok(Some(socket)),
            Ok(Err(WsError::Http(response))) => {
                let status = response.status().as_u16();
                let error = error_from_body(status, response.body().as_deref().unwrap_or_default(), None);
                if matches!(status, 401 | 403) && !refreshed {
                    // Expired, the session ended, or the account was deactivated: a refresh tells which, and
                    // signs the client out in the last two cases instead of retrying forever.
                    token = shared.api.refresh(&token).await?;
                    refreshed = true;
                    continue;
                }
                return Err(error);
            }
            Ok(Err(error)) => return Err(Error::Network(format!("WebSocket: {}", ws_error_kind(&error)))),
        }
    }
}

fn ws_error_kind(error: &WsError) -> &'static str {
    match error {
        WsError::ConnectionClosed | WsError::AlreadyClosed => "closed",
        WsError::Io(_) => "I/O error",
        WsError::Tls(_) => "TLS error",
        WsError::Protocol(_) => "protocol error",
        WsError::Url(_) => "bad URL",
        _ => "failed",
    }
}

/// One open socket, until it breaks or the client is paused.
async fn session(shared: &Arc<Shared>, socket: Socket, paused: &mut watch::Receiver<bool>) -> SessionEnd {
    let (mut sink, mut stream) = socket.split();
    let hello = tokio::select! {
        hello = tokio::time::timeout(CONNECT_TIMEOUT, stream.next()) => hello,
        () = until(paused, true) => {
            // Nothing is applied before `hello`: what the server sent meanwhile, the next catch-up brings.
            close_for_pause(&mut sink, &mut stream).await;
            return SessionEnd::Paused;
        }
    };
    match hello {
        Ok(Some(Ok(WsMessage::Text(text)))) if matches!(parse(&text), Some(ServerFrame::Hello { .. })) => {}
        _ => {
            tracing::info!("the server did not say hello");
            return SessionEnd::Lost;
        }
    }
    shared.set_connection(ConnectionState::Syncing);
    tracing::info!("connected");
    let (frames_tx, mut frames_rx) = mpsc::unbounded_channel();
    if let Ok(mut outgoing) = shared.outgoing.lock() {
        *outgoing = Some(frames_tx);
    }
    let (backfill_tx, backfill_rx) = mpsc::unbounded_channel();
    let _backfill = AbortOnDrop(tokio::spawn(backfill_worker(shared.clone(), backfill_rx)));
    let _ = backfill_tx.send(Backfill::Everything);

    if let Err(error) = shared.store.sweep_outbox_files().await {
        tracing::info!(%error, "sweeping the outbox's files failed");
    }
    let mut outbox = OutboxSender::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut last_ping = Instant::now();
    // A pause that came during the upgrade sends nothing: the loop closes the socket first thing.
    if !*paused.borrow() && outbox.drive(shared, &mut sink).await.is_err() {
        return SessionEnd::Lost;
    }
    loop {
        if *paused.borrow() {
            tracing::info!("paused: closing the socket");
            for frame in close_for_pause(&mut sink, &mut stream).await {
                handle_frame(shared, &mut outbox, &backfill_tx, frame).await;
            }
            return SessionEnd::Paused;
        }
        let sent = tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    last_heard = Instant::now();
                    match parse(&text) {
                        Some(frame) => handle_frame(shared, &mut outbox, &backfill_tx, frame).await,
                        None => match parse_unknown_error(&text) {
                            Some(error) => {
                                let reference = error.reference.as_deref();
                                if !outbox.refused(shared, reference, &error.code, &error.message, None).await {
                                    tracing::info!("the server refused a frame with a code this SDK does not know");
                                }
                            }
                            None => tracing::debug!("ignoring a frame this SDK does not know"),
                        },
                    }
                    outbox.drive(shared, &mut sink).await
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    tracing::info!(?code, "the server closed the socket");
                    // 1008 with a session-ended reason: the reconnect's refused refresh will confirm it.
                    if let Some(reason) = frame.as_ref().and_then(|f| SignOutReason::from_close_reason(&f.reason)) {
                        shared.api.note_ended(reason);
                        shared.reconnect_wake.notify_one();
                    }
                    return SessionEnd::Lost;
                }
                Some(Ok(_)) => {
                    last_heard = Instant::now();
                    Ok(())
                }
                Some(Err(error)) => {
                    tracing::info!(error = ws_error_kind(&error), "the socket broke");
                    return SessionEnd::Lost;
                }
                None => return SessionEnd::Lost,
            },
            Some(frame) = frames_rx.recv() => send(&mut sink, &frame).await,
            () = shared.outbox_wake.notified() => outbox.drive(shared, &mut sink).await,
            () = sleep_until(outbox.wake_at) => outbox.drive(shared, &mut sink).await,
            _ = tick.tick() => {
                if shared.api.session().is_none() {
                    tracing::info!("the session ended; closing the socket");
                    return SessionEnd::Lost;
                }
                if last_heard.elapsed() >= DEAD_AFTER {
                    tracing::info!("nothing heard from the server: the socket is dead");
                    return SessionEnd::Lost;
                }
                for conversation in shared.expire_typing(false) {
                    shared.typing_changed(conversation);
                }
                if last_ping.elapsed() >= PING_INTERVAL {
                    last_ping = Instant::now();
                    if send(&mut sink, &ClientFrame::Ping { reference: None }).await.is_err() {
                        return SessionEnd::Lost;
                    }
                }
                outbox.drive(shared, &mut sink).await
            }
            // The loop's top closes the socket.
            () = until(paused, true) => Ok(()),
        };
        if sent.is_err() {
            tracing::info!("sending on the socket failed");
            return SessionEnd::Lost;
        }
    }
}

/// Closes the socket for a pause: a close frame (1000, "paused"), so that the server lets go of the session at
/// once (presence, fan-out) instead of noticing a dead socket 30 s later; then the server's own close frame is
/// awaited for at most [`CLOSE_TIMEOUT`]. Returns the frames that arrived meanwhile (an `ack` of a send that
/// just went out, say), for the caller to apply; anything lost here the next catch-up brings, and an
/// unacknowledged send is sent again after `resume`, the server deduplicating it.
async fn close_for_pause(sink: &mut Sink, stream: &mut Stream) -> Vec<ServerFrame> {
    let close = CloseFrame { code: CloseCode::Normal, reason: PAUSED_REASON.into() };
    let mut frames = Vec::new();
    if sink.send(WsMessage::Close(Some(close))).await.is_err() {
        return frames;
    }
    let drained = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(message)) = stream.next().await {
            match message {
                WsMessage::Text(text) => frames.extend(parse(&text)),
                WsMessage::Close(_) => return,
                _ => {}
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::info!("the server did not answer the close frame in time; letting go of the socket");
    }
    frames
}

/// Parses a server frame; `None` for types (or shapes) this SDK does not know, which the contract says to ignore.
fn parse(text: &str) -> Option<ServerFrame> {
    serde_json::from_str(text).ok()
}

/// An `error` frame whose code this SDK does not know (the contract lets the server add codes).
#[derive(Debug, serde::Deserialize)]
struct UnknownErrorFrame {
    #[serde(rename = "type")]
    kind: String,
    code: String,
    #[serde(default)]
    message: String,
    #[serde(rename = "ref", default)]
    reference: Option<String>,
}

/// Reads an `error` frame that [`parse`] could not (a code newer than this SDK), so that a send it refuses
/// fails instead of being resent forever.
fn parse_unknown_error(text: &str) -> Option<UnknownErrorFrame> {
    serde_json::from_str::<UnknownErrorFrame>(text).ok().filter(|frame| frame.kind == "error")
}

/// What the outbox does about a refused send. Only codes known to be passing are retried, always with the
/// same message (same `client_msg_id`, same place in line); any other code, one this SDK has never heard of
/// included, is permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `rate_limited`: the socket's allowance is spent, so every send on it waits this long (the server's
    /// `retry_after_ms`), and the outbox paces itself more slowly from then on.
    SlowDown(Duration),
    /// The server's trouble (`internal`, `unavailable`): this conversation's send is tried again after this long.
    RetryAfter(Duration),
    /// The message is shown failed, and the next one of its conversation goes on.
    Failed,
}

/// Reads an `error` frame that refused a send (see [`Refusal`]).
fn refusal(code: &str, retry_after_ms: Option<u64>) -> Refusal {
    let known = serde_json::from_value::<ErrorCode>(serde_json::Value::String(code.to_owned()));
    match known {
        Ok(ErrorCode::RateLimited) => Refusal::SlowDown(Duration::from_millis(retry_after_ms.unwrap_or(1000))),
        Ok(ErrorCode::Internal | ErrorCode::Unavailable) => Refusal::RetryAfter(SEND_RETRY_AFTER),
        _ => Refusal::Failed,
    }
}

/// Waits until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn send(sink: &mut Sink, frame: &ClientFrame) -> std::result::Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(WsMessage::text(text)).await.map_err(|_| ())
}

/// Aborts a task when the session that started it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Applies one server frame to the store and tells the listeners.
async fn handle_frame(
    shared: &Arc<Shared>,
    outbox: &mut OutboxSender,
    backfill: &mpsc::UnboundedSender<Backfill>,
    frame: ServerFrame,
) {
    let Some(me) = shared.api.user_id() else { return };
    if let Some(id) = changed_conversation(&frame) {
        shared.overtake(id);
    }
    let store = &shared.store;
    let result = match frame {
        ServerFrame::Ack { client_msg_id, message } => {
            let conversation = message.conversation_id;
            outbox.acknowledged(&client_msg_id, conversation);
            let acknowledged = client_msg_id.clone();
            let outcome = store.transaction(move |conn| store::acknowledge(conn, &acknowledged, &message, me)).await;
            if outcome.is_ok() {
                store.remove_outbox_file(&client_msg_id).await;
            }
            outcome.map(|outcome| after_live_message(shared, backfill, conversation, outcome))
        }
        ServerFrame::Message { message } => {
            let conversation = message.conversation_id;
            let outcome = store.transaction(move |conn| store::apply_message(conn, &message, me)).await;
            outcome.map(|outcome| after_live_message(shared, backfill, conversation, outcome))
        }
        ServerFrame::Typing { conversation_id, user_id, typing } => {
            if user_id != me && shared.set_other_typing(conversation_id, user_id, typing) {
                shared.typing_changed(conversation_id);
            }
            Ok(())
        }
        ServerFrame::Read { conversation_id, user_id, seq } => store
            .transaction(move |conn| store::apply_read(conn, conversation_id, user_id, seq, me))
            .await
            .map(|()| shared.conversation_changed(conversation_id)),
        ServerFrame::Reaction { conversation_id, message_id, emoji, user_id, on } => store
            .transaction(move |conn| store::apply_reaction(conn, message_id, &emoji, user_id, on))
            .await
            .map(|()| shared.changed(Change::Timeline(conversation_id))),
        ServerFrame::MessageUpdated { message } => {
            let conversation = message.conversation_id;
            store
                .transaction(move |conn| store::replace_message(conn, &message, me))
                .await
                .map(|()| shared.conversation_changed(conversation))
        }
        ServerFrame::MessageDeleted { conversation_id, message_id } => store
            .transaction(move |conn| store::mark_deleted(conn, message_id, me))
            .await
            .map(|()| shared.conversation_changed(conversation_id)),
        ServerFrame::Conversation { conversation } => {
            let id = conversation.id;
            let known = store
                .transaction(move |conn| {
                    let known = store::conversation(conn, conversation.id)?.is_some();
                    store::upsert_conversation(conn, &conversation)?;
                    Ok(known)
                })
                .await;
            known.map(|known| {
                shared.conversation_changed(id);
                if !known {
                    let _ = backfill.send(Backfill::Conversation(id));
                }
            })
        }
        ServerFrame::ConversationRemoved { conversation_id } => {
            match store.transaction(move |conn| store::remove_conversation(conn, conversation_id)).await {
                Ok(()) => {
                    shared.conversation_changed(conversation_id);
                    store.sweep_outbox_files().await
                }
                Err(error) => Err(error),
            }
        }
        ServerFrame::Presence { user_id, online, .. } => {
            if shared.set_online(user_id, online) {
                presence_changed(shared, user_id).await
            } else {
                Ok(())
            }
        }
        ServerFrame::Error { code, message, reference, retry_after_ms } => {
            if !outbox.refused(shared, reference.as_deref(), code.as_str(), &message, retry_after_ms).await {
                tracing::info!(%code, "the server refused a frame");
            }
            Ok(())
        }
        // A handled report is read with `Client::my_reports` when the app shows them; acknowledgements are read
        // as receipts, which this SDK does not show yet.
        ServerFrame::Hello { .. }
        | ServerFrame::ReportUpdated { .. }
        | ServerFrame::Acknowledged { .. }
        | ServerFrame::Pong => Ok(()),
    };
    if let Err(error) = result {
        tracing::warn!(%error, "applying a server frame failed");
    }
}

/// Someone came online or went offline: the conversations they are in show it.
async fn presence_changed(shared: &Shared, user: Uuid) -> Result<()> {
    let conversations = shared.store.run(|conn| store::conversations(conn)).await?;
    for (conversation, _) in conversations {
        if conversation.members.iter().any(|m| m.id == user) {
            shared.conversation_changed(conversation.id);
        }
    }
    Ok(())
}

/// The conversation whose stored state a frame changes, if it changes one.
fn changed_conversation(frame: &ServerFrame) -> Option<Uuid> {
    match frame {
        ServerFrame::Ack { message, .. }
        | ServerFrame::Message { message }
        | ServerFrame::MessageUpdated { message } => Some(message.conversation_id),
        ServerFrame::Conversation { conversation } => Some(conversation.id),
        ServerFrame::Read { conversation_id, .. }
        | ServerFrame::Reaction { conversation_id, .. }
        | ServerFrame::MessageDeleted { conversation_id, .. }
        | ServerFrame::ConversationRemoved { conversation_id } => Some(*conversation_id),
        _ => None,
    }
}

fn after_live_message(
    shared: &Shared,
    backfill: &mpsc::UnboundedSender<Backfill>,
    conversation: Uuid,
    outcome: LiveOutcome,
) {
    if outcome.unknown_conversation {
        let _ = backfill.send(Backfill::Everything);
    } else if outcome.gap {
        let _ = backfill.send(Backfill::Conversation(conversation));
    }
    shared.conversation_changed(conversation);
}

/// Sends the outbox on the open socket: per conversation, one message at a time, oldest first, all of them
/// paced within the socket's allowance; a message's file is uploaded (over REST, beside the socket) before the
/// message that names it is sent.
#[derive(Default)]
struct OutboxSender {
    /// Per conversation, the message sent and not yet acknowledged or refused, and when it was sent.
    in_flight: HashMap<Uuid, (String, Instant)>,
    /// Per conversation, no send before this instant (the server was failing).
    not_before: HashMap<Uuid, Instant>,
    /// Per conversation, the upload of its head's file (by `client_msg_id`), aborted with the session.
    uploads: HashMap<Uuid, (String, AbortOnDrop)>,
    /// The socket's allowance, and the wait the server asked for after a `rate_limited`.
    pacer: SendPacer,
    /// When a head held back by the pacer or by `not_before` may go: the session drives the outbox again
    /// then, rather than at its next tick. `None` when nothing waits for a time.
    wake_at: Option<Instant>,
}

impl OutboxSender {
    /// Sends the head of each conversation's outbox that is not waiting for an answer or a delay.
    async fn drive(&mut self, shared: &Arc<Shared>, sink: &mut Sink) -> std::result::Result<(), ()> {
        let heads = match shared.store.run(|conn| store::outbox_heads(conn)).await {
            Ok(heads) => heads,
            Err(error) => {
                tracing::warn!(%error, "reading the outbox failed");
                return Ok(());
            }
        };
        // An in-flight message that is no longer its conversation's head was acknowledged through a backfill,
        // or discarded: nothing to wait for.
        let is_head = |conversation: &Uuid, client_msg_id: &String| {
            heads.iter().any(|h| h.conversation_id == *conversation && h.client_msg_id == *client_msg_id)
        };
        self.in_flight.retain(|conversation, (client_msg_id, _)| is_head(conversation, client_msg_id));
        self.uploads.retain(|conversation, (client_msg_id, task)| {
            !task.0.is_finished() && is_head(conversation, client_msg_id)
        });
        let now = Instant::now();
        let mut wake_at: Option<Instant> = None;
        // Once the pacer holds one head back, it holds back the rest: they still start their uploads.
        let mut paced = false;
        for head in heads {
            let conversation = head.conversation_id;
            if self.in_flight.get(&conversation).is_some_and(|(_, sent)| sent.elapsed() < ACK_TIMEOUT) {
                continue;
            }
            if let Some(until) = self.not_before.get(&conversation).filter(|until| **until > now) {
                wake_at = Some(wake_at.map_or(*until, |at| at.min(*until)));
                continue;
            }
            let attachment_ids = match &head.file {
                None => Vec::new(),
                Some(OutboxFile { attachment_id: Some(id), .. }) => vec![*id],
                Some(_) => {
                    if let Entry::Vacant(slot) = self.uploads.entry(conversation) {
                        let task = AbortOnDrop(tokio::spawn(upload(shared.clone(), head.clone())));
                        slot.insert((head.client_msg_id.clone(), task));
                    }
                    continue;
                }
            };
            if paced {
                continue;
            }
            if let Err(ready_at) = self.pacer.take() {
                paced = true;
                wake_at = Some(wake_at.map_or(ready_at, |at| at.min(ready_at)));
                continue;
            }
            let frame = ClientFrame::Send {
                client_msg_id: head.client_msg_id.clone(),
                conversation_id: conversation,
                body: head.body,
                attachment_ids,
                urgent: false,
                reference: None,
            };
            send(sink, &frame).await?;
            self.in_flight.insert(conversation, (head.client_msg_id, now));
        }
        self.wake_at = wake_at;
        Ok(())
    }

    fn acknowledged(&mut self, client_msg_id: &str, conversation: Uuid) {
        if self.in_flight.get(&conversation).is_some_and(|(id, _)| id == client_msg_id) {
            self.in_flight.remove(&conversation);
        }
        self.not_before.remove(&conversation);
    }

    /// An `error` frame: if it refuses an in-flight send, either schedule a retry of the same message (rate
    /// limited, server trouble) or mark the message failed with the server's code and reason. False if it was
    /// about another frame.
    async fn refused(
        &mut self,
        shared: &Shared,
        reference: Option<&str>,
        code: &str,
        message: &str,
        retry_after_ms: Option<u64>,
    ) -> bool {
        let Some(reference) = reference else { return false };
        let Some(conversation) =
            self.in_flight.iter().find(|(_, (id, _))| id == reference).map(|(conversation, _)| *conversation)
        else {
            return false;
        };
        self.in_flight.remove(&conversation);
        match refusal(code, retry_after_ms) {
            Refusal::SlowDown(wait) => {
                tracing::info!(%code, "a send will be retried");
                self.pacer.slow_down(wait);
                return true;
            }
            Refusal::RetryAfter(wait) => {
                tracing::info!(%code, "a send will be retried");
                self.not_before.insert(conversation, Instant::now() + wait);
                return true;
            }
            Refusal::Failed => {}
        }
        tracing::info!(%code, "the server refused a message");
        let (client_msg_id, code, reason) = (reference.to_owned(), code.to_owned(), message.to_owned());
        let failed = shared.store.run(move |conn| store::fail(conn, &client_msg_id, &code, &reason)).await;
        match failed {
            Ok(()) => shared.conversation_changed(conversation),
            Err(error) => tracing::warn!(%error, "marking a message failed"),
        }
        true
    }
}

/// Uploads the file of an outbox message and records the server's attachment id, then wakes the sender. A
/// transient failure (network, busy server) waits a little before the sender may start it again; a refusal
/// (`too_large`, `unsupported_media_type`) marks the message failed with the server's reason.
async fn upload(shared: Arc<Shared>, entry: OutboxEntry) {
    let Some(file) = entry.file else { return };
    let (client_msg_id, conversation) = (entry.client_msg_id, entry.conversation_id);
    let progress = {
        let (shared, client_msg_id, size) = (shared.clone(), client_msg_id.clone(), file.size.max(1));
        // Listeners hear of each 5 %, not of each chunk.
        move |sent: u64| {
            let step = |bytes: u64| bytes.saturating_mul(20) / size;
            let previous = shared.uploads.lock().ok().and_then(|mut all| match all.get_mut(&client_msg_id) {
                Some(bytes) => Some(std::mem::replace(bytes, sent)),
                None => all.insert(client_msg_id.clone(), sent),
            });
            if previous.is_none_or(|previous| step(previous) != step(sent)) {
                shared.changed(Change::Timeline(conversation));
            }
        }
    };
    let path = shared.store.outbox_file(&client_msg_id);
    let outcome = shared.api.upload(&path, &file.name, progress).await;
    if let Ok(mut all) = shared.uploads.lock() {
        all.remove(&client_msg_id);
    }
    let stored = match outcome {
        Ok(attachment) => {
            let id = client_msg_id.clone();
            shared.store.run(move |conn| store::set_attachment(conn, &id, attachment.id)).await
        }
        Err(Error::NotSignedIn) => return,
        Err(error) if error.is_transient() => {
            tracing::info!(%error, "an upload will be retried");
            shared.changed(Change::Timeline(conversation));
            let wait = match error {
                Error::Api { retry_after_ms: Some(ms), .. } => Duration::from_millis(ms),
                _ => SEND_RETRY_AFTER,
            };
            tokio::time::sleep(wait).await;
            Ok(())
        }
        Err(error) => {
            tracing::info!(%error, "the server refused an upload");
            let (code, reason) = match &error {
                Error::Api { code, message, .. } | Error::Invalid { code, message } => {
                    (code.as_str().to_owned(), message.clone())
                }
                Error::Refused { code, message, .. } => (code.clone(), message.clone()),
                _ => (ErrorCode::Internal.as_str().to_owned(), "the file could not be sent".to_owned()),
            };
            let id = client_msg_id.clone();
            shared.store.run(move |conn| store::fail(conn, &id, &code, &reason)).await
        }
    };
    if let Err(error) = stored {
        tracing::warn!(%error, "recording an upload failed");
    }
    shared.conversation_changed(conversation);
    shared.outbox_wake.notify_one();
}

/// What the catch-up task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backfill {
    /// Catch up everything through `GET /sync` from the stored token.
    Everything,
    /// Catch up one conversation (a gap in `seq`, or a conversation just joined).
    Conversation(Uuid),
}

/// Catches up by REST while the socket delivers live frames; the store deduplicates by `seq`. The first
/// request of a connection catches up everything: when it is done (or given up), the state becomes `Online`.
async fn backfill_worker(shared: Arc<Shared>, mut requests: mpsc::UnboundedReceiver<Backfill>) {
    while let Some(request) = requests.recv().await {
        if catch_up(&shared, request).await.is_err() {
            return;
        }
        shared.connection.send_if_modified(|state| {
            let syncing = *state == ConnectionState::Syncing;
            if syncing {
                *state = ConnectionState::Online;
            }
            syncing
        });
    }
}

/// Runs one catch-up request until it is done, for as long as this connection lasts (the task ends with it): a
/// transient failure (a server busy with a school's worth of phones reconnecting, a restart, the network) is
/// tried again after [`retry_wait`], so a phone back from such a storm still catches up without waiting for its
/// next connection. A refusal is given up. `Err` only when no one is signed in.
async fn catch_up(shared: &Shared, request: Backfill) -> Result<()> {
    let mut failures = 0;
    loop {
        let result = match request {
            Backfill::Everything => sync_everything(shared).await,
            Backfill::Conversation(id) => backfill(shared, id).await,
        };
        match result {
            Ok(()) => return Ok(()),
            Err(Error::NotSignedIn) => return Err(Error::NotSignedIn),
            Err(error) => {
                failures += 1;
                let Some(wait) = retry_wait(&error, failures) else {
                    tracing::info!(%error, "catching up was refused");
                    return Ok(());
                };
                tracing::info!(%error, failures, "catching up failed: trying again");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// How long to wait before trying a failed request again, the `failures`-th time: what the server asked for
/// (`Retry-After`, `retry_after_ms`), else the contract's backoff; `None` for a failure that is not transient.
fn retry_wait(error: &Error, failures: u32) -> Option<Duration> {
    if !error.is_transient() {
        return None;
    }
    Some(match error {
        Error::Api { retry_after_ms: Some(ms), .. } => Duration::from_millis(*ms).min(reconnect::MAX),
        _ => backoff(failures),
    })
}

/// Catches up everything through `GET /sync` from the stored token, page after page while `has_more`;
/// each page is applied with its `next` in one transaction, so an interrupted catch-up resumes where it
/// stopped. A refused token (`invalid_sync_token`: too old, or from a restored server) is dropped and the
/// catch-up starts over from the beginning. Without a token (a fresh device) every conversation and all of
/// its history come through these pages (see the README's "Offline").
async fn sync_everything(shared: &Shared) -> Result<()> {
    let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
    let mut token = shared.store.run(|conn| store::sync_token(conn)).await?;
    let known_before = Arc::new(shared.store.run(|conn| store::conversation_ids(conn)).await?);
    let _overtaken = Overtaken::watch(shared);
    let mut started_over = false;
    let mut backfill_later = Vec::new();
    loop {
        let mut query = vec![("limit", SYNC_PAGE.to_string())];
        if let Some(since) = &token {
            query.push(("since", since.clone()));
        }
        let page: SyncResponse = match shared.api.call(Method::GET, "sync", &query, NO_BODY).await {
            Err(Error::Api { code: ErrorCode::InvalidSyncToken, .. }) if token.is_some() && !started_over => {
                tracing::info!("the server refused the sync token: starting over");
                shared.store.run(|conn| store::clear_sync_token(conn)).await?;
                (token, started_over) = (None, true);
                continue;
            }
            other => other?,
        };
        let first_from_start = token.is_none();
        let has_more = page.has_more;
        let next = page.next.clone();
        let removed = !page.removed_conversation_ids.is_empty();
        let (known_before, overtaken) = (Arc::clone(&known_before), Arc::clone(&shared.overtaken));
        let outcome = shared
            .store
            .transaction(move |conn| {
                // Read under the store's lock: a live write marks its conversation before it waits for it.
                let overtaken = overtaken.lock().ok().and_then(|ids| ids.clone()).unwrap_or_default();
                store::apply_sync_page(conn, &page, first_from_start, &known_before, &overtaken, me)
            })
            .await?;
        shared.changed(Change::Everything);
        if removed || first_from_start {
            shared.store.sweep_outbox_files().await?;
        }
        backfill_later.extend(outcome.backfill);
        token = Some(next);
        if !has_more {
            break;
        }
    }
    backfill_later.sort_unstable();
    backfill_later.dedup();
    for id in backfill_later {
        match backfill(shared, id).await {
            Err(Error::Api { code: ErrorCode::NotFound, .. }) => {}
            other => other?,
        }
    }
    Ok(())
}

/// Keeps `Shared::overtaken` collecting for as long as a catch-up through `/sync` runs, however it ends.
struct Overtaken(Arc<std::sync::Mutex<Option<std::collections::HashSet<Uuid>>>>);

impl Overtaken {
    fn watch(shared: &Shared) -> Overtaken {
        if let Ok(mut ids) = shared.overtaken.lock() {
            *ids = Some(Default::default());
        }
        Overtaken(Arc::clone(&shared.overtaken))
    }
}

impl Drop for Overtaken {
    fn drop(&mut self) {
        if let Ok(mut ids) = self.0.lock() {
            *ids = None;
        }
    }
}

/// Fetches what one conversation is missing: from `synced_seq` on until `has_more` is false (a gap in `seq`),
/// or its newest page when nothing of it is loaded yet (a conversation just joined).
pub(crate) async fn backfill(shared: &Shared, id: Uuid) -> Result<()> {
    let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
    loop {
        let Some(position) = shared.store.run(move |conn| store::sync_position(conn, id)).await? else {
            return Ok(());
        };
        // What changed in the stored messages comes through `/sync`: only new ones are fetched here.
        let (query, kind) = match position.oldest_seq {
            None => (vec![("limit", LATEST_PAGE.to_string())], PageKind::Latest),
            Some(_) => (
                vec![("after_seq", position.synced_seq.to_string()), ("limit", BACKFILL_PAGE.to_string())],
                PageKind::After,
            ),
        };
        let page: MessagePage =
            shared.api.call(Method::GET, &format!("conversations/{id}/messages"), &query, NO_BODY).await?;
        let has_more = page.has_more;
        shared
            .store
            .transaction(move |conn| store::store_page(conn, id, &page.messages, page.has_more, kind, me))
            .await?;
        shared.conversation_changed(id);
        if kind == PageKind::Latest || !has_more {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_catch_up_waits_what_the_server_asked_or_backs_off_and_gives_up_a_refusal() {
        let busy = |retry_after_ms| Error::Api {
            status: 503,
            code: ErrorCode::Unavailable,
            message: "busy".into(),
            retry_after_ms,
        };
        assert_eq!(retry_wait(&busy(Some(3000)), 1), Some(Duration::from_secs(3)));
        assert_eq!(retry_wait(&busy(Some(86_400_000)), 1), Some(reconnect::MAX));
        let backed_off = retry_wait(&busy(None), 4).unwrap_or_default();
        assert!(backed_off >= reconnect::BASE * 4 && backed_off <= reconnect::BASE * 8, "{backed_off:?}");
        assert!(retry_wait(&Error::Network("reset".into()), 1).is_some_and(|wait| wait <= reconnect::BASE));
        let refused =
            Error::Api { status: 400, code: ErrorCode::InvalidInput, message: "no".into(), retry_after_ms: None };
        assert_eq!(retry_wait(&refused, 1), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_capped() {
        for failures in 1..40 {
            let delay = backoff(failures);
            let ceiling = reconnect::BASE.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(reconnect::MAX);
            assert!(delay >= ceiling / 2 && delay <= ceiling, "{failures}: {delay:?} within {ceiling:?}");
        }
    }

    #[test]
    fn a_refusal_with_a_code_this_sdk_does_not_know_is_permanent() {
        let text = r#"{"type": "error", "code": "quiet_hours", "message": "not now", "ref": "c1"}"#;
        assert!(parse(text).is_none(), "the typed frame cannot hold a code newer than this SDK");
        let frame = parse_unknown_error(text).expect("still read as an error frame");
        assert_eq!((frame.code.as_str(), frame.reference.as_deref()), ("quiet_hours", Some("c1")));
        assert_eq!(refusal(&frame.code, Some(100)), Refusal::Failed, "failed, not retried");
        assert!(parse_unknown_error(r#"{"type": "sparkle", "code": "x", "message": ""}"#).is_none());
        // Known codes keep their meaning: passing trouble is retried, refusals are not.
        assert_eq!(refusal("banned_word", None), Refusal::Failed);
    }

    #[test]
    fn rate_limited_slows_the_whole_socket_down_and_server_trouble_only_its_conversation() {
        assert_eq!(refusal("rate_limited", Some(250)), Refusal::SlowDown(Duration::from_millis(250)));
        assert_eq!(refusal("rate_limited", None), Refusal::SlowDown(Duration::from_secs(1)), "a cautious default");
        assert_eq!(refusal("unavailable", Some(50)), Refusal::RetryAfter(SEND_RETRY_AFTER));
        assert_eq!(refusal("internal", None), Refusal::RetryAfter(SEND_RETRY_AFTER));
    }
}
