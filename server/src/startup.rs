//! Builds the application: used by `main` and by the tests alike, so the tests run the real server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use futures_util::FutureExt;
use sqlx::PgPool;

use crate::auth::password::HashPool;
use crate::auth::tokens::{Keys, load_or_create_secret};
use crate::config::{Config, TlsFiles};
use crate::error::ApiError;
use crate::http;
use crate::lifecycle::{Background, SOCKETS_GRACE, STOP_GRACE};
use crate::media;
use crate::metrics::Metrics;
use crate::notify::Push;
use crate::realtime::Realtime;
use crate::state::{AppState, POLICY_SETTING};
use crate::store;

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    local_addr: SocketAddr,
    /// The metrics listener, apart from the API's, when `metrics_bind` is set.
    metrics: Option<(Server, SocketAddr)>,
    state: AppState,
    /// Every background task (writers, notifier, push workers, periodic tasks), stopped in order by `run`.
    background: Background,
}

impl Application {
    /// Binds the listening socket (port 0 picks a free one) and prepares the workers.
    pub async fn build(config: Config, db: PgPool) -> anyhow::Result<Application> {
        let secret = load_or_create_secret(config.jwt_secret.as_deref(), &config.data_dir)
            .context("loading the token-signing secret")?;
        let tls = config.tls.as_ref().map(rustls_config).transpose()?;
        let listener = TcpListener::bind(config.bind).with_context(|| format!("binding {}", config.bind))?;
        let local_addr = listener.local_addr()?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).with_context(|| format!("binding the metrics address {addr}"))?),
            None => None,
        };
        let metrics = Metrics::new().context("registering the metrics")?;
        let workers = config.workers;
        crate::usernames::backfill(&db).await.context("filling the skeletons of older usernames")?;
        let policy = store::settings::get(&db, POLICY_SETTING).await?.unwrap_or_default();
        let policy = Arc::new(std::sync::RwLock::new(policy));
        let keys = Arc::new(Keys::from_secret(&secret));
        let background = Background::new();
        let push = Push::start(&config, db.clone(), &background).context("starting the push workers")?;
        let realtime = Realtime::start(
            db.clone(),
            keys.clone(),
            config.realtime.clone(),
            policy.clone(),
            metrics.clone(),
            push.notifier.clone(),
            &background,
        );
        realtime.set_banned_words(crate::safety::load_banned_words(&db).await?);
        let hash_workers = config
            .limits
            .password_hash_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let hash_queue = config.limits.password_hash_queue;
        let passwords = tokio::task::spawn_blocking(move || HashPool::start(hash_workers, hash_queue))
            .await?
            .context("starting the password hashing pool")?;
        let state = AppState::new(config, db, keys, policy, realtime, push.vapid.clone(), Arc::new(passwords));
        let media = &state.config.media;
        let (max_age, interval) = (media.unattached_max_age, media.cleanup_interval);
        media::cleanup::spawn(state.db.clone(), state.media.clone(), max_age, interval, &background);
        let data = web::Data::new(state.clone());
        let database = state.database.clone();
        let counted = metrics.clone();
        let hsts = tls.is_some();
        let mut server = HttpServer::new(move || {
            let database = database.clone();
            let metrics = counted.clone();
            App::new()
                .app_data(data.clone())
                // While the database does not answer, API calls get 503 at once rather than after the pool's
                // acquire timeout, and so do those already waiting when it stops answering; health checks and
                // the console's static files are still served.
                .wrap_fn(move |req, srv| {
                    let api = req.path().starts_with("/api/");
                    let (database, call) = (database.clone(), srv.call(req));
                    async move {
                        if !api {
                            return call.await;
                        }
                        database.unless_down(call).await.unwrap_or_else(|| Err(ApiError::database_unavailable().into()))
                    }
                })
                .wrap(default_headers(hsts))
                .wrap(actix_web::middleware::from_fn(http::input::refuse_control_characters))
                .wrap_fn(move |req, srv| {
                    let (method, path, started) = (req.method().clone(), req.path().to_owned(), Instant::now());
                    let metrics = metrics.clone();
                    srv.call(req).map(move |res| {
                        let status = match &res {
                            Ok(res) => res.status(),
                            Err(err) => err.as_response_error().status_code(),
                        };
                        if status.is_server_error() {
                            metrics.http_5xx.inc();
                        } else if status == actix_web::http::StatusCode::TOO_MANY_REQUESTS {
                            metrics.rate_limited_http.inc();
                        }
                        if res.is_ok() {
                            let ms = started.elapsed().as_secs_f64() * 1000.0;
                            tracing::info!(%method, %path, status = status.as_u16(), ms, "request");
                        }
                        res
                    })
                })
                .configure(http::configure)
                .default_service(web::to(http::not_found))
        })
        // Nagle's algorithm holds a small frame back until the previous one is acknowledged, and the peer
        // delays that acknowledgement by up to 40 ms: a chat's round trip paid it twice (issue 21). Set on
        // every accepted socket, plain or TLS (actix-http sets it before the TLS handshake).
        .tcp_nodelay(true)
        // `run` handles the signals, to close the sockets and stop the background tasks in order.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
        if let Some(workers) = workers {
            server = server.workers(workers.max(1));
        }
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls)?,
            None => server.listen(listener)?,
        }
        .run();
        let metrics = match metrics_listener {
            Some(listener) => Some(metrics_server(listener, metrics, state.db.clone())?),
            None => None,
        };
        Ok(Application { server, local_addr, metrics, state, background })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address `GET /metrics` is served on, if any (port 0 in `metrics_bind` picks a free one).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// A handle that stops the server (the metrics listener stops with it).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The state the handlers share (the tests use it to reach the same pool and keys).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The server's background tasks: `main` starts the database supervisor and the periodic tasks under it, so
    /// they stop before the pool closes and the cluster stops.
    pub fn background(&self) -> &Background {
        &self.background
    }

    /// Serves until SIGTERM or SIGINT, or until the handle stops it, then stops in order (`lifecycle`): no new
    /// connections; every socket answers the frames it admitted and closes with 1001; requests in flight finish
    /// (at most 10 s); then the background tasks store what is queued and end (at most `STOP_GRACE`). The
    /// caller closes the pool and the cluster after this returns.
    pub async fn run(self) -> std::io::Result<()> {
        // `state` is held until the end, as before: the application's last copy is dropped here, after the stop.
        let Application { server, metrics, background, state, .. } = self;
        let handle = server.handle();
        let metrics = metrics.map(|(metrics, _)| (metrics.handle(), actix_rt::spawn(metrics)));
        // Spawned: the server's future carries out the handle's commands (pause, stop) while this one waits.
        let mut server = actix_rt::spawn(server);
        let mut served = None;
        tokio::select! {
            result = &mut server => served = Some(result),
            signal = shutdown_signal() => {
                tracing::info!(signal, "shutting down: accepting no more connections and closing the sockets");
            }
        }
        let served = match served {
            Some(result) => result,
            None => {
                handle.pause().await;
                if !background.close_sockets(SOCKETS_GRACE).await {
                    tracing::warn!(grace_secs = SOCKETS_GRACE.as_secs(), "some sockets did not close in time");
                }
                // The workers finish the requests in flight and close idle connections (at most 10 s).
                handle.stop(true).await;
                server.await
            }
        };
        let served = served.unwrap_or_else(|err| Err(std::io::Error::other(err)));
        if let Some((metrics, task)) = metrics {
            metrics.stop(true).await;
            let _ = task.await;
        }
        tracing::info!("connections closed: storing what is queued and stopping the background tasks");
        if !background.stop(STOP_GRACE).await {
            tracing::warn!(grace_secs = STOP_GRACE.as_secs(), "some background tasks did not stop in time");
        }
        drop(state);
        served
    }
}

/// How long the HTTP workers wait for open connections (sockets closing, requests in flight) when stopping.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// The first SIGTERM or SIGINT; never, if the signals cannot be listened to (the handle still stops the server).
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot listen for SIGTERM and SIGINT: only the handle stops the server");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    }
}

/// The metrics listener: `GET /metrics` and nothing else, one worker, no signal handling of its own (it stops
/// after the API server, in `Application::run`).
fn metrics_server(listener: TcpListener, metrics: Metrics, db: PgPool) -> anyhow::Result<(Server, SocketAddr)> {
    let addr = listener.local_addr()?;
    let server = HttpServer::new(move || {
        let (metrics, db) = (metrics.clone(), db.clone());
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let (metrics, db) = (metrics.clone(), db.clone());
                async move {
                    match crate::store::push_queue::depth(&db).await {
                        Ok((pending, dead)) => metrics.set_push_queue(pending, dead),
                        Err(err) => tracing::warn!(error = %err, "could not count the push queue for the metrics"),
                    }
                    match metrics.render(&db) {
                        Ok(text) => actix_web::HttpResponse::Ok()
                            .content_type("text/plain; version=0.0.4; charset=utf-8")
                            .body(text),
                        Err(err) => {
                            tracing::error!(error = %err, "could not render the metrics");
                            actix_web::HttpResponse::InternalServerError().finish()
                        }
                    }
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok((server, addr))
}

/// Headers every answer carries unless its handler set its own: `Cache-Control: no-store` (answers carry
/// tokens and private messages; downloads and pictures set their own `private` caching) and
/// `X-Content-Type-Options: nosniff`; under TLS also `Strict-Transport-Security`, so browsers never fall back
/// to plain HTTP for this host.
fn default_headers(tls: bool) -> DefaultHeaders {
    let headers =
        DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")).add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if tls { headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")) } else { headers }
}

/// The TLS configuration of a PEM certificate chain and key (HTTP/2 and HTTP/1.1); the push gateway uses it too.
pub fn rustls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let open = |path: &std::path::Path| {
        std::fs::File::open(path).map(std::io::BufReader::new).with_context(|| format!("opening {}", path.display()))
    };
    let certs = rustls_pemfile::certs(&mut open(&files.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading certificates from {}", files.cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", files.cert.display());
    let key = rustls_pemfile::private_key(&mut open(&files.key)?)
        .with_context(|| format!("reading the private key from {}", files.key.display()))?
        .with_context(|| format!("{} holds no private key", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
