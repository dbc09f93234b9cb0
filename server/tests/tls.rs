//! TLS through rustls: with a certificate and key configured the server speaks HTTPS only, a client that
//! trusts the certificate signs in over it, and bad TLS files stop the server from starting with an error
//! that names the file.
#![expect(clippy::unwrap_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use hallway_protocol::Role;
use hallway_server::config::TlsFiles;
use hallway_server::startup::Application;
use hallway_test_support::{PASSWORD, TestServer, fresh_database, reachable_temp_dir, test_config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Writes a self-signed certificate for `localhost` and 127.0.0.1, and its key, into `dir` as PEM.
fn write_self_signed(dir: &Path, stem: &str) -> (TlsFiles, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert_pem = generated.cert.pem();
    let files = TlsFiles { cert: dir.join(format!("{stem}.crt")), key: dir.join(format!("{stem}.key")) };
    std::fs::write(&files.cert, &cert_pem).unwrap();
    std::fs::write(&files.key, generated.signing_key.serialize_pem()).unwrap();
    (files, cert_pem)
}

async fn start_tls_server() -> (TestServer, String) {
    let mut cert_pem = String::new();
    let server = TestServer::start_with(|config| {
        let (files, pem) = write_self_signed(&config.data_dir, "server");
        cert_pem = pem;
        config.tls = Some(files);
    })
    .await;
    (server, cert_pem)
}

/// A client that trusts only our certificate and dials `localhost` at the server's loopback address, so
/// the certificate's name is checked as a real client would.
fn tls_client(server: &TestServer, cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", server.local_addr())
        .https_only(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn https_url(server: &TestServer, path: &str) -> String {
    format!("https://localhost:{}{path}", server.local_addr().port())
}

#[actix_web::test]
async fn https_client_trusting_the_certificate_gets_health_and_signs_in() {
    let (server, cert_pem) = start_tls_server().await;
    assert!(server.base_url.starts_with("https://"), "{}", server.base_url);
    server.create_user("mei", Role::Parent).await;
    let client = tls_client(&server, &cert_pem);

    let health = client.get(https_url(&server, "/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let login = client
        .post(https_url(&server, "/api/v1/auth/login"))
        .json(&json!({ "login": "mei", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let tokens: Value = login.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let me = client.get(https_url(&server, "/api/v1/me")).bearer_auth(access).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "mei");
}

#[actix_web::test]
async fn every_answer_under_tls_carries_strict_transport_security() {
    let (server, cert_pem) = start_tls_server().await;
    let client = tls_client(&server, &cert_pem);
    for path in ["/healthz", "/api/v1/me", "/api/v1/no-such-route", "/admin/"] {
        let response = client.get(https_url(&server, path)).send().await.unwrap();
        let hsts = response.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(hsts.as_deref(), Some("max-age=31536000"), "{path}");
    }
    let login = client.post(https_url(&server, "/api/v1/auth/login")).json(&json!({ "login": "x", "password": "y" }));
    let response = login.send().await.unwrap();
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[actix_web::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let (server, _) = start_tls_server().await;
    // Trusts another self-signed certificate for the same names, not the server's.
    let other_dir = reachable_temp_dir().unwrap();
    let (_, other_pem) = write_self_signed(other_dir.path(), "other");
    let client = tls_client(&server, &other_pem);
    let err = client.get(https_url(&server, "/healthz")).send().await.unwrap_err();
    assert!(err.is_connect(), "expected a failed TLS handshake, got {err:?}");
}

#[actix_web::test]
async fn plain_http_to_the_tls_port_gets_no_http_answer() {
    let (server, _) = start_tls_server().await;
    let mut stream = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    // The server answers a non-TLS record with at most a TLS alert, then closes the connection.
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server should close a connection that does not speak TLS");
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP got an HTTP answer: {:?}", String::from_utf8_lossy(&answer));
    // Nor does a plain-HTTP client get a status out of it.
    let plain = server.client.get(format!("http://{}/healthz", server.local_addr())).send().await;
    assert!(plain.is_err(), "plain HTTP got {plain:?}");
}

/// The error `Application::build` gives for these TLS files, with its whole cause chain.
async fn build_error(dir: &Path, files: TlsFiles) -> String {
    let mut config = test_config(dir);
    config.tls = Some(files);
    match Application::build(config, fresh_database().await).await {
        Ok(_) => panic!("the server started with bad TLS files"),
        Err(err) => format!("{err:#}"),
    }
}

#[actix_web::test]
async fn missing_or_mismatched_tls_files_stop_the_server_from_starting_with_a_clear_error() {
    let dir = reachable_temp_dir().unwrap();
    let (good, _) = write_self_signed(dir.path(), "good");
    let (other, _) = write_self_signed(dir.path(), "other");
    let missing = dir.path().join("missing.pem");
    let display = |p: &PathBuf| p.display().to_string();

    let err = build_error(dir.path(), TlsFiles { cert: missing.clone(), key: good.key.clone() }).await;
    assert!(err.contains(&format!("opening {}", display(&missing))) && err.contains("No such file"), "{err}");

    let err = build_error(dir.path(), TlsFiles { cert: good.cert.clone(), key: missing.clone() }).await;
    assert!(err.contains(&format!("opening {}", display(&missing))), "{err}");

    // A key where the certificate should be.
    let err = build_error(dir.path(), TlsFiles { cert: good.key.clone(), key: good.key.clone() }).await;
    assert!(err.contains(&format!("{} holds no certificate", display(&good.key))), "{err}");

    // A certificate where the key should be.
    let err = build_error(dir.path(), TlsFiles { cert: good.cert.clone(), key: good.cert.clone() }).await;
    assert!(err.contains(&format!("{} holds no private key", display(&good.cert))), "{err}");

    // A certificate with another certificate's key.
    let err = build_error(dir.path(), TlsFiles { cert: good.cert.clone(), key: other.key.clone() }).await;
    assert!(err.contains("the TLS certificate and key do not fit together"), "{err}");
}
