//! The SDK's media cache against the real server: photos, files and profile pictures fetched with the
//! session into local files (an expired signed link changes nothing), fetched once, kept within the size
//! cap by least recent use, and removed when their message is deleted or the user signs out.
#![expect(clippy::expect_used, reason = "the file helpers fail the test loudly when the machine cannot write files")]

mod support;

use std::path::Path;
use std::sync::Arc;

use hallway_protocol::Role;
use hallway_sdk::{Client, HallwayError, TimelineSnapshot};
use hallway_test_support::{PASSWORD, TestServer};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::*;
use uuid::Uuid;

/// A message with one file, sent over REST by the holder of `token`: the message's and the file's ids.
async fn post_file(server: &TestServer, token: &str, chat: &str, name: &str, bytes: Vec<u8>) -> (String, String) {
    let part = Part::bytes(bytes).file_name(name.to_owned());
    let upload = server.client.post(server.url("/api/v1/attachments")).multipart(Form::new().part("file", part));
    let (status, attachment) = server.send(upload, Some(token)).await;
    assert_eq!(status, StatusCode::CREATED, "{attachment}");
    let attachment_id = attachment["id"].as_str().expect("an attachment id").to_owned();
    let body = json!({"client_msg_id": Uuid::now_v7().to_string(), "body": name, "attachment_ids": [attachment_id]});
    let (status, message) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(token), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    (message["id"].as_str().expect("a message id").to_owned(), attachment_id)
}

/// The bytes the server serves at `path` to the holder of `token`.
async fn served(server: &TestServer, token: &str, path: &str) -> Vec<u8> {
    let response = server.client.get(server.url(path)).bearer_auth(token).send().await.expect("a download");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.bytes().await.expect("the body").to_vec()
}

/// How many requests for exactly `path` went through the proxy.
fn requests_for(proxy: &Proxy, path: &str) -> usize {
    proxy.requests().iter().filter(|request| *request == &format!("GET {path}")).count()
}

/// The files in the client's media folder.
fn media_files(data_dir: &tempfile::TempDir) -> Vec<String> {
    let entries = std::fs::read_dir(data_dir.path().join("media")).map(|dir| dir.flatten().collect::<Vec<_>>());
    entries.unwrap_or_default().iter().map(|entry| entry.file_name().to_string_lossy().into_owned()).collect()
}

/// Waits until the timeline shows the message `message_id` with its file.
async fn wait_for_file(timeline: &Recorder<TimelineSnapshot>, message_id: &str) {
    let shown = |s: &TimelineSnapshot| {
        s.items.iter().any(|item| item.message_id.as_deref() == Some(message_id) && !item.attachments.is_empty())
    };
    timeline.wait_for("the message with its file", shown).await;
}

/// The teacher's token and the parent (`chen`) signed in on an SDK client through a proxy that records its
/// requests, online in their direct chat: the token, the chat, the proxy, the client and its data dir.
async fn parent_online(server: &TestServer) -> (String, String, Proxy, Arc<Client>, tempfile::TempDir) {
    let (_, _, chat) = teacher_and_parent_in_a_chat(server).await;
    let teacher = server.login("rivera", PASSWORD).await.access_token;
    let proxy = Proxy::start(server.local_addr()).await;
    let (parent, dir) = client(&proxy.url());
    parent.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&parent, &chat).await;
    wait_online(&parent).await;
    (teacher, chat, proxy, parent, dir)
}

/// Makes the stored message `message_id` carry an expired signed link, as a phone holds one an hour after it
/// read the message; checks first that the server refuses that link.
async fn expire_stored_links(server: &TestServer, data_dir: &Path, message_id: &str, attachment_id: &str) {
    let attachment = Uuid::parse_str(attachment_id).expect("an attachment id");
    let expired = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
    let link = |variant: &str, suffix: &str| {
        let sig = server.state.keys.sign_attachment(attachment, variant, expired);
        format!("/api/v1/attachments/{attachment}{suffix}?exp={expired}&sig={sig}")
    };
    let (original, thumbnail) = (link("original", ""), link("thumbnail", "/thumbnail"));
    for path in [&original, &thumbnail] {
        let (status, body) = server.get(path, None).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "the link expired");
    }
    let db = open_store(data_dir);
    db.busy_timeout(std::time::Duration::from_secs(5)).expect("a busy timeout");
    let changed = db
        .execute(
            "UPDATE messages SET data = json_set(data, '$.attachments[0].url', ?1, '$.attachments[0].thumbnail_url', ?2)
             WHERE id = ?3",
            rusqlite::params![original, thumbnail, message_id],
        )
        .expect("rewriting the stored links");
    assert_eq!(changed, 1, "the message is stored");
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[actix_web::test]
async fn a_photo_whose_link_expired_still_shows_fetched_once_with_the_session() {
    let server = TestServer::start().await;
    let (teacher, chat, proxy, parent, dir) = parent_online(&server).await;
    let (timeline, _t) = watch_timeline(&parent, &chat);
    let (message, attachment) = post_file(&server, &teacher, &chat, "class-trip.png", png()).await;
    wait_for_file(&timeline, &message).await;
    expire_stored_links(&server, dir.path(), &message, &attachment).await;

    let photo = parent.media_path(message.clone(), attachment.clone()).await.expect("the photo");
    assert!(photo.ends_with(".png"), "named for viewers: {photo}");
    let original = format!("/api/v1/attachments/{attachment}");
    assert!(std::fs::read(&photo).expect("the local file") == served(&server, &teacher, &original).await);
    let thumbnail = parent.thumbnail_path(message.clone(), attachment.clone()).await.expect("fetched");
    let thumbnail = thumbnail.expect("a photo has a thumbnail");
    let preview = image::open(&thumbnail).expect("the thumbnail is an image");
    assert!(preview.width() <= 320 && preview.height() <= 240);
    assert!(thumbnail.ends_with(".jpg") || thumbnail.ends_with(".png"), "named by its format: {thumbnail}");
    assert_eq!((requests_for(&proxy, &original), requests_for(&proxy, &format!("{original}/thumbnail"))), (1, 1));

    // Asked again, concurrently: the files on disk, with no request at all.
    let again: Vec<_> = futures_util::future::join_all(
        (0..4).map(|_| parent.media_path(message.clone(), attachment.clone())).collect::<Vec<_>>(),
    )
    .await;
    assert!(again.iter().all(|path| path.as_ref() == Ok(&photo)), "{again:?}");
    let thumbnail_again = parent.thumbnail_path(message.clone(), attachment.clone()).await.expect("cached");
    assert_eq!(thumbnail_again.as_deref(), Some(thumbnail.as_str()));
    assert_eq!((requests_for(&proxy, &original), requests_for(&proxy, &format!("{original}/thumbnail"))), (1, 1));

    // Four requests at once for a file not cached: one download.
    parent.clear_media_cache().await.expect("cleared");
    assert!(!Path::new(&photo).exists(), "clearing removes the files");
    let together: Vec<_> = futures_util::future::join_all(
        (0..4).map(|_| parent.media_path(message.clone(), attachment.clone())).collect::<Vec<_>>(),
    )
    .await;
    assert!(together.iter().all(|path| path.as_ref() == Ok(&photo)), "{together:?}");
    assert_eq!(requests_for(&proxy, &original), 2, "one more download for all four");

    // A file without a preview has no thumbnail; a message that does not carry the file is not found.
    let (sheet, sheet_file) = post_file(&server, &teacher, &chat, "permission slip.pdf", pdf(3_000)).await;
    wait_for_file(&timeline, &sheet).await;
    assert_eq!(parent.thumbnail_path(sheet.clone(), sheet_file.clone()).await, Ok(None));
    assert!(parent.media_path(sheet.clone(), sheet_file).await.expect("the sheet").ends_with(".pdf"));
    assert_eq!(parent.media_path(sheet, attachment).await, Err(HallwayError::NotFound));
}

#[actix_web::test]
async fn the_cache_keeps_to_its_cap_by_evicting_the_least_recently_used() {
    let server = TestServer::start().await;
    let (teacher, chat, proxy, parent, _dir) = parent_online(&server).await;
    let (timeline, _t) = watch_timeline(&parent, &chat);
    let mut files = Vec::new();
    for (name, filler) in [("a.pdf", 10_000), ("b.pdf", 10_001), ("c.pdf", 10_002)] {
        let (message, attachment) = post_file(&server, &teacher, &chat, name, pdf(filler)).await;
        wait_for_file(&timeline, &message).await;
        files.push((message, attachment));
    }
    let fetch = |n: usize| parent.media_path(files[n].0.clone(), files[n].1.clone());
    let downloads = |n: usize| requests_for(&proxy, &format!("/api/v1/attachments/{}", files[n].1));
    let size = |path: &str| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);

    let a = fetch(0).await.expect("a");
    let b = fetch(1).await.expect("b");
    // Room for two of the three files.
    parent.set_media_cache_limit(size(&a) + size(&b) + 5).await.expect("a limit");
    assert_eq!(fetch(0).await.as_ref(), Ok(&a), "a is used again, so b is now the least recently used");
    let c = fetch(2).await.expect("c");
    assert!(!Path::new(&b).exists(), "b was evicted");
    assert!(Path::new(&a).exists() && Path::new(&c).exists(), "a and c stay");
    assert_eq!(parent.media_cache_size().await, Ok(size(&a) + size(&c)));
    assert_eq!((downloads(0), downloads(1), downloads(2)), (1, 1, 1));
    assert_eq!(fetch(0).await.as_ref(), Ok(&a));
    assert_eq!(downloads(0), 1, "a is still cached");
    assert_eq!(fetch(1).await.as_ref(), Ok(&b));
    assert_eq!(downloads(1), 2, "b is downloaded again");

    // Lowering the cap evicts at once.
    parent.set_media_cache_limit(0).await.expect("a limit");
    assert_eq!(parent.media_cache_size().await, Ok(0));
    assert!(![&a, &b, &c].iter().any(|path| Path::new(path).exists()));
}

#[actix_web::test]
async fn a_restarted_app_keeps_its_cached_files_and_their_order() {
    let server = TestServer::start().await;
    let (teacher, chat, proxy, parent, dir) = parent_online(&server).await;
    let (timeline, _t) = watch_timeline(&parent, &chat);
    let (message, attachment) = post_file(&server, &teacher, &chat, "menu.pdf", pdf(5_000)).await;
    wait_for_file(&timeline, &message).await;
    let path = parent.media_path(message.clone(), attachment.clone()).await.expect("the file");
    drop((timeline, _t));
    drop(parent);
    let partial = dir.path().join("media").join("a.leftover.part");
    std::fs::write(&partial, b"half a file").expect("a partial download left by a killed app");

    let restarted = client_in(&proxy.url(), &dir);
    restarted.restore_session().await.expect("restored").expect("still signed in");
    assert_eq!(restarted.media_path(message, attachment.clone()).await, Ok(path));
    assert_eq!(requests_for(&proxy, &format!("/api/v1/attachments/{attachment}")), 1, "no second download");
    assert!(!partial.exists(), "partial downloads are removed");
}

#[actix_web::test]
async fn profile_pictures_are_fetched_with_the_session_and_kept_by_version() {
    let server = TestServer::start().await;
    let teacher_user = server.create_user("rivera", Role::Teacher).await;
    let parent_user = server.create_user("chen", Role::Parent).await;
    let kind = hallway_protocol::ConversationKind::Direct;
    let chat = server.create_conversation(kind, None, teacher_user.id, &[parent_user.id]).await.to_string();
    let teacher = server.login("rivera", PASSWORD).await.access_token;
    let put_picture = |shade: u8| {
        let picture = image::RgbImage::from_pixel(64, 64, image::Rgb([shade, 120, 40]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut bytes, image::ImageFormat::Png).expect("encoding a PNG");
        let part = Part::bytes(bytes.into_inner()).file_name("me.png");
        server.client.put(server.url("/api/v1/me/avatar")).multipart(Form::new().part("file", part))
    };
    let (status, _) = server.send(put_picture(10), Some(&teacher)).await;
    assert_eq!(status, StatusCode::OK);

    let proxy = Proxy::start(server.local_addr()).await;
    let (parent, dir) = client(&proxy.url());
    let me = parent.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&parent, &chat).await;
    let conversations = parent.conversation_list().conversations().await.expect("the list");
    let rivera = conversations.iter().find(|c| c.id == chat).and_then(|c| c.other_member.clone()).expect("the teacher");
    assert_eq!(rivera.username, "rivera");
    let url = rivera.avatar_url.clone().expect("the teacher has a picture");

    let picture = parent.avatar_path(rivera.id.clone(), Some(url.clone())).await.expect("fetched");
    let picture = picture.expect("a picture");
    let avatar = format!("/api/v1/users/{}/avatar", rivera.id);
    assert!(std::fs::read(&picture).expect("the local file") == served(&server, &teacher, &avatar).await);
    assert_eq!(parent.avatar_path(rivera.id.clone(), Some(url.clone())).await, Ok(Some(picture.clone())));
    assert_eq!(requests_for(&proxy, &avatar), 1, "the second time from the cache");
    assert_eq!(parent.avatar_path(me.id.clone(), me.avatar_url.clone()).await, Ok(None), "no picture: initials");

    // A new picture is a new version: fetched once more, and the old one goes.
    let (status, user) = server.send(put_picture(200), Some(&teacher)).await;
    assert_eq!(status, StatusCode::OK);
    let new_url = user["avatar_url"].as_str().expect("the new picture's url").to_owned();
    assert_ne!(new_url, url);
    let new_picture = parent.avatar_path(rivera.id.clone(), Some(new_url)).await.expect("fetched").expect("a picture");
    assert_ne!(new_picture, picture);
    assert!(std::fs::read(&new_picture).expect("the new file") == served(&server, &teacher, &avatar).await);
    assert!(!Path::new(&picture).exists(), "the old version is removed");
    assert_eq!(requests_for(&proxy, &avatar), 2);

    // A picture deleted since: none, and the cached one goes.
    let (status, _) = server.delete("/api/v1/me/avatar", Some(&teacher)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let stale = format!("/api/v1/users/{}/avatar?v=0000", rivera.id);
    assert_eq!(parent.avatar_path(rivera.id.clone(), Some(stale)).await, Ok(None));
    assert!(!Path::new(&new_picture).exists());
    assert_eq!(media_files(&dir), Vec::<String>::new());
}

#[actix_web::test]
async fn a_deleted_messages_files_leave_the_cache() {
    let server = TestServer::start().await;
    let (teacher, chat, proxy, parent, dir) = parent_online(&server).await;
    let (timeline, _t) = watch_timeline(&parent, &chat);
    let (message, attachment) = post_file(&server, &teacher, &chat, "wrong-class.png", png()).await;
    let (kept, kept_file) = post_file(&server, &teacher, &chat, "right-class.png", png()).await;
    wait_for_file(&timeline, &message).await;
    wait_for_file(&timeline, &kept).await;
    let photo = parent.media_path(message.clone(), attachment.clone()).await.expect("the photo");
    let preview = parent.thumbnail_path(message.clone(), attachment.clone()).await.expect("fetched").expect("one");
    let other = parent.media_path(kept.clone(), kept_file.clone()).await.expect("the other photo");

    let (status, _) = server.delete(&format!("/api/v1/messages/{message}"), Some(&teacher)).await;
    assert!(status.is_success(), "{status}");
    eventually("the deleted message's files to leave the cache", || {
        (!Path::new(&photo).exists() && !Path::new(&preview).exists()).then_some(())
    })
    .await;
    assert!(Path::new(&other).exists(), "another message's photo stays");
    let downloads = requests_for(&proxy, &format!("/api/v1/attachments/{attachment}"));
    assert_eq!(parent.media_path(message.clone(), attachment.clone()).await, Err(HallwayError::NotFound));
    assert_eq!(parent.thumbnail_path(message, attachment.clone()).await, Err(HallwayError::NotFound));
    assert_eq!(requests_for(&proxy, &format!("/api/v1/attachments/{attachment}")), downloads, "not asked for");

    // Signing out empties the cache.
    parent.logout().await.expect("signed out");
    eventually("the cache to be emptied", || media_files(&dir).is_empty().then_some(())).await;
}

#[actix_web::test]
async fn media_calls_report_typed_errors() {
    let server = TestServer::start().await;
    let (parent, _dir) = client(&server.base_url);
    let id = Uuid::now_v7().to_string();
    let invalid = parent.media_path("not-an-id".into(), id.clone()).await;
    assert!(matches!(invalid, Err(HallwayError::InvalidInput { code, .. }) if code == "invalid_id"));
    assert_eq!(parent.media_path(id.clone(), id.clone()).await, Err(HallwayError::NotFound), "not stored here");
    let signed_out = parent.avatar_path(id.clone(), Some(format!("/api/v1/users/{id}/avatar?v=1"))).await;
    assert_eq!(signed_out, Err(HallwayError::Unauthorized));
    assert_eq!(parent.avatar_path(id, None).await, Ok(None));
}
