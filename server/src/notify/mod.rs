//! Push notifications: a member whose device has no open socket learns of a new message by a push.
//!
//! - `Notifier` (here): fed by the conversation actors after commit (a new message, a moved read marker). It
//!   picks the devices to push (members' devices on live sessions without an open socket, not muted, never
//!   the sender's), computes each member's badge (the derived unread total) and writes one row per device into
//!   the `push_queue` table, so a restart or a provider outage loses nothing. Payloads carry ids and the badge
//!   (`hallway_protocol::devices::PushPayload`), and message text only when the school chose previews.
//! - `worker`: one draining loop per provider, started with the server and stopped with it (`lifecycle`): leases due rows,
//!   sends them with bounded concurrency, retries with exponential backoff and `Retry-After`, keeps a row that
//!   failed its last try as `dead`, and deletes devices their push service calls gone (404/410).
//! - `provider`: the `PushProvider` trait a push service implements, and what its implementations share.
//!   `webpush` implements it for Web Push and UnifiedPush (RFC 8030, RFC 8291 encryption, RFC 8292 VAPID);
//!   `apns` for iOS (HTTP/2, a provider token from the school's `.p8` key) and `fcm` for Android (HTTP v1, a
//!   service account's OAuth2 token), each when the school configured its own credentials (a white-label app);
//!   `gateway` for APNs and FCM through the app publisher's push gateway (`push-gateway/`), for the platforms
//!   no direct provider took. Devices of a platform no provider sends to are registered and kept, but nothing is
//!   queued for them.
//! - `endpoint`: the SSRF rules for endpoint URLs (https only, no private addresses, checked again at send).

pub mod apns;
pub mod devices;
pub mod endpoint;
pub mod fcm;
pub mod gateway;
pub mod provider;
pub mod webpush;
pub mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hallway_protocol::devices::{MAX_PREVIEW_CHARS, PushPayload, PushPreviews, PushSetting};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use crate::config::{Config, PushSettings};
use crate::lifecycle::Background;
use crate::store::{self, devices::PushTarget, push_queue::NewPush};
use anyhow::Context as _;
use apns::Apns;
use fcm::Fcm;
use provider::PushProvider;
use webpush::{VapidKey, WebPush};

/// The push machinery of a running server: the notifier the actors feed and the VAPID key clients subscribe
/// with. The workers run under the server's `Background` and stop with it.
pub struct Push {
    pub notifier: Notifier,
    pub vapid: Arc<VapidKey>,
}

impl Push {
    /// Loads (or creates) the VAPID key and starts a worker per provider under `background`. Must be called
    /// inside an actix system.
    pub fn start(config: &Config, db: PgPool, background: &Background) -> anyhow::Result<Push> {
        let vapid = Arc::new(VapidKey::load_or_create(config.push.vapid_private_key.as_deref(), &config.data_dir)?);
        let mut providers: Vec<Arc<dyn PushProvider>> = Vec::new();
        if !config.push.gateway.as_ref().is_some_and(|g| g.carries_webpush) {
            providers.push(Arc::new(WebPush::new(vapid.clone(), &config.push)?));
        }
        if let Some(apns) = Apns::from_settings(&config.push).context("configuring APNs")? {
            tracing::info!(endpoint = %config.push.apns.endpoint, "APNs pushes are on");
            providers.push(Arc::new(apns));
        }
        if let Some(fcm) = Fcm::from_settings(&config.push).context("configuring FCM")? {
            tracing::info!(endpoint = %config.push.fcm.endpoint, "FCM pushes are on");
            providers.push(Arc::new(fcm));
        }
        // The publisher's gateway takes the platforms no direct provider above took: direct credentials win.
        if let Some(settings) = &config.push.gateway {
            let taken: Vec<&str> = providers.iter().flat_map(|p| p.platforms().iter().copied()).collect();
            let platforms = gateway::platforms(settings, &taken);
            if !platforms.is_empty() {
                providers.push(Arc::new(gateway::Gateway::new(settings, &config.push, platforms)?));
            }
        }
        let mut platforms = Vec::new();
        let mut wakes = Vec::new();
        for provider in providers {
            let wake = Arc::new(Notify::new());
            platforms.extend_from_slice(provider.platforms());
            wakes.push(wake.clone());
            worker::spawn(db.clone(), provider, config.push.clone(), wake, background);
        }
        let notifier = Notifier::new(db, platforms, wakes, background.clone());
        notifier.sweep_pending(&config.push);
        Ok(Push { notifier, vapid })
    }
}

/// The sign-in sessions that have at least one open socket, counted per session. Kept by the user actors, read
/// by the notifier: a device whose session is connected gets the frame, not a push.
#[derive(Clone, Default)]
pub struct OnlineSessions {
    counts: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl OnlineSessions {
    /// A socket of `session` opened.
    pub fn opened(&self, session: Uuid) {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()).entry(session).or_default() += 1;
    }

    /// A socket of `session` closed.
    pub fn closed(&self, session: Uuid) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&session) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&session);
            }
        }
    }

    /// Whether `session` has an open socket.
    pub fn is_online(&self, session: Uuid) -> bool {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&session)
    }
}

/// Notifier look-ups running at once: a burst of messages waits here instead of taking the pool's connections
/// from the message writers.
const MAX_CONCURRENT_LOOKUPS: usize = 4;
/// Messages the recovery sweep hands to the look-ups at a time (the next sweep takes the rest).
const SWEEP_BATCH: i64 = 500;
/// The first pause before a look-up that met an unreachable database is tried again; it doubles each time.
const LOOKUP_RETRY_BASE: Duration = Duration::from_millis(250);
/// The longest pause between two tries of such a look-up.
const LOOKUP_RETRY_MAX: Duration = Duration::from_secs(10);

/// The handle the conversation actors use to queue pushes; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    online: OnlineSessions,
    /// The platforms some provider sends to; devices of others get nothing queued.
    platforms: Vec<&'static str>,
    /// Wake the workers when rows were queued (one per worker; `notify_one` keeps the wake-up for a worker that
    /// is busy right now, so none is lost).
    wakes: Vec<Arc<Notify>>,
    /// Bounds the look-ups in flight (`MAX_CONCURRENT_LOOKUPS`).
    lookups: Arc<Semaphore>,
    /// Tracks the look-ups, so the server's shutdown waits for them to queue their pushes.
    background: Background,
}

impl Notifier {
    /// A notifier queuing pushes for the devices of `platforms`, its look-ups tracked by `background`.
    pub fn new(db: PgPool, platforms: Vec<&'static str>, wakes: Vec<Arc<Notify>>, background: Background) -> Notifier {
        let lookups = Arc::new(Semaphore::new(MAX_CONCURRENT_LOOKUPS));
        let online = OnlineSessions::default();
        Notifier { inner: Arc::new(Inner { db, online, platforms, wakes, lookups, background }) }
    }

    /// A notifier with no provider: it queues nothing (for benchmarks of delivery alone).
    pub fn without_providers(db: PgPool) -> Notifier {
        Notifier::new(db, Vec::new(), Vec::new(), Background::new())
    }

    /// The sessions with an open socket (the user actors keep it).
    pub fn online(&self) -> &OnlineSessions {
        &self.inner.online
    }

    /// A new message was committed in a conversation: queue a push for each device of each other member that
    /// has no open socket and did not mute it. Runs detached: the actor does not wait for it.
    pub fn message_committed(&self, conversation_id: Uuid, sender_id: Uuid, seq: i64) {
        self.detached(conversation_id, "could not queue pushes", move |this| async move {
            this.queue_message(conversation_id, sender_id, seq).await
        });
    }

    /// A member's read marker moved (from `session`, if known): their other devices without an open socket get a
    /// silent `read` push that clears the conversation's notification and sets the badge.
    pub fn read_changed(&self, conversation_id: Uuid, reader_id: Uuid, session: Option<Uuid>) {
        self.detached(conversation_id, "could not queue read pushes", move |this| async move {
            this.queue_read(conversation_id, reader_id, session).await
        });
    }

    /// A committed message of `sender_id` was edited or deleted: the members who may still see its notification
    /// (not read up to it, not muted, no open socket) get a silent push that updates or withdraws it.
    pub fn message_changed(&self, conversation_id: Uuid, sender_id: Uuid, seq: i64, change: MessageChange) {
        self.detached(conversation_id, "could not queue message change pushes", move |this| async move {
            this.queue_change(conversation_id, sender_id, seq, change).await
        });
    }

    /// Runs a look-up beside the actor (which does not wait for it), within `MAX_CONCURRENT_LOOKUPS`, tracked so
    /// that a stopping server waits for it; nothing to do when no provider sends anything. The message or read
    /// marker is committed, so its pushes are owed: while the database cannot be reached (a restart, a crash the
    /// supervisor is repairing) the look-up is tried again with backoff, holding no look-up slot meanwhile,
    /// until it succeeds or the server stops.
    fn detached<F, Fut>(&self, conversation_id: Uuid, failure: &'static str, work: F)
    where
        F: Fn(Notifier) -> Fut + 'static,
        Fut: Future<Output = Result<(), sqlx::Error>>,
    {
        if self.inner.platforms.is_empty() {
            return;
        }
        let this = self.clone();
        actix::spawn(self.inner.background.track(async move {
            let stopping = this.inner.background.stopping().clone();
            let mut wait = LOOKUP_RETRY_BASE;
            loop {
                let outcome = {
                    let Ok(_permit) = this.inner.lookups.clone().acquire_owned().await else { return };
                    work(this.clone()).await
                };
                let err = match outcome {
                    Ok(()) => return,
                    Err(err) if store::is_unreachable(&err) && !stopping.is_cancelled() => err,
                    Err(err) => {
                        tracing::error!(conversation = %conversation_id, error = %err, "{failure}");
                        return;
                    }
                };
                tracing::warn!(conversation = %conversation_id, error = %err, retry_in = ?wait, "{failure} yet: the database cannot be reached");
                if stopping.run_until_cancelled(tokio::time::sleep(wait)).await.is_none() {
                    tracing::error!(conversation = %conversation_id, "{failure}: the server stopped first");
                    return;
                }
                wait = (wait * 2).min(LOOKUP_RETRY_MAX);
            }
        }));
    }

    /// Queues a message's pushes and takes its `push_pending` mark at once, so they are queued once, even when
    /// the recovery sweep or another server looks at the same message.
    async fn queue_message(&self, conversation_id: Uuid, sender_id: Uuid, seq: i64) -> Result<(), sqlx::Error> {
        let db = &self.inner.db;
        let targets =
            store::devices::of_unmuted_members(db, conversation_id, sender_id, None, &self.inner.platforms).await?;
        let targets = self.offline(targets);
        let (badges, (sender_name, body)) = if targets.is_empty() {
            (HashMap::new(), (None, None))
        } else {
            (badges(db, &targets).await?, preview(db, conversation_id, seq).await?)
        };
        let topic = topic(conversation_id);
        let pushes: Vec<NewPush> = targets
            .iter()
            .map(|t| {
                let badge = badges.get(&t.user_id).copied().unwrap_or(0);
                NewPush {
                    device_id: t.device_id,
                    payload: payload_json(&PushPayload::Message {
                        conversation_id,
                        seq,
                        badge,
                        sender_name: sender_name.clone(),
                        body: body.clone(),
                    }),
                    topic: topic.clone(),
                    urgency: "high",
                }
            })
            .collect();
        if store::push_queue::enqueue_for_message(db, conversation_id, seq, &pushes).await? && !pushes.is_empty() {
            self.wake_workers();
        }
        Ok(())
    }

    /// Every `pending_grace`, queues the pushes of messages whose look-up never ran (their server died between
    /// the commit and the look-up: their `push_pending` mark is older than a look-up takes), and forgets marks
    /// older than a push lives (`ttl`). Runs until `background` stops.
    fn sweep_pending(&self, settings: &PushSettings) {
        let (this, grace, ttl) = (self.clone(), settings.pending_grace, settings.ttl);
        let stopping = self.inner.background.stopping().clone();
        self.inner.background.spawn_local(async move {
            while stopping.run_until_cancelled(tokio::time::sleep(grace)).await.is_some() {
                let found = async {
                    store::push_queue::forget_pending(&this.inner.db, ttl).await?;
                    store::push_queue::stale_pending(&this.inner.db, grace, SWEEP_BATCH).await
                };
                match found.await {
                    Ok(stale) => {
                        for message in stale {
                            tracing::info!(conversation = %message.conversation_id, seq = message.seq,
                                "queuing the pushes of a message whose server stopped before it did");
                            this.message_committed(message.conversation_id, message.sender_id, message.seq);
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "could not look for messages left unpushed"),
                }
            }
        });
    }

    async fn queue_change(
        &self,
        conversation_id: Uuid,
        sender_id: Uuid,
        seq: i64,
        change: MessageChange,
    ) -> Result<(), sqlx::Error> {
        let db = &self.inner.db;
        let platforms = &self.inner.platforms;
        let targets = store::devices::of_unmuted_members(db, conversation_id, sender_id, Some(seq), platforms).await?;
        let targets = self.offline(targets);
        if targets.is_empty() {
            return Ok(());
        }
        let badges = badges(db, &targets).await?;
        let (sender_name, body) = match change {
            MessageChange::Edited => preview(db, conversation_id, seq).await?,
            MessageChange::Deleted => (None, None),
        };
        // Its own topic: a change must not take the place of the chat's pending `message` push at the push
        // service (Web Push replaces a pending push of the same topic).
        let topic = message_topic(conversation_id, seq);
        let pushes: Vec<NewPush> = targets
            .iter()
            .map(|t| {
                let badge = badges.get(&t.user_id).copied().unwrap_or(0);
                let payload = match change {
                    MessageChange::Edited => PushPayload::MessageEdited {
                        conversation_id,
                        seq,
                        badge,
                        sender_name: sender_name.clone(),
                        body: body.clone(),
                    },
                    MessageChange::Deleted => PushPayload::MessageDeleted { conversation_id, seq, badge },
                };
                NewPush {
                    device_id: t.device_id,
                    payload: payload_json(&payload),
                    topic: topic.clone(),
                    urgency: "normal",
                }
            })
            .collect();
        store::push_queue::enqueue(db, &pushes).await?;
        self.wake_workers();
        Ok(())
    }

    async fn queue_read(
        &self,
        conversation_id: Uuid,
        reader_id: Uuid,
        session: Option<Uuid>,
    ) -> Result<(), sqlx::Error> {
        let db = &self.inner.db;
        let targets = store::devices::of_user(db, reader_id, &self.inner.platforms).await?;
        let targets: Vec<PushTarget> =
            self.offline(targets).into_iter().filter(|t| Some(t.session_id) != session).collect();
        if targets.is_empty() {
            return Ok(());
        }
        let badge = badges(db, &targets).await?.get(&reader_id).copied().unwrap_or(0);
        let payload = payload_json(&PushPayload::Read { conversation_id, badge });
        let topic = topic(conversation_id);
        let pushes: Vec<NewPush> = targets
            .iter()
            .map(|t| NewPush {
                device_id: t.device_id,
                payload: payload.clone(),
                topic: topic.clone(),
                urgency: "normal",
            })
            .collect();
        store::push_queue::enqueue(db, &pushes).await?;
        self.wake_workers();
        Ok(())
    }

    fn wake_workers(&self) {
        for wake in &self.inner.wakes {
            wake.notify_one();
        }
    }

    /// The targets whose session has no open socket.
    fn offline(&self, targets: Vec<PushTarget>) -> Vec<PushTarget> {
        targets.into_iter().filter(|t| !self.inner.online.is_online(t.session_id)).collect()
    }
}

/// What happened to a committed message, for [`Notifier::message_changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageChange {
    Edited,
    Deleted,
}

/// The settings key of the school's push previews.
pub const PUSH_SETTING: &str = "push";

/// What the school lets a message push show: the sender's name and the start of the text, or nothing (the
/// default). Read at each message, so a change applies at once on every server.
async fn preview(
    db: &PgPool,
    conversation_id: Uuid,
    seq: i64,
) -> Result<(Option<String>, Option<String>), sqlx::Error> {
    let setting: PushSetting = store::settings::get(db, PUSH_SETTING).await?.unwrap_or_default();
    if setting.previews == PushPreviews::None {
        return Ok((None, None));
    }
    let Some((name, body)) = store::messages::sender_name_and_body(db, conversation_id, seq).await? else {
        return Ok((None, None));
    };
    let body = (setting.previews == PushPreviews::Full && !body.is_empty()).then(|| {
        let mut chars = body.chars();
        let mut start: String = chars.by_ref().take(MAX_PREVIEW_CHARS).collect();
        if chars.next().is_some() {
            start.push('…');
        }
        start
    });
    Ok((Some(name), body))
}

/// Each target user's unread total.
async fn badges(db: &PgPool, targets: &[PushTarget]) -> Result<HashMap<Uuid, i64>, sqlx::Error> {
    let users: Vec<Uuid> = targets.iter().map(|t| t.user_id).collect::<HashSet<_>>().into_iter().collect();
    Ok(store::conversations::unread_totals(db, &users).await?.into_iter().collect())
}

fn payload_json(payload: &PushPayload) -> serde_json::Value {
    // A plain enum of ids and integers always serialises.
    serde_json::to_value(payload).unwrap_or_default()
}

/// The collapse key of a conversation's notifications: a short hash of its id (Web Push's `Topic` allows 32
/// base64url characters; a hash keeps the id itself off the push service's logs).
pub fn topic(conversation_id: Uuid) -> String {
    short_hash(&[conversation_id.as_bytes()])
}

/// The topic of the pushes about one message (its edit, its deletion), as short and opaque as [`topic`].
pub fn message_topic(conversation_id: Uuid, seq: i64) -> String {
    short_hash(&[conversation_id.as_bytes(), &seq.to_be_bytes()])
}

fn short_hash(parts: &[&[u8]]) -> String {
    use base64::Engine as _;
    let digest = parts.iter().fold(Sha256::new(), |hash, part| hash.chain_update(part)).finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}
