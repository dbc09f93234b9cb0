//! `UserActor`: one per connected user, across all of that user's devices. Fans frames out to the user's
//! sessions, announces presence to the people the user shares conversations with, and closes a session
//! that falls too far behind rather than letting its queue grow.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use actix_web_actors::ws::CloseCode;
use hallway_protocol::ws::ServerFrame;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ConnId, FrameText, Realtime, SessionFilter, Target, encode};

/// What a user actor sends to one session.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum Outgoing {
    Frame(FrameText),
    /// Close the socket with this code and reason.
    Close(CloseCode, &'static str),
}

/// A session opened: from now on it gets the user's frames.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Connect {
    pub conn_id: ConnId,
    /// The sign-in session (device) the socket was opened with.
    pub auth_session: Uuid,
    pub recipient: Recipient<Outgoing>,
    /// Frames sent to the session and not yet written by it; shared with the session, which decrements it.
    pub pending: Arc<AtomicUsize>,
}

/// A session closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub conn_id: ConnId,
}

/// A frame for some of the user's sessions.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub frame: FrameText,
    pub target: Target,
}

/// Close some of the user's sessions.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSessions {
    pub which: SessionFilter,
    pub reason: &'static str,
}

/// A socket that is closing (the server shuts down, or the socket misbehaved) has its answers: close it with
/// this code and reason after the frames queued for it here, so that the close follows every `ack`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseAfterAnswers {
    pub conn_id: ConnId,
    pub code: CloseCode,
    pub reason: &'static str,
}

/// One open socket of the user.
struct SessionEntry {
    auth_session: Uuid,
    recipient: Recipient<Outgoing>,
    pending: Arc<AtomicUsize>,
}

/// The actor of one connected user.
pub struct UserActor {
    user_id: Uuid,
    realtime: Realtime,
    /// The user's open sockets. Empty only between the last socket closing and the debounced offline notice.
    sessions: HashMap<ConnId, SessionEntry>,
    /// The pending offline notice, cancelled if a socket opens again within the debounce time.
    offline_timer: Option<SpawnHandle>,
}

impl UserActor {
    /// A user actor; the registry starts it when the user's first socket opens.
    pub fn new(user_id: Uuid, realtime: Realtime) -> UserActor {
        UserActor { user_id, realtime, sessions: HashMap::new(), offline_timer: None }
    }

    /// Tells the user's online contacts that the user came or went. Runs detached from the actor, so the
    /// offline notice still goes out when the actor stops right after sending it.
    fn announce(&self, online: bool) {
        let (db, realtime, user_id) = (self.realtime.db().clone(), self.realtime.clone(), self.user_id);
        let last_seen_at = OffsetDateTime::now_utc();
        actix::spawn(async move {
            if !online {
                let _ = sqlx::query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(last_seen_at)
                    .execute(&db)
                    .await;
            }
            let frame =
                encode(&ServerFrame::Presence { user_id, online, last_seen_at: (!online).then_some(last_seen_at) });
            match contacts(&db, user_id).await {
                Ok(contacts) => {
                    for contact in contacts.into_iter().filter(|c| realtime.is_connected(*c)) {
                        realtime.deliver(contact, frame.clone(), Target::All);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "could not load contacts for presence"),
            }
        });
    }

    /// Tells a newly opened session which of the user's contacts are online now.
    fn send_presence_snapshot(&self, ctx: &mut Context<Self>, conn_id: ConnId) {
        let (db, realtime, user_id) = (self.realtime.db().clone(), self.realtime.clone(), self.user_id);
        ctx.spawn(
            async move {
                let contacts = contacts(&db, user_id).await.unwrap_or_default();
                for contact in contacts.into_iter().filter(|c| realtime.is_connected(*c)) {
                    let frame = encode(&ServerFrame::Presence { user_id: contact, online: true, last_seen_at: None });
                    realtime.deliver(user_id, frame, Target::Only(conn_id));
                }
            }
            .into_actor(self),
        );
    }

    fn session_gone(&mut self, ctx: &mut Context<Self>) {
        if !self.sessions.is_empty() || self.offline_timer.is_some() {
            return;
        }
        let debounce = self.realtime.limits().presence_debounce;
        self.offline_timer = Some(ctx.run_later(debounce, |act, ctx| {
            act.offline_timer = None;
            if act.sessions.is_empty() {
                act.announce(false);
                ctx.stop();
            }
        }));
    }
}

/// Everyone who shares a conversation with the user.
async fn contacts(db: &sqlx::PgPool, user_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT other.user_id FROM conversation_members mine
         JOIN conversation_members other ON other.conversation_id = mine.conversation_id
         WHERE mine.user_id = $1 AND other.user_id <> $1",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

impl Actor for UserActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        self.realtime.metrics().user_actors.inc();
        self.announce(true);
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.realtime.metrics().user_actors.dec();
        for (_, session) in self.sessions.drain() {
            self.realtime.session_closed(session.auth_session);
        }
        self.realtime.user_stopped(self.user_id, &ctx.address());
    }
}

impl Handler<Connect> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: Connect, ctx: &mut Self::Context) {
        if let Some(timer) = self.offline_timer.take() {
            ctx.cancel_future(timer);
        }
        self.realtime.session_opened(msg.auth_session);
        let entry = SessionEntry { auth_session: msg.auth_session, recipient: msg.recipient, pending: msg.pending };
        if let Some(replaced) = self.sessions.insert(msg.conn_id, entry) {
            self.realtime.session_closed(replaced.auth_session);
        }
        self.send_presence_snapshot(ctx, msg.conn_id);
    }
}

impl Handler<Disconnect> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, ctx: &mut Self::Context) {
        if let Some(session) = self.sessions.remove(&msg.conn_id) {
            self.realtime.session_closed(session.auth_session);
        }
        self.session_gone(ctx);
    }
}

impl Handler<Deliver> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        let max_pending = self.realtime.limits().max_pending_frames;
        let mut behind = Vec::new();
        for (conn_id, session) in &self.sessions {
            if !msg.target.includes(*conn_id) {
                continue;
            }
            if session.pending.fetch_add(1, Ordering::Relaxed) >= max_pending {
                behind.push(*conn_id);
            } else {
                session.recipient.do_send(Outgoing::Frame(msg.frame.clone()));
            }
        }
        for conn_id in behind {
            if let Some(session) = self.sessions.remove(&conn_id) {
                self.realtime.session_closed(session.auth_session);
                tracing::info!(user = %self.user_id, conn = %conn_id, "closing a session that fell too far behind");
                session.recipient.do_send(Outgoing::Close(CloseCode::Again, "too far behind: reconnect and catch up"));
            }
        }
        self.session_gone(ctx);
    }
}

impl Handler<CloseSessions> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: CloseSessions, ctx: &mut Self::Context) {
        let closing: Vec<ConnId> =
            self.sessions.iter().filter(|(_, s)| msg.which.includes(s.auth_session)).map(|(id, _)| *id).collect();
        for conn_id in closing {
            if let Some(session) = self.sessions.remove(&conn_id) {
                self.realtime.session_closed(session.auth_session);
                session.recipient.do_send(Outgoing::Close(CloseCode::Policy, msg.reason));
            }
        }
        self.session_gone(ctx);
    }
}

impl Handler<CloseAfterAnswers> for UserActor {
    type Result = ();

    fn handle(&mut self, msg: CloseAfterAnswers, _: &mut Self::Context) {
        // A session no longer here was already told to close (it fell behind).
        if let Some(session) = self.sessions.get(&msg.conn_id) {
            session.recipient.do_send(Outgoing::Close(msg.code, msg.reason));
        }
    }
}
