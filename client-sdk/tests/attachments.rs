//! Files through the SDK against the real server: the upload with its progress, offline and across a
//! restart, refusals, and downloads to a path.
#![expect(clippy::expect_used, reason = "the file helpers fail the test loudly when the machine cannot write files")]

mod support;

use std::path::Path;
use std::sync::Arc;

use hallway_sdk::{Client, HallwayError, SendState, TimelineItem, TimelineSnapshot, UploadProgress};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writing a test file");
    path.to_string_lossy().into_owned()
}

fn by_id<'a>(snapshot: &'a TimelineSnapshot, client_msg_id: &str) -> Option<&'a TimelineItem> {
    snapshot.items.iter().find(|i| i.client_msg_id == client_msg_id)
}

/// A parent signed in on an SDK client, online, in a direct chat with a teacher: the chat's id, the client
/// and its data directory.
async fn parent_in_a_chat(server: &TestServer) -> (String, Arc<Client>, tempfile::TempDir) {
    let (_, _, chat) = teacher_and_parent_in_a_chat(server).await;
    let (bob, data_dir) = client(&server.base_url);
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&bob).await;
    wait_for_conversation(&bob, &chat).await;
    (chat, bob, data_dir)
}

/// The files the SDK still keeps for its outbox.
fn outbox_files(data_dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(data_dir.path().join("outbox-files")).map(|d| d.count()).unwrap_or(0)
}

#[actix_web::test]
async fn a_file_is_uploaded_with_progress_then_sent_and_the_other_member_downloads_it() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, alice_dir) = client(&proxy.url());
    let (bob, _bob_dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&alice).await;
    wait_online(&bob).await;
    wait_for_conversation(&alice, &chat).await;
    let (alice_timeline, _a) = watch_timeline(&alice, &chat);
    let (bob_timeline, _b) = watch_timeline(&bob, &chat);

    // Larger than every socket buffer between the SDK and the frozen proxy, so the upload stalls midway.
    let files = tempfile::tempdir().expect("a folder for the picked file");
    let sheet = pdf(12 * 1024 * 1024);
    let picked = write(files.path(), "scan-0001.pdf", &sheet);
    proxy.freeze();
    let sent = alice
        .timeline(chat.clone())
        .expect("a timeline")
        .send_attachment(picked.clone(), "Friday homework.pdf".into(), "The sheet for Friday".into())
        .await
        .expect("queued");
    // The app may delete its copy at once: the SDK keeps its own until the message is sent.
    std::fs::remove_file(&picked).expect("the app deletes its copy");

    let size = sheet.len() as u64;
    let midway = alice_timeline
        .wait_for("the upload to stall midway behind the frozen network", |s| {
            by_id(s, &sent).and_then(|i| i.upload.as_ref()).is_some_and(|u| u.sent_bytes > 0)
        })
        .await;
    let item = by_id(&midway, &sent).expect("the local echo");
    assert_eq!(
        (item.send_state.clone(), item.body.as_str(), item.attachments.len()),
        (SendState::Sending, "The sheet for Friday", 0)
    );
    let progress = item.upload.clone().expect("an upload");
    assert_eq!((progress.file_name.as_str(), progress.size_bytes), ("Friday homework.pdf", size));
    assert!(progress.sent_bytes < size, "midway, not done: {progress:?}");

    proxy.restore();
    let done = alice_timeline
        .wait_for("the message to be sent", |s| by_id(s, &sent).is_some_and(|i| i.send_state == SendState::Sent))
        .await;
    let item = by_id(&done, &sent).expect("the sent message");
    assert_eq!(item.upload, None, "a sent message has no upload");
    assert_eq!(item.attachments.len(), 1);
    let attachment = &item.attachments[0];
    assert_eq!(
        (attachment.file_name.as_str(), attachment.mime_type.as_str(), attachment.size_bytes),
        ("Friday homework.pdf", "application/pdf", size)
    );
    let seen: Vec<u64> = alice_timeline
        .all()
        .iter()
        .filter_map(|s| by_id(s, &sent).and_then(|i| i.upload.as_ref()).map(|u| u.sent_bytes))
        .collect();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {seen:?}");
    assert_eq!(outbox_files(&alice_dir), 0, "the SDK's copy is gone once sent");

    // Bob sees it live and saves it where his app wants it.
    let received =
        bob_timeline.wait_for("Bob to get the file", |s| s.items.iter().any(|i| i.attachments.len() == 1)).await;
    let attachment_id = received.items[0].attachments[0].id.clone();
    let saved = files.path().join("download.pdf");
    let written = bob
        .download_attachment(attachment_id.clone(), false, saved.to_string_lossy().into_owned())
        .await
        .expect("downloaded");
    assert_eq!(written, size);
    assert!(std::fs::read(&saved).expect("the saved file") == sheet, "the same bytes");
    assert_eq!(stored_count(&server, "The sheet for Friday").await, 1, "sent once");
}

#[actix_web::test]
async fn a_photo_has_a_thumbnail_to_download() {
    let server = TestServer::start().await;
    let (chat, bob, _dir) = parent_in_a_chat(&server).await;
    let (timeline, _t) = watch_timeline(&bob, &chat);
    let files = tempfile::tempdir().expect("a folder");
    let photo = write(files.path(), "IMG_0001.png", &png());
    let sent =
        bob.timeline(chat.clone()).expect("a timeline").send_attachment(photo, String::new(), String::new()).await;
    let sent = sent.expect("a photo without a caption is queued");
    let done = timeline
        .wait_for("the photo to be sent", |s| by_id(s, &sent).is_some_and(|i| i.send_state == SendState::Sent))
        .await;
    let attachment = by_id(&done, &sent).expect("the photo").attachments[0].clone();
    assert_eq!(attachment.file_name, "IMG_0001.png", "the file's own name when none is given");
    assert_eq!((attachment.width, attachment.height), (Some(320), Some(240)));
    assert!(attachment.has_thumbnail);

    let thumbnail = files.path().join("thumbnail");
    bob.download_attachment(attachment.id, true, thumbnail.to_string_lossy().into_owned()).await.expect("downloaded");
    let reader = image::ImageReader::open(&thumbnail).and_then(|r| r.with_guessed_format()).expect("a saved file");
    let decoded = reader.decode().expect("the thumbnail is an image");
    assert!(decoded.width() <= 320 && decoded.height() <= 240);
}

#[actix_web::test]
async fn a_file_written_offline_is_sent_once_by_the_restarted_app() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let data_dir = tempfile::tempdir().expect("a data dir");
    let files = tempfile::tempdir().expect("a folder");
    let sent = {
        let bob = client_in(&proxy.url(), &data_dir);
        bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
        wait_online(&bob).await;
        wait_for_conversation(&bob, &chat).await;
        proxy.cut();
        eventually("the client to notice", || {
            (bob.connection_state() != hallway_sdk::ConnectionState::Online).then_some(())
        })
        .await;
        let picked = write(files.path(), "note.pdf", &pdf(2_000));
        let chat_timeline = bob.timeline(chat.clone()).expect("a timeline");
        let sent = chat_timeline.send_attachment(picked, String::new(), "offline note".into()).await;
        let sent = sent.expect("queued offline");
        let offline = chat_timeline.snapshot().await.expect("a snapshot");
        let echo = by_id(&offline, &sent).expect("the local echo");
        assert_eq!(echo.send_state, SendState::Sending);
        assert_eq!(
            echo.upload,
            Some(UploadProgress { file_name: "note.pdf".into(), size_bytes: 2_009, sent_bytes: 0 })
        );
        sent
        // The app is killed with the message unsent.
    };
    assert_eq!(outbox_files(&data_dir), 1, "the SDK kept the file for the next start");
    proxy.restore();

    let bob = client_in(&proxy.url(), &data_dir);
    bob.restore_session().await.expect("restored").expect("still signed in");
    let (timeline, _t) = watch_timeline(&bob, &chat);
    let done = timeline
        .wait_for("the restarted app to send it", |s| by_id(s, &sent).is_some_and(|i| i.send_state == SendState::Sent))
        .await;
    assert_eq!(by_id(&done, &sent).expect("sent").attachments[0].file_name, "note.pdf");
    assert_eq!(stored_count(&server, "offline note").await, 1, "exactly once");
    eventually("the SDK's copy to be removed", || (outbox_files(&data_dir) == 0).then_some(())).await;
}

#[actix_web::test]
async fn refused_files_fail_with_the_servers_reason_and_can_be_discarded() {
    let server = TestServer::start_with(|config| config.media.max_upload_bytes = 10_000).await;
    let (chat, bob, data_dir) = parent_in_a_chat(&server).await;
    let (timeline, _t) = watch_timeline(&bob, &chat);
    let chat_timeline = bob.timeline(chat.clone()).expect("a timeline");
    let files = tempfile::tempdir().expect("a folder");

    let failed_with = |sent: String, code: &'static str| {
        let timeline = timeline.clone();
        async move {
            let snapshot = timeline
                .wait_for(code, |s| by_id(s, &sent).is_some_and(|i| matches!(i.send_state, SendState::Failed { .. })))
                .await;
            let SendState::Failed { code: got, reason } = by_id(&snapshot, &sent).expect("the item").send_state.clone()
            else {
                unreachable!("checked above")
            };
            assert_eq!(got, code);
            assert!(!reason.is_empty(), "the server's reason is kept");
        }
    };
    let big = write(files.path(), "big.pdf", &pdf(20_000));
    let too_large = chat_timeline.send_attachment(big, String::new(), String::new()).await.expect("queued");
    failed_with(too_large.clone(), "too_large").await;

    let program = write(files.path(), "game.exe", b"MZ\x90\x00 not a school document");
    let unsupported = chat_timeline.send_attachment(program, String::new(), String::new()).await.expect("queued");
    failed_with(unsupported.clone(), "unsupported_media_type").await;

    // A refused file does not hold back what comes after it.
    chat_timeline.send_text("sorry, wrong file".into()).await.expect("queued");
    timeline
        .wait_for("the text to go out", |s| {
            item(s, "sorry, wrong file").is_some_and(|i| i.send_state == SendState::Sent)
        })
        .await;

    chat_timeline.discard_send(too_large).await.expect("discarded");
    chat_timeline.discard_send(unsupported).await.expect("discarded");
    timeline.wait_for("the failed files to go", |s| s.items.len() == 1).await;
    assert_eq!(outbox_files(&data_dir), 0, "discarding removes the SDK's copies");
}

#[actix_web::test]
async fn attachment_calls_report_typed_errors() {
    let server = TestServer::start().await;
    let (chat, bob, _dir) = parent_in_a_chat(&server).await;
    let chat_timeline = bob.timeline(chat).expect("a timeline");
    let files = tempfile::tempdir().expect("a folder");
    let invalid = |result: Result<String, HallwayError>| match result {
        Err(HallwayError::InvalidInput { code, .. }) => code,
        other => panic!("expected invalid input, got {other:?}"),
    };

    let missing = files.path().join("nothing-here.pdf").to_string_lossy().into_owned();
    let folder = files.path().to_string_lossy().into_owned();
    let empty = write(files.path(), "empty.pdf", b"");
    let fine = write(files.path(), "fine.pdf", &pdf(10));
    for path in [missing, folder, empty] {
        assert_eq!(invalid(chat_timeline.send_attachment(path, String::new(), String::new()).await), "invalid_input");
    }
    let long_caption = "x".repeat(4_001);
    assert_eq!(
        invalid(chat_timeline.send_attachment(fine.clone(), String::new(), long_caption).await),
        "body_too_long"
    );
    assert_eq!(invalid(chat_timeline.send_attachment(fine, "n".repeat(256), String::new()).await), "invalid_input");

    let saved = files.path().join("saved").to_string_lossy().into_owned();
    let download = |id: String| bob.download_attachment(id, false, saved.clone());
    assert!(
        matches!(download("not-an-id".into()).await, Err(HallwayError::InvalidInput { code, .. }) if code == "invalid_id")
    );
    assert_eq!(download(uuid::Uuid::now_v7().to_string()).await, Err(HallwayError::NotFound));
    assert!(!Path::new(&saved).exists(), "a failed download leaves no file");
}
