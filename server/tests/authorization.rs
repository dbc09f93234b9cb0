//! The authorization matrix: every operation of the served OpenAPI document and every socket frame
//! (`ClientFrame`), called for real by every class of caller, against the access rule written down here.
//!
//! The rows are keyed by `(method, path)` exactly as the document (made from the server's one route table,
//! `http::openapi`'s `endpoints!`) names them, and the first thing each test does is compare the two: a route
//! (or a frame type) added without a row, or a row left behind by a removed one, fails the test before anything
//! is called.
//!
//! The callers: a school admin, a teacher, a parent and a student, each as a group admin of the conversation the
//! request is about, as a plain member, as someone not in it, and as a member removed from it (through the real
//! endpoint, after their message was sent); a deactivated account, with the token it had; and a live admin's
//! session presented with no token, with its token expired, signed with another key, unsigned (`alg: none`),
//! signed with the right key under another algorithm (HS512), and the token of a session it has signed out of.
//! Each (operation, caller) gets a scene of its own (a fresh group, a message, an attachment, a report, a target
//! account, as the path needs), so that an allowed delete or leave never spoils the next request.
//!
//! What must hold: bad tokens get 401 with the contract's envelope (`unauthenticated`, or `token_expired`); the
//! deactivated account gets 403 `account_deactivated`; people outside a conversation, removed ones included, get
//! 404 `not_found` for everything that names it or its messages and files (never learning it exists), and find
//! nothing of it in the listings (conversations, search, sync); everyone but a school admin gets 403 `forbidden`
//! from admin operations, everyone but a group admin from the group's, and members from other people's messages
//! as the contract says (`Rule`); the callers the rule admits are refused by no authorization check (no 401, no
//! 404, no 403 `forbidden`) nor answered with a 5xx, and for every row but a few named ones at least one of them
//! succeeds. Over the socket: no bad token opens one, and a refused frame is answered with an `error` frame and
//! reaches nobody.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on an unexpected answer")]

mod support;

use std::collections::BTreeSet;
use std::fmt;
use std::io::Cursor;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hallway_protocol::{ConversationKind, Role};
use hallway_server::auth::tokens::Keys;
use hallway_server::store;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{JWT_SECRET, PASSWORD, TestServer, error_code};
use image::{ImageFormat, Rgb, RgbImage};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::Person;
use time::OffsetDateTime;
use uuid::Uuid;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone, without a token (health, the document, sign-in and the other token exchanges).
    Public,
    /// Any signed-in, active account, whatever its role.
    SignedIn,
    /// The conversation's current members (its group admins included); everyone else gets 404.
    Member,
    /// The conversation's group admins; other members get 403, everyone else 404.
    GroupAdmin,
    /// The message's sender (a group admin's own message in the matrix); other members get 403 (a plain member is
    /// given the host's message), everyone else 404.
    Sender,
    /// The message's sender or a group admin (a group admin is given the host's message); other members get 403,
    /// everyone else 404.
    SenderOrGroupAdmin,
    /// As `SenderOrGroupAdmin`, but hidden: 404 to everyone else, members included.
    SenderOrGroupAdminHidden,
    /// School admins; everyone else gets 403.
    SchoolAdmin,
    /// Whoever owns the thing the path names (a device): in the matrix, a person standing as a member is given
    /// their own, anyone else someone else's, which is 404 to them.
    Owner,
}

/// The signed-in reads that list what the caller can see: people outside a conversation (removed ones included)
/// must find nothing of it there, and its members must find it.
const LISTINGS: [&str; 3] = ["/api/v1/conversations", "/api/v1/search", "/api/v1/sync"];

/// Every operation of the document, with its rule. Sorted by path, then method, but for one
/// exception said where it is.
const OPERATIONS: &[(&str, &str, Rule)] = &[
    ("get", "/api/v1/admin/audit", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/banned-words", Rule::SchoolAdmin),
    ("put", "/api/v1/admin/banned-words", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/conversations/{id}/export", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/groups", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/import", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/letters", Rule::SchoolAdmin),
    ("delete", "/api/v1/admin/messages/{id}", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/policy", Rule::SchoolAdmin),
    ("put", "/api/v1/admin/policy", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/reports", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/reports/{id}/resolve", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/safeguarding/conversations", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/safeguarding/conversations/{id}/messages", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/settings/push", Rule::SchoolAdmin),
    ("put", "/api/v1/admin/settings/push", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/settings/retention", Rule::SchoolAdmin),
    ("put", "/api/v1/admin/settings/retention", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/settings/safeguarding", Rule::SchoolAdmin),
    ("put", "/api/v1/admin/settings/safeguarding", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/settings/urgent-messages", Rule::SchoolAdmin),
    ("put", "/api/v1/admin/settings/urgent-messages", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/stats", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/users", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/users", Rule::SchoolAdmin),
    ("get", "/api/v1/admin/users/{id}", Rule::SchoolAdmin),
    ("patch", "/api/v1/admin/users/{id}", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/users/{id}/children", Rule::SchoolAdmin),
    ("delete", "/api/v1/admin/users/{id}/children/{student_id}", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/users/{id}/deactivate", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/users/{id}/reactivate", Rule::SchoolAdmin),
    ("post", "/api/v1/admin/users/{id}/reset", Rule::SchoolAdmin),
    ("post", "/api/v1/attachments", Rule::SignedIn),
    ("get", "/api/v1/attachments/{id}", Rule::Member),
    ("get", "/api/v1/attachments/{id}/thumbnail", Rule::Member),
    ("post", "/api/v1/auth/activate", Rule::Public),
    ("post", "/api/v1/auth/login", Rule::Public),
    ("post", "/api/v1/auth/logout", Rule::Public),
    ("post", "/api/v1/auth/logout-all", Rule::SignedIn),
    ("post", "/api/v1/auth/refresh", Rule::Public),
    ("get", "/api/v1/conversations", Rule::SignedIn),
    ("post", "/api/v1/conversations", Rule::SignedIn),
    ("get", "/api/v1/conversations/{id}", Rule::Member),
    ("patch", "/api/v1/conversations/{id}", Rule::GroupAdmin),
    ("post", "/api/v1/conversations/{id}/admins", Rule::GroupAdmin),
    ("post", "/api/v1/conversations/{id}/leave", Rule::Member),
    ("post", "/api/v1/conversations/{id}/members", Rule::GroupAdmin),
    ("delete", "/api/v1/conversations/{id}/members/{user_id}", Rule::GroupAdmin),
    ("get", "/api/v1/conversations/{id}/messages", Rule::Member),
    ("post", "/api/v1/conversations/{id}/messages", Rule::Member),
    ("post", "/api/v1/conversations/{id}/read", Rule::Member),
    ("patch", "/api/v1/conversations/{id}/settings", Rule::Member),
    ("get", "/api/v1/devices", Rule::SignedIn),
    ("post", "/api/v1/devices", Rule::SignedIn),
    ("delete", "/api/v1/devices/{id}", Rule::Owner),
    ("get", "/api/v1/me", Rule::SignedIn),
    // Put before delete: the calls run in this order, so every person then has an avatar to delete.
    ("put", "/api/v1/me/avatar", Rule::SignedIn),
    ("delete", "/api/v1/me/avatar", Rule::SignedIn),
    ("post", "/api/v1/me/password", Rule::SignedIn),
    ("delete", "/api/v1/messages/{id}", Rule::SenderOrGroupAdmin),
    ("patch", "/api/v1/messages/{id}", Rule::Sender),
    ("post", "/api/v1/messages/{id}/acknowledge", Rule::Member),
    ("post", "/api/v1/messages/{id}/reactions", Rule::Member),
    ("get", "/api/v1/messages/{id}/receipts", Rule::SenderOrGroupAdminHidden),
    ("post", "/api/v1/messages/{id}/report", Rule::Member),
    ("get", "/api/v1/openapi.json", Rule::Public),
    ("get", "/api/v1/push/vapid-key", Rule::SignedIn),
    ("get", "/api/v1/reports/mine", Rule::SignedIn),
    ("get", "/api/v1/search", Rule::SignedIn),
    ("get", "/api/v1/sync", Rule::SignedIn),
    ("get", "/api/v1/users", Rule::SignedIn),
    ("get", "/api/v1/users/{id}/avatar", Rule::SignedIn),
    ("get", "/api/v1/ws", Rule::SignedIn),
    ("get", "/healthz", Rule::Public),
    ("get", "/readyz", Rule::Public),
];

/// Every socket frame (`ClientFrame`'s `type`s), with its rule: all but `ping` name a conversation or a message.
const FRAMES: &[(&str, Rule)] = &[
    ("delete", Rule::SenderOrGroupAdmin),
    ("edit", Rule::Sender),
    ("ping", Rule::SignedIn),
    ("react", Rule::Member),
    ("read", Rule::Member),
    ("send", Rule::Member),
    ("typing", Rule::Member),
];

/// The rows whose admitted calls are not carried through to a 2xx, for which a refusal after the authorization is
/// enough: admin operations given a body they refuse (the admin check comes before the body, as
/// `tests/openapi.rs` proves for every one of them), and the WebSocket upgrade without a handshake (the socket's own
/// test opens real ones). Every other row must see at least one admitted caller succeed, or its matrix would prove
/// only that a refusal of some kind came.
const NOT_CARRIED_THROUGH: [(&str, &str); 10] = [
    ("post", "/api/v1/admin/import"),
    ("post", "/api/v1/admin/letters"),
    ("post", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users/{id}/children"),
    ("put", "/api/v1/admin/banned-words"),
    ("put", "/api/v1/admin/policy"),
    ("put", "/api/v1/admin/settings/push"),
    ("put", "/api/v1/admin/settings/safeguarding"),
    ("put", "/api/v1/admin/settings/urgent-messages"),
    ("get", "/api/v1/ws"),
];

/// The methods an OpenAPI path item may hold operations under.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// How a person stands to the conversation of a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    GroupAdmin,
    Member,
    Outsider,
    Removed,
}

const ROLES: [Role; 4] = [Role::Admin, Role::Teacher, Role::Parent, Role::Student];
const STANDINGS: [Standing; 4] = [Standing::GroupAdmin, Standing::Member, Standing::Outsider, Standing::Removed];

/// One class of caller of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// An active, signed-in account of a role, standing so to the scene's conversation.
    Person(Role, Standing),
    /// A deactivated school admin (a group admin of every scene), with the token it had before.
    Deactivated,
    /// No `Authorization` header at all.
    NoToken,
    /// A live admin's session (a group admin of every scene), its token expired an hour ago.
    Expired,
    /// The same session's claims, signed with a key that is not the server's.
    ForeignKey,
    /// The same session's claims, unsigned (`"alg": "none"`).
    AlgNone,
    /// The same session's claims signed with the server's own secret, but with HS512 instead of HS256.
    OtherAlgorithm,
    /// The admin's unexpired token of a session it has signed out of.
    EndedSession,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Person(role, standing) => write!(f, "{role:?} {standing:?}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The callers whose token does not hold.
const BAD_TOKENS: [Caller; 6] = [
    Caller::NoToken,
    Caller::Expired,
    Caller::ForeignKey,
    Caller::AlgNone,
    Caller::OtherAlgorithm,
    Caller::EndedSession,
];

fn callers() -> Vec<Caller> {
    let mut callers: Vec<Caller> =
        ROLES.iter().flat_map(|role| STANDINGS.iter().map(|standing| Caller::Person(*role, *standing))).collect();
    callers.extend(BAD_TOKENS);
    callers.push(Caller::Deactivated);
    callers
}

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Through every authorization check: anything but 401, 404, 403 `forbidden`/`account_deactivated` or 5xx.
    Allowed,
    Refused(StatusCode, &'static str),
}

fn expected(rule: Rule, caller: Caller) -> Expect {
    let unauthenticated = Expect::Refused(StatusCode::UNAUTHORIZED, "unauthenticated");
    if rule == Rule::Public {
        return Expect::Allowed;
    }
    let (role, standing) = match caller {
        Caller::NoToken | Caller::ForeignKey | Caller::AlgNone | Caller::OtherAlgorithm | Caller::EndedSession => {
            return unauthenticated;
        }
        Caller::Expired => return Expect::Refused(StatusCode::UNAUTHORIZED, "token_expired"),
        Caller::Deactivated => return Expect::Refused(StatusCode::FORBIDDEN, "account_deactivated"),
        Caller::Person(role, standing) => (role, standing),
    };
    let not_found = Expect::Refused(StatusCode::NOT_FOUND, "not_found");
    let forbidden = Expect::Refused(StatusCode::FORBIDDEN, "forbidden");
    match (rule, standing) {
        (Rule::Public | Rule::SignedIn, _) => Expect::Allowed,
        (Rule::SchoolAdmin, _) if role == Role::Admin => Expect::Allowed,
        (Rule::SchoolAdmin, _) => forbidden,
        (_, Standing::Outsider | Standing::Removed) => not_found,
        (Rule::Member | Rule::Owner, _) | (_, Standing::GroupAdmin) => Expect::Allowed,
        (Rule::GroupAdmin | Rule::Sender | Rule::SenderOrGroupAdmin, Standing::Member) => forbidden,
        (Rule::SenderOrGroupAdminHidden, Standing::Member) => not_found,
    }
}

/// Whether an answer is what was expected.
fn meets(expect: Expect, status: StatusCode, body: &Value) -> bool {
    match expect {
        // The contract's envelope: `{"error": {"code", "message"}}`.
        Expect::Refused(want, code) => {
            status == want
                && error_code(body) == code
                && body["error"]["message"].as_str().is_some_and(|message| !message.is_empty())
        }
        Expect::Allowed => {
            let refused_as_caller = status == StatusCode::FORBIDDEN
                && matches!(error_code(body), "forbidden" | "account_deactivated" | "unauthenticated");
            !(status == StatusCode::UNAUTHORIZED
                || status == StatusCode::NOT_FOUND
                || refused_as_caller
                || status.is_server_error())
        }
    }
}

/// The people of the school, signed in once.
struct School {
    /// Role × standing, in the order of `callers()`.
    people: Vec<((Role, Standing), Person)>,
    /// A teacher in every scene as its creator and group admin: sends the message of scenes whose caller is not
    /// a member, has an avatar, and watches the sockets.
    host: Person,
    /// A plain member of every scene: the one removed or promoted by a group admin.
    bystander: Person,
    /// In no scene: the one added by a group admin.
    spare: Person,
    /// What safeguarding shows (the setting is on): a direct chat between the host and a student, read-only.
    safeguarded: Uuid,
    /// A school admin in every scene as a group admin, whose session the bad tokens are made from.
    ghost: Person,
    ghost_session: Uuid,
    /// A deactivated school admin in every scene as a group admin, with its token from before.
    deactivated: Person,
    /// The bad tokens' admin's access token of a second session, signed out of.
    ended: String,
}

impl School {
    async fn enrol(server: &TestServer) -> School {
        let mut people = Vec::new();
        for role in ROLES {
            for standing in STANDINGS {
                let name = format!("{role:?}-{standing:?}").to_lowercase();
                people.push(((role, standing), support::person(server, &name, role).await));
            }
        }
        let host = support::person(server, "host", Role::Teacher).await;
        let bystander = support::person(server, "bystander", Role::Teacher).await;
        let spare = support::person(server, "spare", Role::Teacher).await;
        let pupil = server.create_user("pupil", Role::Student).await;
        let members = [(host.id, false), (pupil.id, false)];
        let safeguarded = create_conversation(server, ConversationKind::Direct, &members).await;
        let ghost = support::person(server, "ghost", Role::Admin).await;
        let ghost_session = server.state.keys.verify_access(&ghost.token).unwrap().sid;
        let deactivated = support::person(server, "deactivated", Role::Admin).await;
        let second = server.login("ghost", PASSWORD).await;
        let logout = json!({"refresh_token": second.refresh_token});
        let (status, body) = server.post("/api/v1/auth/logout", Some(&second.access_token), &logout).await;
        assert!(status.is_success(), "signing out: {status} {body}");
        let path = format!("/api/v1/admin/users/{}/deactivate", deactivated.id);
        let (status, body) = server.post(&path, ghost.token(), &json!({})).await;
        assert!(status.is_success(), "deactivating: {status} {body}");
        let part = Part::bytes(png(16, 16)).file_name("me.png");
        let request = server.client.put(server.url("/api/v1/me/avatar")).multipart(Form::new().part("file", part));
        let (status, body) = server.send(request, host.token()).await;
        assert!(status.is_success(), "the host's avatar: {status} {body}");
        let enabled = json!({"enabled": true});
        let (status, body) = server.put("/api/v1/admin/settings/safeguarding", ghost.token(), &enabled).await;
        assert!(status.is_success(), "safeguarding on: {status} {body}");
        School {
            people,
            host,
            bystander,
            spare,
            safeguarded,
            ghost,
            ghost_session,
            deactivated,
            ended: second.access_token,
        }
    }

    fn person(&self, role: Role, standing: Standing) -> &Person {
        &self.people.iter().find(|(key, _)| *key == (role, standing)).unwrap().1
    }

    /// The token a caller presents.
    fn token(&self, server: &TestServer, caller: Caller) -> Option<String> {
        let now = OffsetDateTime::now_utc();
        let (ghost, sid) = (self.ghost.id, self.ghost_session);
        match caller {
            Caller::Person(role, standing) => Some(self.person(role, standing).token.clone()),
            Caller::Deactivated => Some(self.deactivated.token.clone()),
            Caller::NoToken => None,
            Caller::Expired => Some(server.state.keys.issue_access(
                ghost,
                sid,
                now - Duration::from_secs(3600),
                Duration::from_secs(60),
            )),
            Caller::ForeignKey => Some(Keys::from_secret(b"another server's secret").issue_access(
                ghost,
                sid,
                now,
                Duration::from_secs(600),
            )),
            Caller::AlgNone => {
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
                let iat = now.unix_timestamp();
                let claims = json!({"sub": ghost, "sid": sid, "iat": iat, "exp": iat + 600});
                Some(format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string())))
            }
            Caller::OtherAlgorithm => {
                let iat = now.unix_timestamp();
                let claims = json!({"sub": ghost, "sid": sid, "iat": iat, "exp": iat + 600});
                let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
                Some(
                    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512), &claims, &key)
                        .unwrap(),
                )
            }
            Caller::EndedSession => Some(self.ended.clone()),
        }
    }

    /// Signs a person in again, after an operation that ended their sessions.
    async fn sign_in_again(&mut self, server: &TestServer, caller: Caller) {
        if let Caller::Person(role, standing) = caller {
            let name = format!("{role:?}-{standing:?}").to_lowercase();
            let tokens = server.login(&name, PASSWORD).await;
            let person = &mut self.people.iter_mut().find(|(key, _)| *key == (role, standing)).unwrap().1;
            person.token = tokens.access_token;
        }
    }
}

/// What a path's ids are filled with: made for one (operation, caller), as far as the path needs them.
#[derive(Default)]
struct Scene {
    conversation: Option<Uuid>,
    message: Option<Uuid>,
    attachment: Option<Uuid>,
    report: Option<Uuid>,
    device: Option<Uuid>,
    /// A parent account and a student linked to them, for the admin operations on people.
    target: Option<(Uuid, Uuid)>,
    /// A word found only in the scene's message.
    marker: String,
}

impl Scene {
    async fn build(server: &TestServer, school: &School, caller: Caller, path: &str, rule: Rule) -> Scene {
        let mut scene = Scene::default();
        let about_conversation = (path.contains("/conversations/{id}") && !path.contains("/safeguarding/"))
            || path.starts_with("/api/v1/messages/{id}")
            || path.starts_with("/api/v1/attachments/{id}")
            || path.starts_with("/api/v1/admin/messages/{id}")
            || path.starts_with("/api/v1/admin/reports/{id}")
            || LISTINGS.contains(&path);
        if about_conversation {
            scene.conversation_for(server, school, caller, path.starts_with("/api/v1/attachments/{id}"), rule).await;
        }
        if path.starts_with("/api/v1/admin/safeguarding/conversations/{id}") {
            scene.conversation = Some(school.safeguarded);
        }
        if path.starts_with("/api/v1/admin/reports/{id}") {
            let message = scene.message.unwrap();
            let path = format!("/api/v1/messages/{message}/report");
            let (status, report) = server.post(&path, school.host.token(), &json!({"reason": "spam"})).await;
            assert!(status.is_success(), "a report: {status} {report}");
            scene.report = Some(report["id"].as_str().unwrap().parse().unwrap());
        }
        if path.starts_with("/api/v1/devices/{id}") {
            // The caller's own device when the caller can register one, else someone else's.
            let owner = match caller {
                Caller::Person(role, standing @ (Standing::GroupAdmin | Standing::Member)) => {
                    school.person(role, standing)
                }
                _ => &school.host,
            };
            let body = json!({"platform": "fcm", "token": format!("push-{}", Uuid::now_v7())});
            let (status, device) = server.post("/api/v1/devices", owner.token(), &body).await;
            assert!(status.is_success(), "a device: {status} {device}");
            scene.device = Some(device["id"].as_str().unwrap().parse().unwrap());
        }
        if path.starts_with("/api/v1/admin/users/{id}") {
            let suffix = Uuid::now_v7().simple().to_string();
            let parent = server.create_user(&format!("p{suffix}"), Role::Parent).await.id;
            let student = server.create_user(&format!("s{suffix}"), Role::Student).await.id;
            sqlx::query("INSERT INTO guardianships (parent_id, student_id) VALUES ($1, $2)")
                .bind(parent)
                .bind(student)
                .execute(&server.pool)
                .await
                .unwrap();
            scene.target = Some((parent, student));
        }
        scene
    }

    /// A fresh group: the host (group admin), the bystander, the bad tokens' admin and the deactivated admin (group
    /// admins), and the caller as its standing says. It holds one message: the caller's own when the caller is (or
    /// was) a member, but for the rules on other people's messages (see `Rule`), and the host's with an attachment
    /// when `with_attachment` (an uploader may always fetch their file, so the caller's access is then the
    /// membership's alone). A removed caller is removed after it, through the real endpoint.
    async fn conversation_for(
        &mut self,
        server: &TestServer,
        school: &School,
        caller: Caller,
        with_attachment: bool,
        rule: Rule,
    ) {
        let mut members = vec![
            (school.host.id, true),
            (school.bystander.id, false),
            (school.ghost.id, true),
            (school.deactivated.id, true),
        ];
        let mut sender = &school.host;
        if let Caller::Person(role, standing) = caller {
            let person = school.person(role, standing);
            match standing {
                Standing::GroupAdmin => members.push((person.id, true)),
                Standing::Member | Standing::Removed => members.push((person.id, false)),
                Standing::Outsider => {}
            }
            let own = match rule {
                Rule::Sender => matches!(standing, Standing::GroupAdmin | Standing::Removed),
                Rule::SenderOrGroupAdmin | Rule::SenderOrGroupAdminHidden => standing == Standing::Removed,
                _ => standing != Standing::Outsider,
            };
            if own && !with_attachment {
                sender = person;
            }
        } else if BAD_TOKENS.contains(&caller) && caller != Caller::NoToken && !with_attachment {
            sender = &school.ghost;
        }
        let conversation = create_conversation(server, ConversationKind::Group, &members).await;
        let marker = format!("marker{}", Uuid::now_v7().simple());
        self.marker = marker.clone();

        let mut attachment_ids = Vec::new();
        if with_attachment {
            let part = Part::bytes(png(16, 16)).file_name("photo.png");
            let request =
                server.client.post(server.url("/api/v1/attachments")).multipart(Form::new().part("file", part));
            let (status, attachment) = server.send(request, sender.token()).await;
            assert_eq!(status, StatusCode::CREATED, "an attachment: {attachment}");
            let id: Uuid = attachment["id"].as_str().unwrap().parse().unwrap();
            attachment_ids.push(id);
            self.attachment = Some(id);
        }
        let path = format!("/api/v1/conversations/{conversation}/messages");
        let body = json!({"client_msg_id": Uuid::now_v7().to_string(), "body": format!("scene {marker}"), "attachment_ids": attachment_ids});
        let (status, message) = server.post(&path, sender.token(), &body).await;
        assert_eq!(status, StatusCode::CREATED, "the scene's message: {message}");
        self.message = Some(message["id"].as_str().unwrap().parse().unwrap());

        if let Caller::Person(role, Standing::Removed) = caller {
            let removed = school.person(role, Standing::Removed).id;
            let path = format!("/api/v1/conversations/{conversation}/members/{removed}");
            let (status, body) = server.delete(&path, school.host.token()).await;
            assert_eq!(status, StatusCode::OK, "removing the member: {body}");
        }
        self.conversation = Some(conversation);
    }

    /// The path with its ids filled in.
    fn fill(&self, school: &School, path: &str) -> String {
        let id = |value: Option<Uuid>| value.expect("the scene has what the path names").to_string();
        let first = if path.starts_with("/api/v1/conversations/{id}")
            || path.starts_with("/api/v1/admin/conversations/{id}")
            || path.starts_with("/api/v1/admin/safeguarding/conversations/{id}")
        {
            id(self.conversation)
        } else if path.starts_with("/api/v1/messages/{id}") || path.starts_with("/api/v1/admin/messages/{id}") {
            id(self.message)
        } else if path.starts_with("/api/v1/attachments/{id}") {
            id(self.attachment)
        } else if path.starts_with("/api/v1/admin/reports/{id}") {
            id(self.report)
        } else if path.starts_with("/api/v1/devices/{id}") {
            id(self.device)
        } else if path.starts_with("/api/v1/admin/users/{id}") {
            id(self.target.map(|(parent, _)| parent))
        } else if path.starts_with("/api/v1/users/{id}") {
            school.host.id.to_string()
        } else {
            String::new()
        };
        let mut filled = path.replace("{id}", &first).replace("{user_id}", &school.bystander.id.to_string());
        if filled.contains("{student_id}") {
            filled = filled.replace("{student_id}", &id(self.target.map(|(_, student)| student)));
        }
        filled
    }
}

/// A conversation made in the database, the first member its creator; `(id, is group admin)`.
async fn create_conversation(server: &TestServer, kind: ConversationKind, members: &[(Uuid, bool)]) -> Uuid {
    let name = (kind == ConversationKind::Group).then_some("Class 4B");
    let mut tx = server.pool.begin().await.unwrap();
    let new = store::conversations::NewConversation { kind, name, created_by: members[0].0, members };
    let conversation = store::conversations::create(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    conversation
}

/// The body of a request: a valid one wherever the caller is checked after the body is read, so that a refusal
/// is the authorization's and never the body's; admin operations check the caller first (`http::admin`).
enum Body {
    None,
    Json(Value),
    File(Vec<u8>, &'static str),
}

fn body_for(method: &str, path: &str, school: &School) -> Body {
    match (method, path) {
        ("post", "/api/v1/attachments") => Body::File(b"Bring a coat on Friday.\n".to_vec(), "note.txt"),
        ("put", "/api/v1/me/avatar") => Body::File(png(16, 16), "me.png"),
        ("post", "/api/v1/me/password") => Body::Json(json!({"current_password": PASSWORD, "new_password": PASSWORD})),
        ("post", "/api/v1/devices") => {
            Body::Json(json!({"platform": "fcm", "token": format!("push-{}", Uuid::now_v7())}))
        }
        ("post", "/api/v1/conversations") => {
            Body::Json(json!({"kind": "group", "name": "New group", "member_ids": [school.host.id]}))
        }
        ("patch", "/api/v1/conversations/{id}") => Body::Json(json!({"name": "Renamed"})),
        ("post", "/api/v1/conversations/{id}/members") => Body::Json(json!({"user_ids": [school.spare.id]})),
        ("post", "/api/v1/conversations/{id}/admins") => Body::Json(json!({"user_id": school.bystander.id})),
        ("patch", "/api/v1/conversations/{id}/settings") => Body::Json(json!({"muted": true})),
        ("post", "/api/v1/conversations/{id}/messages") => {
            Body::Json(json!({"client_msg_id": Uuid::now_v7().to_string(), "body": "hello"}))
        }
        ("post", "/api/v1/conversations/{id}/read") => Body::Json(json!({"seq": 1})),
        ("patch", "/api/v1/messages/{id}") => Body::Json(json!({"body": "edited"})),
        ("post", "/api/v1/messages/{id}/reactions") => Body::Json(json!({"emoji": "👍", "on": true})),
        ("post", "/api/v1/messages/{id}/report") => Body::Json(json!({"reason": "spam"})),
        ("post", "/api/v1/admin/reports/{id}/resolve") => Body::Json(json!({"action": "dismiss"})),
        (_, path) if path.starts_with("/api/v1/auth/") && path != "/api/v1/auth/logout-all" => Body::Json(json!({})),
        ("post" | "put" | "patch", _) => Body::Json(json!({})),
        _ => Body::None,
    }
}

/// The query some reads need to be valid.
fn query_for(path: &str, scene: &Scene) -> String {
    match path {
        "/api/v1/users" => "?q=ho".to_owned(),
        "/api/v1/search" => format!("?q={}", scene.marker),
        _ => String::new(),
    }
}

/// What a listing shows of the scene, when it is wrong for the caller: members must find the conversation and its
/// message, outsiders nothing of either, removed members not the message (being told that the conversation is
/// gone is their due).
fn listing_problem(caller: Caller, scene: &Scene, body: &Value) -> Option<&'static str> {
    let Caller::Person(_, standing) = caller else { return None };
    let text = body.to_string();
    let names_conversation = text.contains(&scene.conversation?.to_string());
    let shows_message = text.contains(&scene.marker);
    match standing {
        Standing::GroupAdmin | Standing::Member if !names_conversation => {
            Some("a member does not find the conversation")
        }
        Standing::Outsider if names_conversation || shows_message => Some("an outsider sees the conversation"),
        Standing::Removed if shows_message => Some("a removed member still sees the message"),
        _ => None,
    }
}

/// Whether an allowed call ends the caller's sessions, so that they must sign in again.
fn ends_sessions(method: &str, path: &str) -> bool {
    (method, path) == ("post", "/api/v1/auth/logout-all")
}

/// A small PNG.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// Every documented `(method, path)` of the served document.
async fn documented_operations(server: &TestServer) -> (Value, BTreeSet<(String, String)>) {
    let (status, doc) = server.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if METHODS.contains(&method.as_str()) {
                operations.insert((method.clone(), path.clone()));
            }
        }
    }
    (doc, operations)
}

/// Compares the rows with what is served: the difference, both ways, is the failure message.
fn assert_same_rows(kind: &str, served: &BTreeSet<String>, rows: &BTreeSet<String>) {
    let missing: Vec<&String> = served.difference(rows).collect();
    let stale: Vec<&String> = rows.difference(served).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the authorization matrix must have one row per {kind}: add rows for {missing:?}; remove rows for {stale:?}"
    );
}

async fn start() -> TestServer {
    TestServer::start_with(|c| {
        c.realtime.sends_per_sec = 10_000;
        c.realtime.send_burst = 10_000;
        c.realtime.typing_per_sec = 10_000;
    })
    .await
}

#[actix_web::test]
async fn every_operation_answers_every_caller_class_as_its_row_says() {
    let server = start().await;
    let (_, served) = documented_operations(&server).await;
    let rows: BTreeSet<(String, String)> = OPERATIONS.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(rows.len(), OPERATIONS.len(), "one row per operation");
    let show = |set: &BTreeSet<(String, String)>| set.iter().map(|(m, p)| format!("{m} {p}")).collect();
    assert_same_rows("operation of the OpenAPI document", &show(&served), &show(&rows));

    let mut school = School::enrol(&server).await;
    let mut failures = Vec::new();
    let mut calls = 0;
    for (method, path, rule) in OPERATIONS {
        let mut carried_through = false;
        for caller in callers() {
            let scene = Scene::build(&server, &school, caller, path, *rule).await;
            let url = format!("{}{}", scene.fill(&school, path), query_for(path, &scene));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = server.client.request(method.clone(), server.url(&url));
            request = match body_for(method.as_str().to_lowercase().as_str(), path, &school) {
                Body::None => request,
                Body::Json(body) => request.json(&body),
                Body::File(bytes, name) => {
                    request.multipart(Form::new().part("file", Part::bytes(bytes).file_name(name)))
                }
            };
            let token = school.token(&server, caller);
            let (status, body) = server.send(request, token.as_deref()).await;
            calls += 1;
            let expect = expected(*rule, caller);
            carried_through |= expect == Expect::Allowed && status.is_success();
            if !meets(expect, status, &body) {
                let shown: String = body.to_string().chars().take(160).collect();
                failures.push(format!("{method} {path} as {caller}: expected {expect:?}, got {status} {shown}"));
            }
            if method == Method::GET
                && LISTINGS.contains(path)
                && status.is_success()
                && let Some(problem) = listing_problem(caller, &scene, &body)
            {
                failures.push(format!("GET {path} as {caller}: {problem}"));
            }
            if expect == Expect::Allowed && ends_sessions(method.as_str().to_lowercase().as_str(), path) {
                school.sign_in_again(&server, caller).await;
            }
        }
        if !carried_through && *rule != Rule::Public && !NOT_CARRIED_THROUGH.contains(&(*method, *path)) {
            failures.push(format!("{method} {path}: no admitted caller got a 2xx, so the matrix proves nothing of it"));
        }
    }
    assert!(failures.is_empty(), "{} of {calls} calls broke the matrix:\n{}", failures.len(), failures.join("\n"));
}

/// The text the host sends into a scene after someone outside it has been refused there.
const AFTER: &str = "sent after the refusal";

/// The `type`s of `ClientFrame`, as the served document lists them.
fn client_frame_types(doc: &Value) -> BTreeSet<String> {
    let variants = doc["components"]["schemas"]["ClientFrame"]["oneOf"].as_array().expect("ClientFrame is a oneOf");
    variants
        .iter()
        .flat_map(|variant| variant["properties"]["type"]["enum"].as_array().cloned().unwrap_or_default())
        .filter_map(|value| value.as_str().map(str::to_owned))
        .collect()
}

/// A WebSocket upgrade request with a token in the header or the query; the status and the error code.
async fn upgrade(server: &TestServer, token: Option<&str>, in_query: bool) -> (StatusCode, String) {
    let path = match (token, in_query) {
        (Some(token), true) => format!("/api/v1/ws?access_token={token}"),
        _ => "/api/v1/ws".to_owned(),
    };
    let request = server
        .client
        .get(server.url(&path))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    let (status, body) = server.send(request, token.filter(|_| !in_query)).await;
    (status, error_code(&body).to_owned())
}

/// The frame a caller sends, and what shows that it went through: the `type` of the frame the host (a member of
/// every scene) then gets about the scene, or `pong` on the caller's own socket.
fn frame_for(kind: &str, scene: &Scene, reference: &str) -> (Value, &'static str) {
    let conversation = scene.conversation.unwrap();
    let message = scene.message.unwrap();
    match kind {
        "send" => (
            json!({"type": "send", "conversation_id": conversation, "client_msg_id": reference, "body": "frame", "ref": reference}),
            "message",
        ),
        "typing" => {
            (json!({"type": "typing", "conversation_id": conversation, "typing": true, "ref": reference}), "typing")
        }
        "read" => (json!({"type": "read", "conversation_id": conversation, "seq": 1, "ref": reference}), "read"),
        "react" => {
            (json!({"type": "react", "message_id": message, "emoji": "👍", "on": true, "ref": reference}), "reaction")
        }
        "edit" => {
            (json!({"type": "edit", "message_id": message, "body": "edited", "ref": reference}), "message_updated")
        }
        "delete" => (json!({"type": "delete", "message_id": message, "ref": reference}), "message_deleted"),
        "ping" => (json!({"type": "ping", "ref": reference}), "pong"),
        other => panic!("no frame for {other}: add it to frame_for"),
    }
}

/// The socket's doors: no bad token opens one, header or query, and for each frame every person gets what the
/// frame's row says: a member's frame goes through (the host, a member of the scene, sees its effect), anyone
/// else's is answered with an `error` frame `not_found` about it, and nobody in the conversation sees anything
/// of it.
#[actix_web::test]
async fn every_socket_frame_answers_every_caller_class_as_its_row_says() {
    let server = start().await;
    let (doc, _) = documented_operations(&server).await;
    let rows: BTreeSet<String> = FRAMES.iter().map(|(kind, _)| kind.to_string()).collect();
    assert_same_rows("ClientFrame type", &client_frame_types(&doc), &rows);

    let school = School::enrol(&server).await;
    for caller in BAD_TOKENS.into_iter().chain([Caller::Deactivated]) {
        let Expect::Refused(status, code) = expected(Rule::SignedIn, caller) else { unreachable!() };
        let token = school.token(&server, caller);
        for in_query in [false, true] {
            let got = upgrade(&server, token.as_deref(), in_query).await;
            assert_eq!(got, (status, code.to_owned()), "the upgrade as {caller} (token in the query: {in_query})");
        }
    }
    let got = upgrade(&server, school.host.token(), false).await;
    assert_eq!(got.0, StatusCode::SWITCHING_PROTOCOLS, "a live token opens a socket");

    let mut observer = WsClient::connect(&server, &school.host.token).await;
    let mut sockets = Vec::new();
    for caller in callers() {
        if let Caller::Person(role, standing) = caller {
            sockets.push((caller, WsClient::connect(&server, &school.person(role, standing).token).await));
        }
    }

    // First every refused frame, so that anything the host then sees of them is a leak.
    let mut allowed = Vec::new();
    let mut failures = Vec::new();
    for (kind, rule) in FRAMES {
        for (caller, socket) in sockets.iter_mut() {
            let scene = Scene::build(&server, &school, *caller, "/api/v1/conversations/{id}", *rule).await;
            let reference = Uuid::now_v7().to_string();
            let (frame, evidence) = frame_for(kind, &scene, &reference);
            match expected(*rule, *caller) {
                Expect::Allowed => allowed.push((*caller, kind, scene, frame, evidence)),
                Expect::Refused(_, code) => {
                    socket.send(frame).await;
                    let answer = loop {
                        let next = socket.next_frame_within(Duration::from_secs(10)).await.expect("an answer");
                        if next["type"] == "error" && next["ref"] == reference.as_str() {
                            break next;
                        }
                        if next.to_string().contains(AFTER) {
                            failures.push(format!("as {caller}, a conversation they are not in reached them: {next}"));
                        }
                    };
                    if answer["code"] != code {
                        failures.push(format!("{kind} as {caller}: expected {code}, got {answer}"));
                    }
                    // What the conversation says next must not reach someone outside it, whose socket was open
                    // (for a removed member, open since before the removal).
                    if let Caller::Person(_, Standing::Outsider | Standing::Removed) = caller {
                        let path = format!("/api/v1/conversations/{}/messages", scene.conversation.unwrap());
                        let body = json!({"client_msg_id": Uuid::now_v7().to_string(), "body": AFTER});
                        let (status, body) = server.post(&path, school.host.token(), &body).await;
                        assert_eq!(status, StatusCode::CREATED, "{body}");
                    }
                }
            }
        }
    }
    let leaks = ["message_updated", "message_deleted", "reaction", "typing", "read"];
    while let Some(frame) = observer.next_frame_within(Duration::from_millis(500)).await {
        let leaked = leaks.contains(&frame["type"].as_str().unwrap_or_default())
            || (frame["type"] == "message" && frame["message"]["body"] == "frame")
            || (frame["type"] == "message" && frame["body"] == "frame");
        if leaked {
            failures.push(format!("a refused frame reached a member: {frame}"));
        }
    }

    // Then every admitted one: its effect reaches the host.
    for (caller, kind, scene, frame, evidence) in allowed {
        let socket = &mut sockets.iter_mut().find(|(c, _)| *c == caller).unwrap().1;
        socket.send(frame).await;
        let key = if matches!(*kind, "react" | "edit" | "delete") { scene.message } else { scene.conversation };
        let key = key.unwrap().to_string();
        let (watched, key) = if evidence == "pong" { (socket, None) } else { (&mut observer, Some(key)) };
        let seen = loop {
            let Some(next) = watched.next_frame_within(Duration::from_secs(10)).await else { break None };
            if next["type"] == "error" && key.is_none() {
                break Some(next);
            }
            if next["type"] == evidence && key.as_ref().is_none_or(|key| next.to_string().contains(key.as_str())) {
                break Some(next);
            }
        };
        match seen {
            Some(frame) if frame["type"] == evidence => {}
            other => failures.push(format!("{kind} as {caller}: expected {evidence} to follow, got {other:?}")),
        }
    }
    // And no admitted frame was refused, nor did anything of the conversations they are not in reach anyone.
    for (caller, socket) in sockets.iter_mut() {
        while let Some(frame) = socket.next_frame_within(Duration::from_millis(200)).await {
            if frame["type"] == "error" {
                failures.push(format!("as {caller}, an admitted frame was refused: {frame}"));
            }
            if frame.to_string().contains(AFTER) {
                failures.push(format!("as {caller}, a conversation they are not in reached them: {frame}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} frames broke the matrix:\n{}", failures.len(), failures.join("\n"));
}
