//! `ConversationActor`: one per active conversation, the single writer for it. It checks membership,
//! persists (the seq is taken in the insert's transaction), acknowledges, then broadcasts, handling one
//! intent at a time so every session sees the conversation's messages in seq order. Typing state lives
//! here, in memory, with its expiry.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use actix::prelude::*;
use hallway_protocol::validate::{ClientMsgId, MessageBody};
use hallway_protocol::ws::ServerFrame;
use hallway_protocol::{ErrorCode, Message};
use uuid::Uuid;

use super::{ConnId, Realtime, Target, encode};
use crate::error::ApiError;
use crate::store::{self, messages::Inserted, messages::NewMessage};

/// Intents queued for one conversation before senders wait (deliveries use `do_send` and never wait).
const MAILBOX_CAPACITY: usize = 4096;
/// How often an actor checks whether it has been idle long enough to stop.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// Where an intent came from: a socket (which gets the `ack`) or a REST call (which gets the answer).
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub user_id: Uuid,
    /// The socket that sent it, if it came over a socket.
    pub conn: Option<ConnId>,
}

/// Send a message. Answers with the message and whether it is new (a repeated `client_msg_id` is not).
#[derive(Message, Clone)]
#[rtype(result = "Result<(Message, bool), ApiError>")]
pub struct SendMessage {
    pub origin: Origin,
    pub client_msg_id: ClientMsgId,
    pub body: MessageBody,
    pub attachment_ids: Vec<Uuid>,
}

/// Start or stop typing.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), ApiError>")]
pub struct SetTyping {
    pub origin: Origin,
    pub typing: bool,
}

/// A socket closed: end any typing state it started.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketClosed {
    pub user_id: Uuid,
    pub conn: ConnId,
}

/// The members changed in the database: reload them before the next intent.
#[derive(Message)]
#[rtype(result = "Result<(), ApiError>")]
pub struct ReloadMembers;

/// Broadcast a frame to every session of every member (for changes whose writer already committed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast {
    pub frame: ServerFrame,
}

/// A user who is typing, and the timer that ends it.
struct Typist {
    conn: ConnId,
    expiry: SpawnHandle,
}

/// The actor of one conversation.
pub struct ConversationActor {
    id: Uuid,
    realtime: Realtime,
    /// The current members, loaded at start and reloaded on `ReloadMembers`; every intent is checked
    /// against it, and every broadcast reaches exactly these users.
    members: HashSet<Uuid>,
    /// Who is typing now; an entry ends when its timer fires, its user sends, stops, or closes the socket.
    typing: HashMap<Uuid, Typist>,
    /// When the last intent arrived; the actor stops after `conversation_idle` without one.
    last_activity: Instant,
}

impl ConversationActor {
    /// An actor for a conversation; the registry starts it on first use.
    pub fn new(id: Uuid, realtime: Realtime) -> ConversationActor {
        ConversationActor {
            id,
            realtime,
            members: HashSet::new(),
            typing: HashMap::new(),
            last_activity: Instant::now(),
        }
    }

    fn check_member(&self, user_id: Uuid) -> Result<(), ApiError> {
        if self.members.contains(&user_id) { Ok(()) } else { Err(ApiError::not_found()) }
    }

    /// Sends a frame to every session of every member, but `except`.
    fn broadcast(&self, frame: &ServerFrame, except: Option<(Uuid, Target)>) {
        let text = encode(frame);
        for member in &self.members {
            let target = match except {
                Some((user, target)) if user == *member => target,
                _ => Target::All,
            };
            self.realtime.deliver(*member, text.clone(), target);
        }
    }

    /// Sends a typing frame to the other members (the typist's own devices do not need it).
    fn broadcast_typing(&self, user_id: Uuid, typing: bool) {
        let text = encode(&ServerFrame::Typing { conversation_id: self.id, user_id, typing });
        for member in self.members.iter().filter(|m| **m != user_id) {
            self.realtime.deliver(*member, text.clone(), Target::All);
        }
    }

    fn stop_typing(&mut self, ctx: &mut Context<Self>, user_id: Uuid) {
        if let Some(typist) = self.typing.remove(&user_id) {
            ctx.cancel_future(typist.expiry);
            self.broadcast_typing(user_id, false);
        }
    }

    fn load_members(&self) -> impl Future<Output = Result<HashSet<Uuid>, sqlx::Error>> + 'static {
        let (db, id) = (self.realtime.db().clone(), self.id);
        async move { store::conversations::member_ids(&db, id).await.map(|ids| ids.into_iter().collect()) }
    }
}

impl Actor for ConversationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        // No intent is handled before the members are known.
        ctx.wait(self.load_members().into_actor(self).map(|loaded, act, ctx| match loaded {
            Ok(members) => act.members = members,
            Err(err) => {
                tracing::error!(conversation = %act.id, error = %err, "could not load members");
                ctx.stop();
            }
        }));
        ctx.run_interval(IDLE_CHECK, |act, ctx| {
            if act.last_activity.elapsed() >= act.realtime.limits().conversation_idle && act.typing.is_empty() {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.realtime.conversation_stopped(self.id, &ctx.address());
    }
}

impl Handler<SendMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Result<(Message, bool), ApiError>>;

    fn handle(&mut self, msg: SendMessage, ctx: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        if let Err(err) = self.check_member(msg.origin.user_id) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(err))));
        }
        self.stop_typing(ctx, msg.origin.user_id);
        let (db, realtime, conversation_id) = (self.realtime.db().clone(), self.realtime.clone(), self.id);
        let persist = async move {
            let new = NewMessage {
                conversation_id,
                sender_id: msg.origin.user_id,
                client_msg_id: &msg.client_msg_id,
                body: &msg.body,
                attachment_ids: &msg.attachment_ids,
            };
            let inserted = store::messages::insert(&db, &new).await?;
            let is_new = matches!(inserted, Inserted::New(_));
            let row = match inserted {
                Inserted::New(row) | Inserted::Existing(row) => row,
            };
            let message = store::messages::to_wire(&db, realtime.keys(), vec![row])
                .await?
                .pop()
                .ok_or(sqlx::Error::RowNotFound)?;
            Ok::<_, ApiError>((message, is_new))
        };
        AtomicResponse::new(Box::pin(persist.into_actor(self).map(move |result, act, _| {
            let (message, is_new) = result?;
            if message.conversation_id != act.id {
                // A retry whose client_msg_id was first used in another conversation: answer the original,
                // as the contract says, without broadcasting anything here.
                return Ok((message, false));
            }
            let origin = msg.origin;
            if let Some(conn) = origin.conn {
                let ack = ServerFrame::Ack { client_msg_id: message.client_msg_id.clone(), message: message.clone() };
                act.realtime.deliver(origin.user_id, encode(&ack), Target::Only(conn));
            }
            if is_new {
                let except = origin.conn.map(|conn| (origin.user_id, Target::Except(conn)));
                act.broadcast(&ServerFrame::Message { message: message.clone() }, except);
            }
            Ok((message, is_new))
        })))
    }
}

impl Handler<SetTyping> for ConversationActor {
    type Result = Result<(), ApiError>;

    fn handle(&mut self, msg: SetTyping, ctx: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        self.check_member(msg.origin.user_id)?;
        let user_id = msg.origin.user_id;
        if !msg.typing {
            self.stop_typing(ctx, user_id);
            return Ok(());
        }
        let conn = msg.origin.conn.ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "typing needs a socket"))?;
        let expiry = ctx.run_later(self.realtime.limits().typing_expiry, move |act, _| {
            if act.typing.remove(&user_id).is_some() {
                act.broadcast_typing(user_id, false);
            }
        });
        match self.typing.insert(user_id, Typist { conn, expiry }) {
            // Still typing: the refresh only moves the expiry.
            Some(previous) => {
                ctx.cancel_future(previous.expiry);
            }
            None => self.broadcast_typing(user_id, true),
        }
        Ok(())
    }
}

impl Handler<SocketClosed> for ConversationActor {
    type Result = ();

    fn handle(&mut self, msg: SocketClosed, ctx: &mut Self::Context) {
        if self.typing.get(&msg.user_id).is_some_and(|t| t.conn == msg.conn) {
            self.stop_typing(ctx, msg.user_id);
        }
    }
}

impl Handler<ReloadMembers> for ConversationActor {
    type Result = AtomicResponse<Self, Result<(), ApiError>>;

    fn handle(&mut self, _: ReloadMembers, _: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        AtomicResponse::new(Box::pin(self.load_members().into_actor(self).map(|loaded, act, ctx| {
            let members = loaded?;
            let gone: Vec<Uuid> = act.typing.keys().filter(|u| !members.contains(u)).copied().collect();
            act.members = members;
            for user_id in gone {
                act.stop_typing(ctx, user_id);
            }
            Ok(())
        })))
    }
}

impl Handler<Broadcast> for ConversationActor {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _: &mut Self::Context) {
        self.last_activity = Instant::now();
        self.broadcast(&msg.frame, None);
    }
}
