//! Validated inputs: once parsed, valid everywhere, so neither handlers nor the SDK re-check them.
//! Lengths count Unicode scalar values after trimming white space at both ends; the text itself is kept
//! exactly as sent.

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

/// A message body: at most 4,000 characters once trimmed; may be empty only when attachments carry the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// Checks a body; `has_attachments` allows an empty one.
    pub fn parse(raw: &str, has_attachments: bool) -> Result<MessageBody, Invalid> {
        let length = raw.trim().chars().count();
        if length == 0 && !has_attachments {
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
