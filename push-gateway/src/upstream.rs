//! The push services the gateway forwards to, one `PushProvider` per platform. The providers are the school
//! server's own (`hallway_server::notify`), configured with the publisher's credentials instead of a school's.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use hallway_protocol::devices::Platform;
use hallway_server::notify::apns::Apns;
use hallway_server::notify::fcm::Fcm;
use hallway_server::notify::provider::PushProvider;
use hallway_server::notify::webpush::{VapidKey, WebPush};
use tokio::sync::Semaphore;

use crate::config::Config;

/// A provider and the slots bounding its requests in flight (`PushProvider::concurrency`).
#[derive(Clone)]
pub struct Upstream {
    pub provider: Arc<dyn PushProvider>,
    pub slots: Arc<Semaphore>,
}

/// The upstream of each platform this gateway forwards; a platform missing here is answered 503.
pub fn build(config: &Config) -> anyhow::Result<HashMap<Platform, Upstream>> {
    let settings = &config.upstreams.push;
    let webpush: Option<Arc<dyn PushProvider>> = if config.upstreams.webpush {
        let vapid = Arc::new(VapidKey::load_or_create(settings.vapid_private_key.as_deref(), &config.data_dir)?);
        Some(Arc::new(WebPush::new(vapid, settings)?))
    } else {
        None
    };
    let apns: Option<Arc<dyn PushProvider>> = match Apns::from_settings(settings).context("configuring APNs")? {
        Some(apns) => Some(Arc::new(apns)),
        None => None,
    };
    let fcm: Option<Arc<dyn PushProvider>> = match Fcm::from_settings(settings).context("configuring FCM")? {
        Some(fcm) => Some(Arc::new(fcm)),
        None => None,
    };
    let mut routes = HashMap::new();
    for platform in [Platform::Apns, Platform::Fcm, Platform::Webpush, Platform::Unifiedpush] {
        let provider = match platform {
            Platform::Apns => apns.clone(),
            Platform::Fcm => fcm.clone(),
            Platform::Webpush | Platform::Unifiedpush => webpush.clone(),
        };
        if let Some(provider) = provider {
            routes.insert(platform, provider);
        }
    }
    // One set of slots per provider, shared by the platforms it serves.
    let mut slots: HashMap<&'static str, Arc<Semaphore>> = HashMap::new();
    Ok(routes
        .into_iter()
        .map(|(platform, provider)| {
            let slots = slots
                .entry(provider.name())
                .or_insert_with(|| Arc::new(Semaphore::new(provider.concurrency())))
                .clone();
            (platform, Upstream { provider, slots })
        })
        .collect())
}
