//! Conversations over real HTTP: creating direct chats and groups under the policy, the list and its order,
//! reading one, group management by admins, leaving, and each member's own settings.
#![expect(clippy::unwrap_used, reason = "helpers, like the tests, fail the test loudly on an unexpected answer")]

use std::collections::HashSet;

use hallway_protocol::Role;
use hallway_protocol::validate::{ClientMsgId, MessageBody};
use hallway_server::store::{self, messages::NewMessage};
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// A signed-in person: their id and access token.
struct Person {
    id: Uuid,
    token: String,
}

async fn sign_in(server: &TestServer, username: &str, role: Role) -> Person {
    let (user, tokens) = server.signed_in(username, role).await;
    Person { id: user.id, token: tokens.access_token }
}

async fn create(server: &TestServer, who: &Person, body: Value) -> (StatusCode, Value) {
    server.post("/api/v1/conversations", Some(&who.token), &body).await
}

async fn direct(server: &TestServer, who: &Person, other: Uuid) -> (StatusCode, Value) {
    create(server, who, json!({"kind": "direct", "member_ids": [other]})).await
}

/// Creates a group through the API and returns its id, failing the test if that does not succeed.
async fn group(server: &TestServer, creator: &Person, name: &str, members: &[Uuid]) -> Uuid {
    let (status, body) = create(server, creator, json!({"kind": "group", "name": name, "member_ids": members})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

fn id_of(conversation: &Value) -> Uuid {
    conversation["id"].as_str().unwrap().parse().unwrap()
}

fn member_ids(conversation: &Value) -> Vec<Uuid> {
    conversation["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().parse().unwrap()).collect()
}

fn admin_ids(conversation: &Value) -> Vec<Uuid> {
    conversation["admin_ids"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().parse().unwrap()).collect()
}

fn set(ids: &[Uuid]) -> HashSet<Uuid> {
    ids.iter().copied().collect()
}

async fn get(server: &TestServer, who: &Person, id: Uuid) -> (StatusCode, Value) {
    server.get(&format!("/api/v1/conversations/{id}"), Some(&who.token)).await
}

async fn list(server: &TestServer, who: &Person) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/conversations", Some(&who.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["conversations"].as_array().unwrap().clone()
}

/// Inserts a message the way the send endpoints will, returning its seq.
async fn send(server: &TestServer, conversation_id: Uuid, sender_id: Uuid, text: &str) -> i64 {
    let client_msg_id = ClientMsgId::parse(&Uuid::now_v7().to_string()).unwrap();
    let body = MessageBody::parse(text, false).unwrap();
    let new =
        NewMessage { conversation_id, sender_id, client_msg_id: &client_msg_id, body: &body, attachment_ids: &[] };
    store::messages::insert(&server.pool, &new).await.unwrap().row().seq
}

fn assert_error(response: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!((response.0, error_code(&response.1)), (status, code), "{}", response.1);
}

// ---- direct chats ----

#[actix_web::test]
async fn a_direct_chat_is_created_once_and_found_again_from_either_side() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let parent = sign_in(&server, "mei", Role::Parent).await;

    let (status, first) = direct(&server, &teacher, parent.id).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["kind"], "direct");
    assert!(first["name"].is_null());
    assert_eq!(set(&member_ids(&first)), set(&[teacher.id, parent.id]));
    assert!(admin_ids(&first).is_empty());
    assert!(first["last_message"].is_null() && first["last_message_at"].is_null());
    assert_eq!((first["unread_count"].as_i64(), first["last_read_seq"].as_i64()), (Some(0), Some(0)));
    assert_eq!(
        (first["muted"].as_bool(), first["pinned"].as_bool(), first["archived"].as_bool()),
        (Some(false), Some(false), Some(false))
    );

    let (status, again) = direct(&server, &teacher, parent.id).await;
    assert_eq!((status, id_of(&again)), (StatusCode::OK, id_of(&first)));
    // The parent may message a teacher, and finds the same chat.
    let (status, theirs) = direct(&server, &parent, teacher.id).await;
    assert_eq!((status, id_of(&theirs)), (StatusCode::OK, id_of(&first)));
    // Naming oneself as well changes nothing.
    let (status, with_self) =
        create(&server, &parent, json!({"kind": "direct", "member_ids": [parent.id, teacher.id, teacher.id]})).await;
    assert_eq!((status, id_of(&with_self)), (StatusCode::OK, id_of(&first)));
    assert_eq!(list(&server, &teacher).await.len(), 1);
}

#[actix_web::test]
async fn both_sides_creating_a_direct_chat_at_once_share_one_chat() {
    let server = TestServer::start().await;
    for round in 0..5 {
        let a = sign_in(&server, &format!("teacher_a{round}"), Role::Teacher).await;
        let b = sign_in(&server, &format!("teacher_b{round}"), Role::Teacher).await;
        let ((status_a, from_a), (status_b, from_b)) =
            tokio::join!(direct(&server, &a, b.id), direct(&server, &b, a.id));
        assert_eq!(id_of(&from_a), id_of(&from_b), "round {round}");
        let mut statuses = [status_a, status_b];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED], "round {round}");
    }
    let direct_chats: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations WHERE kind = 'direct'")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(direct_chats, 5);
}

#[actix_web::test]
async fn a_direct_chat_needs_exactly_one_other_person_and_no_name() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let a = server.create_user("a", Role::Teacher).await;
    let b = server.create_user("b", Role::Teacher).await;
    for member_ids in [json!([teacher.id]), json!([]), json!([a.id, b.id])] {
        let response = create(&server, &teacher, json!({"kind": "direct", "member_ids": member_ids})).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
        assert!(response.1["error"]["message"].as_str().unwrap().starts_with("member_ids"), "{}", response.1);
    }
    let response = create(&server, &teacher, json!({"kind": "direct", "name": "Us", "member_ids": [a.id]})).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
    assert!(list(&server, &teacher).await.is_empty());
}

#[actix_web::test]
async fn a_parent_may_not_start_a_direct_chat_with_another_parent_or_a_student() {
    let server = TestServer::start().await;
    let parent = sign_in(&server, "mei", Role::Parent).await;
    let other_parent = server.create_user("ravi", Role::Parent).await;
    let student = server.create_user("lily", Role::Student).await;
    for other in [other_parent.id, student.id] {
        assert_error(&direct(&server, &parent, other).await, StatusCode::FORBIDDEN, "policy_forbids");
    }
    // Nor a student with a parent.
    let pupil = sign_in(&server, "arjun", Role::Student).await;
    assert_error(&direct(&server, &pupil, other_parent.id).await, StatusCode::FORBIDDEN, "policy_forbids");
    assert!(list(&server, &parent).await.is_empty());
}

#[actix_web::test]
async fn no_chat_can_be_started_with_a_deactivated_person() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let gone = server.create_user("gone", Role::Teacher).await;
    store::users::set_deactivated(&server.pool, gone.id, true).await.unwrap();
    assert_error(&direct(&server, &teacher, gone.id).await, StatusCode::FORBIDDEN, "policy_forbids");
    let response = create(&server, &teacher, json!({"kind": "group", "name": "G", "member_ids": [gone.id]})).await;
    assert_error(&response, StatusCode::FORBIDDEN, "policy_forbids");
}

#[actix_web::test]
async fn unknown_member_ids_are_invalid_input_naming_the_field() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let known = server.create_user("known", Role::Teacher).await;
    let nobody = Uuid::now_v7();
    for body in [
        json!({"kind": "direct", "member_ids": [nobody]}),
        json!({"kind": "group", "name": "G", "member_ids": [known.id, nobody]}),
    ] {
        let response = create(&server, &teacher, body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
        let message = response.1["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("member_ids") && message.contains(&nobody.to_string()), "{message}");
    }
    for body in
        [json!({"kind": "channel", "member_ids": []}), json!({"kind": "group", "name": "G", "member_ids": ["x"]})]
    {
        assert_error(&create(&server, &teacher, body).await, StatusCode::BAD_REQUEST, "invalid_input");
    }
}

// ---- groups ----

#[actix_web::test]
async fn the_group_creator_is_a_member_and_its_first_admin_and_members_are_deduplicated() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "okafor", Role::Teacher).await;
    let parent = server.create_user("ravi", Role::Parent).await;
    let student = server.create_user("arjun", Role::Student).await;
    let body =
        json!({"kind": "group", "name": "  Class 4B ", "member_ids": [parent.id, teacher.id, parent.id, student.id]});
    let (status, created) = create(&server, &teacher, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "group");
    assert_eq!(created["name"], "Class 4B");
    assert_eq!(member_ids(&created).len(), 3);
    assert_eq!(set(&member_ids(&created)), set(&[teacher.id, parent.id, student.id]));
    assert_eq!(admin_ids(&created), [teacher.id]);
    // Group names need not be unique.
    group(&server, &teacher, "Class 4B", &[]).await;
    assert_eq!(list(&server, &teacher).await.len(), 2);
}

#[actix_web::test]
async fn a_group_is_refused_when_the_creator_may_not_message_one_of_its_members() {
    let server = TestServer::start().await;
    let parent = sign_in(&server, "mei", Role::Parent).await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let other_parent = server.create_user("ravi", Role::Parent).await;
    let body = json!({"kind": "group", "name": "Parents", "member_ids": [teacher.id, other_parent.id]});
    let response = create(&server, &parent, body).await;
    assert_error(&response, StatusCode::FORBIDDEN, "policy_forbids");
    assert!(response.1["error"]["message"].as_str().unwrap().contains(&other_parent.id.to_string()));
    assert!(list(&server, &parent).await.is_empty());
    // With only people the parent may message, it works.
    group(&server, &parent, "Ask the teacher", &[teacher.id]).await;
}

#[actix_web::test]
async fn group_names_are_required_and_validated() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    for body in [
        json!({"kind": "group", "member_ids": []}),
        json!({"kind": "group", "name": null, "member_ids": []}),
        json!({"kind": "group", "name": "   ", "member_ids": []}),
        json!({"kind": "group", "name": "n".repeat(129), "member_ids": []}),
    ] {
        let response = create(&server, &teacher, body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
        assert!(response.1["error"]["message"].as_str().unwrap().starts_with("name"), "{}", response.1);
    }
    let (status, created) =
        create(&server, &teacher, json!({"kind": "group", "name": "é".repeat(128), "member_ids": []})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(member_ids(&created), [teacher.id]);
}

#[actix_web::test]
async fn a_group_holds_at_most_a_thousand_people() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let too_many: Vec<Uuid> = (0..1000).map(|_| Uuid::now_v7()).collect();
    let response =
        create(&server, &teacher, json!({"kind": "group", "name": "Everyone", "member_ids": too_many})).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");

    let others: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO users (id, username, display_name, role)
         SELECT gen_random_uuid(), 'p' || i, 'Parent ' || i, 'parent' FROM generate_series(1, 999) AS i RETURNING id",
    )
    .fetch_all(&server.pool)
    .await
    .unwrap();
    let id = group(&server, &teacher, "Year 4 families", &others).await;
    let (_, full) = get(&server, &teacher, id).await;
    assert_eq!(member_ids(&full).len(), 1000);
    let one_more = server.create_user("one_more", Role::Parent).await;
    let response = server
        .post(&format!("/api/v1/conversations/{id}/members"), Some(&teacher.token), &json!({"user_ids": [one_more.id]}))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
    // Adding people already in it is still fine.
    let response = server
        .post(&format!("/api/v1/conversations/{id}/members"), Some(&teacher.token), &json!({"user_ids": [others[0]]}))
        .await;
    assert_eq!(response.0, StatusCode::OK);
}

// ---- the list and one conversation ----

#[actix_web::test]
async fn the_list_puts_pinned_first_then_newest_activity_and_flags_archived_ones() {
    let server = TestServer::start().await;
    let me = sign_in(&server, "rivera", Role::Teacher).await;
    let other = server.create_user("okafor", Role::Teacher).await;
    let [a, b, c, d, e] = [
        group(&server, &me, "A", &[other.id]).await,
        group(&server, &me, "B", &[other.id]).await,
        group(&server, &me, "C", &[other.id]).await,
        group(&server, &me, "D", &[other.id]).await,
        group(&server, &me, "E", &[other.id]).await,
    ];
    // Activity: created_at when there is no message, else last_message_at.
    for (id, created, last_message) in [
        (a, "3 days", Some("1 hour")),
        (b, "2 days", None),
        (c, "3 days", Some("10 minutes")),
        (d, "5 days", Some("4 days")),
        (e, "4 days", Some("30 minutes")),
    ] {
        sqlx::query(
            "UPDATE conversations SET created_at = now() - $2::interval,
                    last_message_at = now() - $3::interval WHERE id = $1",
        )
        .bind(id)
        .bind(created)
        .bind(last_message)
        .execute(&server.pool)
        .await
        .unwrap();
    }
    let settings = |id: Uuid, body: Value| {
        let server = &server;
        let token = me.token.clone();
        async move { server.patch(&format!("/api/v1/conversations/{id}/settings"), Some(&token), &body).await }
    };
    assert_eq!(settings(d, json!({"pinned": true})).await.0, StatusCode::OK);
    assert_eq!(settings(e, json!({"archived": true})).await.0, StatusCode::OK);

    let conversations = list(&server, &me).await;
    let order: Vec<Uuid> = conversations.iter().map(id_of).collect();
    assert_eq!(order, [d, c, e, a, b]);
    let archived: Vec<bool> = conversations.iter().map(|c| c["archived"].as_bool().unwrap()).collect();
    assert_eq!(archived, [false, false, true, false, false]);
    assert_eq!(conversations[0]["pinned"], true);

    // A new message moves a conversation to the top of the unpinned ones, with its last message.
    send(&server, b, other.id, "fresh news").await;
    let conversations = list(&server, &me).await;
    assert_eq!(conversations.iter().map(id_of).collect::<Vec<_>>(), [d, b, c, e, a]);
    assert_eq!(conversations[1]["last_message"]["body"], "fresh news");
    assert_eq!(conversations[1]["last_message"]["seq"], 1);
    assert!(conversations[1]["last_message_at"].is_string());
}

#[actix_web::test]
async fn unread_count_counts_what_others_sent_after_the_read_marker_and_not_deleted() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let parent = sign_in(&server, "mei", Role::Parent).await;
    let (_, chat) = direct(&server, &teacher, parent.id).await;
    let id = id_of(&chat);
    let unread = |who: &Person| {
        let server = &server;
        let token = who.token.clone();
        async move {
            let (_, body) = server.get("/api/v1/conversations", Some(&token)).await;
            let chat = &body["conversations"][0];
            (chat["unread_count"].as_i64().unwrap(), chat["last_read_seq"].as_i64().unwrap())
        }
    };

    for text in ["one", "two", "three"] {
        send(&server, id, teacher.id, text).await;
    }
    assert_eq!(unread(&parent).await, (3, 0));
    assert_eq!(unread(&teacher).await, (0, 3));

    // The parent answers: their own message is read by them, and never unread for them.
    send(&server, id, parent.id, "thanks").await;
    assert_eq!(unread(&parent).await, (0, 4));
    assert_eq!(unread(&teacher).await, (1, 3));

    send(&server, id, teacher.id, "five").await;
    send(&server, id, teacher.id, "six").await;
    sqlx::query("UPDATE conversation_members SET last_read_seq = 2 WHERE conversation_id = $1 AND user_id = $2")
        .bind(id)
        .bind(parent.id)
        .execute(&server.pool)
        .await
        .unwrap();
    // After seq 2: 3, 5 and 6 from the teacher (4 is the parent's own).
    assert_eq!(unread(&parent).await, (3, 2));
    sqlx::query("UPDATE messages SET deleted_at = now(), body = '' WHERE conversation_id = $1 AND seq = 5")
        .bind(id)
        .execute(&server.pool)
        .await
        .unwrap();
    assert_eq!(unread(&parent).await, (2, 2));
    // The list and the single get agree with the store's own definition.
    let expected = store::conversations::unread_count(&server.pool, id, parent.id).await.unwrap();
    assert_eq!(expected, 2);
    let (_, one) = get(&server, &parent, id).await;
    assert_eq!(one["unread_count"], 2);
    assert_eq!(one["last_message"]["body"], "six");
    assert_eq!(one["last_message"]["seq"], 6);
}

#[actix_web::test]
async fn an_outsider_gets_the_same_404_as_for_a_conversation_that_does_not_exist() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let parent = sign_in(&server, "mei", Role::Parent).await;
    let outsider = sign_in(&server, "okafor", Role::Teacher).await;
    let (_, chat) = direct(&server, &teacher, parent.id).await;
    let id = id_of(&chat);

    let (status, seen) = get(&server, &parent, id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["id"], chat["id"]);
    assert_eq!(set(&member_ids(&seen)), set(&[teacher.id, parent.id]));

    let hidden = get(&server, &outsider, id).await;
    let missing = get(&server, &outsider, Uuid::now_v7()).await;
    assert_error(&hidden, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(hidden, missing);
    assert!(list(&server, &outsider).await.is_empty());
}

#[actix_web::test]
async fn a_malformed_conversation_id_is_invalid_id() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    for path in ["/api/v1/conversations/not-a-uuid", "/api/v1/conversations/123"] {
        let response = server.get(path, Some(&teacher.token)).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_id");
    }
    let response = server.post("/api/v1/conversations/nope/leave", Some(&teacher.token), &json!({})).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_id");
    let response =
        server.delete(&format!("/api/v1/conversations/{}/members/nope", Uuid::now_v7()), Some(&teacher.token)).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_id");
}

#[actix_web::test]
async fn conversation_endpoints_need_a_token() {
    let server = TestServer::start().await;
    let id = Uuid::now_v7();
    for response in [
        server.get("/api/v1/conversations", None).await,
        server.get(&format!("/api/v1/conversations/{id}"), None).await,
        server.post("/api/v1/conversations", None, &json!({"kind": "direct", "member_ids": [id]})).await,
        server.post(&format!("/api/v1/conversations/{id}/leave"), None, &json!({})).await,
    ] {
        assert_error(&response, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

// ---- group management ----

/// A group of a teacher (admin) with a parent and another teacher (members), and an outsider teacher.
struct Group {
    id: Uuid,
    admin: Person,
    parent: Person,
    member: Person,
    outsider: Person,
}

async fn class_group(server: &TestServer) -> Group {
    let admin = sign_in(server, "okafor", Role::Teacher).await;
    let parent = sign_in(server, "ravi", Role::Parent).await;
    let member = sign_in(server, "rivera", Role::Teacher).await;
    let outsider = sign_in(server, "smith", Role::Teacher).await;
    let id = group(server, &admin, "Class 4B", &[parent.id, member.id]).await;
    Group { id, admin, parent, member, outsider }
}

/// The four admin-only actions on a group, as `who`, aimed at `target`.
async fn admin_actions(server: &TestServer, id: Uuid, who: &Person, target: Uuid) -> Vec<(StatusCode, Value)> {
    let base = format!("/api/v1/conversations/{id}");
    vec![
        server.patch(&base, Some(&who.token), &json!({"name": "Renamed"})).await,
        server.post(&format!("{base}/members"), Some(&who.token), &json!({"user_ids": [target]})).await,
        server.post(&format!("{base}/admins"), Some(&who.token), &json!({"user_id": target})).await,
        server.delete(&format!("{base}/members/{target}"), Some(&who.token)).await,
    ]
}

#[actix_web::test]
async fn only_group_admins_may_rename_add_promote_and_remove_and_outsiders_get_404() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    let newcomer = server.create_user("newcomer", Role::Teacher).await;

    for response in admin_actions(&server, g.id, &g.member, newcomer.id).await {
        assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
    }
    for response in admin_actions(&server, g.id, &g.outsider, newcomer.id).await {
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    let (_, unchanged) = get(&server, &g.admin, g.id).await;
    assert_eq!(unchanged["name"], "Class 4B");
    assert_eq!(member_ids(&unchanged).len(), 3);

    let base = format!("/api/v1/conversations/{}", g.id);
    let (status, renamed) = server.patch(&base, Some(&g.admin.token), &json!({"name": " Class 4B (2026) "})).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Class 4B (2026)");

    let (status, added) =
        server.post(&format!("{base}/members"), Some(&g.admin.token), &json!({"user_ids": [newcomer.id]})).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(member_ids(&added).len(), 4);
    assert_eq!(member_ids(&added).last(), Some(&newcomer.id), "newcomers are listed last");

    let (status, promoted) =
        server.post(&format!("{base}/admins"), Some(&g.admin.token), &json!({"user_id": g.member.id})).await;
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(set(&admin_ids(&promoted)), set(&[g.admin.id, g.member.id]));
    // Promoting again changes nothing; the new admin may now manage the group.
    let again = server.post(&format!("{base}/admins"), Some(&g.admin.token), &json!({"user_id": g.member.id})).await;
    assert_eq!(admin_ids(&again.1).len(), 2);
    let (status, removed) = server.delete(&format!("{base}/members/{}", newcomer.id), Some(&g.member.token)).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(set(&member_ids(&removed)), set(&[g.admin.id, g.parent.id, g.member.id]));
    // The other members see the changes.
    let (_, seen) = get(&server, &g.parent, g.id).await;
    assert_eq!(seen["name"], "Class 4B (2026)");
    assert_eq!(admin_ids(&seen).len(), 2);
}

#[actix_web::test]
async fn renaming_validates_the_name() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    let path = format!("/api/v1/conversations/{}", g.id);
    for body in [json!({"name": ""}), json!({"name": "  "}), json!({"name": "x".repeat(129)}), json!({})] {
        let response = server.patch(&path, Some(&g.admin.token), &body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
        assert!(response.1["error"]["message"].as_str().unwrap().contains("name"), "{}", response.1);
    }
}

#[actix_web::test]
async fn new_members_must_be_people_the_adder_may_message() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    let other_parent = server.create_user("mei", Role::Parent).await;
    let base = format!("/api/v1/conversations/{}", g.id);
    // The parent becomes an admin, but a parent may not bring in another parent...
    server.post(&format!("{base}/admins"), Some(&g.admin.token), &json!({"user_id": g.parent.id})).await;
    let response =
        server.post(&format!("{base}/members"), Some(&g.parent.token), &json!({"user_ids": [other_parent.id]})).await;
    assert_error(&response, StatusCode::FORBIDDEN, "policy_forbids");
    assert!(response.1["error"]["message"].as_str().unwrap().starts_with("user_ids"));
    // ...while a teacher may; and once in, members of a group see each other.
    let (status, added) =
        server.post(&format!("{base}/members"), Some(&g.admin.token), &json!({"user_ids": [other_parent.id]})).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let (status, _) = get(&server, &g.parent, g.id).await;
    assert_eq!(status, StatusCode::OK);

    let gone = server.create_user("gone", Role::Teacher).await;
    store::users::set_deactivated(&server.pool, gone.id, true).await.unwrap();
    let response = server.post(&format!("{base}/members"), Some(&g.admin.token), &json!({"user_ids": [gone.id]})).await;
    assert_error(&response, StatusCode::FORBIDDEN, "policy_forbids");
    let response =
        server.post(&format!("{base}/members"), Some(&g.admin.token), &json!({"user_ids": [Uuid::now_v7()]})).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
}

#[actix_web::test]
async fn a_newcomer_sees_the_whole_history_with_nothing_unread() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    for text in ["one", "two", "three"] {
        send(&server, g.id, g.admin.id, text).await;
    }
    let newcomer = sign_in(&server, "newcomer", Role::Teacher).await;
    let path = format!("/api/v1/conversations/{}/members", g.id);
    let (status, _) = server.post(&path, Some(&g.admin.token), &json!({"user_ids": [newcomer.id]})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, seen) = get(&server, &newcomer, g.id).await;
    assert_eq!((seen["unread_count"].as_i64(), seen["last_read_seq"].as_i64()), (Some(0), Some(3)));
    assert_eq!(seen["last_message"]["body"], "three");
    send(&server, g.id, g.admin.id, "four").await;
    let (_, seen) = get(&server, &newcomer, g.id).await;
    assert_eq!(seen["unread_count"], 1);
    // The members who were there all along still count what they have not read.
    let (_, theirs) = get(&server, &g.parent, g.id).await;
    assert_eq!(theirs["unread_count"], 4);
}

#[actix_web::test]
async fn adding_people_already_in_the_group_is_ignored() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    let path = format!("/api/v1/conversations/{}/members", g.id);
    let (status, body) =
        server.post(&path, Some(&g.admin.token), &json!({"user_ids": [g.parent.id, g.member.id, g.parent.id]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body).len(), 3);
    assert_eq!(admin_ids(&body), [g.admin.id], "an existing member keeps their role");
    for body in [json!({"user_ids": []}), json!({"user_ids": [g.admin.id]})] {
        assert_error(&server.post(&path, Some(&g.admin.token), &body).await, StatusCode::BAD_REQUEST, "invalid_input");
    }
}

#[actix_web::test]
async fn a_removed_member_loses_access_at_once() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    let base = format!("/api/v1/conversations/{}", g.id);
    assert_eq!(get(&server, &g.parent, g.id).await.0, StatusCode::OK);
    let (status, _) = server.delete(&format!("{base}/members/{}", g.parent.id), Some(&g.admin.token)).await;
    assert_eq!(status, StatusCode::OK);

    assert_error(&get(&server, &g.parent, g.id).await, StatusCode::NOT_FOUND, "not_found");
    assert!(list(&server, &g.parent).await.is_empty());
    for response in [
        server.patch(&format!("{base}/settings"), Some(&g.parent.token), &json!({"muted": true})).await,
        server.post(&format!("{base}/leave"), Some(&g.parent.token), &json!({})).await,
        server.patch(&base, Some(&g.parent.token), &json!({"name": "Mine now"})).await,
    ] {
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    // Removing them again, or someone who never was a member, is 404; removing oneself is what leave is for.
    let response = server.delete(&format!("{base}/members/{}", g.parent.id), Some(&g.admin.token)).await;
    assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    let response = server.delete(&format!("{base}/members/{}", g.admin.id), Some(&g.admin.token)).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
}

#[actix_web::test]
async fn promoting_someone_who_is_not_a_member_is_invalid_input() {
    let server = TestServer::start().await;
    let g = class_group(&server).await;
    let path = format!("/api/v1/conversations/{}/admins", g.id);
    for user_id in [g.outsider.id, Uuid::now_v7()] {
        let response = server.post(&path, Some(&g.admin.token), &json!({"user_id": user_id})).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
    }
}

#[actix_web::test]
async fn a_direct_chat_cannot_be_managed_or_left() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let parent = sign_in(&server, "mei", Role::Parent).await;
    let newcomer = server.create_user("newcomer", Role::Teacher).await;
    let (_, chat) = direct(&server, &teacher, parent.id).await;
    let id = id_of(&chat);
    for response in admin_actions(&server, id, &teacher, newcomer.id).await {
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let response =
        server.delete(&format!("/api/v1/conversations/{id}/members/{}", parent.id), Some(&teacher.token)).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
    let response = server.post(&format!("/api/v1/conversations/{id}/leave"), Some(&parent.token), &json!({})).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_input");
    assert!(response.1["error"]["message"].as_str().unwrap().contains("archive"));
    let (_, after) = get(&server, &parent, id).await;
    assert_eq!(set(&member_ids(&after)), set(&[teacher.id, parent.id]));
}

// ---- leaving ----

#[actix_web::test]
async fn when_the_last_admin_leaves_the_longest_standing_member_becomes_admin() {
    let server = TestServer::start().await;
    let admin = sign_in(&server, "okafor", Role::Teacher).await;
    let early = sign_in(&server, "early", Role::Parent).await;
    let late = sign_in(&server, "late", Role::Teacher).await;
    let id = group(&server, &admin, "Trip", &[]).await;
    let add = |user_id: Uuid| {
        let server = &server;
        let token = admin.token.clone();
        async move {
            server
                .post(&format!("/api/v1/conversations/{id}/members"), Some(&token), &json!({"user_ids": [user_id]}))
                .await
        }
    };
    // `late` is added first but is made the newer member, so that neither the order of ids nor of adding
    // decides: only `joined_at` does.
    assert_eq!(add(late.id).await.0, StatusCode::OK);
    assert_eq!(add(early.id).await.0, StatusCode::OK);
    sqlx::query("UPDATE conversation_members SET joined_at = now() - interval '1 day' WHERE conversation_id = $1 AND user_id = $2")
        .bind(id)
        .bind(early.id)
        .execute(&server.pool)
        .await
        .unwrap();

    // A plain member leaving changes no admin.
    let (status, _) = server.post(&format!("/api/v1/conversations/{id}/leave"), Some(&admin.token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&get(&server, &admin, id).await, StatusCode::NOT_FOUND, "not_found");
    let (_, seen) = get(&server, &late, id).await;
    assert_eq!(admin_ids(&seen), [early.id]);
    assert_eq!(set(&member_ids(&seen)), set(&[early.id, late.id]));

    let (status, _) = server.post(&format!("/api/v1/conversations/{id}/leave"), Some(&late.token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, seen) = get(&server, &early, id).await;
    assert_eq!(admin_ids(&seen), [early.id]);
}

#[actix_web::test]
async fn the_last_member_leaving_leaves_an_empty_conversation() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let id = group(&server, &teacher, "Just me", &[]).await;
    let (status, _) = server.post(&format!("/api/v1/conversations/{id}/leave"), Some(&teacher.token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(list(&server, &teacher).await.is_empty());
    let (exists, members): (bool, i64) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1),
                (SELECT count(*) FROM conversation_members WHERE conversation_id = $1)",
    )
    .bind(id)
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!((exists, members), (true, 0));
}

#[actix_web::test]
async fn two_admins_leaving_at_the_same_moment_still_leave_the_group_an_admin() {
    let server = TestServer::start().await;
    // Each round is a fresh group of two admins and a member; both admins leave concurrently. Without the
    // conversation lock each would see the other as the remaining admin, and the group would end with none.
    for round in 0..8 {
        let first = sign_in(&server, &format!("first{round}"), Role::Teacher).await;
        let second = sign_in(&server, &format!("second{round}"), Role::Teacher).await;
        let member = sign_in(&server, &format!("member{round}"), Role::Parent).await;
        let id = group(&server, &first, "Staff", &[second.id, member.id]).await;
        let path = format!("/api/v1/conversations/{id}/admins");
        assert_eq!(server.post(&path, Some(&first.token), &json!({"user_id": second.id})).await.0, StatusCode::OK);

        let leave = format!("/api/v1/conversations/{id}/leave");
        let empty = json!({});
        let (a, b) = tokio::join!(
            server.post(&leave, Some(&first.token), &empty),
            server.post(&leave, Some(&second.token), &empty)
        );
        assert_eq!((a.0, b.0), (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT), "round {round}");
        let (_, seen) = get(&server, &member, id).await;
        assert_eq!(admin_ids(&seen), [member.id], "round {round}");
    }
}

// ---- settings ----

#[actix_web::test]
async fn settings_round_trip_and_stay_personal() {
    let server = TestServer::start().await;
    let teacher = sign_in(&server, "rivera", Role::Teacher).await;
    let parent = sign_in(&server, "mei", Role::Parent).await;
    let outsider = sign_in(&server, "okafor", Role::Teacher).await;
    let (_, chat) = direct(&server, &teacher, parent.id).await;
    let id = id_of(&chat);
    let path = format!("/api/v1/conversations/{id}/settings");
    let flags =
        |c: &Value| (c["muted"].as_bool().unwrap(), c["pinned"].as_bool().unwrap(), c["archived"].as_bool().unwrap());

    let (status, body) = server.patch(&path, Some(&parent.token), &json!({"muted": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(id_of(&body), id);
    assert_eq!(flags(&body), (true, false, false));
    let (_, body) = server.patch(&path, Some(&parent.token), &json!({"pinned": true, "archived": true})).await;
    assert_eq!(flags(&body), (true, true, true));
    // An empty object (or nulls) changes nothing.
    let (status, body) = server.patch(&path, Some(&parent.token), &json!({})).await;
    assert_eq!((status, flags(&body)), (StatusCode::OK, (true, true, true)));
    let (_, body) = server.patch(&path, Some(&parent.token), &json!({"muted": null, "archived": false})).await;
    assert_eq!(flags(&body), (true, true, false));

    assert_eq!(flags(&get(&server, &parent, id).await.1), (true, true, false));
    assert_eq!(flags(&list(&server, &parent).await[0]), (true, true, false));
    // The other member's settings are their own.
    assert_eq!(flags(&get(&server, &teacher, id).await.1), (false, false, false));

    assert_error(
        &server.patch(&path, Some(&outsider.token), &json!({"muted": true})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &server.patch(&path, Some(&parent.token), &json!({"muted": "yes"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );
}
