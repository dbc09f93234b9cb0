//! Finds or starts the actor of a conversation or a user. Conversation actors live on a few dedicated arbiter
//! threads, chosen by hashing the id, so no HTTP worker's lifetime bounds theirs. A user actor starts on the
//! thread of its user's first socket (an HTTP worker), because almost every frame it forwards goes to that
//! socket: one thread hop fewer per delivery (see docs/benchmarks.md). Its life is bounded by that worker's,
//! which only ends when the server stops (the server does not panic on input).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use std::num::NonZeroU32;

use actix::{Actor, Addr, ArbiterHandle, Handler, MailboxError};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::store::deliveries::DeliveryLog;
use crate::store::group_commit::GroupCommit;
use sqlx::PgPool;
use uuid::Uuid;

use super::conversation::ConversationActor;
use super::user::{CloseSessions, Deliver, UserActor};
use super::{FrameText, SessionFilter, Target};
use crate::auth::tokens::Keys;
use crate::config::RealtimeLimits;
use crate::error::ApiError;
use crate::lifecycle::Background;
use crate::metrics::Metrics;
use crate::notify::{Notifier, OnlineSessions};
use crate::policy::Policy;
use crate::safety::banned_words::BannedWords;

/// The handle every part of the server uses to reach the actors; cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    /// The school's messaging rules, shared with the HTTP handlers (admins may change them at run time).
    policy: Arc<RwLock<Policy>>,
    /// Sign the attachment links of the messages the actors send out.
    keys: Arc<Keys>,
    /// The school's banned words, compiled; replaced whole when an admin changes the list, so a check in
    /// flight keeps the list it started with.
    banned_words: RwLock<Arc<BannedWords>>,
    limits: RealtimeLimits,
    /// The threads conversation actors run on; an actor's thread is chosen by its id.
    arbiters: Vec<ArbiterHandle>,
    /// Stores text messages, several per statement and commit when they come at the same moment.
    group_commit: GroupCommit,
    /// Counters and gauges of sockets, frames, actors and the message writer.
    metrics: Metrics,
    /// Records which members' sessions were handed which messages (receipts' "delivered"), in batches.
    deliveries: DeliveryLog,
    /// Running conversation actors. An entry may point at an actor that is stopping; callers that find its
    /// mailbox closed ask again and get a fresh one.
    conversations: Mutex<HashMap<Uuid, Addr<ConversationActor>>>,
    /// The actor of every user with at least one open socket (or whose offline notice is pending).
    users: RwLock<HashMap<Uuid, Addr<UserActor>>>,
    /// REST sends per person (`rest_sends_per_sec`, `rest_send_burst`), across all their devices.
    rest_sends: DefaultKeyedRateLimiter<Uuid>,
    /// The sign-in sessions with an open socket: their devices get frames, not pushes.
    online: OnlineSessions,
    /// Turns committed messages and read markers into queued pushes.
    notifier: Notifier,
    /// The server's background tasks; its `going_away` token tells the sockets to close (server shutdown).
    background: Background,
}

impl Realtime {
    /// Starts the arbiter threads, and the message and delivery writers under `background`. Must be called
    /// inside an actix system.
    pub fn start(
        db: PgPool,
        keys: Arc<Keys>,
        limits: RealtimeLimits,
        policy: Arc<RwLock<Policy>>,
        metrics: Metrics,
        notifier: Notifier,
        background: &Background,
    ) -> Realtime {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 8);
        let arbiters = (0..threads).map(|_| actix::Arbiter::new().handle()).collect();
        let group_commit = GroupCommit::start(db.clone(), metrics.clone(), background);
        let deliveries = DeliveryLog::start(db.clone(), background);
        let per_sec = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let rest_sends = RateLimiter::keyed(
            Quota::per_second(per_sec(limits.rest_sends_per_sec)).allow_burst(per_sec(limits.rest_send_burst)),
        );
        Realtime {
            inner: Arc::new(Inner {
                db,
                group_commit,
                metrics,
                deliveries,
                policy,
                keys,
                banned_words: RwLock::new(Arc::new(BannedWords::default())),
                limits,
                arbiters,
                conversations: Mutex::new(HashMap::new()),
                users: RwLock::new(HashMap::new()),
                rest_sends,
                online: notifier.online().clone(),
                notifier,
                background: background.clone(),
            }),
        }
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The database the actors persist to.
    pub fn db(&self) -> &PgPool {
        &self.inner.db
    }

    /// A copy of the messaging policy in force.
    pub fn policy(&self) -> Policy {
        self.inner.policy.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The banned-words list in force (sends and edits are checked against it).
    pub fn banned_words(&self) -> Arc<BannedWords> {
        self.inner.banned_words.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Puts a new banned-words list in force (at start, and when an admin changes it).
    pub fn set_banned_words(&self, words: BannedWords) {
        *self.inner.banned_words.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(words);
    }

    /// Sends an intent to a conversation's actor and waits for its answer. An actor found stopping (idle) is
    /// replaced by a fresh one transparently.
    pub async fn ask<M, T>(&self, conversation_id: Uuid, request: M) -> Result<T, ApiError>
    where
        M: actix::Message<Result = Result<T, ApiError>> + Send + Clone + 'static,
        T: Send + 'static,
        ConversationActor: Handler<M>,
    {
        match self.conversation(conversation_id).send(request.clone()).await {
            Ok(answer) => answer,
            Err(MailboxError::Closed) => self
                .conversation(conversation_id)
                .send(request)
                .await
                .map_err(|err| ApiError::Internal(anyhow::anyhow!("conversation actor: {err}")))?,
            Err(err) => Err(ApiError::Internal(anyhow::anyhow!("conversation actor: {err}"))),
        }
    }

    /// Like `ask`, for an intent of `user_id`: when the conversation's actor is not running, the user's
    /// membership is checked in the database first, so a frame or request naming a conversation that does not
    /// exist, or that the caller is not in, gets 404 without starting an actor (a running actor checks its
    /// member list itself).
    pub async fn ask_as_member<M, T>(&self, user_id: Uuid, conversation_id: Uuid, request: M) -> Result<T, ApiError>
    where
        M: actix::Message<Result = Result<T, ApiError>> + Send + Clone + 'static,
        T: Send + 'static,
        ConversationActor: Handler<M>,
    {
        if !self.is_running(conversation_id)
            && crate::store::conversations::membership(self.db(), conversation_id, user_id).await?.is_none()
        {
            return Err(ApiError::not_found());
        }
        self.ask(conversation_id, request).await
    }

    /// Asks the actor of the conversation a message is in (404 when the message does not exist, or when the
    /// caller is not in its conversation: no actor starts for them).
    pub async fn ask_about_message<M, T>(&self, user_id: Uuid, message_id: Uuid, request: M) -> Result<T, ApiError>
    where
        M: actix::Message<Result = Result<T, ApiError>> + Send + Clone + 'static,
        T: Send + 'static,
        ConversationActor: Handler<M>,
    {
        let message = crate::store::messages::find(self.db(), message_id).await?.ok_or_else(ApiError::not_found)?;
        self.ask_as_member(user_id, message.conversation_id, request).await
    }

    /// A school admin deletes a message (moderation), through its conversation's actor: the admin need not be a
    /// member (the admin endpoints check the role and audit it).
    pub async fn moderator_delete(
        &self,
        origin: super::conversation::Origin,
        message_id: Uuid,
    ) -> Result<hallway_protocol::Message, ApiError> {
        let message = crate::store::messages::find(self.db(), message_id).await?.ok_or_else(ApiError::not_found)?;
        self.ask(message.conversation_id, super::conversation::ModeratorDelete { origin, message_id }).await
    }

    /// Counts a REST send of `user_id` against their quota: `rate_limited` (with the wait) past it.
    pub fn check_rest_send(&self, user_id: Uuid) -> Result<(), ApiError> {
        self.inner.rest_sends.check_key(&user_id).map_err(|not_until| {
            ApiError::rate_limited(not_until.wait_time_from(governor::clock::DefaultClock::default().now()))
        })
    }

    /// Whether a conversation's actor is running now.
    fn is_running(&self, id: Uuid) -> bool {
        let map = self.inner.conversations.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&id).is_some_and(|a| a.connected())
    }

    /// How many conversation actors are running (for tests and diagnostics).
    pub fn running_conversations(&self) -> usize {
        let map = self.inner.conversations.lock().unwrap_or_else(|p| p.into_inner());
        map.values().filter(|a| a.connected()).count()
    }

    /// Tells the members of a conversation just created about it (see `ConversationCreated`). A failure is
    /// logged, not returned: the conversation is committed, and clients see it when they catch up.
    pub async fn conversation_created(&self, conversation_id: Uuid, members: Vec<Uuid>) {
        let created = super::conversation::ConversationCreated { members };
        if let Err(err) = self.ask(conversation_id, created).await {
            tracing::error!(conversation = %conversation_id, error = %err, "could not announce a new conversation");
        }
    }

    /// The notifier that queues pushes for members whose devices have no open socket.
    pub fn notifier(&self) -> &Notifier {
        &self.inner.notifier
    }

    /// A socket opened with this sign-in session.
    pub(super) fn session_opened(&self, auth_session: Uuid) {
        self.inner.online.opened(auth_session);
    }

    /// A socket of this sign-in session closed.
    pub(super) fn session_closed(&self, auth_session: Uuid) {
        self.inner.online.closed(auth_session);
    }

    /// The keys that sign attachment links.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The server's background tasks (the sockets watch its `going_away` token).
    pub fn background(&self) -> &Background {
        &self.inner.background
    }

    /// The timings and limits in force.
    pub fn limits(&self) -> &RealtimeLimits {
        &self.inner.limits
    }

    /// The group-commit writer of text messages.
    pub fn group_commit(&self) -> &GroupCommit {
        &self.inner.group_commit
    }

    /// Where the actors and history reads record deliveries.
    pub fn deliveries(&self) -> &DeliveryLog {
        &self.inner.deliveries
    }

    fn arbiter_for(&self, id: Uuid) -> &ArbiterHandle {
        let index = (id.as_u128() % self.inner.arbiters.len() as u128) as usize;
        &self.inner.arbiters[index]
    }

    /// The actor of a conversation, started if it is not running.
    pub fn conversation(&self, id: Uuid) -> Addr<ConversationActor> {
        let mut map = self.inner.conversations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = map.get(&id).filter(|a| a.connected()) {
            return addr.clone();
        }
        let actor = ConversationActor::new(id, self.clone());
        let addr = ConversationActor::start_in_arbiter(self.arbiter_for(id), move |_| actor);
        map.insert(id, addr.clone());
        addr
    }

    /// Forgets a conversation actor that is stopping (only if the map still points at that very actor).
    pub(super) fn conversation_stopped(&self, id: Uuid, addr: &Addr<ConversationActor>) {
        let mut map = self.inner.conversations.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&id) == Some(addr) {
            map.remove(&id);
        }
    }

    /// The actor of a connected user, started if needed (when their first socket opens).
    pub fn user_or_start(&self, user_id: Uuid) -> Addr<UserActor> {
        if let Some(addr) = self.user(user_id) {
            return addr;
        }
        let mut map = self.inner.users.write().unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = map.get(&user_id).filter(|a| a.connected()) {
            return addr.clone();
        }
        let actor = UserActor::new(user_id, self.clone());
        // On the thread of the socket that opens first (an HTTP worker): a phone's frames then reach its
        // session without a cross-thread hop, which the fan-out profile showed as a large share of the cost.
        let addr = UserActor::start_in_arbiter(&actix::Arbiter::current(), move |_| actor);
        map.insert(user_id, addr.clone());
        addr
    }

    /// The actor of a user if they are connected.
    pub fn user(&self, user_id: Uuid) -> Option<Addr<UserActor>> {
        let map = self.inner.users.read().unwrap_or_else(|p| p.into_inner());
        map.get(&user_id).filter(|a| a.connected()).cloned()
    }

    /// Whether a user has an actor (is online, or their offline notice is still pending).
    pub fn is_connected(&self, user_id: Uuid) -> bool {
        self.user(user_id).is_some()
    }

    pub(super) fn user_stopped(&self, user_id: Uuid, addr: &Addr<UserActor>) {
        let mut map = self.inner.users.write().unwrap_or_else(|p| p.into_inner());
        if map.get(&user_id) == Some(addr) {
            map.remove(&user_id);
        }
    }

    /// Sends a frame to some of a user's sessions, if the user is connected; answers whether they were.
    pub fn deliver(&self, user_id: Uuid, frame: FrameText, target: Target) -> bool {
        match self.user(user_id) {
            Some(addr) => {
                addr.do_send(Deliver { frame, target });
                true
            }
            None => false,
        }
    }

    /// Closes some of a user's sockets at once (sign-out, revoked session, password change, deactivation).
    pub fn close_sessions(&self, user_id: Uuid, which: SessionFilter, reason: &'static str) {
        if let Some(addr) = self.user(user_id) {
            addr.do_send(CloseSessions { which, reason });
        }
    }
}
