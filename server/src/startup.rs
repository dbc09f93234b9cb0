//! Builds the application: used by `main` and by the tests alike, so the tests run the real server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use futures_util::FutureExt;
use sqlx::PgPool;

use crate::auth::password::HashPool;
use crate::auth::tokens::{Keys, load_or_create_secret};
use crate::config::{Config, TlsFiles};
use crate::http;
use crate::media;
use crate::realtime::Realtime;
use crate::state::{AppState, POLICY_SETTING};
use crate::store;

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    local_addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds the listening socket (port 0 picks a free one) and prepares the workers.
    pub async fn build(config: Config, db: PgPool) -> anyhow::Result<Application> {
        let secret = load_or_create_secret(config.jwt_secret.as_deref(), &config.data_dir)
            .context("loading the token-signing secret")?;
        let tls = config.tls.as_ref().map(rustls_config).transpose()?;
        let listener = TcpListener::bind(config.bind).with_context(|| format!("binding {}", config.bind))?;
        let local_addr = listener.local_addr()?;
        let workers = config.workers;
        let policy = store::settings::get(&db, POLICY_SETTING).await?.unwrap_or_default();
        let policy = Arc::new(std::sync::RwLock::new(policy));
        let keys = Arc::new(Keys::from_secret(&secret));
        let realtime = Realtime::start(db.clone(), keys.clone(), config.realtime.clone(), policy.clone());
        realtime.set_banned_words(crate::safety::load_banned_words(&db).await?);
        let hash_workers = config
            .limits
            .password_hash_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let hash_queue = config.limits.password_hash_queue;
        let passwords = tokio::task::spawn_blocking(move || HashPool::start(hash_workers, hash_queue))
            .await?
            .context("starting the password hashing pool")?;
        let state = AppState::new(config, db, keys, policy, realtime, Arc::new(passwords));
        let media = &state.config.media;
        media::cleanup::spawn(state.db.clone(), state.media.clone(), media.unattached_max_age, media.cleanup_interval);
        let data = web::Data::new(state.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap_fn(|req, srv| {
                    let (method, path, started) = (req.method().clone(), req.path().to_owned(), Instant::now());
                    srv.call(req).map(move |res| {
                        if let Ok(res) = &res {
                            let status = res.status().as_u16();
                            let ms = started.elapsed().as_secs_f64() * 1000.0;
                            tracing::info!(%method, %path, status, ms, "request");
                        }
                        res
                    })
                })
                .configure(http::configure)
                .default_service(web::to(http::not_found))
        })
        .shutdown_timeout(10);
        if let Some(workers) = workers {
            server = server.workers(workers.max(1));
        }
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls)?,
            None => server.listen(listener)?,
        }
        .run();
        Ok(Application { server, local_addr, state })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The state the handlers share (the tests use it to reach the same pool and keys).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until stopped: SIGTERM (or the handle) finishes requests in flight first; SIGINT stops at once.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn rustls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
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
