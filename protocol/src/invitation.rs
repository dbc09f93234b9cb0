//! Activation codes and the invitation links that carry them: the shape of a code (so the SDK and the join
//! page refuse garbage without asking the database) and the two link forms, built by the server (letters,
//! the join page) and read by the apps through the SDK.
//!
//! A code is 12 characters drawn from an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z, 8/B), printed
//! in groups of four: `ACDE-FGHJ-KMNP`. Letter case, dashes and white space do not matter when it is typed.

/// The characters a code is made of: upper-case letters and digits that cannot be confused with each other.
pub const ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
/// Characters in a code (dashes aside).
pub const CODE_LENGTH: usize = 12;
/// The URL scheme the apps register: `hallway://activate?server=...&code=...`.
pub const APP_SCHEME: &str = "hallway";
/// The host part of the app link (`hallway://activate`).
pub const APP_LINK_HOST: &str = "activate";
/// The path segment of the school server's page for a phone without the app: `<server>/join/<code>`.
pub const JOIN_SEGMENT: &str = "join";

/// The code as typed, reduced to its 12 upper-case characters. `None` when what remains cannot be a code.
pub fn normalize_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// A normalized code as people read it: `ACDE-FGHJ-KMNP`.
pub fn format_code(normalized: &str) -> String {
    let chars: Vec<char> = normalized.chars().collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The `https` invitation link on the school's server (`server_url` without a trailing slash is fine):
/// `https://school.example/join/ACDE-FGHJ-KMNP`.
pub fn join_link(server_url: &str, code: &str) -> String {
    format!("{}/{JOIN_SEGMENT}/{code}", server_url.trim_end_matches('/'))
}

/// The app link that opens the app straight on the invitation: `hallway://activate?server=<url>&code=<code>`,
/// with both values percent-encoded.
pub fn app_link(server_url: &str, code: &str) -> String {
    format!(
        "{APP_SCHEME}://{APP_LINK_HOST}?server={}&code={}",
        percent_encode(server_url.trim_end_matches('/')),
        percent_encode(code)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters (enough for a URL inside a query).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalize_whatever_the_case_dashes_and_spaces() {
        assert_eq!(normalize_code(" acde-fghj-kmnp "), Some("ACDEFGHJKMNP".into()));
        assert_eq!(normalize_code("ACDE FGHJ KMNP"), Some("ACDEFGHJKMNP".into()));
        assert_eq!(normalize_code("ACDE-FGHJ-KMN"), None, "too short");
        assert_eq!(normalize_code("ACDE-FGHJ-KMN0"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("<script>"), None);
        assert_eq!(format_code("ACDEFGHJKMNP"), "ACDE-FGHJ-KMNP");
    }

    #[test]
    fn links_carry_the_server_and_the_code() {
        assert_eq!(
            join_link("https://school.example/", "ACDE-FGHJ-KMNP"),
            "https://school.example/join/ACDE-FGHJ-KMNP"
        );
        assert_eq!(
            app_link("https://school.example/hallway", "ACDE-FGHJ-KMNP"),
            "hallway://activate?server=https%3A%2F%2Fschool.example%2Fhallway&code=ACDE-FGHJ-KMNP"
        );
    }
}
