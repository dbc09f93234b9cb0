//! Attachments over real HTTP: typing by content, metadata stripping, limits, access, signed links,
//! ranges, deduplication, quota and cleanup. Every file is made here, byte by byte or with the crates.
#![expect(clippy::unwrap_used, reason = "the helpers that make files and send requests fail the test loudly")]

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hallway_protocol::validate::{ClientMsgId, MessageBody};
use hallway_protocol::{ConversationKind, Role};
use hallway_server::media::cleanup::remove_unattached;
use hallway_server::store::attachments::{ClaimError, claim_for_message};
use hallway_server::store::{self, messages::NewMessage};
use hallway_test_support::{TestServer, error_code};
use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

async fn upload(server: &TestServer, token: &str, file_name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    // The client's Content-Type is deliberately misleading: the server must not believe it.
    let part = Part::bytes(bytes).file_name(file_name.to_owned()).mime_str("image/jpeg").unwrap();
    let request = server.client.post(server.url("/api/v1/attachments")).multipart(Form::new().part("file", part));
    server.send(request, Some(token)).await
}

async fn upload_ok(server: &TestServer, token: &str, file_name: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = upload(server, token, file_name, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "uploading {file_name}: {body}");
    body
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let request = server.client.get(server.url(path));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

async fn get_bytes(server: &TestServer, path: &str, token: Option<&str>) -> Vec<u8> {
    let response = get(server, path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.bytes().await.unwrap().to_vec()
}

/// Every stored blob (staged files excluded).
fn blob_files(server: &TestServer) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    let root = server.state.config.data_dir.join("blobs");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten().filter(|e| e.file_name() != "staging") {
            walk(&entry.path(), &mut files);
        }
    }
    files
}

fn staged_files(server: &TestServer) -> usize {
    std::fs::read_dir(server.state.config.data_dir.join("blobs/staging")).map_or(0, |entries| entries.count())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Puts a message carrying `attachment_ids` into a conversation, as the message endpoints would.
async fn send_with(server: &TestServer, conversation: Uuid, sender: Uuid, attachment_ids: &[Uuid]) -> Uuid {
    let client_msg_id = ClientMsgId::parse(&Uuid::now_v7().to_string()).unwrap();
    let body = MessageBody::parse("", true).unwrap();
    let new = NewMessage {
        conversation_id: conversation,
        sender_id: sender,
        client_msg_id: &client_msg_id,
        body: &body,
        attachment_ids,
    };
    store::messages::insert(&server.pool, &new).await.unwrap().row().id
}

fn id_of(attachment: &Value) -> Uuid {
    attachment["id"].as_str().unwrap().parse().unwrap()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// A 600 × 400 photo, blue with a red top-left corner, tagged with EXIF orientation 6 (the camera was
/// turned: the picture must be rotated 90° clockwise to stand upright) and a GPS position.
fn photo_with_exif() -> Vec<u8> {
    use exif::experimental::Writer;
    use exif::{Field, In, Rational, Tag, Value};

    let image =
        RgbImage::from_fn(600, 400, |x, y| if x < 100 && y < 100 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
    let mut jpeg = Cursor::new(Vec::new());
    image.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();

    let degrees =
        |d, m, s| vec![Rational { num: d, denom: 1 }, Rational { num: m, denom: 1 }, Rational { num: s, denom: 100 }];
    let fields = [
        Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![6]) },
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"HallwayCam".to_vec()]) },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field { tag: Tag::GPSLatitude, ifd_num: In::PRIMARY, value: Value::Rational(degrees(51, 30, 2612)) },
        Field { tag: Tag::GPSLongitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"W".to_vec()]) },
        Field { tag: Tag::GPSLongitude, ifd_num: In::PRIMARY, value: Value::Rational(degrees(0, 7, 3928)) },
    ];
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();

    // APP1 "Exif\0\0" + TIFF, right after the SOI marker.
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    chunk
}

/// A valid-looking PNG of a few dozen bytes that declares 100,000 × 100,000 pixels.
fn decompression_bomb() -> Vec<u8> {
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

fn docx() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let files: [(&str, &str); 3] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#,
        ),
        (
            "word/document.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Trip form</w:t></w:r></w:p></w:body></w:document>"#,
        ),
    ];
    for (name, text) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn wav() -> Vec<u8> {
    let samples: Vec<u8> = (0..800u32).flat_map(|i| ((i % 50) as i16 * 400).to_le_bytes()).collect();
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    wav.extend(samples);
    wav
}

fn mp3() -> Vec<u8> {
    // An ID3v2.4 tag with no frames, then MPEG-1 layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each).
    let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    for _ in 0..4 {
        mp3.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        mp3.extend(std::iter::repeat_n(0u8, 413));
    }
    mp3
}

fn ogg_opus() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, 1, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
    let mut page = b"OggS\x00\x02".to_vec();
    page.extend_from_slice(&[0; 8]); // granule position
    page.extend_from_slice(&1u32.to_le_bytes()); // serial
    page.extend_from_slice(&0u32.to_le_bytes()); // sequence
    page.extend_from_slice(&0u32.to_le_bytes()); // checksum (not checked by the sniffer)
    page.push(1);
    page.push(head.len() as u8);
    page.extend(head);
    page
}

/// Three frames that loop forever, with a comment block and an XMP application block to be dropped.
fn animated_gif() -> Vec<u8> {
    let palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255];
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, 20, 10, &palette).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        for colour in 1..=3u8 {
            let mut frame = gif::Frame::from_indexed_pixels(20, 10, vec![colour; 200], None);
            frame.delay = 10;
            encoder.write_frame(&frame).unwrap();
        }
    }
    let trailer = bytes.pop();
    assert_eq!(trailer, Some(0x3B));
    bytes.extend_from_slice(b"\x21\xFE\x0Esecret comment\x00");
    bytes.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x0C<x:xmpmeta/>\x00");
    bytes.push(0x3B);
    bytes
}

// ---------------------------------------------------------------- typing by content

#[actix_web::test]
async fn photo_loses_exif_and_gps_and_stands_upright_with_a_thumbnail() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let original = photo_with_exif();
    // The test file really carries what the server must remove.
    let exif = exif::Reader::new().read_from_container(&mut Cursor::new(&original)).unwrap();
    assert!(exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY).is_some());
    assert!(contains(&original, b"HallwayCam"));

    let attachment = upload_ok(&server, &tokens.access_token, "IMG_0001.JPG", original).await;
    assert_eq!(attachment["mime_type"], "image/jpeg");
    assert_eq!(attachment["file_name"], "IMG_0001.JPG");
    assert_eq!((attachment["width"].as_i64(), attachment["height"].as_i64()), (Some(400), Some(600)));

    let stored =
        get_bytes(&server, &format!("/api/v1/attachments/{}", id_of(&attachment)), Some(&tokens.access_token)).await;
    assert_eq!(attachment["size_bytes"].as_u64(), Some(stored.len() as u64));
    let mut checked = vec![("served".to_owned(), stored.clone())];
    for path in blob_files(&server) {
        checked.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    assert_eq!(checked.len(), 3, "the picture as served, and its two blobs on disk (picture and thumbnail)");
    for (what, bytes) in &checked {
        assert!(!contains(bytes, b"Exif"), "{what}: an EXIF block is left");
        assert!(!contains(bytes, b"HallwayCam"), "{what}: the camera make is left");
        assert!(exif::Reader::new().read_from_container(&mut Cursor::new(bytes)).is_err(), "{what}: EXIF decodes");
    }
    let upright = image::load_from_memory(&stored).unwrap();
    assert_eq!(upright.dimensions(), (400, 600), "turned upright: width and height swapped");
    // Rotated 90° clockwise, the red top-left corner is now at the top right.
    let red = |p: image::Rgba<u8>| p[0] > 200 && p[2] < 80;
    assert!(red(upright.get_pixel(390, 10)), "top right is {:?}", upright.get_pixel(390, 10));
    assert!(!red(upright.get_pixel(10, 10)), "top left is {:?}", upright.get_pixel(10, 10));
    assert!(!red(upright.get_pixel(390, 590)));

    let thumbnail_url = attachment["thumbnail_url"].as_str().unwrap();
    let thumbnail = get_bytes(&server, thumbnail_url, None).await;
    assert!(!contains(&thumbnail, b"Exif"));
    let thumbnail = image::load_from_memory(&thumbnail).unwrap();
    assert_eq!(thumbnail.height(), 320);
    assert!((212..=214).contains(&thumbnail.width()), "{}", thumbnail.width());
}

#[actix_web::test]
async fn types_come_from_the_bytes_not_the_name() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let token = tokens.access_token.as_str();
    let text = "Liebe Eltern, der Ausflug ist am Freitag. 🚌\n".as_bytes().to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("report.pdf", png(30, 20), "image/png"),
        (
            "trip.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec(),
            "application/pdf",
        ),
        ("form.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("notes.txt", text, "text/plain"),
        ("voice.wav", wav(), "audio/wav"),
        ("song.mp3", mp3(), "audio/mpeg"),
        ("memo.ogg", ogg_opus(), "audio/ogg"),
    ];
    for (name, bytes, mime) in cases {
        let attachment = upload_ok(&server, token, name, bytes.clone()).await;
        assert_eq!(attachment["mime_type"], mime, "{name}");
        assert_eq!(attachment["file_name"], name);
        if !mime.starts_with("image/") {
            assert!(attachment["thumbnail_url"].is_null(), "{name}");
            assert!(attachment["width"].is_null());
            // Files that are not images are stored exactly as sent.
            let stored = get_bytes(&server, attachment["url"].as_str().unwrap(), None).await;
            assert_eq!(stored, bytes, "{name}");
        }
    }
}

#[actix_web::test]
async fn programs_and_unknown_files_are_refused_whatever_their_name() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 200));
    let mut pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    pe.extend(std::iter::repeat_n(0u8, 200));
    let mut macro_docx = zip::ZipWriter::new(Cursor::new(Vec::new()));
    macro_docx.start_file("word/vbaProject.bin", zip::write::SimpleFileOptions::default()).unwrap();
    macro_docx.write_all(b"Attribute VB_Name").unwrap();
    let macro_docx = macro_docx.finish().unwrap().into_inner();
    let mut video = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1".to_vec();
    video.extend(std::iter::repeat_n(1u8, 100));
    let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x08free".to_vec();
    for (name, bytes) in [
        ("cute-puppy.jpg", elf),
        ("homework.jpg", pe),
        ("form.docx", macro_docx),
        ("clip.m4a", video),
        ("photo.heic", heic),
        ("photo.jpg", b"\xff\xd8\xff\xe0 this is not really a JPEG".to_vec()),
    ] {
        let (status, body) = upload(&server, &tokens.access_token, name, bytes).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}: {body}");
        assert_eq!(error_code(&body), "unsupported_media_type");
    }
    assert!(blob_files(&server).is_empty());
    assert_eq!(staged_files(&server), 0, "refused uploads leave nothing behind");
}

#[actix_web::test]
async fn animated_gif_keeps_its_frames_and_loses_its_comments() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let attachment = upload_ok(&server, &tokens.access_token, "wave.gif", animated_gif()).await;
    assert_eq!(attachment["mime_type"], "image/gif");
    assert_eq!((attachment["width"].as_i64(), attachment["height"].as_i64()), (Some(20), Some(10)));

    let stored = get_bytes(&server, attachment["url"].as_str().unwrap(), None).await;
    assert!(!contains(&stored, b"secret comment"));
    assert!(!contains(&stored, b"XMP DataXMP"));
    assert!(contains(&stored, b"NETSCAPE2.0"), "the loop is kept");
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(Cursor::new(&stored)).unwrap();
    assert_eq!(decoder.repeat(), gif::Repeat::Infinite);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        frames.push((frame.delay, frame.buffer[..4].to_vec()));
    }
    assert_eq!(
        frames,
        vec![(10, vec![255, 0, 0, 255]), (10, vec![0, 255, 0, 255]), (10, vec![0, 0, 255, 255])],
        "every frame, its delay and its colours"
    );

    let thumbnail = get_bytes(&server, attachment["thumbnail_url"].as_str().unwrap(), None).await;
    assert!(!thumbnail.starts_with(b"GIF"), "the thumbnail is a still image");
    let thumbnail = image::load_from_memory(&thumbnail).unwrap();
    assert_eq!(thumbnail.dimensions(), (20, 10));
    assert!(thumbnail.to_rgb8().get_pixel(5, 5).0[0] > 200, "the first frame, red");
}

// ---------------------------------------------------------------- limits

#[actix_web::test]
async fn oversized_uploads_get_413_and_leave_nothing_on_disk() {
    let server = TestServer::start_with(|c| c.media.max_upload_bytes = 1024 * 1024).await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let text = |len: usize| "hello world\n".repeat(len / 12 + 1).into_bytes()[..len].to_vec();

    // Declared too large: refused before the body is read.
    let (status, body) = upload(&server, &tokens.access_token, "big.txt", text(3 * 1024 * 1024)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("1 MiB"), "{body}");

    // Just over the limit, so only counting while streaming can tell.
    let (status, body) = upload(&server, &tokens.access_token, "big.txt", text(1024 * 1024 + 10)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));

    assert!(blob_files(&server).is_empty());
    assert_eq!(staged_files(&server), 0, "the partial file is deleted");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM attachments").fetch_one(&server.pool).await.unwrap();
    assert_eq!(rows, 0);

    // Exactly at the limit is fine.
    upload_ok(&server, &tokens.access_token, "ok.txt", text(1024 * 1024)).await;
}

#[actix_web::test]
async fn decompression_bomb_is_refused_quickly() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let bomb = decompression_bomb();
    assert!(bomb.len() < 100);
    let started = Instant::now();
    let (status, body) = upload(&server, &tokens.access_token, "tiny.png", bomb).await;
    assert_eq!((status, error_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(blob_files(&server).is_empty());
}

#[actix_web::test]
async fn quota_counts_distinct_content_per_person() {
    let server = TestServer::start_with(|c| c.media.quota_bytes = 3000).await;
    let (_, mei) = server.signed_in("mei", Role::Parent).await;
    let (_, ravi) = server.signed_in("ravi", Role::Parent).await;
    let first = vec![b'a'; 2000];
    upload_ok(&server, &mei.access_token, "a.txt", first.clone()).await;
    // The same content again costs nothing.
    upload_ok(&server, &mei.access_token, "a-again.txt", first).await;

    let (status, body) = upload(&server, &mei.access_token, "b.txt", vec![b'b'; 2000]).await;
    assert_eq!((status, error_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    assert!(body["error"]["message"].as_str().unwrap().contains("quota"), "{body}");
    // Quotas are per person.
    upload_ok(&server, &ravi.access_token, "b.txt", vec![b'b'; 2000]).await;
}

#[actix_web::test]
async fn uploads_need_a_token_and_a_file_field() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let form = Form::new().part("file", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let (status, body) = server.send(server.client.post(server.url("/api/v1/attachments")).multipart(form), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    let form = Form::new().text("caption", "no file here");
    let request = server.client.post(server.url("/api/v1/attachments")).multipart(form);
    let (status, body) = server.send(request, Some(&tokens.access_token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");

    let (status, body) = server.post("/api/v1/attachments", Some(&tokens.access_token), &serde_json::json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));

    // Names are cleaned: no path, no direction overrides (which make `gpj.exe` read as `exe.jpg`).
    let attachment = upload_ok(&server, &tokens.access_token, "..\\../etc/pass\u{202E}wd.txt", b"hi".to_vec()).await;
    assert_eq!(attachment["file_name"], "passwd.txt");
    let attachment = upload_ok(&server, &tokens.access_token, "", b"hi".to_vec()).await;
    assert_eq!(attachment["file_name"], "file");
}

// ---------------------------------------------------------------- access

#[actix_web::test]
async fn only_the_uploader_and_members_of_a_carrying_conversation_may_download() {
    let server = TestServer::start().await;
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let (_, outsider_tokens) = server.signed_in("ravi", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    let attachment = upload_ok(&server, &teacher_tokens.access_token, "trip.txt", b"Friday".to_vec()).await;
    let id = id_of(&attachment);
    let path = format!("/api/v1/attachments/{id}");

    assert_eq!(get(&server, &path, Some(&teacher_tokens.access_token)).await.status(), StatusCode::OK);
    // Not sent yet: only the uploader sees it.
    let response = get(&server, &path, Some(&parent_tokens.access_token)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let message = send_with(&server, conversation, teacher.id, &[id]).await;
    assert_eq!(get_bytes(&server, &path, Some(&parent_tokens.access_token)).await, b"Friday");
    let thumbnail = get(&server, &format!("{path}/thumbnail"), Some(&parent_tokens.access_token)).await;
    assert_eq!(thumbnail.status(), StatusCode::NOT_FOUND, "a text file has no thumbnail");

    // An outsider gets exactly what a missing id gets.
    let outsider = get(&server, &path, Some(&outsider_tokens.access_token)).await;
    assert_eq!(outsider.status(), StatusCode::NOT_FOUND);
    let outsider_body: Value = outsider.json().await.unwrap();
    let missing =
        get(&server, &format!("/api/v1/attachments/{}", Uuid::now_v7()), Some(&outsider_tokens.access_token)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap(), outsider_body);
    assert_eq!(get(&server, &path, None).await.status(), StatusCode::UNAUTHORIZED);

    // A deleted message no longer shares its file with the conversation.
    sqlx::query("UPDATE messages SET deleted_at = now(), body = '' WHERE id = $1")
        .bind(message)
        .execute(&server.pool)
        .await
        .unwrap();
    assert_eq!(get(&server, &path, Some(&parent_tokens.access_token)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get(&server, attachment["url"].as_str().unwrap(), None).await.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn signed_links_work_without_a_header_until_tampered_or_expired() {
    let server = TestServer::start().await;
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, _) = server.signed_in("mei", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    let attachment = upload_ok(&server, &teacher_tokens.access_token, "photo.png", png(400, 300)).await;
    let id = id_of(&attachment);
    let message = send_with(&server, conversation, teacher.id, &[id]).await;

    // The links in a message as members receive it.
    let row = store::messages::find(&server.pool, message).await.unwrap().unwrap();
    let wire = hallway_server::views::messages::many(&server.pool, &server.state.keys, vec![row]).await.unwrap();
    let sent = &wire[0].attachments[0];
    assert_eq!(sent.id, id);
    assert!(sent.url.starts_with(&format!("/api/v1/attachments/{id}?exp=")), "{}", sent.url);
    assert!(sent.url.contains("&sig="));
    let thumbnail_url = sent.thumbnail_url.as_deref().unwrap();
    assert!(thumbnail_url.starts_with(&format!("/api/v1/attachments/{id}/thumbnail?exp=")));

    let response = get(&server, &sent.url, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(get(&server, thumbnail_url, None).await.status(), StatusCode::OK);

    let unauthenticated = |response: reqwest::Response| async move {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        (status, error_code(&body).to_owned())
    };
    let expected = (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned());
    // Tampered: another signature, another expiry, or a thumbnail's signature used for the original.
    let mut tampered = sent.url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(unauthenticated(get(&server, &tampered, None).await).await, expected);
    let (_, query) = sent.url.split_once('?').unwrap();
    let exp: i64 = query.split('&').next().unwrap()[4..].parse().unwrap();
    let later = sent.url.replace(&format!("exp={exp}"), &format!("exp={}", exp + 600));
    assert_eq!(unauthenticated(get(&server, &later, None).await).await, expected);
    let (_, thumbnail_query) = thumbnail_url.split_once('?').unwrap();
    let swapped = format!("/api/v1/attachments/{id}?{thumbnail_query}");
    assert_eq!(unauthenticated(get(&server, &swapped, None).await).await, expected);
    // Expired.
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let sig = server.state.keys.sign_attachment(id, "original", past);
    let expired = format!("/api/v1/attachments/{id}?exp={past}&sig={sig}");
    assert_eq!(unauthenticated(get(&server, &expired, None).await).await, expected);
    // A bad link with a valid token falls back to the token.
    assert_eq!(get(&server, &expired, Some(&teacher_tokens.access_token)).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn downloads_have_safe_headers_ranges_and_etags() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let token = Some(tokens.access_token.as_str());
    let bytes: Vec<u8> = (0..200u32).map(|i| b'a' + (i % 26) as u8).collect();
    let attachment = upload_ok(&server, &tokens.access_token, "Grüße an \"4B\".txt", bytes.clone()).await;
    let path = format!("/api/v1/attachments/{}", id_of(&attachment));

    let response = get(&server, &path, token).await;
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["cache-control"].to_str().unwrap().starts_with("private"));
    assert_eq!(headers["accept-ranges"], "bytes");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"Gr__e an _4B_.txt\""), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''Gr%C3%BC%C3%9Fe%20an%20%224B%22.txt"), "{disposition}");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag.len(), 66, "the quoted SHA-256: {etag}");

    let range = server.client.get(server.url(&path)).bearer_auth(&tokens.access_token).header("Range", "bytes=10-19");
    let response = range.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.headers()["content-range"], "bytes 10-19/200");
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[10..20]);

    let unsatisfiable =
        server.client.get(server.url(&path)).bearer_auth(&tokens.access_token).header("Range", "bytes=500-");
    let response = unsatisfiable.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(response.headers()["content-range"], "bytes */200");

    // An If-Range that no longer matches gets the whole file.
    let stale = server
        .client
        .get(server.url(&path))
        .bearer_auth(&tokens.access_token)
        .header("Range", "bytes=10-19")
        .header("If-Range", "\"something-else\"");
    assert_eq!(stale.send().await.unwrap().status(), StatusCode::OK);

    let cached = server.client.get(server.url(&path)).bearer_auth(&tokens.access_token).header("If-None-Match", &etag);
    let response = cached.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.bytes().await.unwrap().is_empty());

    // Images open in place.
    let image = upload_ok(&server, &tokens.access_token, "p.png", png(10, 10)).await;
    let response = get(&server, image["url"].as_str().unwrap(), None).await;
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
}

// ---------------------------------------------------------------- storage

#[actix_web::test]
async fn the_same_file_twice_is_stored_once() {
    let server = TestServer::start().await;
    let (_, mei) = server.signed_in("mei", Role::Parent).await;
    let (_, ravi) = server.signed_in("ravi", Role::Parent).await;
    let pdf = b"%PDF-1.4\n% the same permission slip\n%%EOF\n".to_vec();
    let first = upload_ok(&server, &mei.access_token, "slip.pdf", pdf.clone()).await;
    let second = upload_ok(&server, &ravi.access_token, "slip-copy.pdf", pdf).await;
    assert_ne!(first["id"], second["id"], "two attachments");
    assert_eq!(blob_files(&server).len(), 1, "one blob");

    // Images re-encode the same way every time: one image and one thumbnail blob for two uploads.
    let photo = png(500, 300);
    upload_ok(&server, &mei.access_token, "a.png", photo.clone()).await;
    upload_ok(&server, &mei.access_token, "b.png", photo).await;
    assert_eq!(blob_files(&server).len(), 3);
}

#[actix_web::test]
async fn cleanup_removes_unsent_uploads_and_only_unshared_blobs() {
    let server = TestServer::start().await;
    let (teacher, tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, _) = server.signed_in("mei", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    let token = &tokens.access_token;
    let forgotten = upload_ok(&server, token, "forgotten.png", png(400, 400)).await;
    let sent = upload_ok(&server, token, "sent.txt", b"shared text".to_vec()).await;
    let unsent_copy = upload_ok(&server, token, "copy.txt", b"shared text".to_vec()).await;
    send_with(&server, conversation, teacher.id, &[id_of(&sent)]).await;
    assert_eq!(blob_files(&server).len(), 3);

    // The default age keeps everything this young.
    let blobs = server.state.media.blobs.as_ref();
    assert_eq!(remove_unattached(&server.pool, blobs, Duration::from_secs(24 * 3600)).await.unwrap(), 0);

    let removed = remove_unattached(&server.pool, blobs, Duration::ZERO).await.unwrap();
    assert_eq!(removed, 2);
    for gone in [&forgotten, &unsent_copy] {
        assert!(store::attachments::find(&server.pool, id_of(gone)).await.unwrap().is_none());
    }
    assert!(store::attachments::find(&server.pool, id_of(&sent)).await.unwrap().is_some());
    // The picture and its thumbnail are gone; the text blob stays for the sent message.
    assert_eq!(blob_files(&server).len(), 1);
    assert_eq!(get_bytes(&server, sent["url"].as_str().unwrap(), None).await, b"shared text");
}

#[actix_web::test]
async fn attachments_are_claimed_by_their_uploader_once() {
    let server = TestServer::start().await;
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    let mine = id_of(&upload_ok(&server, &teacher_tokens.access_token, "a.txt", b"a".to_vec()).await);
    let theirs = id_of(&upload_ok(&server, &parent_tokens.access_token, "b.txt", b"b".to_vec()).await);

    let mut tx = server.pool.begin().await.unwrap();
    claim_for_message(&mut tx, teacher.id, &[mine]).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = server.pool.acquire().await.unwrap();
    assert!(
        matches!(claim_for_message(&mut conn, teacher.id, &[theirs]).await, Err(ClaimError::NotYours(id)) if id == theirs)
    );
    let missing = Uuid::now_v7();
    assert!(matches!(claim_for_message(&mut conn, teacher.id, &[missing]).await, Err(ClaimError::NotYours(_))));
    assert!(matches!(claim_for_message(&mut conn, teacher.id, &[mine, mine]).await, Err(ClaimError::Duplicate(_))));

    send_with(&server, conversation, teacher.id, &[mine]).await;
    let err = claim_for_message(&mut conn, teacher.id, &[mine]).await.unwrap_err();
    assert!(matches!(err, ClaimError::AlreadyAttached(id) if id == mine));
    assert!(err.to_string().starts_with("attachment_ids: "));
}

#[actix_web::test]
async fn webp_and_png_images_are_typed_by_what_is_stored() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut webp = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::from_pixel(50, 40, Rgb([10, 200, 30])))
        .write_to(&mut webp, ImageFormat::WebP)
        .unwrap();
    let attachment = upload_ok(&server, &tokens.access_token, "sticker.webp", webp.into_inner()).await;
    assert_eq!(attachment["mime_type"], "image/jpeg", "an opaque WebP is stored as JPEG");
    assert_eq!(attachment["file_name"], "sticker.jpg");
    let stored = get_bytes(&server, attachment["url"].as_str().unwrap(), None).await;
    assert_eq!(image::guess_format(&stored).unwrap(), ImageFormat::Jpeg);
}
