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
}
