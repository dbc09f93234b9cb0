//! Reporting a message through the SDK, and presence in the list and the timeline, against the real server.

mod support;

use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_sdk::{HallwayError, ReportReason};
use hallway_test_support::{PASSWORD, TestServer};
use reqwest::StatusCode;
use support::*;

#[actix_web::test]
async fn a_reported_message_reaches_the_admins_queue_and_the_reporter_learns_it_was_handled() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let (_, admin) = server.signed_in("head", Role::Admin).await;
    let chat = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await.to_string();
    let (teacher_tokens, parent_client) = (server.login("rivera", PASSWORD).await, client(&server.base_url));
    let (bob, _dir) = parent_client;
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&bob).await;
    let (timeline, _t) = watch_timeline(&bob, &chat);
    let (status, _) = server
        .post(
            &format!("/api/v1/conversations/{chat}/messages"),
            Some(&teacher_tokens.access_token),
            &serde_json::json!({"client_msg_id": "m1", "body": "an unkind remark"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let snapshot = timeline.wait_for("the message to arrive", |s| item(s, "an unkind remark").is_some()).await;
    let message_id = item(&snapshot, "an unkind remark").and_then(|i| i.message_id.clone()).expect("an id");

    let chat_timeline = bob.timeline(chat.clone()).expect("a timeline");
    let report = chat_timeline
        .report(message_id.clone(), ReportReason::Bullying, Some("said in front of the class".into()))
        .await
        .expect("reported");
    assert_eq!(
        (report.message_id.as_str(), report.reason, report.handled),
        (message_id.as_str(), ReportReason::Bullying, false)
    );
    assert_eq!(bob.my_reports().await.expect("my reports"), vec![report.clone()]);

    // The admins see it with its message and resolve it; the reporter only learns that it was handled.
    let (status, queue) = server.get("/api/v1/admin/reports", Some(&admin.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    let queued = &queue["reports"][0];
    assert_eq!(
        (queued["id"].as_str(), queued["reported_body"].as_str()),
        (Some(report.id.as_str()), Some("an unkind remark"))
    );
    assert_eq!(queued["note"], "said in front of the class");
    let (status, _) = server
        .post(
            &format!("/api/v1/admin/reports/{}/resolve", report.id),
            Some(&admin.access_token),
            &serde_json::json!({"action": "dismiss"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "resolved");
    let mine = bob.my_reports().await.expect("my reports");
    assert_eq!((mine.len(), mine[0].handled), (1, true));

    // What cannot be reported: a malformed id, a message the reporter cannot see.
    assert!(matches!(
        chat_timeline.report("nope".into(), ReportReason::Spam, None).await,
        Err(HallwayError::InvalidInput { code, .. }) if code == "invalid_id"
    ));
    let elsewhere = uuid::Uuid::now_v7().to_string();
    assert_eq!(chat_timeline.report(elsewhere, ReportReason::Other, None).await, Err(HallwayError::NotFound));
    let long_note = Some("n".repeat(1_001));
    assert!(matches!(
        chat_timeline.report(message_id, ReportReason::Other, long_note).await,
        Err(HallwayError::InvalidInput { .. })
    ));
}

#[actix_web::test]
async fn the_list_and_the_timeline_show_who_is_online() {
    let server = TestServer::start_with(|config| config.realtime.presence_debounce = Duration::from_millis(200)).await;
    let (teacher, parent, chat) = teacher_and_parent_in_a_chat(&server).await;
    let (alice, _alice_dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&alice).await;
    let (list, _l) = watch_list(&alice);
    let (timeline, _t) = watch_timeline(&alice, &chat);
    list.wait_for("the chat with nobody else online", |l| l.len() == 1 && l[0].online_member_ids.is_empty()).await;

    let (bob, _bob_dir) = client(&server.base_url);
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let bob_id = parent.id.to_string();
    list.wait_for("Bob online in the list", |l| l[0].online_member_ids == [bob_id.clone()]).await;
    timeline.wait_for("Bob online in the timeline", |s| s.details.online_member_ids == [bob_id.clone()]).await;
    let (bob_list, _b) = watch_list(&bob);
    bob_list
        .wait_for("Bob sees Alice online, never himself", |l| {
            l.len() == 1 && l[0].online_member_ids == [teacher.id.to_string()]
        })
        .await;

    // Bob's app goes away: after the server's debounce Alice sees him offline.
    drop(_b);
    drop(bob);
    list.wait_for("Bob offline in the list", |l| l[0].online_member_ids.is_empty()).await;
    timeline.wait_for("Bob offline in the timeline", |s| s.details.online_member_ids.is_empty()).await;
}
