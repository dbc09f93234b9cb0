//! Push endpoint URLs are user input the server will POST to, so they are a classic SSRF: only `https`, of
//! bounded length, and never to the server's own network. Checked when a device registers (the URL's shape and
//! any literal address) and again at each send, after DNS resolution, by the resolver of the push client itself
//! (so a name that changes its answer between the check and the connection still cannot reach inside).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hallway_protocol::devices::MAX_ADDRESS_CHARS;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an endpoint is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("the endpoint is over {MAX_ADDRESS_CHARS} characters")]
    TooLong,
    #[error("the endpoint is not a URL")]
    NotUrl,
    #[error("the endpoint must be an https URL")]
    NotHttps,
    #[error("the endpoint may not carry a user name or password")]
    Credentials,
    #[error("the endpoint's host is not allowed")]
    AddressRefused,
    #[error("the endpoint's host could not be resolved")]
    Unresolved,
}

/// The SSRF rules in force.
#[derive(Debug, Clone, Copy)]
pub struct EndpointRules {
    /// Tests only: `http` and loopback addresses are let through (`--push-allow-insecure-endpoints`).
    pub allow_insecure: bool,
}

impl EndpointRules {
    /// Checks an endpoint's shape, and its host when it is a literal address.
    pub fn parse(self, raw: &str) -> Result<Url, EndpointError> {
        if raw.len() > MAX_ADDRESS_CHARS {
            return Err(EndpointError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| EndpointError::NotUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            _ => return Err(EndpointError::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Credentials);
        }
        match url.host() {
            None => Err(EndpointError::NotUrl),
            Some(url::Host::Ipv4(ip)) if !self.address_allowed(IpAddr::V4(ip)) => Err(EndpointError::AddressRefused),
            Some(url::Host::Ipv6(ip)) if !self.address_allowed(IpAddr::V6(ip)) => Err(EndpointError::AddressRefused),
            Some(_) => Ok(url),
        }
    }

    /// Resolves an endpoint's host and refuses it when none of its addresses is allowed. The push client's
    /// resolver applies the same rule when it connects; this check tells a refusal (final) from a network
    /// failure (retried).
    pub async fn check_resolved(self, url: &Url) -> Result<(), EndpointError> {
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = tokio::net::lookup_host((name, port)).await.map_err(|_| EndpointError::Unresolved)?;
        let mut any = false;
        for addr in addrs {
            if !self.address_allowed(addr.ip()) {
                return Err(EndpointError::AddressRefused);
            }
            any = true;
        }
        if any { Ok(()) } else { Err(EndpointError::Unresolved) }
    }

    /// Whether the server may connect to this address: public unicast only (loopback too, for tests).
    pub fn address_allowed(self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(ip) => self.v4_allowed(ip),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => self.v4_allowed(v4),
                None => self.v6_allowed(ip),
            },
        }
    }

    fn v4_allowed(self, ip: Ipv4Addr) -> bool {
        if ip.is_loopback() {
            return self.allow_insecure;
        }
        let [a, b, ..] = ip.octets();
        !(ip.is_unspecified()
            || ip.is_private()
            || ip.is_link_local() // 169.254.0.0/16, the cloud metadata address among them
            || ip.is_broadcast()
            || ip.is_multicast()
            || ip.is_documentation()
            || a == 0
            || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64.0.0/10
            || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
            || a >= 240) // reserved
    }

    fn v6_allowed(self, ip: Ipv6Addr) -> bool {
        if ip.is_loopback() {
            return self.allow_insecure;
        }
        let first = ip.segments()[0];
        !(ip.is_unspecified()
            || ip.is_multicast()
            || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
            || (first & 0xffc0) == 0xfe80 // link local, fe80::/10
            || (first & 0xffc0) == 0xfec0 // site local (deprecated), fec0::/10
            || ip.to_ipv4().is_some_and(|v4| !self.v4_allowed(v4))) // IPv4-compatible forms
    }
}

/// The push client's resolver: the system's answer with every refused address removed, so a connection can
/// only ever go to an allowed address, whatever the name resolved to when it was checked.
pub struct CheckedResolver {
    pub rules: EndpointRules,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rules = self.rules;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|addr| rules.address_allowed(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(EndpointError::AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: EndpointRules = EndpointRules { allow_insecure: false };
    const TESTING: EndpointRules = EndpointRules { allow_insecure: true };

    #[test]
    fn only_https_unless_testing() {
        assert!(STRICT.parse("https://push.example.com/x").is_ok());
        assert_eq!(STRICT.parse("http://push.example.com/x").unwrap_err(), EndpointError::NotHttps);
        assert_eq!(STRICT.parse("ftp://push.example.com/x").unwrap_err(), EndpointError::NotHttps);
        assert!(TESTING.parse("http://127.0.0.1:9/x").is_ok());
        assert_eq!(TESTING.parse("file:///etc/passwd").unwrap_err(), EndpointError::NotHttps);
    }

    #[test]
    fn private_and_metadata_addresses_are_refused_even_when_testing() {
        for url in [
            "https://10.0.0.1/x",
            "https://172.16.5.4/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://[::]/x",
        ] {
            assert_eq!(STRICT.parse(url).unwrap_err(), EndpointError::AddressRefused, "{url}");
            assert_eq!(TESTING.parse(url).unwrap_err(), EndpointError::AddressRefused, "{url}");
        }
        assert_eq!(STRICT.parse("https://127.0.0.1/x").unwrap_err(), EndpointError::AddressRefused);
        assert_eq!(STRICT.parse("https://[::1]/x").unwrap_err(), EndpointError::AddressRefused);
        assert!(STRICT.parse("https://8.8.8.8/x").is_ok());
        assert!(STRICT.parse("https://[2001:4860::8888]/x").is_ok());
    }

    #[test]
    fn long_urls_and_credentials_are_refused() {
        let long = format!("https://push.example.com/{}", "a".repeat(MAX_ADDRESS_CHARS));
        assert_eq!(STRICT.parse(&long).unwrap_err(), EndpointError::TooLong);
        assert_eq!(STRICT.parse("https://user:pw@push.example.com/").unwrap_err(), EndpointError::Credentials);
        assert_eq!(STRICT.parse("not a url").unwrap_err(), EndpointError::NotUrl);
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_send() {
        let url = Url::parse("https://localhost:9/x").unwrap();
        assert_eq!(STRICT.check_resolved(&url).await.unwrap_err(), EndpointError::AddressRefused);
        assert!(TESTING.check_resolved(&url).await.is_ok());
    }
}
