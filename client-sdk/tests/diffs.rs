//! Listeners are told changes, not copies: the timeline's items and the conversation list arrive as diffs, and
//! the state a listener builds by applying them in order equals the snapshot taken at the same quiet moment,
//! through sends, edits, deletions, reactions, read markers, paging back and a list that reorders itself.
//! A typing frame tells only who types. Against a real server and real PostgreSQL.

mod support;

use hallway_protocol::{ConversationKind, Role};
use hallway_sdk::SendState;
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

#[actix_web::test]
async fn timeline_diffs_applied_in_order_reproduce_the_snapshot() {
    let server = TestServer::start().await;
    let (teacher, parent, chat) = teacher_and_parent_in_a_chat(&server).await;
    let token = server.login("rivera", PASSWORD).await.access_token;
    for i in 1..=70 {
        let body = serde_json::json!({"client_msg_id": format!("old-{i}"), "body": format!("old {i}")});
        let (status, _) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&token), &body).await;
        assert_eq!(status, 201);
    }
    let (mei, _mei_dir) = client(&server.base_url);
    let (rivera, _rivera_dir) = client(&server.base_url);
    mei.login("chen".into(), PASSWORD.into()).await.expect("the parent signs in");
    rivera.login("rivera".into(), PASSWORD.into()).await.expect("the teacher signs in");
    wait_for_conversation(&mei, &chat).await;
    wait_for_conversation(&rivera, &chat).await;
    wait_online(&mei).await;
    wait_online(&rivera).await;

    let timeline = mei.timeline(chat.clone()).expect("a timeline");
    let (mirror, _handle) = watch(&timeline);
    mirror.wait_for("the newest message", |s| s.items.last().is_some_and(|i| i.body == "old 70")).await;
    let opened = settled(&mirror, &timeline).await;
    assert!(opened.items.len() < 70, "a window of the newest messages, not the whole history");
    assert_eq!(opened.details.members.len(), 2, "the members come with the timeline");
    assert!(!opened.details.reached_start);

    // Sends from both sides: the user's own show at once as local echoes, then turn sent in place.
    let teacher_chat = rivera.timeline(chat.clone()).expect("a timeline");
    for i in 1..=3 {
        timeline.send_text(format!("mine {i}")).await.expect("queued");
        teacher_chat.send_text(format!("theirs {i}")).await.expect("queued");
    }
    mirror
        .wait_for("six new messages, sent", |s| s.items.iter().filter(|i| i.seq.unwrap_or(0) > 70).count() == 6)
        .await;
    let sent = settled(&mirror, &timeline).await;
    assert!(all_sent(&sent));
    assert_contiguous_from(&sent, sent.items[0].seq.expect("sent"));

    // An edit, a deletion and reactions change items in place; read markers change the details.
    let theirs = item(&sent, "theirs 1").and_then(|i| i.message_id.clone()).expect("an id");
    let mine = item(&sent, "mine 2").and_then(|i| i.message_id.clone()).expect("an id");
    teacher_chat.edit(theirs.clone(), "theirs 1, edited".into()).await.expect("edited");
    timeline.delete(mine).await.expect("deleted");
    timeline.react(theirs.clone(), "🎉".into(), true).await.expect("reacted");
    teacher_chat.react(theirs, "👍".into(), true).await.expect("reacted");
    mirror
        .wait_for("the edit and both reactions", |s| {
            item(s, "theirs 1, edited").is_some_and(|i| i.reactions.len() == 2)
        })
        .await;
    timeline.mark_read().await.expect("read");
    teacher_chat.mark_read().await.expect("read");
    let teacher_id = teacher.id.to_string();
    mirror
        .wait_for("the teacher's read marker", |s| {
            s.details.read_markers.iter().any(|m| m.user_id == teacher_id && m.seq == 76)
        })
        .await;
    let changed = settled(&mirror, &timeline).await;
    assert_eq!(changed.details.own_read_seq, 76);
    assert_eq!(changed.items.iter().filter(|i| i.deleted).count(), 1);

    // Paging back inserts older items at the top, from the store or the server, until the start.
    let mut pages = 0;
    while !timeline.paginate_backwards(20).await.expect("paged") {
        pages += 1;
        assert!(pages < 10, "the start comes");
        settled(&mirror, &timeline).await;
    }
    let whole = mirror.wait_for("the whole history", |s| s.details.reached_start).await;
    assert_eq!(whole.items.len(), 76);
    assert_contiguous(&whole);
    assert_eq!(settled(&mirror, &timeline).await, whole);

    // Someone typing: the listener is told who types, and nothing is re-read or re-sent.
    let before = mirror.calls().len();
    teacher_chat.set_typing(true);
    let parent_id = parent.id.to_string();
    mirror.wait_for("the teacher typing", |s| s.typing_user_ids == [teacher_id.clone()]).await;
    let calls = mirror.calls();
    assert_eq!(&calls[before..], ["typing"], "a typing frame tells who types, and nothing else");
    teacher_chat.send_text("typed".into()).await.expect("queued");
    let last =
        mirror.wait_for("the typed message", |s| item(s, "typed").is_some() && s.typing_user_ids.is_empty()).await;
    assert_eq!(item(&last, "typed").map(|i| i.send_state.clone()), Some(SendState::Sent));
    assert!(!last.details.members.iter().all(|m| m.id != parent_id), "the user is a member");
    assert_eq!(settled(&mirror, &timeline).await, last);
}

#[actix_web::test]
async fn list_diffs_applied_in_order_reproduce_the_list_with_member_counts() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let other_parent = server.create_user("singh", Role::Parent).await;
    let direct = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await.to_string();
    let group = server
        .create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[parent.id, other_parent.id])
        .await
        .to_string();
    let token = server.login("rivera", PASSWORD).await.access_token;
    let post = |conversation: String, body: &'static str| {
        let token = token.clone();
        let server = &server;
        async move {
            let message = serde_json::json!({"client_msg_id": uuid::Uuid::now_v7().to_string(), "body": body});
            let path = format!("/api/v1/conversations/{conversation}/messages");
            let (status, _) = server.post(&path, Some(&token), &message).await;
            assert_eq!(status, 201);
        }
    };
    post(direct.clone(), "about Friday").await;
    post(group.clone(), "welcome, class").await;

    let (mei, _dir) = client(&server.base_url);
    mei.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (list, _handle) = watch_list(&mei);
    list.wait_for("both conversations", |l| l.len() == 2 && l[0].last_message.is_some()).await;
    let first = settled_list(&list, &mei).await;
    assert_eq!(first.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [group.clone(), direct.clone()]);
    let (class, chat) = (&first[0], &first[1]);
    assert_eq!((class.member_count, class.is_group, class.other_member.is_none()), (3, true, true));
    assert_eq!(class.last_message.as_ref().and_then(|m| m.sender_name.clone()).as_deref(), Some("rivera Display"));
    assert_eq!(chat.member_count, 2);
    assert_eq!(chat.other_member.as_ref().map(|m| m.username.as_str()), Some("rivera"), "the avatar of a direct chat");
    wait_online(&mei).await;

    // New activity moves a conversation to the top; a pin puts one above everything; a new one comes in.
    post(direct.clone(), "see you then").await;
    let moved = list.wait_for("the direct chat on top", |l| l[0].id == direct && l[0].unread_count == 2).await;
    assert_eq!(moved[1].id, group);
    assert_eq!(settled_list(&list, &mei).await, moved);
    mei.set_pinned(group.clone(), true).await.expect("pinned");
    list.wait_for("the pinned group on top", |l| l[0].id == group && l[0].pinned).await;
    mei.set_muted(direct.clone(), true).await.expect("muted");
    list.wait_for("the chat muted", |l| l[1].muted).await;
    let another = server.create_conversation(ConversationKind::Group, Some("Trip"), teacher.id, &[parent.id]).await;
    post(another.to_string(), "bring a lunch").await;
    let three = list.wait_for("the new group", |l| l.len() == 3 && l[1].last_message.is_some()).await;
    assert_eq!(
        three.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [group.clone(), another.to_string(), direct.clone()]
    );
    assert_eq!(three[1].member_count, 2);
    assert_eq!(settled_list(&list, &mei).await, three);

    // Reading clears a badge in place; someone typing shows in the row, by name.
    mei.timeline(direct.clone()).expect("a timeline").mark_read().await.expect("read");
    list.wait_for("the badge cleared", |l| l[2].unread_count == 0).await;
    let (rivera, _rivera_dir) = client(&server.base_url);
    rivera.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&rivera, &group).await;
    wait_online(&rivera).await;
    rivera.timeline(group.clone()).expect("a timeline").set_typing(true);
    let typing = list.wait_for("the teacher typing in the group", |l| !l[0].typing_user_ids.is_empty()).await;
    assert_eq!(typing[0].typing_user_ids, [teacher.id.to_string()]);
    assert_eq!(typing[0].typing_user_names, ["rivera Display"]);
    assert_eq!(settled_list(&list, &mei).await, typing);
}
