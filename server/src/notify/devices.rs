//! The rules of device registration: which fields each platform takes, and what a valid one looks like.

use hallway_protocol::devices::{MAX_ADDRESS_CHARS, Platform, RegisterDeviceRequest};

use super::endpoint::EndpointRules;
use super::webpush::subscription_keys;

/// Longest `app_version` kept.
const MAX_APP_VERSION_CHARS: usize = 64;
/// Longest `locale` kept (BCP 47 tags are short).
const MAX_LOCALE_CHARS: usize = 35;

/// A registration refused, naming the field.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {problem}")]
pub struct InvalidDevice {
    pub field: &'static str,
    pub problem: String,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> InvalidDevice {
    InvalidDevice { field, problem: problem.into() }
}

/// A registration that follows the rules: the address is the token or the checked endpoint.
#[derive(Debug, Clone)]
pub struct Registration {
    pub platform: Platform,
    pub address: String,
    pub keys: Option<(String, String)>,
    pub app_version: Option<String>,
    pub locale: Option<String>,
}

impl Registration {
    /// `apns`/`fcm` take `token` only; `webpush` takes `endpoint` and `keys`; `unifiedpush` takes `endpoint` and,
    /// when its distributor encrypts, `keys`. Endpoints follow the SSRF rules.
    pub fn parse(request: RegisterDeviceRequest, rules: EndpointRules) -> Result<Registration, InvalidDevice> {
        let RegisterDeviceRequest { platform, token, endpoint, keys, app_version, locale } = request;
        let address = match platform {
            Platform::Apns | Platform::Fcm => {
                if endpoint.is_some() {
                    return Err(invalid("endpoint", "only webpush and unifiedpush devices take an endpoint"));
                }
                if keys.is_some() {
                    return Err(invalid("keys", "only webpush and unifiedpush devices take keys"));
                }
                let token = token.ok_or_else(|| invalid("token", "required for apns and fcm"))?;
                let token = token.trim();
                if token.is_empty() || token.len() > MAX_ADDRESS_CHARS {
                    return Err(invalid("token", format!("must be 1 to {MAX_ADDRESS_CHARS} characters")));
                }
                if !token.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(invalid("token", "must be printable ASCII without spaces"));
                }
                token.to_owned()
            }
            Platform::Webpush | Platform::Unifiedpush => {
                if token.is_some() {
                    return Err(invalid("token", "only apns and fcm devices take a token"));
                }
                let endpoint = endpoint.ok_or_else(|| invalid("endpoint", "required for webpush and unifiedpush"))?;
                rules.parse(&endpoint).map_err(|err| invalid("endpoint", err.to_string()))?;
                if platform == Platform::Webpush && keys.is_none() {
                    return Err(invalid("keys", "required for webpush"));
                }
                endpoint
            }
        };
        let keys = match keys {
            Some(keys) => {
                subscription_keys(&keys.p256dh, &keys.auth).map_err(|problem| invalid("keys", problem))?;
                Some((keys.p256dh.trim().to_owned(), keys.auth.trim().to_owned()))
            }
            None => None,
        };
        let app_version = bounded(app_version, "app_version", MAX_APP_VERSION_CHARS)?;
        let locale = bounded(locale, "locale", MAX_LOCALE_CHARS)?;
        Ok(Registration { platform, address, keys, app_version, locale })
    }
}

fn bounded(value: Option<String>, field: &'static str, max: usize) -> Result<Option<String>, InvalidDevice> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => {
            Err(invalid(field, format!("at most {max} printable characters")))
        }
        other => Ok(other),
    }
}
