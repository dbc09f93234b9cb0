//! [`Client`]: one signed-in account on one device. It owns the local store, the session and the connection
//! task, and hands out the [`ConversationList`] and [`Timeline`] objects the app's screens observe.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hallway_protocol::conversations::{ConversationSettingsRequest, CreateConversationRequest, UserList};
use hallway_protocol::safety::MyReportList;
use hallway_protocol::{Conversation, ConversationKind};
use reqwest::Method;
use tokio::task::JoinHandle;

use crate::api::{self, Api, NO_BODY};
use crate::error::{Error, HallwayError, Result};
use crate::list::ConversationList;
use crate::listeners::{self, ConnectionStateListener};
use crate::media::MediaCache;
use crate::models::{ConnectionState, ConversationSummary, ReportInfo, UserInfo};
use crate::secrets::SecretStore;
use crate::shared::{Change, Shared};
use crate::store::{self, Store, Unsent};
use crate::task::TaskHandle;
use crate::timeline::{Timeline, parse_id};
use crate::{push, runtime, sync};

/// The entry point of the SDK: one per account, for the app's lifetime.
#[derive(uniffi::Object)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    /// Photos, files and profile pictures on disk, for the `*_path` methods (in `media`).
    pub(crate) media: Arc<MediaCache>,
    /// The connection task while signed in; aborted by `logout` and when the client is dropped.
    connection: Mutex<Option<JoinHandle<()>>>,
}

impl Client {
    /// Signs in through `start` (a login or an activation) and starts the connection.
    async fn sign_in<F, Fut>(&self, start: F) -> Result<UserInfo, HallwayError>
    where
        F: FnOnce(Arc<Shared>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<hallway_protocol::User>> + Send + 'static,
    {
        // A connection of an earlier session must not feed its frames into the new one's store.
        self.stop_connection();
        let shared = self.shared.clone();
        let user = runtime::run(async move {
            let user = start(shared.clone()).await?;
            shared.changed(Change::Everything);
            Ok(user)
        })
        .await?;
        self.start_connection()?;
        // The new session has no devices yet: the phone's push address is registered again, beside the sign-in.
        runtime::handle()?.spawn(push::register_again(self.shared.clone(), false));
        Ok(UserInfo::from(&user))
    }

    /// Starts the connection task (once).
    fn start_connection(&self) -> Result<()> {
        let mut slot = self.connection.lock().map_err(|_| Error::Internal("the connection slot is poisoned".into()))?;
        if slot.as_ref().is_none_or(JoinHandle::is_finished) {
            *slot = Some(runtime::handle()?.spawn(sync::run(self.shared.clone())));
        }
        Ok(())
    }

    fn stop_connection(&self) {
        if let Ok(mut slot) = self.connection.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
        if let Ok(mut outgoing) = self.shared.outgoing.lock() {
            *outgoing = None;
        }
        self.shared.set_connection(ConnectionState::Offline);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop_connection();
    }
}

/// Stores a conversation the server answered with and tells the list.
async fn store_conversation(shared: &Shared, conversation: Conversation) -> Result<ConversationSummary> {
    let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
    let stored = conversation.clone();
    shared.overtake(conversation.id);
    shared.store.transaction(move |conn| store::upsert_conversation(conn, &stored)).await?;
    shared.conversation_changed(conversation.id);
    let online = shared.online_among(conversation.members.iter().map(|m| m.id), Some(me));
    let typing = shared.typing_in(conversation.id);
    Ok(ConversationSummary::new(&conversation, Some(me), typing, online, Unsent::default()))
}

/// Changes the user's own settings in a conversation.
async fn update_settings(
    shared: Arc<Shared>,
    conversation_id: String,
    settings: ConversationSettingsRequest,
) -> Result<()> {
    let id = parse_id(&conversation_id, "conversation_id")?;
    let answer: Conversation =
        shared.api.call(Method::PATCH, &format!("conversations/{id}/settings"), &[], Some(&settings)).await?;
    shared.overtake(id);
    shared.store.transaction(move |conn| store::apply_settings(conn, &answer, &settings)).await?;
    shared.conversation_changed(id);
    Ok(())
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// A client for the server at `server_url` (`https://school.example`), keeping its store in `data_dir`
    /// (the app's private files directory, excluded from backups) encrypted with a key kept in `secrets` (the
    /// Keystore or the Keychain, scoped to this server as `data_dir` is). Nothing is sent until `login` or
    /// `restore_session`.
    #[uniffi::constructor]
    pub fn new(
        server_url: String,
        data_dir: String,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Arc<Client>, HallwayError> {
        // A mistyped address leaves nothing on disk.
        let base = api::base_url(&server_url)?;
        let data_dir = PathBuf::from(data_dir);
        let store = Store::open(&data_dir, secrets)?;
        let api = Api::new(base, store.clone())?;
        let shared = Arc::new(Shared::new(api, store));
        let media = MediaCache::start(&data_dir, &shared)?;
        Ok(Arc::new(Client { shared, media, connection: Mutex::new(None) }))
    }

    /// Signs in with a username (any letter case) or an email, and starts the connection.
    pub async fn login(&self, login: String, password: String) -> Result<UserInfo, HallwayError> {
        self.sign_in(move |shared| async move { shared.api.login(&login, &password).await }).await
    }

    /// Redeems an activation code (from the school's letter, a QR code or an invitation link: see
    /// `parse_invitation`, whose server URL this client must have been made with) with the password the person
    /// chooses, and signs in, as `login` does. The person signs in on other devices with their username and
    /// this password, and with `username` when they choose one instead of the school's. Errors:
    /// `InvalidActivationCode` (unknown, used or expired: ask the school for a new one), `WeakPassword` (8 to
    /// 256 characters), `InvalidInput { code: "conflict" }` (the username is taken: the code still works with
    /// another), `InvalidInput { code: "invalid_input" }` (not a username), `Forbidden { code:
    /// "account_deactivated" }`, `RateLimited`.
    #[uniffi::method(default(username = None))]
    pub async fn activate(
        &self,
        code: String,
        password: String,
        username: Option<String>,
    ) -> Result<UserInfo, HallwayError> {
        self.sign_in(move |shared| async move { shared.api.activate(&code, &password, username).await }).await
    }

    /// Changes the password; `current_password` proves it is the owner. Every other device of the person is
    /// signed out (and wipes its data); this one stays signed in. Errors: `WrongPassword` (the current one is
    /// wrong; after five tries `RateLimited`), `WeakPassword`.
    pub async fn change_password(&self, current_password: String, new_password: String) -> Result<(), HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move { shared.api.change_password(&current_password, &new_password).await }).await?)
    }

    /// Resumes the session kept from the last run, without waiting for the network: the app shows the stored
    /// conversations at once while the connection catches up. `None` when no one is signed in.
    pub async fn restore_session(&self) -> Result<Option<UserInfo>, HallwayError> {
        let shared = self.shared.clone();
        let user = runtime::run(async move { shared.api.restore().await }).await?;
        if user.is_some() {
            self.start_connection()?;
            runtime::handle()?.spawn(push::register_again(self.shared.clone(), true));
        }
        Ok(user.as_ref().map(UserInfo::from))
    }

    /// Signs out: stops the connection, wipes the local store (conversations, messages, unsent messages and
    /// their file copies) and ends the session on the server. This device is signed out whatever happens;
    /// `Err(SignOutNotConfirmed)` says only that the server could not be told (offline, or it failed), so the
    /// session lives on there until it expires: the app may say so, and offer "sign out everywhere" later.
    pub async fn logout(&self) -> Result<(), HallwayError> {
        self.stop_connection();
        let shared = self.shared.clone();
        runtime::run(async move {
            let result = shared.api.logout().await;
            shared.changed(Change::Everything);
            result
        })
        .await?;
        Ok(())
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<UserInfo> {
        self.shared.api.session().map(|s| UserInfo::from(&s.user))
    }

    /// Where the connection stands now (`SignedOut { reason }` once the server ended the session).
    pub fn connection_state(&self) -> ConnectionState {
        *self.shared.connection.borrow()
    }

    /// Calls `listener` with the connection state now, then at every change, until the handle is dropped.
    pub fn subscribe_connection_state(&self, listener: Arc<dyn ConnectionStateListener>) -> Arc<TaskHandle> {
        listeners::feed_connection(&self.shared, listener)
    }

    /// Skips the wait before the next connection attempt: call it when the OS says the network is back.
    /// Does nothing while paused (a network change in the background does not wake the connection).
    pub fn reconnect_now(&self) {
        if !*self.shared.paused.borrow() {
            self.shared.reconnect_wake.notify_one();
        }
    }

    /// For the app going to the background: closes the socket cleanly (the server sees the device leave at
    /// once) and stops reconnecting until `resume`. Returns at once; the state becomes `Paused` when the socket
    /// is closed (within about 2 s). Everything else keeps working: the stored conversations show, REST calls
    /// go out, and messages written meanwhile wait in the outbox, sent after `resume`. Calling it again changes
    /// nothing; a client paused before it signs in (an app started in the background) connects only on
    /// `resume`. It lasts until `resume`, across sign-out and sign-in.
    pub fn pause(&self) {
        self.shared.paused.send_if_modified(|paused| !std::mem::replace(paused, true));
    }

    /// For the app coming back to the foreground: connects at once (no backoff wait), catches up on what
    /// happened meanwhile through `GET /sync`, and sends the outbox, as after any reconnect. Calling it when
    /// not paused changes nothing, except that a connection waiting out its backoff retries at once.
    pub fn resume(&self) {
        let was_paused = self.shared.paused.send_if_modified(|paused| std::mem::replace(paused, false));
        if !was_paused && matches!(*self.shared.connection.borrow(), ConnectionState::WaitingToRetry { .. }) {
            self.shared.reconnect_wake.notify_one();
        }
    }

    /// The conversation list.
    pub fn conversation_list(&self) -> Arc<ConversationList> {
        Arc::new(ConversationList::new(self.shared.clone()))
    }

    /// One conversation's timeline.
    pub fn timeline(&self, conversation_id: String) -> Result<Arc<Timeline>, HallwayError> {
        let id = parse_id(&conversation_id, "conversation_id")?;
        Ok(Arc::new(Timeline::new(self.shared.clone(), id)))
    }

    /// People the user may start a chat with, matching every word of `query` (empty: everyone), at most
    /// `limit` (1 to 200).
    pub async fn search_directory(&self, query: String, limit: u32) -> Result<Vec<UserInfo>, HallwayError> {
        let shared = self.shared.clone();
        let list = runtime::run(async move {
            let query = vec![("q", query), ("limit", limit.to_string())];
            let list: UserList = shared.api.call(Method::GET, "users", &query, NO_BODY).await?;
            Ok(list)
        })
        .await?;
        Ok(list.users.iter().map(UserInfo::from).collect())
    }

    /// Opens the direct chat with one person, creating it the first time (the same pair always gets the same chat).
    pub async fn start_direct_chat(&self, user_id: String) -> Result<ConversationSummary, HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let other = parse_id(&user_id, "user_id")?;
            let request =
                CreateConversationRequest { kind: ConversationKind::Direct, name: None, member_ids: vec![other] };
            let conversation: Conversation =
                shared.api.call(Method::POST, "conversations", &[], Some(&request)).await?;
            let id = conversation.id;
            let summary = store_conversation(&shared, conversation).await?;
            // An existing chat brings its history: load the newest page now (the connection would, too).
            if let Err(error) = sync::backfill(&shared, id).await {
                tracing::info!(%error, "loading the chat's history failed; the connection will retry");
            }
            Ok(summary)
        })
        .await?)
    }

    /// Creates a group with the user as its first admin.
    pub async fn create_group(
        &self,
        name: String,
        member_ids: Vec<String>,
    ) -> Result<ConversationSummary, HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let member_ids = member_ids.iter().map(|id| parse_id(id, "member_ids")).collect::<Result<Vec<_>>>()?;
            let request = CreateConversationRequest { kind: ConversationKind::Group, name: Some(name), member_ids };
            let conversation: Conversation =
                shared.api.call(Method::POST, "conversations", &[], Some(&request)).await?;
            store_conversation(&shared, conversation).await
        })
        .await?)
    }

    /// Saves an attachment (or, with `thumbnail`, its small preview image) of a message the user can see into
    /// the file `path`, replacing it; returns the bytes written. A failed download leaves no file behind.
    pub async fn download_attachment(
        &self,
        attachment_id: String,
        thumbnail: bool,
        path: String,
    ) -> Result<u64, HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let id = parse_id(&attachment_id, "attachment_id")?;
            let resource = if thumbnail { format!("attachments/{id}/thumbnail") } else { format!("attachments/{id}") };
            shared.api.download(&resource, &PathBuf::from(path)).await
        })
        .await?)
    }

    /// The reports the user made, newest first, each saying whether the school has handled it.
    pub async fn my_reports(&self) -> Result<Vec<ReportInfo>, HallwayError> {
        let shared = self.shared.clone();
        let list = runtime::run(async move {
            let list: MyReportList = shared.api.call(Method::GET, "reports/mine", &[], NO_BODY).await?;
            Ok(list)
        })
        .await?;
        Ok(list.reports.iter().map(ReportInfo::from).collect())
    }

    /// Mutes or unmutes a conversation (for this user only).
    pub async fn set_muted(&self, conversation_id: String, muted: bool) -> Result<(), HallwayError> {
        let settings = ConversationSettingsRequest { muted: Some(muted), ..Default::default() };
        Ok(runtime::run(update_settings(self.shared.clone(), conversation_id, settings)).await?)
    }

    /// Pins or unpins a conversation (pinned ones lead the list).
    pub async fn set_pinned(&self, conversation_id: String, pinned: bool) -> Result<(), HallwayError> {
        let settings = ConversationSettingsRequest { pinned: Some(pinned), ..Default::default() };
        Ok(runtime::run(update_settings(self.shared.clone(), conversation_id, settings)).await?)
    }

    /// Archives or unarchives a conversation (it stays in the list, flagged).
    pub async fn set_archived(&self, conversation_id: String, archived: bool) -> Result<(), HallwayError> {
        let settings = ConversationSettingsRequest { archived: Some(archived), ..Default::default() };
        Ok(runtime::run(update_settings(self.shared.clone(), conversation_id, settings)).await?)
    }
}
