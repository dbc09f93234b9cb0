//! Catching up through `GET /sync` after time offline, against the real server: changes to any cached
//! message, many chats in a few requests, removals, and a token the server no longer accepts.

mod support;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

/// The requests made since `from` (an index into the proxy's log), leaving out the WebSocket upgrade.
fn rest_requests_since(proxy: &Proxy, from: usize) -> Vec<String> {
    proxy.requests().into_iter().skip(from).filter(|r| r != "GET /api/v1/ws").collect()
}

#[actix_web::test]
async fn an_offline_client_sees_an_edit_a_moderation_delete_and_a_retention_clear_of_old_cached_messages() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    server.create_user("principal", Role::Admin).await;
    let admin = server.login("principal", PASSWORD).await.access_token;
    let bob = server.login("chen", PASSWORD).await.access_token;
    let mut ids = Vec::new();
    for i in 1..=200 {
        let body = serde_json::json!({"client_msg_id": format!("b{i}"), "body": format!("bob {i}")});
        let (status, message) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&bob), &body).await;
        assert_eq!(status, 201, "{message}");
        ids.push(message["id"].as_str().expect("an id").to_owned());
    }
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, _dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    let chat_timeline = alice.timeline(chat.clone()).expect("a timeline");
    let (timeline, _t) = watch(&chat_timeline);
    timeline.wait_for("the newest message", |s| s.items.last().is_some_and(|i| i.body == "bob 200")).await;
    // The timeline opens on the newest messages; paging back shows the rest of what the device holds.
    chat_timeline.paginate_backwards(200).await.expect("paged back");
    let cached = timeline.wait_for("all 200 cached", |s| s.items.len() == 200).await;
    assert_eq!(cached.items[2].body, "bob 3");

    go_offline(&alice, &proxy).await;
    let edit = serde_json::json!({"body": "bob 3, edited"});
    assert_eq!(server.patch(&format!("/api/v1/messages/{}", ids[2]), Some(&bob), &edit).await.0, 200);
    let (status, body) = server.delete(&format!("/api/v1/admin/messages/{}", ids[49]), Some(&admin)).await;
    assert!(status.is_success(), "{status} {body}");
    // Message #100 is a year old; the school keeps messages for 30 days.
    sqlx::query("UPDATE messages SET created_at = now() - interval '365 days' WHERE id = $1::uuid")
        .bind(&ids[99])
        .execute(&server.pool)
        .await
        .expect("ageing a message");
    let retention = serde_json::json!({"retention_days": 30});
    assert_eq!(server.put("/api/v1/admin/settings/retention", Some(&admin), &retention).await.0, 200);
    hallway_server::safety::retention::run_once(&server.pool).await.expect("retention ran").expect("retention is on");

    proxy.restore();
    alice.reconnect_now();
    let caught_up = timeline
        .wait_for("the three changes", |s| {
            s.items.len() == 200 && s.items[2].edited_at.is_some() && s.items[49].deleted && s.items[99].deleted
        })
        .await;
    assert_eq!(caught_up.items[2].body, "bob 3, edited");
    for cleared in [&caught_up.items[49], &caught_up.items[99]] {
        assert!(cleared.body.is_empty() && cleared.attachments.is_empty(), "no text left on the phone");
    }
    assert_eq!(caught_up.items[3].body, "bob 4", "the others are untouched");
    assert_contiguous(&caught_up);
}

#[actix_web::test]
async fn a_teacher_with_150_chats_catches_up_in_at_most_3_requests() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let mut chats = Vec::new();
    for i in 0..150 {
        let parent = server.create_user(&format!("parent{i}"), Role::Parent).await;
        chats.push(server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await);
    }
    let proxy = Proxy::start(server.local_addr()).await;
    let (phone, _dir) = client(&proxy.url());
    phone.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    let (list, _l) = watch_list(&phone);
    list.wait_for("150 chats", |l| l.len() == 150).await;
    wait_online(&phone).await;

    go_offline(&phone, &proxy).await;
    // Meanwhile, from the teacher's laptop, a message in every chat.
    let laptop = server.login("rivera", PASSWORD).await.access_token;
    for (i, chat) in chats.iter().enumerate() {
        let body = serde_json::json!({"client_msg_id": format!("l{i}"), "body": format!("note {i}")});
        assert_eq!(server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&laptop), &body).await.0, 201);
    }

    let before = proxy.requests().len();
    proxy.restore();
    phone.reconnect_now();
    list.wait_for("every chat's new message", |l| {
        l.iter().all(|c| c.last_message.as_ref().is_some_and(|m| m.body.starts_with("note ")))
    })
    .await;
    wait_online(&phone).await;
    let requests = rest_requests_since(&proxy, before);
    assert!(!requests.is_empty(), "the proxy saw the catch-up");
    assert!(requests.len() <= 3, "at most 3 requests to catch up 150 chats: {requests:?}");
    assert!(requests.iter().all(|r| r == "GET /api/v1/sync"), "only /sync: {requests:?}");
}

#[actix_web::test]
async fn removal_from_a_group_while_offline_forgets_the_group_and_its_unsent_messages() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let group = server.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[parent.id]).await;
    let direct = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await.to_string();
    let proxy = Proxy::start(server.local_addr()).await;
    let (phone, _dir) = client(&proxy.url());
    phone.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (list, _l) = watch_list(&phone);
    list.wait_for("both chats", |l| l.len() == 2).await;
    wait_online(&phone).await;

    go_offline(&phone, &proxy).await;
    let timeline = phone.timeline(group.to_string()).expect("a timeline");
    timeline.send_text("written offline".into()).await.expect("queued");
    let teacher_token = server.login("rivera", PASSWORD).await.access_token;
    let (status, body) =
        server.delete(&format!("/api/v1/conversations/{group}/members/{}", parent.id), Some(&teacher_token)).await;
    assert_eq!(status, 200, "{body}");

    proxy.restore();
    phone.reconnect_now();
    let after = list.wait_for("the group forgotten", |l| l.len() == 1).await;
    assert_eq!(after[0].id, direct, "the direct chat stays");
    assert_eq!(after[0].pending_sends, 0);
    assert_eq!(stored_count(&server, "written offline").await, 0, "the unsent message was never sent");
}

#[actix_web::test]
async fn a_stored_token_the_server_refuses_is_dropped_and_the_catch_up_starts_over() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let dir = tempfile::tempdir().expect("a data dir");
    let phone = client_in(&proxy.url(), &dir);
    phone.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&phone, &chat).await;
    wait_online(&phone).await;

    go_offline(&phone, &proxy).await;
    // A token from a server restored from a backup, say: the server no longer accepts it.
    let database = open_store(dir.path());
    assert_eq!(database.execute("UPDATE sync_state SET token = 'from-another-server'", []).expect("replaced"), 1);
    drop(database);
    let bob = server.login("chen", PASSWORD).await.access_token;
    let body = serde_json::json!({"client_msg_id": "while-away", "body": "sent while you were away"});
    assert_eq!(server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&bob), &body).await.0, 201);

    let before = proxy.requests().len();
    proxy.restore();
    phone.reconnect_now();
    let (timeline, _t) = watch_timeline(&phone, &chat);
    timeline.wait_for("the message", |s| bodies(s) == ["sent while you were away"]).await;
    wait_online(&phone).await;
    let syncs = rest_requests_since(&proxy, before).into_iter().filter(|r| r == "GET /api/v1/sync").count();
    assert_eq!(syncs, 2, "the refused token, then from the start");
    let database = open_store(dir.path());
    let token: String =
        database.query_row("SELECT token FROM sync_state", [], |row| row.get(0)).expect("a new token is stored");
    assert_ne!(token, "from-another-server");
}
