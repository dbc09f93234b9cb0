//! Validated inputs: once parsed, valid everywhere, so neither handlers nor the SDK re-check them.
//! Lengths count Unicode scalar values after trimming white space at both ends; the text itself is kept
//! exactly as sent.
//!
//! # The text-input rule
//! Every text a client sends (a field of a JSON body, a query parameter, a WebSocket frame, an uploaded file's
//! name, a cell of an imported roster) may hold any Unicode scalar value except the C0 control characters
//! U+0000..U+001F and U+007F, with three exceptions: tab (U+0009), line feed (U+000A) and carriage return
//! (U+000D, for CRLF newlines). Because the contract promises that text is stored exactly as sent, such text is
//! refused (400 `invalid_input`, the message naming the field), never silently stripped. [`check_text`] is the
//! rule; [`check_json_text`] applies it to a whole JSON document; every newtype here applies it in `parse`.

use crate::error::ErrorCode;

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 4000;
/// Longest `client_msg_id`, in characters.
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
/// Most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 128;
/// Longest reaction, in characters (the longest emoji sequences are about ten).
pub const MAX_EMOJI_CHARS: usize = 32;
/// Shortest password a person may choose, in characters (the server and the SDK check the same rule).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password a person may choose, in characters (argon2 does not care; a megabyte of password is abuse).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why an input was refused: the contract's error code and a sentence naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: ErrorCode,
    pub message: String,
}

impl Invalid {
    fn new(code: ErrorCode, message: impl Into<String>) -> Invalid {
        Invalid { code, message: message.into() }
    }
}

/// Whether `c` is refused in any text: a C0 control other than tab, line feed and carriage return, or DEL.
pub fn is_refused_char(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// The text-input rule (see the module's doc): `Err(invalid_input)` naming `field` and the first refused
/// character, so a client knows what to fix.
pub fn check_text(field: &str, raw: &str) -> Result<(), Invalid> {
    match raw.chars().find(|c| is_refused_char(*c)) {
        None => Ok(()),
        Some(c) => Err(Invalid::new(
            ErrorCode::InvalidInput,
            format!(
                "{field}: control character U+{:04X} is not allowed in text (only tab, line feed and carriage return are)",
                u32::from(c)
            ),
        )),
    }
}

/// Applies [`check_text`] to every string and every object key of a JSON document, naming the field by its
/// path (`body`, `words[2]`, `rules[0].from`), so that no field of any request can escape the rule.
pub fn check_json_text(value: &serde_json::Value) -> Result<(), Invalid> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Result<(), Invalid> {
        match value {
            serde_json::Value::String(s) => check_text(if path.is_empty() { "body" } else { path }, s),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Object(fields) => {
                for (key, item) in fields {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    if key.chars().any(is_refused_char) {
                        // The key itself cannot be shown as it is: name where it sits.
                        path.push_str("(key)");
                        return check_text(path, key);
                    }
                    path.push_str(key);
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

/// Whether `c` shows nothing on its own: white space, the zero-width space, non-joiner and joiner
/// (U+200B..U+200D), the word joiner (U+2060) and the zero-width no-break space (U+FEFF). A body made only of
/// these would be an empty bubble, so it counts as empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// A message body: at most 4,000 characters once trimmed; may be empty (or only invisible characters, see
/// [`is_invisible`]) only when attachments carry the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// Checks a body; `has_attachments` allows an empty one.
    pub fn parse(raw: &str, has_attachments: bool) -> Result<MessageBody, Invalid> {
        check_text("body", raw)?;
        let length = raw.trim().chars().count();
        if !has_attachments && raw.chars().all(is_invisible) {
            return Err(Invalid::new(ErrorCode::BodyEmpty, "body: a message needs text or an attachment"));
        }
        if length > MAX_BODY_CHARS {
            return Err(Invalid::new(
                ErrorCode::BodyTooLong,
                format!("body: at most {MAX_BODY_CHARS} characters ({length} given)"),
            ));
        }
        Ok(MessageBody(raw.to_owned()))
    }

    /// The body exactly as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Takes the body out.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The sender's own id for a message, unique per sender: what makes a retried send idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    /// 1 to 64 characters, not only white space.
    pub fn parse(raw: &str) -> Result<ClientMsgId, Invalid> {
        check_text("client_msg_id", raw)?;
        let length = raw.chars().count();
        if raw.trim().is_empty() || length > MAX_CLIENT_MSG_ID_CHARS {
            return Err(Invalid::new(
                ErrorCode::InvalidInput,
                format!("client_msg_id: 1 to {MAX_CLIENT_MSG_ID_CHARS} characters"),
            ));
        }
        Ok(ClientMsgId(raw.to_owned()))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A group's name: 1 to 128 characters once trimmed; stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName(String);

impl GroupName {
    /// Checks and trims a group name.
    pub fn parse(raw: &str) -> Result<GroupName, Invalid> {
        check_text("name", raw)?;
        let trimmed = raw.trim();
        let length = trimmed.chars().count();
        if length == 0 || length > MAX_GROUP_NAME_CHARS {
            return Err(Invalid::new(ErrorCode::InvalidInput, format!("name: 1 to {MAX_GROUP_NAME_CHARS} characters")));
        }
        Ok(GroupName(trimmed.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// U+FE0F VARIATION SELECTOR-16: asks for the emoji presentation. Keyboards add or omit it at will, so
/// reactions are compared without it.
const EMOJI_PRESENTATION: char = '\u{fe0f}';

/// One emoji used as a reaction: exactly one emoji sequence of Unicode's list (skin tones, ZWJ sequences,
/// flags and keycaps included), whether the client sent it fully qualified or without U+FE0F.
///
/// Two forms: `key()` (U+FE0F removed) is what is stored and compared, so 👍 and ❤️ match whichever way a
/// keyboard wrote them; `as_str()` is the fully-qualified sequence, what clients show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Emoji {
    key: String,
    qualified: &'static str,
}

impl Emoji {
    /// Checks that `raw` is one emoji and nothing else (no text, no spaces, not two emoji).
    pub fn parse(raw: &str) -> Result<Emoji, Invalid> {
        check_text("emoji", raw)?;
        let invalid = || Invalid::new(ErrorCode::InvalidEmoji, "emoji: one emoji, such as 👍 or ❤️");
        if raw.is_empty() || raw.chars().count() > MAX_EMOJI_CHARS {
            return Err(invalid());
        }
        // The list knows fully-qualified, minimally-qualified and unqualified forms; a form with every
        // U+FE0F removed is not always among them (some ZWJ sequences), hence the second look-up.
        let known = emojis::get(raw).or_else(|| emojis::get(&without_presentation(raw))).ok_or_else(invalid)?;
        let qualified = known.as_str();
        Ok(Emoji { key: without_presentation(qualified), qualified })
    }

    /// The fully-qualified form of a stored key, for the wire; a key the list does not know (written by a
    /// later version with newer emoji data) is returned as it is.
    pub fn qualified_from_key(key: &str) -> String {
        match emojis::get(key) {
            Some(known) if without_presentation(known.as_str()) == key => known.as_str().to_owned(),
            _ => key.to_owned(),
        }
    }

    /// The form stored and compared: U+FE0F removed.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The fully-qualified emoji sequence, as clients show it.
    pub fn as_str(&self) -> &str {
        self.qualified
    }
}

fn without_presentation(s: &str) -> String {
    s.chars().filter(|c| *c != EMOJI_PRESENTATION).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_newlines_and_crlf_are_accepted_in_text() {
        for good in ["", "plain", "a\tb", "line\nline", "line\r\nline", "\r", "é ü 中文 😀", "\u{80}\u{9f}"] {
            assert_eq!(check_text("note", good), Ok(()), "{good:?}");
        }
        assert!(MessageBody::parse("first\r\nsecond\tthird\n", false).is_ok());
    }

    #[test]
    fn every_other_c0_control_and_del_is_refused_naming_the_field() {
        let refused: Vec<char> =
            (0u8..0x20).map(char::from).filter(|c| !matches!(c, '\t' | '\n' | '\r')).chain(['\u{7f}']).collect();
        assert_eq!(refused.len(), 30);
        for c in refused {
            assert!(is_refused_char(c));
            let err = check_text("note", &format!("a{c}b")).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{c:?}");
            assert!(err.message.starts_with("note: "), "{}", err.message);
            assert!(err.message.contains(&format!("U+{:04X}", u32::from(c))), "{}", err.message);
        }
    }

    #[test]
    fn every_newtype_refuses_nul_as_invalid_input_naming_its_field() {
        let nul = "a\u{0}b";
        let cases = [
            ("body", MessageBody::parse(nul, true).map(|_| ())),
            ("client_msg_id", ClientMsgId::parse(nul).map(|_| ())),
            ("name", GroupName::parse(nul).map(|_| ())),
            ("emoji", Emoji::parse("👍\u{0}").map(|_| ())),
            ("username", crate::admin::Username::parse(nul).map(|_| ())),
            ("display_name", crate::admin::DisplayName::parse(nul).map(|_| ())),
            ("email", crate::admin::Email::parse("a\u{0}@school.example").map(|_| ())),
        ];
        for (field, result) in cases {
            let err = result.unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{field}");
            assert!(err.message.starts_with(&format!("{field}: control character U+0000")), "{}", err.message);
        }
    }

    #[test]
    fn json_documents_are_checked_everywhere_and_name_the_path() {
        let ok = serde_json::json!({"login": "mei", "lines": ["a\tb", "c\r\nd"], "n": 1, "x": null});
        assert_eq!(check_json_text(&ok), Ok(()));
        let cases = [
            (serde_json::json!({"body": "a\u{0}b"}), "body: "),
            (serde_json::json!({"words": ["fine", "bad\u{1b}"]}), "words[1]: "),
            (serde_json::json!({"rules": [{"from": "x\u{7f}"}]}), "rules[0].from: "),
            (serde_json::json!({"a": {"b\u{0}": 1}}), "a.(key): "),
            (serde_json::json!("\u{0}"), "body: "),
        ];
        for (value, prefix) in cases {
            let err = check_json_text(&value).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert!(err.message.starts_with(prefix), "{} should start with {prefix}", err.message);
        }
    }

    #[test]
    fn body_limits_count_characters_after_trimming_and_keep_the_text() {
        assert_eq!(MessageBody::parse("   ", false).unwrap_err().code, ErrorCode::BodyEmpty);
        assert!(MessageBody::parse("", true).is_ok());
        let emoji = "😀".repeat(MAX_BODY_CHARS);
        assert!(MessageBody::parse(&emoji, false).is_ok());
        let padded = format!("  {}  ", "a".repeat(MAX_BODY_CHARS));
        assert_eq!(MessageBody::parse(&padded, false).unwrap().as_str(), padded);
        assert_eq!(
            MessageBody::parse(&"a".repeat(MAX_BODY_CHARS + 1), false).unwrap_err().code,
            ErrorCode::BodyTooLong
        );
        let rtl = " مرحبا بالعالم ";
        assert_eq!(MessageBody::parse(rtl, false).unwrap().as_str(), rtl);
    }

    #[test]
    fn a_body_of_only_zero_width_or_invisible_characters_is_empty() {
        for blank in ["\u{200b}", "\u{200b}\u{200c}\u{200d}", " \u{2060} ", "\u{feff}\n\t", "\u{3000}\u{200b}"] {
            assert_eq!(MessageBody::parse(blank, false).unwrap_err().code, ErrorCode::BodyEmpty, "{blank:?}");
            assert_eq!(MessageBody::parse(blank, true).unwrap().as_str(), blank, "{blank:?}");
        }
        // A visible character beside them is a message, kept exactly as sent (ZWJ emoji sequences included).
        for text in ["a\u{200b}", "\u{200b}.", "👨\u{200d}👩\u{200d}👧"] {
            assert_eq!(MessageBody::parse(text, false).unwrap().as_str(), text, "{text:?}");
        }
    }

    #[test]
    fn client_msg_id_is_1_to_64_chars() {
        assert!(ClientMsgId::parse("a").is_ok());
        assert!(ClientMsgId::parse(&"é".repeat(64)).is_ok());
        for bad in ["", "  ", &"x".repeat(65)] {
            assert_eq!(ClientMsgId::parse(bad).unwrap_err().code, ErrorCode::InvalidInput);
        }
    }

    #[test]
    fn group_names_are_trimmed_and_bounded() {
        assert_eq!(GroupName::parse("  Class 4B ").unwrap().as_str(), "Class 4B");
        assert!(GroupName::parse(" ").is_err());
        assert!(GroupName::parse(&"n".repeat(129)).is_err());
    }
    /// The quick reactions every client offers, fully qualified.
    const QUICK_REACTIONS: [&str; 6] = ["👍", "❤\u{fe0f}", "😊", "😮", "😢", "🎉"];

    #[test]
    fn quick_reactions_match_with_or_without_fe0f() {
        for quick in QUICK_REACTIONS {
            let bare: String = quick.chars().filter(|c| *c != '\u{fe0f}').collect();
            let with = Emoji::parse(quick).unwrap();
            let without = Emoji::parse(&bare).unwrap();
            assert_eq!(with, without, "{quick}");
            assert_eq!(with.key(), bare, "{quick}");
            assert_eq!(with.as_str(), quick, "{quick}");
            assert_eq!(Emoji::qualified_from_key(with.key()), quick, "{quick}");
        }
        // A redundant FE0F after an emoji that needs none is one emoji all the same.
        assert_eq!(Emoji::parse("👍\u{fe0f}").unwrap().key(), "👍");
    }

    #[test]
    fn skin_tones_zwj_sequences_flags_and_keycaps_are_one_emoji() {
        let cases = [
            ("👍🏽", "👍🏽"),
            ("👨\u{200d}👩\u{200d}👧", "👨\u{200d}👩\u{200d}👧"),
            ("🇫🇷", "🇫🇷"),
            ("1\u{fe0f}\u{20e3}", "1\u{20e3}"),
            ("1\u{20e3}", "1\u{20e3}"),
            ("🏳\u{fe0f}\u{200d}🌈", "🏳\u{200d}🌈"),
            ("🏳\u{200d}🌈", "🏳\u{200d}🌈"),
            ("👩🏾\u{200d}🏫", "👩🏾\u{200d}🏫"),
        ];
        for (raw, key) in cases {
            let emoji = Emoji::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(emoji.key(), key, "{raw:?}");
            assert_eq!(Emoji::parse(emoji.as_str()).unwrap(), emoji, "{raw:?}");
            assert_eq!(Emoji::qualified_from_key(emoji.key()), emoji.as_str(), "{raw:?}");
        }
        assert_eq!(Emoji::parse("1\u{20e3}").unwrap().as_str(), "1\u{fe0f}\u{20e3}");
        // Skin tones are different reactions.
        assert_ne!(Emoji::parse("👍🏽").unwrap(), Emoji::parse("👍").unwrap());
    }

    #[test]
    fn anything_but_one_emoji_is_invalid_emoji() {
        let long = "👍".repeat(MAX_EMOJI_CHARS + 1);
        for bad in
            ["", " ", "a", "1", "ok", "👍👍", "👍 ", " 👍", "👍a", "🇫", "\u{fe0f}", "\u{200d}", "❤\u{fe0e}x", &long]
        {
            assert_eq!(Emoji::parse(bad).unwrap_err().code, ErrorCode::InvalidEmoji, "{bad:?}");
        }
    }

    #[test]
    fn an_unknown_stored_key_is_shown_as_stored() {
        assert_eq!(Emoji::qualified_from_key("not an emoji"), "not an emoji");
    }
}
