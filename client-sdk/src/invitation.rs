//! Invitations: the links and QR codes that carry a school's server and an activation code, in the two forms
//! `hallway-protocol::invitation` defines. Both apps read them through [`parse_invitation`], so a link is
//! accepted or refused alike on Android and iOS.

use std::net::IpAddr;

use hallway_protocol::invitation::{APP_LINK_HOST, APP_SCHEME, JOIN_SEGMENT, format_code, normalize_code};
use reqwest::Url;

use crate::error::{Error, HallwayError, Result};
use crate::models::Invitation;

/// Reads an invitation: `hallway://activate?server=<url>&code=<code>` (the app link, and the QR code's button
/// on the join page) or `https://<server>/join/<code>` (the link printed on letters and in QR codes). Anything
/// else is refused with `HallwayError::InvalidInvitation`. The server must be `https`; plain `http` is taken
/// only for this device or the Android emulator's host (`localhost`, `127.0.0.1`, `::1`, `10.0.2.2`), for
/// development. The code is checked for its shape only: whether it is still valid, the server says.
#[uniffi::export]
pub fn parse_invitation(link: String) -> Result<Invitation, HallwayError> {
    Ok(parse(&link)?)
}

fn invalid(reason: &str) -> Error {
    Error::InvalidInvitation(reason.to_owned())
}

fn parse(link: &str) -> Result<Invitation> {
    let url = Url::parse(link.trim()).map_err(|_| invalid("not a link"))?;
    let (server, code) = if url.scheme() == APP_SCHEME {
        if url.host_str() != Some(APP_LINK_HOST) || !matches!(url.path(), "" | "/") {
            return Err(invalid("not an activation link"));
        }
        let value = |name: &str| -> Result<String> {
            let mut values = url.query_pairs().filter(|(key, _)| key == name).map(|(_, value)| value.into_owned());
            match (values.next(), values.next()) {
                (Some(value), None) => Ok(value),
                _ => Err(invalid(&format!("the link needs exactly one `{name}`"))),
            }
        };
        (server_url(&value("server")?)?, value("code")?)
    } else if matches!(url.scheme(), "http" | "https") {
        let segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
        let [prefix @ .., join, code] = segments.as_slice() else {
            return Err(invalid("not a join link"));
        };
        if *join != JOIN_SEGMENT || code.is_empty() {
            return Err(invalid("not a join link"));
        }
        let mut root = url.clone();
        root.set_path(&prefix.join("/"));
        root.set_query(None);
        root.set_fragment(None);
        (server_url(root.as_str())?, (*code).to_owned())
    } else {
        return Err(invalid("not a Hallway link"));
    };
    let code = normalize_code(&code).ok_or_else(|| invalid("the code is not an activation code"))?;
    Ok(Invitation { server_url: server, code: format_code(&code) })
}

/// Checks the server a link names and returns it without a trailing slash.
fn server_url(raw: &str) -> Result<String> {
    let url = Url::parse(raw).map_err(|_| invalid("the server is not a URL"))?;
    let host = url.host_str().ok_or_else(|| invalid("the server has no host"))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the server URL carries more than a server"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_development_host(host) => {}
        "http" => return Err(invalid("the server must use https")),
        _ => return Err(invalid("the server is not an http(s) URL")),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// This device or the Android emulator's host, where a developer's server runs without TLS.
fn is_development_host(host: &str) -> bool {
    host == "localhost"
        || host == "10.0.2.2"
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(server: &str, code: &str) -> Invitation {
        Invitation { server_url: server.into(), code: code.into() }
    }

    #[test]
    fn both_link_forms_give_the_server_and_the_code() {
        let expected = invitation("https://hallway.school.example", "ACDE-FGHJ-KMNP");
        for link in [
            "hallway://activate?server=https%3A%2F%2Fhallway.school.example&code=ACDE-FGHJ-KMNP",
            "hallway://activate?code=acdefghjkmnp&server=https://hallway.school.example/",
            "https://hallway.school.example/join/ACDE-FGHJ-KMNP",
            " https://hallway.school.example/join/acde-fghj-kmnp?utm=letter#top ",
        ] {
            assert_eq!(parse(link).ok(), Some(expected.clone()), "{link}");
        }
        assert_eq!(
            parse("https://school.example:8443/hallway/join/ACDE-FGHJ-KMNP").ok(),
            Some(invitation("https://school.example:8443/hallway", "ACDE-FGHJ-KMNP"))
        );
        assert_eq!(
            parse("http://127.0.0.1:8080/join/ACDE-FGHJ-KMNP").ok(),
            Some(invitation("http://127.0.0.1:8080", "ACDE-FGHJ-KMNP"))
        );
        assert_eq!(
            parse("hallway://activate?server=http://10.0.2.2:8080&code=ACDE-FGHJ-KMNP").ok(),
            Some(invitation("http://10.0.2.2:8080", "ACDE-FGHJ-KMNP"))
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for link in [
            "",
            "ACDE-FGHJ-KMNP",
            "https://hallway.school.example/",
            "https://hallway.school.example/join/",
            "https://hallway.school.example/join/NOT-A-CODE",
            "https://hallway.school.example/join/ACDE-FGHJ-KMN0",
            "https://hallway.school.example/welcome/ACDE-FGHJ-KMNP",
            "http://hallway.school.example/join/ACDE-FGHJ-KMNP",
            "https://user:pw@hallway.school.example/join/ACDE-FGHJ-KMNP",
            "ftp://hallway.school.example/join/ACDE-FGHJ-KMNP",
            "hallway://login?server=https://s.example&code=ACDE-FGHJ-KMNP",
            "hallway://activate?server=https://s.example",
            "hallway://activate?code=ACDE-FGHJ-KMNP",
            "hallway://activate?server=https://s.example&code=ACDE-FGHJ-KMNP&code=ACDE-FGHJ-KMNP",
            "hallway://activate?server=javascript:alert(1)&code=ACDE-FGHJ-KMNP",
            "hallway://activate?server=http://evil.example&code=ACDE-FGHJ-KMNP",
            "hallway://activate?server=https://s.example/?x=1&code=ACDE-FGHJ-KMNP",
            "mailto:someone@school.example",
        ] {
            assert!(matches!(parse(link), Err(Error::InvalidInvitation(_))), "{link:?}");
            assert!(matches!(parse_invitation(link.into()), Err(HallwayError::InvalidInvitation { .. })), "{link:?}");
        }
    }
}
