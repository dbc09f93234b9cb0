//! The push gateway between a real school server and a push receiver, all on 127.0.0.1: the gateway runs as
//! its own process (the binary a publisher runs, with its keys file and its logs captured), the school server
//! is the real server on a fresh database, configured to send through the gateway, and the receiver checks
//! each request's VAPID signature and decrypts its RFC 8291 body with the subscription's private key.
//!
//! APNs and FCM pushes go to the local stand-ins of Apple and Google (`vendor_push`), which check the publisher's
//! provider token and grant. The other tests route `webpush` through the gateway too (the test-only
//! `carries_webpush` setting), so that a push can be followed to a receiver that decrypts it.
#![expect(clippy::unwrap_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallway_protocol::{ConversationKind, Role};
use hallway_server::config::{GatewayKey, GatewaySettings};
use hallway_test_support::TestServer;
use hallway_test_support::push_receiver::{PushReceiver, Reply, Subscription};
use hallway_test_support::vendor_push::{ApnsReceiver, ApnsReply, FcmReceiver};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use uuid::Uuid;

/// How long a test waits for something it expects.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits to be sure something does not happen.
const QUIET: Duration = Duration::from_millis(1500);
const GATEWAY: &str = env!("CARGO_BIN_EXE_hallway-push-gateway");

/// The gateway binary, running; killed when dropped.
struct GatewayProcess {
    child: tokio::process::Child,
    url: String,
    keys_file: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl GatewayProcess {
    /// Starts the gateway on a free port with a keys file holding a key for each of `schools`, returned in order.
    async fn start(schools: &[&str], extra: &[&str]) -> (GatewayProcess, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let keys_file = dir.path().join("keys.toml");
        let keys = schools.iter().map(|school| keys_cli(&keys_file, &["add", school])).collect();
        let mut child = tokio::process::Command::new(GATEWAY)
            .args(["serve", "--bind", "127.0.0.1:0", "--webpush"])
            // The keys file is looked at every 100 ms, unless the test chose otherwise.
            .args(if extra.contains(&"--keys-poll-ms") { &[][..] } else { &["--keys-poll-ms", "100"][..] })
            .args(["--allow-insecure-endpoints", "--upstream-timeout-secs", "5"])
            .arg("--keys-file")
            .arg(&keys_file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let logs = logs.clone();
            actix_rt::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    logs.lock().unwrap().push(line);
                }
            });
        }
        let mut gateway = GatewayProcess { child, url: String::new(), keys_file, logs, _dir: dir };
        let line = gateway.wait_for_log("is listening on ").await.unwrap_or_else(|| panic!("{}", gateway.logs()));
        gateway.url = line.split("is listening on ").nth(1).unwrap().trim().to_owned();
        (gateway, keys)
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    fn count(&self, needle: &str) -> usize {
        self.logs.lock().unwrap().iter().filter(|line| line.contains(needle)).count()
    }

    /// Waits for a log line containing `needle` and returns it.
    async fn wait_for_log(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(line) = self.logs.lock().unwrap().iter().find(|line| line.contains(needle)) {
                return Some(line.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts that no log line holds any of `secrets` (device tokens, payload fields, keys, message text).
    fn assert_logs_hold_none_of(&self, secrets: &[&str]) {
        let logs = self.logs();
        assert!(!logs.is_empty());
        for secret in secrets {
            assert!(!secret.is_empty());
            assert!(!logs.contains(secret), "the gateway logged {secret:?}:\n{logs}");
        }
    }
}

/// Runs `hallway-push-gateway keys <args>` on `keys_file` and returns its standard output, trimmed.
fn keys_cli(keys_file: &Path, args: &[&str]) -> String {
    let output =
        std::process::Command::new(GATEWAY).arg("keys").arg("--keys-file").arg(keys_file).args(args).output().unwrap();
    assert!(output.status.success(), "keys {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A school server sending its pushes (Web Push included, see the module doc) through `gateway` with `key`.
async fn school_server(gateway: &GatewayProcess, key: &str) -> TestServer {
    let (url, key) = (gateway.url.clone(), key.to_owned());
    TestServer::start_with(move |config| {
        config.push.allow_insecure_endpoints = true;
        config.push.retry_base = Duration::from_millis(200);
        config.push.poll_interval = Duration::from_millis(200);
        config.push.gateway =
            Some(GatewaySettings { url, key: GatewayKey::new(key), concurrency: 4, carries_webpush: true });
    })
    .await
}

/// A teacher and an offline parent in a group, the parent's device registered with `subscription`:
/// (teacher's token, group, parent's token, parent's id).
async fn teacher_and_parent(server: &TestServer, subscription: &Subscription) -> (String, Uuid, String, Uuid) {
    let (teacher, teacher_tokens) = server.signed_in("teacher", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("parent", Role::Parent).await;
    let group = server.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[parent.id]).await;
    let body = subscription.device_body("webpush");
    let (status, device) = server.post("/api/v1/devices", Some(&parent_tokens.access_token), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    (teacher_tokens.access_token, group, parent_tokens.access_token, parent.id)
}

/// What must never reach the gateway's logs for this subscription and conversation.
fn secrets<'a>(subscription: &'a Subscription, conversation: &'a str, key: &'a str) -> Vec<&'a str> {
    let endpoint_id = subscription.endpoint.rsplit('/').next().unwrap();
    vec![
        &subscription.endpoint,
        endpoint_id,
        subscription.p256dh.as_deref().unwrap(),
        subscription.auth.as_deref().unwrap(),
        conversation,
        key,
        "badge",
    ]
}

async fn device_count(pool: &PgPool, user_id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM devices WHERE user_id = $1").bind(user_id).fetch_one(pool).await.unwrap()
}

#[actix_web::test]
async fn a_message_to_an_offline_member_travels_through_the_gateway_and_arrives_with_ids_and_badge_only() {
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary"], &[]).await;
    let server = school_server(&gateway, &keys[0]).await;
    let receiver = PushReceiver::start();
    let subscription = receiver.subscribe();
    let (teacher, group, parent, _) = teacher_and_parent(&server, &subscription).await;

    let message = server.send_message(&teacher, group, "the secret words of the teacher").await;

    let received = receiver.wait_for(1, TIMEOUT).await;
    assert_eq!(received.len(), 1, "{:?}\n{}", receiver.problems(), gateway.logs());
    let push = &received[0];
    assert!(push.encrypted, "decrypted with the subscription's private key");
    assert_eq!(push.payload, json!({ "type": "message", "conversation_id": group, "seq": message["seq"], "badge": 1 }));
    assert_eq!(push.urgency.as_deref(), Some("high"));
    assert!(push.topic.is_some());
    let (_, school_vapid) = server.get("/api/v1/push/vapid-key", Some(&parent)).await;
    assert_ne!(push.vapid_key, school_vapid["public_key"].as_str().unwrap(), "signed by the gateway, not the school");
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.attempts().len(), 1, "exactly one push");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM push_queue").fetch_one(&server.pool).await.unwrap();
    assert_eq!(queued, 0, "delivered pushes leave the school's queue");
    assert_eq!(gateway.count("Riverside Primary"), 1, "{}", gateway.logs());
    assert_eq!(gateway.count("delivered"), 1, "{}", gateway.logs());
    let group = group.to_string();
    let mut secrets = secrets(&subscription, &group, &keys[0]);
    secrets.push("secret words");
    gateway.assert_logs_hold_none_of(&secrets);
}

#[actix_web::test]
async fn a_revoked_school_key_is_refused_with_401_and_the_push_is_kept_as_dead_on_the_school_server() {
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary", "Hillside"], &[]).await;
    let server = school_server(&gateway, &keys[0]).await;
    let receiver = PushReceiver::start();
    let subscription = receiver.subscribe();
    let (teacher, group, _, _) = teacher_and_parent(&server, &subscription).await;
    server.send_message(&teacher, group, "while the key is good").await;
    assert_eq!(receiver.wait_for(1, TIMEOUT).await.len(), 1, "{}", gateway.logs());

    // Revoked while the gateway runs: it re-reads the file without a restart.
    keys_cli(&gateway.keys_file, &["revoke", "Riverside Primary"]);
    assert_eq!(keys_cli(&gateway.keys_file, &["list"]).lines().count(), 1);
    gateway.wait_for_log("keys reloaded").await.unwrap_or_else(|| panic!("{}", gateway.logs()));
    server.send_message(&teacher, group, "after the revocation").await;

    let (error, attempts) = wait_for_dead(&server.pool).await;
    assert!(error.contains("401") && error.contains("revoked"), "{error}");
    assert_eq!(attempts, 1, "a refused key is not retried");
    assert_eq!(gateway.count("unknown or revoked"), 1, "{}", gateway.logs());
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.attempts().len(), 1, "nothing reached the push service after the revocation");
    let group = group.to_string();
    gateway.assert_logs_hold_none_of(&secrets(&subscription, &group, &keys[0]));
}

#[actix_web::test]
async fn a_dead_token_is_answered_410_and_the_school_server_deletes_the_device() {
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary"], &[]).await;
    let server = school_server(&gateway, &keys[0]).await;
    let receiver = PushReceiver::start();
    let subscription = receiver.subscribe();
    let (teacher, group, parent, parent_id) = teacher_and_parent(&server, &subscription).await;
    receiver.script([Reply::Status(410)]);

    server.send_message(&teacher, group, "anyone there?").await;

    assert_eq!(receiver.wait_for_attempts(1, TIMEOUT).await.len(), 1);
    let deadline = Instant::now() + TIMEOUT;
    while device_count(&server.pool, parent_id).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, devices) = server.get("/api/v1/devices", Some(&parent)).await;
    assert_eq!(devices["devices"], json!([]));
    assert_eq!(gateway.count("answered 410"), 1, "{}", gateway.logs());
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.attempts().len(), 1, "a gone device is not tried again");
    let group = group.to_string();
    gateway.assert_logs_hold_none_of(&secrets(&subscription, &group, &keys[0]));
}

#[actix_web::test]
async fn the_school_rate_limit_answers_429_with_retry_after_and_the_school_server_waits_for_it() {
    let limit = ["--school-pushes-per-sec", "1", "--school-push-burst", "1"];
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary"], &limit).await;
    let server = school_server(&gateway, &keys[0]).await;
    let receiver = PushReceiver::start();
    let subscription = receiver.subscribe();
    let (teacher, group, _, _) = teacher_and_parent(&server, &subscription).await;

    server.send_message(&teacher, group, "one").await;
    server.send_message(&teacher, group, "two").await;

    let received = receiver.wait_for(2, TIMEOUT).await;
    assert_eq!(received.len(), 2, "{}", gateway.logs());
    // One push passed at once, the other got 429 with `Retry-After: 1`; the school waited that long (its own
    // backoff alone would have tried again after 200 ms, and met the limit again).
    assert_eq!(gateway.count("answered 429: the school's rate limit"), 1, "{}", gateway.logs());
    let attempts = receiver.attempts();
    assert_eq!(attempts.len(), 2);
    let gap = attempts[1].at - attempts[0].at;
    assert!(gap >= Duration::from_millis(900), "the second push came {gap:?} after the first");
    // Both settled as delivered on the school server (the receiver may answer before the school records it).
    let deadline = Instant::now() + TIMEOUT;
    let queued = loop {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM push_queue").fetch_one(&server.pool).await.unwrap();
        if queued == 0 || Instant::now() >= deadline {
            break queued;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(queued, 0);
}

#[actix_web::test]
async fn the_push_service_asking_to_wait_is_passed_back_as_429_and_honoured() {
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary"], &[]).await;
    let server = school_server(&gateway, &keys[0]).await;
    let receiver = PushReceiver::start();
    let (teacher, group, _, _) = teacher_and_parent(&server, &receiver.subscribe()).await;
    receiver.script([Reply::RetryAfter(429, 2)]);

    server.send_message(&teacher, group, "later, please").await;

    assert_eq!(receiver.wait_for(1, TIMEOUT).await.len(), 1, "{}", gateway.logs());
    let attempts = receiver.attempts();
    assert_eq!(attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [429, 201]);
    let waited = attempts[1].at - attempts[0].at;
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}, before Retry-After's 2 s");
    assert!(waited < Duration::from_secs(5), "retried only after {waited:?}");
    assert_eq!(gateway.count("answered 429: the push service asks to wait"), 1, "{}", gateway.logs());
}

#[actix_web::test]
async fn requests_without_a_good_key_get_401_bad_bodies_400_and_a_key_added_later_works_after_sighup() {
    let (gateway, _) = GatewayProcess::start(&[], &["--keys-poll-ms", "0"]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/push", gateway.url);
    let push = json!({
        "platform": "apns", "address": "a-device-token-0123", "payload": { "type": "read", "badge": 0 },
        "topic": "t1", "urgency": "normal",
    });
    let post = |key: Option<String>, body: Value| {
        let mut request = client.post(&url).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, answer) = post(None, push.clone()).await;
    assert_eq!((status, &answer["outcome"]), (StatusCode::UNAUTHORIZED, &json!("unauthorized")));

    let key = keys_cli(&gateway.keys_file, &["add", "Hillside"]);
    let (status, _) = post(Some(key.clone()), push.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "not read yet: polling is off");
    let pid = nix::unistd::Pid::from_raw(gateway.child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    gateway.wait_for_log("keys reloaded").await.unwrap_or_else(|| panic!("{}", gateway.logs()));

    let (status, answer) = post(Some(key.clone()), json!({ "platform": "apns" })).await;
    assert_eq!((status, &answer["outcome"]), (StatusCode::BAD_REQUEST, &json!("malformed")));
    let (status, answer) = post(
        Some(key.clone()),
        json!({ "platform": "pager", "address": "x", "payload": {}, "topic": "t", "urgency": "high" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // No APNs upstream is configured here: the school is told to try later, not that the device is gone.
    let (status, answer) = post(Some(key.clone()), push).await;
    assert_eq!((status, &answer["outcome"]), (StatusCode::SERVICE_UNAVAILABLE, &json!("upstream_unavailable")));
    gateway.assert_logs_hold_none_of(&["a-device-token-0123", &key]);
}

/// The gateway's flags for APNs and FCM upstreams at these local receivers: the publisher's `.p8` key and
/// service account (made by the receivers), and the receivers' certificate to trust. Written into `dir`.
fn vendor_flags(apns: &ApnsReceiver, fcm: &FcmReceiver, dir: &Path) -> Vec<String> {
    let mut config = hallway_test_support::test_config(dir);
    apns.configure(&mut config);
    fcm.configure(&mut config);
    let (apns, fcm) = (&config.push.apns, &config.push.fcm);
    let path = |p: &Option<PathBuf>| p.as_ref().unwrap().to_string_lossy().into_owned();
    vec![
        format!("--push-apns-key-file={}", path(&apns.key_file)),
        format!("--push-apns-key-id={}", apns.key_id.clone().unwrap()),
        format!("--push-apns-team-id={}", apns.team_id.clone().unwrap()),
        format!("--push-apns-topic={}", apns.topic.clone().unwrap()),
        format!("--push-apns-endpoint={}", apns.endpoint),
        format!("--push-fcm-service-account={}", path(&fcm.service_account)),
        format!("--push-fcm-endpoint={}", fcm.endpoint),
        format!("--push-extra-root-cert={}", path(&config.push.extra_root_cert)),
    ]
}

#[actix_web::test]
async fn apns_and_fcm_pushes_travel_through_the_gateway_to_apple_and_google_while_web_push_stays_direct() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let credentials = tempfile::tempdir().unwrap();
    let flags = vendor_flags(&apns, &fcm, credentials.path());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // The production setting: no test-only routing, so only apns and fcm go through the gateway.
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary"], &flags).await;
    let (url, key) = (gateway.url.clone(), keys[0].clone());
    let server = TestServer::start_with(move |config| {
        config.push.allow_insecure_endpoints = true;
        config.push.retry_base = Duration::from_millis(200);
        config.push.poll_interval = Duration::from_millis(200);
        config.push.gateway =
            Some(GatewaySettings { url, key: GatewayKey::new(key), concurrency: 4, carries_webpush: false });
    })
    .await;
    let receiver = PushReceiver::start();
    let subscription = receiver.subscribe();
    let (teacher, group, parent, parent_id) = teacher_and_parent(&server, &subscription).await;
    let (iphone, android) = ("apns-device-token-0123456789abcdef", "fcm-registration-token-0123456789");
    for (platform, token) in [("apns", iphone), ("fcm", android)] {
        let (status, device) =
            server.post("/api/v1/devices", Some(&parent), &json!({ "platform": platform, "token": token })).await;
        assert_eq!(status, StatusCode::CREATED, "{device}");
    }

    let message = server.send_message(&teacher, group, "hello all three").await;

    // The Web Push device is pushed directly, with the school's own VAPID key...
    let received = receiver.wait_for(1, TIMEOUT).await;
    assert_eq!(received.len(), 1);
    let (_, school_vapid) = server.get("/api/v1/push/vapid-key", Some(&parent)).await;
    assert_eq!(received[0].vapid_key, school_vapid["public_key"].as_str().unwrap());
    // ...and the iPhone and the Android phone through the gateway, which signs with the publisher's
    // credentials (the receivers check the APNs token and the FCM grant against them): ids and badge only.
    let to_apple = apns.wait_for(1, TIMEOUT).await;
    assert_eq!(to_apple.len(), 1, "{:?}\n{}", apns.problems(), gateway.logs());
    assert_eq!(to_apple[0].device_token, iphone);
    assert_eq!(to_apple[0].payload["seq"], message["seq"]);
    assert_eq!(to_apple[0].payload["conversation_id"], json!(group));
    let to_google = fcm.wait_for(1, TIMEOUT).await;
    assert_eq!(to_google.len(), 1, "{:?}\n{}", fcm.problems(), gateway.logs());
    assert!(!to_apple[0].payload.to_string().contains("hello") && !format!("{:?}", to_google[0]).contains("hello"));
    assert_eq!(gateway.count("platform=\"webpush\""), 0, "Web Push did not go through the gateway");

    // Apple says the iPhone's token is dead: the gateway answers 410 and the school server deletes the device.
    apns.script([ApnsReply::Status(410, "Unregistered")]);
    server.send_message(&teacher, group, "is anyone there").await;
    apns.wait_for_attempts(2, TIMEOUT).await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let apns_devices: i64 =
            sqlx::query_scalar("SELECT count(*) FROM devices WHERE user_id = $1 AND platform = 'apns'")
                .bind(parent_id)
                .fetch_one(&server.pool)
                .await
                .unwrap();
        if apns_devices == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the dead iPhone token was not pruned\n{}", gateway.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(apns.problems().is_empty() && fcm.problems().is_empty(), "{:?} {:?}", apns.problems(), fcm.problems());
    gateway.assert_logs_hold_none_of(&[iphone, android, &keys[0], "hello all three"]);
}

#[actix_web::test]
async fn with_a_certificate_the_gateway_speaks_https_only() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("gateway.crt"), dir.path().join("gateway.key"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let tls = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let (gateway, keys) = GatewayProcess::start(&["Riverside Primary"], &tls).await;
    assert!(gateway.url.starts_with("https://"), "{}", gateway.url);

    let root = reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(root).build().unwrap();
    let response = client.post(format!("{}/v1/push", gateway.url)).bearer_auth(&keys[0]).json(&json!({})).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "the school key was accepted over TLS, the body was not");
    let plain = gateway.url.replacen("https://", "http://", 1);
    let refused = reqwest::Client::new().post(format!("{plain}/v1/push")).bearer_auth(&keys[0]).send().await;
    assert!(refused.is_err() || !refused.unwrap().status().is_success(), "plain HTTP is not served");
}

/// Waits for a dead push on the school server and returns its last error and its tries.
async fn wait_for_dead(pool: &PgPool) -> (String, i32) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let row: Option<(String, i32)> =
            sqlx::query_as("SELECT last_error, attempts FROM push_queue WHERE state = 'dead'")
                .fetch_optional(pool)
                .await
                .unwrap();
        if let Some(row) = row {
            return row;
        }
        assert!(Instant::now() < deadline, "no push became dead");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
