//! `WsSession`: one per WebSocket connection. Parses and validates frames, keeps the heartbeat, applies the
//! per-session rate limits, forwards intents to the conversation actors, and writes what its user actor
//! sends it. It holds nothing that a restart would miss.
//!
//! When the server shuts down (`lifecycle`), a session refuses new frames with `unavailable`, waits for the
//! answer to every frame it already forwarded, and then closes with 1001 Going Away through its user actor, so
//! the close comes after the `ack`s that actor still holds: no admitted frame is left without an answer. A
//! session closed for misbehaving (1008) does the same, taking no new frame meanwhile.

use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, CloseReason, ProtocolError};
use bytes::BytesMut;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter, clock::Clock};
use hallway_protocol::messages::SendMessageRequest;
use hallway_protocol::validate::Emoji;
use hallway_protocol::ws::{ClientFrame, ServerFrame};
use hallway_protocol::{ErrorCode, User};
use tokio_util::task::task_tracker::TaskTrackerToken;
use uuid::Uuid;

use super::conversation::{
    ConversationActor, DeleteMessage, EditMessage, MarkRead, Origin, React, SendMessage, SetTyping, SocketClosed,
};
use super::user::{CloseAfterAnswers, Connect, Disconnect, Outgoing};
use super::{ConnId, Realtime, encode};
use crate::error::ApiError;
use crate::messaging;
use crate::store::supervisor::DatabaseHealth;
use crate::store::users::UserRow;

/// Largest frame (or message assembled from continuation frames) a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Errors a session may earn within `ERROR_WINDOW` before it is closed for misbehaving.
const MAX_ERRORS: usize = 30;
const ERROR_WINDOW: Duration = Duration::from_secs(60);
/// Typing frames allowed in a burst, beyond the sustained rate.
const TYPING_BURST: u32 = 5;

/// The actor of one WebSocket connection.
pub struct WsSession {
    conn_id: ConnId,
    /// The user as clients see them (for `hello`).
    user: User,
    /// The user as stored when the socket opened (the policy of direct chats looks at role and status).
    user_row: UserRow,
    /// The sign-in session (device) whose token opened the socket: signing that device out closes it.
    auth_session: Uuid,
    realtime: Realtime,
    /// When the client was last heard from (any frame, pong included); silence past the timeout drops it.
    last_heard: Instant,
    /// Frames the user actor sent that this session has not written yet (the user actor cuts the session
    /// off when it grows past the limit).
    pending: Arc<AtomicUsize>,
    sends: DefaultDirectRateLimiter,
    /// Change frames (`react`, `edit`, `delete`, `read`): the same quota as sends, a bucket of their own.
    changes: DefaultDirectRateLimiter,
    typing_limit: DefaultDirectRateLimiter,
    /// When recent errors were sent; too many in the window closes the socket.
    recent_errors: VecDeque<Instant>,
    /// When the last `rate_limited` told the client it may try again: a frame refused `rate_limited` after
    /// that moment came from a client that waited as told, and does not count as an error.
    retry_allowed_at: Option<Instant>,
    /// Conversations where this socket's user is typing, so closing the socket ends those typing states.
    typing_in: HashSet<Uuid>,
    /// A text message being assembled from continuation frames.
    partial: Option<BytesMut>,
    /// While the database does not answer, frames that need it are refused at once (not counted as misbehaving).
    database: DatabaseHealth,
    /// Frames forwarded to the actors whose answer has not come back yet.
    in_flight: usize,
    /// The server is shutting down: new frames are refused, and the socket closes once `in_flight` is 0.
    going_away: bool,
    /// The socket earned too many errors: new frames are not admitted (nor answered), and the socket closes
    /// with 1008 once `in_flight` is 0.
    misbehaving: bool,
    /// The close (1001 or 1008) was asked of the user actor (once).
    close_requested: bool,
    /// Held while the socket is open: the server waits for every one before it stops its HTTP workers.
    _open: TaskTrackerToken,
}

impl WsSession {
    /// A session for an authenticated user.
    pub fn new(user_row: UserRow, auth_session: Uuid, realtime: Realtime, database: DatabaseHealth) -> WsSession {
        let limits = realtime.limits();
        let per_sec = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let sends = Quota::per_second(per_sec(limits.sends_per_sec)).allow_burst(per_sec(limits.send_burst));
        let typing = Quota::per_second(per_sec(limits.typing_per_sec)).allow_burst(per_sec(TYPING_BURST));
        let open = realtime.background().open_socket();
        WsSession {
            conn_id: Uuid::now_v7(),
            user: crate::views::user(&user_row),
            user_row,
            auth_session,
            last_heard: Instant::now(),
            pending: Arc::new(AtomicUsize::new(0)),
            sends: RateLimiter::direct(sends),
            changes: RateLimiter::direct(sends),
            typing_limit: RateLimiter::direct(typing),
            recent_errors: VecDeque::new(),
            retry_allowed_at: None,
            typing_in: HashSet::new(),
            partial: None,
            realtime,
            database,
            in_flight: 0,
            going_away: false,
            misbehaving: false,
            close_requested: false,
            _open: open,
        }
    }

    fn origin(&self) -> Origin {
        Origin { user_id: self.user.id, conn: Some(self.conn_id), session: Some(self.auth_session) }
    }

    fn send_frame(&self, ctx: &mut ws::WebsocketContext<Self>, frame: &ServerFrame) {
        self.realtime.metrics().frames_out.inc();
        ctx.text(&*encode(frame));
    }

    /// Refuses a frame with an `error` frame; a session that keeps misbehaving is closed.
    fn refuse(&mut self, ctx: &mut ws::WebsocketContext<Self>, error: &ApiError, reference: Option<String>) {
        error.log();
        self.send_frame(ctx, &error_frame(error, reference));
        // `unavailable` is the server's trouble (its database lost, say): a client told to wait did nothing wrong.
        if error.code() == ErrorCode::Unavailable {
            return;
        }
        let now = Instant::now();
        if let ApiError::Client { code: ErrorCode::RateLimited, retry_after_ms: Some(wait), .. } = error {
            let waited = self.retry_allowed_at.is_none_or(|allowed| now >= allowed);
            self.retry_allowed_at = Some(now + Duration::from_millis(*wait));
            if waited {
                // The client waited as the last refusal told it (or was never told): slowing it down is the
                // whole answer. Only frames sent before that wait was over count towards the 1008 close.
                return;
            }
        }
        self.recent_errors.push_back(now);
        while self.recent_errors.front().is_some_and(|t| now.duration_since(*t) > ERROR_WINDOW) {
            self.recent_errors.pop_front();
        }
        // The 1008 close, like the 1001 of a shutdown, comes once every admitted frame has its answer.
        if self.recent_errors.len() > MAX_ERRORS && !self.misbehaving {
            self.misbehaving = true;
            self.close_if_drained(ctx);
        }
    }

    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, code: CloseCode, reason: &str) {
        ctx.close(Some(CloseReason { code, description: Some(reason.to_owned()) }));
        ctx.stop();
    }

    fn rate_limited(&self, limiter: &DefaultDirectRateLimiter) -> Option<ApiError> {
        limiter.check().err().map(|not_until| {
            self.realtime.metrics().rate_limited_socket.inc();
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ApiError::rate_limited_ms(wait.as_millis().max(1) as u64)
        })
    }

    fn handle_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        self.realtime.metrics().frames_in.inc();
        let frame = match parse_client_frame(text) {
            Ok(frame) => frame,
            Err((error, reference)) => return self.refuse(ctx, &error, reference),
        };
        let reference = frame.reference().map(str::to_owned);
        if self.going_away && !matches!(frame, ClientFrame::Ping { .. }) {
            // Not admitted: answered at once, so the client resends it after reconnecting.
            return self.send_frame(ctx, &error_frame(&ApiError::shutting_down(), reference));
        }
        if self.database.is_down() && !matches!(frame, ClientFrame::Ping { .. } | ClientFrame::Typing { .. }) {
            // The client did nothing wrong: told to wait, it is not counted towards a misbehaving close.
            return self.send_frame(ctx, &error_frame(&ApiError::database_unavailable(), reference));
        }
        if let Err(error) = self.dispatch(frame, ctx) {
            self.refuse(ctx, &error, reference);
        }
    }

    /// Acts on one valid frame; answers that come later (acks, errors from actors) are sent when they arrive.
    fn dispatch(&mut self, frame: ClientFrame, ctx: &mut ws::WebsocketContext<Self>) -> Result<(), ApiError> {
        match frame {
            ClientFrame::Ping { .. } => self.send_frame(ctx, &ServerFrame::Pong),
            ClientFrame::Send { client_msg_id, conversation_id, body, attachment_ids, urgent, .. } => {
                if let Some(limited) = self.rate_limited(&self.sends) {
                    return Err(limited);
                }
                let request = SendMessageRequest { client_msg_id, body, attachment_ids, urgent };
                let outgoing = messaging::Outgoing::parse(&request)?;
                let reference = Some(outgoing.client_msg_id.as_str().to_owned());
                self.typing_in.remove(&conversation_id);
                let request = SendMessage { origin: self.origin(), sender: self.user_row.clone(), outgoing };
                let (realtime, user_id, arrived) = (self.realtime.clone(), self.user.id, Instant::now());
                let answer = async move {
                    let answer = realtime.ask_as_member(user_id, conversation_id, request).await;
                    if answer.is_ok() {
                        // The conversation actor answers once the message is durable and its ack handed on.
                        realtime.metrics().send_to_ack.observe(arrived.elapsed().as_secs_f64());
                    }
                    answer
                };
                self.forward(ctx, answer, reference);
            }
            ClientFrame::Typing { conversation_id, typing, reference } => {
                if typing && let Some(limited) = self.rate_limited(&self.typing_limit) {
                    return Err(limited);
                }
                if typing {
                    self.typing_in.insert(conversation_id);
                } else {
                    self.typing_in.remove(&conversation_id);
                }
                let (realtime, request) = (self.realtime.clone(), SetTyping { origin: self.origin(), typing });
                let user_id = self.user.id;
                let ask = async move { realtime.ask_as_member(user_id, conversation_id, request).await };
                self.forward(ctx, ask, reference);
            }
            ClientFrame::Read { conversation_id, seq, reference } => {
                if let Some(limited) = self.rate_limited(&self.changes) {
                    return Err(limited);
                }
                let request = MarkRead { origin: self.origin(), seq };
                let (realtime, user_id) = (self.realtime.clone(), self.user.id);
                let ask = async move { realtime.ask_as_member(user_id, conversation_id, request).await };
                self.forward(ctx, ask, reference);
            }
            ClientFrame::React { .. } | ClientFrame::Edit { .. } | ClientFrame::Delete { .. }
                if let Some(limited) = self.rate_limited(&self.changes) =>
            {
                return Err(limited);
            }
            ClientFrame::React { message_id, emoji, on, reference } => {
                let emoji = Emoji::parse(&emoji)?;
                let request = React { origin: self.origin(), message_id, emoji, on };
                self.change_message(ctx, message_id, request, reference);
            }
            ClientFrame::Edit { message_id, body, reference } => {
                let request = EditMessage { origin: self.origin(), message_id, body };
                self.change_message(ctx, message_id, request, reference);
            }
            ClientFrame::Delete { message_id, reference } => {
                let request = DeleteMessage { origin: self.origin(), message_id };
                self.change_message(ctx, message_id, request, reference);
            }
        }
        Ok(())
    }

    /// Asks the actor of the message's conversation to change it.
    fn change_message<M>(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        message_id: Uuid,
        request: M,
        reference: Option<String>,
    ) where
        M: actix::Message<Result = Result<hallway_protocol::Message, ApiError>> + Send + Clone + 'static,
        ConversationActor: actix::Handler<M>,
    {
        let (realtime, user_id) = (self.realtime.clone(), self.user.id);
        self.forward(ctx, async move { realtime.ask_about_message(user_id, message_id, request).await }, reference);
    }

    /// Waits for an actor's answer to an intent and turns a refusal into an `error` frame carrying the frame's
    /// `ref` (`unavailable` at once if the database goes down meanwhile). Answers that succeed reach the socket as frames from the actors (`ack`, broadcasts).
    fn forward<T: 'static>(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        answer: impl Future<Output = Result<T, ApiError>> + 'static,
        reference: Option<String>,
    ) {
        self.in_flight += 1;
        let database = self.database.clone();
        let answer =
            async move { database.unless_down(answer).await.unwrap_or_else(|| Err(ApiError::database_unavailable())) };
        ctx.spawn(answer.into_actor(self).map(move |result, act, ctx| {
            act.in_flight -= 1;
            if let Err(error) = result {
                act.refuse(ctx, &error, reference);
            }
            act.close_if_drained(ctx);
        }));
    }

    /// The server is shutting down: refuse what comes next, and close once what was admitted is answered.
    fn go_away(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.going_away = true;
        self.close_if_drained(ctx);
    }

    /// Closes once shutting down (1001) or misbehaving (1008) and every forwarded frame is answered. The close
    /// goes through the user actor, behind the `ack`s it may still hold for this socket (an actor's answer
    /// reaches the session before the ack it handed the user actor reaches the socket).
    fn close_if_drained(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let (code, reason) = if self.going_away {
            (CloseCode::Away, SHUTTING_DOWN)
        } else if self.misbehaving {
            (CloseCode::Policy, MISBEHAVING)
        } else {
            return;
        };
        if self.in_flight > 0 || self.close_requested {
            return;
        }
        self.close_requested = true;
        match self.realtime.user(self.user.id) {
            Some(user) => user.do_send(CloseAfterAnswers { conn_id: self.conn_id, code, reason }),
            None => self.close(ctx, code, reason),
        }
    }
}

/// The reason of the 1001 close when the server shuts down.
pub const SHUTTING_DOWN: &str = "the server is shutting down: reconnect";
/// The reason of the 1008 close of a socket that earned more than `MAX_ERRORS` errors within `ERROR_WINDOW`.
pub const MISBEHAVING: &str = "too many refused frames";

/// Reads one text frame from a client: JSON, the text-input rule on every string before anything reads it,
/// then the frame's shape. A refusal carries the frame's `ref` when it had one, for the `error` frame. Kept
/// apart from the session (which holds no state it needs) so `fuzz/` drives exactly this code.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, (ApiError, Option<String>)> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => return Err((ApiError::new(ErrorCode::InvalidJson, "the frame is not valid JSON"), None)),
    };
    let reference = value.get("ref").and_then(|r| r.as_str()).map(str::to_owned);
    if let Err(invalid) = hallway_protocol::validate::check_json_text(&value) {
        return Err((ApiError::from(invalid), reference));
    }
    serde_json::from_value(value)
        .map_err(|err| (ApiError::new(ErrorCode::InvalidInput, format!("frame: {err}")), reference))
}

/// The `error` frame that refuses a client frame.
fn error_frame(error: &ApiError, reference: Option<String>) -> ServerFrame {
    let retry_after_ms = error.retry_after_ms();
    ServerFrame::Error { code: error.code(), message: error.public_message(), reference, retry_after_ms }
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.realtime.metrics().sockets_open.inc();
        self.send_frame(ctx, &ServerFrame::Hello { session_id: self.conn_id, user: self.user.clone() });
        let limits = self.realtime.limits().clone();
        ctx.run_interval(limits.heartbeat_interval, move |act, ctx| {
            if act.last_heard.elapsed() > limits.client_timeout {
                act.close(ctx, CloseCode::Away, "no pong or frame for too long");
            } else {
                ctx.ping(b"");
            }
        });
        let connect = Connect {
            conn_id: self.conn_id,
            auth_session: self.auth_session,
            recipient: ctx.address().recipient(),
            pending: self.pending.clone(),
        };
        let realtime = self.realtime.clone();
        let user_id = self.user.id;
        // Registration waits for the user actor, so no frame meant for this socket is missed after `hello`.
        ctx.wait(
            async move {
                match realtime.user_or_start(user_id).send(connect.clone()).await {
                    Ok(()) => Ok(()),
                    // The user actor was stopping: a fresh one takes the socket.
                    Err(_) => realtime.user_or_start(user_id).send(connect).await,
                }
            }
            .into_actor(self)
            .map(|result, act, ctx| {
                if result.is_err() {
                    act.close(ctx, CloseCode::Error, "could not register the connection");
                }
            }),
        );
        // A socket opened while the server is already stopping closes at once (after `hello`).
        let going_away = self.realtime.background().going_away().clone().cancelled_owned();
        ctx.spawn(going_away.into_actor(self).map(|(), act, ctx| act.go_away(ctx)));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.realtime.metrics().sockets_open.dec();
        if let Some(user) = self.realtime.user(self.user.id) {
            user.do_send(Disconnect { conn_id: self.conn_id });
        }
        for conversation_id in self.typing_in.drain() {
            self.realtime
                .conversation(conversation_id)
                .do_send(SocketClosed { user_id: self.user.id, conn: self.conn_id });
        }
    }
}

impl Handler<Outgoing> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Outgoing, ctx: &mut Self::Context) {
        match msg {
            Outgoing::Frame(text) => {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                self.realtime.metrics().frames_out.inc();
                ctx.text(&*text);
            }
            Outgoing::Close(code, reason) => self.close(ctx, code, reason),
        }
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        let message = match item {
            Ok(message) => message,
            Err(ProtocolError::Overflow) => {
                return self.close(ctx, CloseCode::Size, "frame larger than 64 KiB");
            }
            Err(err) => {
                tracing::debug!(error = %err, "WebSocket protocol error");
                return self.close(ctx, CloseCode::Protocol, "protocol error");
            }
        };
        if self.misbehaving
            && matches!(message, ws::Message::Text(_) | ws::Message::Binary(_) | ws::Message::Continuation(_))
        {
            // Not admitted, and not answered either: the socket closes once what it admitted is answered, and a
            // refusal would only feed the misbehaviour. A client resends what was not acknowledged.
            return;
        }
        match message {
            ws::Message::Text(text) => self.handle_text(&text, ctx),
            ws::Message::Ping(bytes) => ctx.pong(&bytes),
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Binary(_) => {
                let error = ApiError::new(ErrorCode::InvalidInput, "binary frames are not supported: send JSON text");
                self.refuse(ctx, &error, None);
            }
            ws::Message::Continuation(item) => self.continuation(item, ctx),
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
        }
    }
}

impl WsSession {
    /// Assembles a fragmented message, holding it to the same 64 KiB limit as a single frame.
    fn continuation(&mut self, item: actix_http::ws::Item, ctx: &mut ws::WebsocketContext<Self>) {
        let (bytes, last) = match item {
            actix_http::ws::Item::FirstText(bytes) => {
                self.partial = Some(BytesMut::new());
                (bytes, false)
            }
            actix_http::ws::Item::FirstBinary(_) => {
                self.partial = None;
                let error = ApiError::new(ErrorCode::InvalidInput, "binary frames are not supported: send JSON text");
                return self.refuse(ctx, &error, None);
            }
            actix_http::ws::Item::Continue(bytes) => (bytes, false),
            actix_http::ws::Item::Last(bytes) => (bytes, true),
        };
        let Some(buffer) = self.partial.as_mut() else { return };
        if buffer.len() + bytes.len() > MAX_FRAME_BYTES {
            self.partial = None;
            return self.close(ctx, CloseCode::Size, "message larger than 64 KiB");
        }
        buffer.extend_from_slice(&bytes);
        if last && let Some(buffer) = self.partial.take() {
            match std::str::from_utf8(&buffer) {
                Ok(text) => self.handle_text(text, ctx),
                Err(_) => self.close(ctx, CloseCode::Invalid, "text is not UTF-8"),
            }
        }
    }
}
