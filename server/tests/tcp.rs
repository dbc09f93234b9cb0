//! Every accepted connection has `TCP_NODELAY` set, on the plain and on the TLS listener: without it Nagle's
//! algorithm held a small frame back until the peer's delayed ACK, tens of milliseconds per chat round trip
//! (issue 21). The test servers run in this process, so the test reads the option from the server's own
//! accepted sockets (duplicated through `pidfd_getfd`), not from the client's side of the connection.
#![expect(clippy::unwrap_used, reason = "a test that cannot set up must fail loudly")]

use std::net::SocketAddr;
use std::time::Duration;

use hallway_test_support::TestServer;
use reqwest::StatusCode;
use rustix::fd::AsFd;
use rustix::net::{SocketAddrAny, getpeername, getsockname, sockopt};
use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

fn port_of(addr: &SocketAddrAny) -> Option<u16> {
    SocketAddr::try_from(addr.clone()).ok().map(|a| a.port())
}

/// `TCP_NODELAY` of each socket this process accepted on `listening` (those whose local port is the
/// server's and that have a peer; the listener itself has none, and clients' sockets have another port).
fn accepted_nodelay(listening: SocketAddr) -> Vec<bool> {
    let me = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        let Some(number) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        // The descriptor may have closed since the listing: skip it then.
        let Ok(fd) = (if is_socket { pidfd_getfd(me.as_fd(), number, PidfdGetfdFlags::empty()) } else { continue })
        else {
            continue;
        };
        let local = getsockname(&fd).ok().and_then(|a| port_of(&a));
        if local == Some(listening.port()) && getpeername(&fd).is_ok_and(|peer| peer.is_some()) {
            found.push(sockopt::tcp_nodelay(&fd).unwrap());
        }
    }
    found
}

#[actix_web::test]
async fn connections_accepted_on_the_plain_listener_have_tcp_nodelay() {
    let server = TestServer::start().await;
    // The client keeps the connection alive after the answer, so the accepted socket is still open.
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    let nodelay = accepted_nodelay(server.local_addr());
    assert!(!nodelay.is_empty(), "no accepted socket found");
    assert!(nodelay.iter().all(|on| *on), "TCP_NODELAY off on an accepted socket: {nodelay:?}");
}

#[actix_web::test]
async fn connections_accepted_on_the_tls_listener_have_tcp_nodelay() {
    let mut cert_pem = String::new();
    let server = TestServer::start_with(|config| {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        cert_pem = generated.cert.pem();
        let files = hallway_server::config::TlsFiles {
            cert: config.data_dir.join("server.crt"),
            key: config.data_dir.join("server.key"),
        };
        std::fs::write(&files.cert, &cert_pem).unwrap();
        std::fs::write(&files.key, generated.signing_key.serialize_pem()).unwrap();
        config.tls = Some(files);
    })
    .await;
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", server.local_addr())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/healthz", server.local_addr().port());
    assert_eq!(client.get(url).send().await.unwrap().status(), StatusCode::OK);
    let nodelay = accepted_nodelay(server.local_addr());
    assert!(!nodelay.is_empty(), "no accepted socket found");
    assert!(nodelay.iter().all(|on| *on), "TCP_NODELAY off on an accepted TLS socket: {nodelay:?}");
}
