//! `ConversationActor`: one per active conversation, the single writer for it. It checks membership,
//! persists (the seq is taken in the insert's transaction), acknowledges, then broadcasts, handling one
//! intent at a time so every session sees the conversation's messages in seq order. Typing state lives
//! here, in memory, with its expiry.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use actix::prelude::*;
use hallway_protocol::validate::{Emoji, GroupName};
use hallway_protocol::ws::ServerFrame;
use hallway_protocol::{Conversation, ConversationKind, ErrorCode, Message};
use uuid::Uuid;

use super::{ConnId, Realtime, Target, encode};
use crate::announcements;
use crate::error::ApiError;
use crate::groups::{self, GroupChange};
use crate::messaging::{self, Outgoing, Sent};
use crate::notify::MessageChange;
use crate::store::conversations::SettingsChange;
use crate::store::{self, users::UserRow};
use crate::views::conversations as views;

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
    /// The sign-in session (device) it came from: a read there needs no push to that device.
    pub session: Option<Uuid>,
}

/// Send a message. Answers with the message and whether it is new (a repeated `client_msg_id` is not).
#[derive(Message, Clone)]
#[rtype(result = "Result<Sent, ApiError>")]
pub struct SendMessage {
    pub origin: Origin,
    /// The sender as stored (role and status matter to the policy of direct chats).
    pub sender: UserRow,
    pub outgoing: Outgoing,
}

/// Replace the text of one's own message; answers the message as it now stands.
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, ApiError>")]
pub struct EditMessage {
    pub origin: Origin,
    pub message_id: Uuid,
    pub body: String,
}

/// Delete a message: one's own, or anyone's as a group admin.
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, ApiError>")]
pub struct DeleteMessage {
    pub origin: Origin,
    pub message_id: Uuid,
}

/// A school admin deletes any message (moderation): the origin need not be a member; the admin endpoints
/// check the role and audit it.
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, ApiError>")]
pub struct ModeratorDelete {
    pub origin: Origin,
    pub message_id: Uuid,
}

/// Put a reaction on a message, or take it off.
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, ApiError>")]
pub struct React {
    pub origin: Origin,
    pub message_id: Uuid,
    pub emoji: Emoji,
    pub on: bool,
}

/// Move one's read marker forward; answers where it now stands (it never moves back).
#[derive(Message, Clone)]
#[rtype(result = "Result<i64, ApiError>")]
pub struct MarkRead {
    pub origin: Origin,
    pub seq: i64,
}

/// Acknowledge a message (contract 1.1); its sender and the conversation's admins hear of it.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), ApiError>")]
pub struct Acknowledge {
    pub origin: Origin,
    pub message_id: Uuid,
}

/// Who may ask for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// A member of the conversation.
    Member,
    /// Anyone the caller let through (moderation: the admin endpoints check the role).
    Anyone,
}

/// Whom a change's frame goes to.
enum Audience {
    /// Every session of every member.
    Members,
    /// Every session of these members only.
    Only(Vec<Uuid>),
}

/// What a change to something in the conversation did: the frame to send (none when nothing changed), to
/// whom, and the answer to its asker.
struct Published<T> {
    frame: Option<ServerFrame>,
    audience: Audience,
    answer: T,
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

/// A conversation was just created (before there was an actor to write it): send every member with a socket
/// their own view of it as a `conversation` frame, and tell them who of the others is online.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), ApiError>")]
pub struct ConversationCreated {
    pub members: Vec<Uuid>,
}

/// Rename a group (its admins only). Like every change to a group's shape (see `groups`), it is committed,
/// then the members are reloaded and told (each their own `conversation` view, the people removed
/// `conversation_removed`) before the actor's next intent, so nothing sent after a removal reaches the person
/// removed. Answers the caller's view of the group.
#[derive(Message, Clone)]
#[rtype(result = "Result<Conversation, ApiError>")]
pub struct RenameGroup {
    pub origin: Origin,
    /// The caller as stored (their role decides whom they may add).
    pub caller: UserRow,
    pub name: GroupName,
}

/// Add people to a group (its admins only; each someone the adder may message). Answers the caller's view.
#[derive(Message, Clone)]
#[rtype(result = "Result<Conversation, ApiError>")]
pub struct AddMembers {
    pub origin: Origin,
    pub caller: UserRow,
    pub user_ids: Vec<Uuid>,
}

/// Take someone else out of a group (its admins only). Answers the caller's view.
#[derive(Message, Clone)]
#[rtype(result = "Result<Conversation, ApiError>")]
pub struct RemoveMember {
    pub origin: Origin,
    pub caller: UserRow,
    pub user_id: Uuid,
}

/// Leave a group.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), ApiError>")]
pub struct LeaveGroup {
    pub origin: Origin,
    pub caller: UserRow,
}

/// Make a member a group admin (its admins only). Answers the caller's view.
#[derive(Message, Clone)]
#[rtype(result = "Result<Conversation, ApiError>")]
pub struct PromoteAdmin {
    pub origin: Origin,
    pub caller: UserRow,
    pub user_id: Uuid,
}

/// A member changes their own mute, pin or archive settings; their sessions get their new view of it, which
/// is also the answer.
#[derive(Message, Clone)]
#[rtype(result = "Result<Conversation, ApiError>")]
pub struct UpdateSettings {
    pub origin: Origin,
    pub change: SettingsChange,
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
    /// The current members, loaded at start and reloaded after every change to the group's shape; every intent is checked
    /// against it, and every broadcast reaches exactly these users.
    members: HashSet<Uuid>,
    /// Direct or group, loaded with the members; it never changes. `None` when the conversation does not exist.
    kind: Option<ConversationKind>,
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
            kind: None,
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

    /// Sends a new message to every session of every member but the sender's socket that sent it (which gets
    /// the `ack`), and records, for receipts, which members' sessions were handed it.
    fn broadcast_message(&self, message: &Message, except: Option<(Uuid, Target)>) {
        let text = encode(&ServerFrame::Message { message: message.clone() });
        let mut handed = Vec::new();
        for member in &self.members {
            let target = match except {
                Some((user, target)) if user == *member => target,
                _ => Target::All,
            };
            if self.realtime.deliver(*member, text.clone(), target) && *member != message.sender_id {
                handed.push(*member);
            }
        }
        self.realtime.deliveries().record(self.id, message.seq, handed);
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

    /// Presence for people who just joined: each learns which of the other members are online, and the
    /// members already there learn whether each of them is (sockets opened earlier only heard of the contacts
    /// the user had then).
    fn introduce(&self, joined: &[Uuid]) {
        let realtime = &self.realtime;
        let online = |user_id: Uuid| encode(&ServerFrame::Presence { user_id, online: true, last_seen_at: None });
        let joined: Vec<Uuid> = joined.iter().copied().filter(|u| self.members.contains(u)).collect();
        for joiner in joined.iter().copied().filter(|u| realtime.is_connected(*u)) {
            for other in self.members.iter().copied().filter(|m| *m != joiner && realtime.is_connected(*m)) {
                realtime.deliver(joiner, online(other), Target::All);
                if !joined.contains(&other) {
                    realtime.deliver(other, online(joiner), Target::All);
                }
            }
        }
    }

    /// Runs a change to something in the conversation (once `user_id` passed `need`), then sends its frame to
    /// its audience, before the actor takes its next intent.
    fn change<T: 'static>(
        &mut self,
        user_id: Uuid,
        need: Need,
        work: impl Future<Output = Result<Published<T>, ApiError>> + 'static,
    ) -> AtomicResponse<Self, Result<T, ApiError>> {
        self.last_activity = Instant::now();
        if need == Need::Member
            && let Err(err) = self.check_member(user_id)
        {
            return AtomicResponse::new(Box::pin(fut::ready(Err(err))));
        }
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|published, act, _| {
            let Published { frame, audience, answer } = published?;
            match (frame, audience) {
                (None, _) => {}
                (Some(frame), Audience::Members) => act.broadcast(&frame, None),
                (Some(frame), Audience::Only(users)) => {
                    let text = encode(&frame);
                    for user_id in users.into_iter().filter(|u| act.members.contains(u)) {
                        act.realtime.deliver(user_id, text.clone(), Target::All);
                    }
                }
            }
            Ok(answer)
        })))
    }

    /// Applies a change to the group's shape (`groups::apply`), reloads the members, and sends each member their
    /// view (or `conversation_removed`), all before the next intent. Answers the caller's view, `None` once they
    /// left.
    fn change_group(
        &mut self,
        origin: Origin,
        caller: UserRow,
        change: GroupChange,
    ) -> ResponseActFuture<Self, Result<Option<Conversation>, ApiError>> {
        self.last_activity = Instant::now();
        if let Err(err) = self.check_member(origin.user_id) {
            return Box::pin(fut::ready(Err(err)));
        }
        let (realtime, id, policy) = (self.realtime.clone(), self.id, self.realtime.policy());
        let reload = self.load_members();
        let work = async move {
            let applied = groups::apply(realtime.db(), &policy, &caller, id, &change).await?;
            let members = reload.await?;
            // Every member's view in one batched pass: those with a socket get it as a frame, and the caller's
            // is the answer.
            let mut viewers: Vec<Uuid> = members.iter().copied().filter(|m| realtime.is_connected(*m)).collect();
            if members.contains(&caller.id) && !viewers.contains(&caller.id) {
                viewers.push(caller.id);
            }
            let views = views::one_for_each(realtime.db(), realtime.keys(), &viewers, id).await?;
            Ok::<_, ApiError>((applied, members, views, caller.id))
        };
        Box::pin(work.into_actor(self).map(move |result, act, ctx| {
            let (applied, members, views, caller) = result?;
            let gone: Vec<Uuid> = act.typing.keys().filter(|u| !members.contains(u)).copied().collect();
            act.members = members;
            for user_id in gone {
                act.stop_typing(ctx, user_id);
            }
            let removed = encode(&ServerFrame::ConversationRemoved { conversation_id: act.id });
            for user_id in applied.removed.iter().filter(|u| !act.members.contains(u)) {
                act.realtime.deliver(*user_id, removed.clone(), Target::All);
            }
            let answer = views.iter().find(|(viewer, _)| *viewer == caller).map(|(_, view)| view.clone());
            act.send_views(views);
            act.introduce(&applied.added);
            Ok(answer)
        }))
    }

    /// Sends each viewer their own view of the conversation, to all of their sockets.
    fn send_views(&self, views: Vec<(Uuid, Conversation)>) {
        for (user_id, conversation) in views {
            self.realtime.deliver(user_id, encode(&ServerFrame::Conversation { conversation }), Target::All);
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
        self.realtime.metrics().conversation_actors.inc();
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        // No intent is handled before the members and the kind are known.
        let (db, id) = (self.realtime.db().clone(), self.id);
        let load = self.load_members();
        let loaded = async move { Ok::<_, sqlx::Error>((load.await?, store::conversations::kind(&db, id).await?)) };
        ctx.wait(loaded.into_actor(self).map(|loaded, act, ctx| match loaded {
            Ok((members, kind)) => {
                act.members = members;
                act.kind = kind;
            }
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
        self.realtime.metrics().conversation_actors.dec();
        self.realtime.conversation_stopped(self.id, &ctx.address());
    }
}

impl Handler<SendMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Sent, ApiError>>;

    fn handle(&mut self, msg: SendMessage, ctx: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        if let Err(err) = self.check_member(msg.origin.user_id) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(err))));
        }
        let Some(kind) = self.kind else {
            return AtomicResponse::new(Box::pin(fut::ready(Err(ApiError::not_found()))));
        };
        self.stop_typing(ctx, msg.origin.user_id);
        let (realtime, policy, conversation_id) = (self.realtime.clone(), self.realtime.policy(), self.id);
        let banned = self.realtime.banned_words();
        let SendMessage { origin, sender, outgoing } = msg;
        let persist = async move {
            let (db, writer, keys) = (realtime.db(), realtime.group_commit(), realtime.keys());
            let conversation = (conversation_id, kind);
            Ok(messaging::send(db, writer, keys, &policy, &banned, &sender, conversation, &outgoing).await?)
        };
        AtomicResponse::new(Box::pin(persist.into_actor(self).map(move |result: Result<Sent, ApiError>, act, _| {
            let sent = result?;
            if sent.message.conversation_id != act.id {
                // A client_msg_id first used in another conversation: the original is the answer, as the
                // contract says, and nothing is broadcast here.
                return Ok(Sent { new: false, ..sent });
            }
            if let Some(conn) = origin.conn {
                let ack = ServerFrame::Ack {
                    client_msg_id: sent.message.client_msg_id.clone(),
                    message: sent.message.clone(),
                };
                act.realtime.deliver(origin.user_id, encode(&ack), Target::Only(conn));
            }
            if sent.new {
                let except = origin.conn.map(|conn| (origin.user_id, Target::Except(conn)));
                act.broadcast_message(&sent.message, except);
                act.realtime.notifier().message_committed(act.id, origin.user_id, sent.message.seq);
            }
            Ok(sent)
        })))
    }
}

/// Tells the notifier that a committed message changed, so a notification of it still showing is updated or
/// withdrawn.
fn notify_changed(realtime: &Realtime, message: &Message, change: MessageChange) {
    realtime.notifier().message_changed(message.conversation_id, message.sender_id, message.seq, change);
}

impl Handler<EditMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Message, ApiError>>;

    fn handle(&mut self, msg: EditMessage, _: &mut Self::Context) -> Self::Result {
        let (realtime, banned) = (self.realtime.clone(), self.realtime.banned_words());
        let EditMessage { origin, message_id, body } = msg;
        self.change(origin.user_id, Need::Member, async move {
            let (db, keys) = (realtime.db(), realtime.keys());
            let edited = messaging::edit(db, keys, &banned, origin.user_id, message_id, &body).await?;
            if edited.changed {
                notify_changed(&realtime, &edited.message, MessageChange::Edited);
            }
            let frame = edited.changed.then(|| ServerFrame::MessageUpdated { message: edited.message.clone() });
            Ok(Published { frame, audience: Audience::Members, answer: edited.message })
        })
    }
}

impl Handler<DeleteMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Message, ApiError>>;

    fn handle(&mut self, msg: DeleteMessage, _: &mut Self::Context) -> Self::Result {
        let (realtime, conversation_id) = (self.realtime.clone(), self.id);
        let DeleteMessage { origin, message_id } = msg;
        self.change(origin.user_id, Need::Member, async move {
            let deleted = messaging::delete(realtime.db(), realtime.keys(), origin.user_id, message_id).await?;
            if deleted.changed {
                notify_changed(&realtime, &deleted.message, MessageChange::Deleted);
            }
            let frame = deleted.changed.then_some(ServerFrame::MessageDeleted { conversation_id, message_id });
            Ok(Published { frame, audience: Audience::Members, answer: deleted.message })
        })
    }
}

impl Handler<ModeratorDelete> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Message, ApiError>>;

    fn handle(&mut self, msg: ModeratorDelete, _: &mut Self::Context) -> Self::Result {
        let (realtime, conversation_id) = (self.realtime.clone(), self.id);
        let ModeratorDelete { origin, message_id } = msg;
        self.change(origin.user_id, Need::Anyone, async move {
            let deleted = messaging::moderator_delete(realtime.db(), realtime.keys(), message_id).await?;
            if deleted.message.conversation_id != conversation_id {
                return Err(ApiError::not_found());
            }
            if deleted.changed {
                notify_changed(&realtime, &deleted.message, MessageChange::Deleted);
            }
            let frame = deleted.changed.then_some(ServerFrame::MessageDeleted { conversation_id, message_id });
            Ok(Published { frame, audience: Audience::Members, answer: deleted.message })
        })
    }
}

impl Handler<React> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Message, ApiError>>;

    fn handle(&mut self, msg: React, _: &mut Self::Context) -> Self::Result {
        let (realtime, conversation_id) = (self.realtime.clone(), self.id);
        let React { origin, message_id, emoji, on } = msg;
        let user_id = origin.user_id;
        self.change(user_id, Need::Member, async move {
            let reacted = messaging::react(realtime.db(), realtime.keys(), user_id, message_id, &emoji, on).await?;
            let frame = reacted.changed.then(|| ServerFrame::Reaction {
                conversation_id,
                message_id,
                emoji: emoji.as_str().to_owned(),
                user_id,
                on,
            });
            Ok(Published { frame, audience: Audience::Members, answer: reacted.message })
        })
    }
}

impl Handler<MarkRead> for ConversationActor {
    type Result = AtomicResponse<Self, Result<i64, ApiError>>;

    fn handle(&mut self, msg: MarkRead, _: &mut Self::Context) -> Self::Result {
        let (realtime, conversation_id) = (self.realtime.clone(), self.id);
        let MarkRead { origin, seq } = msg;
        let user_id = origin.user_id;
        self.change(user_id, Need::Member, async move {
            let marker = messaging::mark_read(realtime.db(), user_id, conversation_id, seq).await?;
            // The member's other devices without a socket get a silent push that clears the notification.
            realtime.notifier().read_changed(conversation_id, user_id, origin.session);
            let frame = ServerFrame::Read { conversation_id, user_id, seq: marker };
            Ok(Published { frame: Some(frame), audience: Audience::Members, answer: marker })
        })
    }
}

impl Handler<Acknowledge> for ConversationActor {
    type Result = AtomicResponse<Self, Result<(), ApiError>>;

    fn handle(&mut self, msg: Acknowledge, _: &mut Self::Context) -> Self::Result {
        let (realtime, conversation_id) = (self.realtime.clone(), self.id);
        let Acknowledge { origin, message_id } = msg;
        let user_id = origin.user_id;
        self.change(user_id, Need::Member, async move {
            let acknowledged = announcements::acknowledge(realtime.db(), user_id, message_id).await?;
            if acknowledged.conversation_id != conversation_id {
                return Err(ApiError::not_found());
            }
            let frame = acknowledged.new.then_some(ServerFrame::Acknowledged { conversation_id, message_id, user_id });
            Ok(Published { frame, audience: Audience::Only(acknowledged.audience), answer: () })
        })
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

impl Handler<ConversationCreated> for ConversationActor {
    type Result = AtomicResponse<Self, Result<(), ApiError>>;

    fn handle(&mut self, msg: ConversationCreated, _: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        let (realtime, id) = (self.realtime.clone(), self.id);
        // Only members with a socket get the frame; the others see the conversation when they catch up.
        let online: Vec<Uuid> = self.members.iter().copied().filter(|m| realtime.is_connected(*m)).collect();
        let views =
            async move { Ok::<_, ApiError>(views::one_for_each(realtime.db(), realtime.keys(), &online, id).await?) };
        AtomicResponse::new(Box::pin(views.into_actor(self).map(move |views, act, _| {
            act.send_views(views?);
            act.introduce(&msg.members);
            Ok(())
        })))
    }
}

impl Handler<RenameGroup> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Conversation, ApiError>>;

    fn handle(&mut self, msg: RenameGroup, _: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(still_a_member(self.change_group(msg.origin, msg.caller, GroupChange::Rename(msg.name))))
    }
}

impl Handler<AddMembers> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Conversation, ApiError>>;

    fn handle(&mut self, msg: AddMembers, _: &mut Self::Context) -> Self::Result {
        let change = GroupChange::AddMembers(msg.user_ids);
        AtomicResponse::new(still_a_member(self.change_group(msg.origin, msg.caller, change)))
    }
}

impl Handler<RemoveMember> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Conversation, ApiError>>;

    fn handle(&mut self, msg: RemoveMember, _: &mut Self::Context) -> Self::Result {
        let change = GroupChange::RemoveMember(msg.user_id);
        AtomicResponse::new(still_a_member(self.change_group(msg.origin, msg.caller, change)))
    }
}

impl Handler<PromoteAdmin> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Conversation, ApiError>>;

    fn handle(&mut self, msg: PromoteAdmin, _: &mut Self::Context) -> Self::Result {
        let change = GroupChange::PromoteAdmin(msg.user_id);
        AtomicResponse::new(still_a_member(self.change_group(msg.origin, msg.caller, change)))
    }
}

impl Handler<LeaveGroup> for ConversationActor {
    type Result = AtomicResponse<Self, Result<(), ApiError>>;

    fn handle(&mut self, msg: LeaveGroup, _: &mut Self::Context) -> Self::Result {
        let left = self.change_group(msg.origin, msg.caller, GroupChange::Leave);
        AtomicResponse::new(Box::pin(left.map(|result, _, _| result.map(|_| ()))))
    }
}

/// The answer of a group change whose caller stays in the group: their view of it.
fn still_a_member(
    change: ResponseActFuture<ConversationActor, Result<Option<Conversation>, ApiError>>,
) -> ResponseActFuture<ConversationActor, Result<Conversation, ApiError>> {
    Box::pin(change.map(|result, _, _| result?.ok_or_else(ApiError::not_found)))
}

impl Handler<UpdateSettings> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Conversation, ApiError>>;

    fn handle(&mut self, msg: UpdateSettings, _: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        if let Err(err) = self.check_member(msg.origin.user_id) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(err))));
        }
        let (realtime, id, user_id) = (self.realtime.clone(), self.id, msg.origin.user_id);
        let work = async move {
            groups::update_settings(realtime.db(), id, user_id, msg.change).await?;
            views::one_for(realtime.db(), realtime.keys(), user_id, id).await?.ok_or_else(ApiError::not_found)
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(move |view, act, _| {
            let view = view?;
            act.send_views(vec![(user_id, view.clone())]);
            Ok(view)
        })))
    }
}
