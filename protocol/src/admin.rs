//! The school admins' endpoints (`/api/v1/admin/...`): people, activation codes, roster import, the audit
//! log and usage statistics, plus the validated inputs they share with the command line.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ErrorCode;
use crate::model::{Role, User};
use unicode_normalization::UnicodeNormalization;

use crate::validate::{Invalid, check_text};

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 128;
/// Longest email address, in characters (RFC 5321's limit on a path).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Where an account stands: what an admin needs to know before helping someone sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Has a password and may sign in.
    Active,
    /// Switched off by an admin: cannot sign in, every session ended.
    Deactivated,
    /// Created or imported, but has not redeemed an activation code yet (no password).
    NotActivated,
}

impl UserStatus {
    /// The status as sent and accepted in `?status=`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
            UserStatus::NotActivated => "not_activated",
        }
    }

    /// Parses the wire name of a status.
    pub fn parse(s: &str) -> Option<UserStatus> {
        [UserStatus::Active, UserStatus::Deactivated, UserStatus::NotActivated].into_iter().find(|v| v.as_str() == s)
    }
}

/// A person as an admin sees them: the public `User` plus the account's email, status and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub avatar_url: Option<String>,
    pub email: Option<String>,
    pub status: UserStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deactivated_at: Option<OffsetDateTime>,
    /// For a parent: the students they are guardian of.
    pub children: Vec<User>,
    /// For a student: their guardians.
    pub guardians: Vec<User>,
}

/// `GET /admin/users`: one page, and how many people match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUserList {
    pub users: Vec<AdminUserView>,
    pub total: i64,
}

/// A group as school admins choose it (a class, a club), for instance to list its people or print its letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminGroup {
    pub id: Uuid,
    pub name: String,
    /// How many people are in the group itself (guardians of its students not counted).
    pub members: i64,
}

/// `GET /admin/groups`: every group of the school, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminGroupList {
    pub groups: Vec<AdminGroup>,
}

/// `POST /admin/users`: a new person, without a password (they get an activation code).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    #[serde(default)]
    pub email: Option<String>,
}

/// `PATCH /admin/users/{id}`: what to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
}

/// Most people in one `POST /admin/letters`.
pub const MAX_LETTERS: usize = 5000;

/// `POST /admin/letters`: the people to print invitation letters for (each gets a fresh activation code).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LettersRequest {
    /// 1 to 5,000 people; one named twice gets one letter.
    pub user_ids: Vec<Uuid>,
}

/// A one-time activation code, shown to the admin once and never stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivationCode {
    /// Twelve characters in groups of four (`ABCD-EFGH-JKMN`); dashes, spaces and letter case do not matter.
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The answer to `POST /admin/users`: the person and their first activation code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user: AdminUserView,
    pub activation: ActivationCode,
}

/// `POST /admin/users/{parent_id}/children`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkChildRequest {
    pub student_id: Uuid,
}

/// One thing wrong with one line of an imported roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportProblem {
    /// The line of the file, counting the header as line 1.
    pub line: u64,
    /// The column concerned, when there is one.
    pub field: Option<String>,
    pub message: String,
}

/// What an import found (dry run) or refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Whether the file would import (no problems).
    pub valid: bool,
    /// People in the file.
    pub rows: usize,
    /// People per role, in the order admin, teacher, parent, student.
    pub by_role: RoleCounts,
    /// Guardian links the file asks for.
    pub guardianships: usize,
    pub problems: Vec<ImportProblem>,
}

/// A number per role, and their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleCounts {
    pub admin: i64,
    pub teacher: i64,
    pub parent: i64,
    pub student: i64,
    pub total: i64,
}

impl RoleCounts {
    /// Adds `n` to `role`'s count and to the total.
    pub fn add(&mut self, role: Role, n: i64) {
        match role {
            Role::Admin => self.admin += n,
            Role::Teacher => self.teacher += n,
            Role::Parent => self.parent += n,
            Role::Student => self.student += n,
        }
        self.total += n;
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntryView {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who acted; `null` for the server itself or the command line.
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}

/// `GET /admin/audit`: newest first; `next_before_id` fetches the next (older) page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    pub next_before_id: Option<i64>,
}

/// One day of usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayStats {
    /// `YYYY-MM-DD`, in UTC.
    pub date: String,
    /// People who sent at least one message that day, by their role.
    pub active_users: RoleCounts,
    /// Messages sent that day, by the sender's role.
    pub messages: RoleCounts,
}

/// `GET /admin/stats?days=`: one entry per day, oldest first, today last; days without activity included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageStats {
    pub days: Vec<DayStats>,
}

/// One rule of the messaging policy: whether people of role `from` may start a chat with people of role `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyRule {
    pub from: Role,
    pub to: Role,
    pub allowed: bool,
}

/// `GET` and `PUT /admin/policy`: the whole table, sixteen rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyTable {
    pub rules: Vec<PolicyRule>,
}

/// A username: 1 to 64 characters after Unicode NFKC normalisation (so fullwidth `ａｄｍｉｎ` is `admin`):
/// letters and digits of any script, combining marks after them, and `.`, `_` or `-`; it starts with a letter
/// or a digit and ends with a letter, a digit or a combining mark (so `..`, `-x` and `x.` are refused).
/// Unique ignoring letter case; the server also refuses one that looks like an existing one (its confusable
/// skeleton, Unicode TS #39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Checks, trims and NFKC-normalises a username.
    pub fn parse(raw: &str) -> Result<Username, Invalid> {
        check_text("username", raw)?;
        let normalised: String = raw.trim().nfkc().collect();
        let length = normalised.chars().count();
        let is_mark = unicode_normalization::char::is_combining_mark;
        let allowed = |c: char| c.is_alphanumeric() || is_mark(c) || matches!(c, '.' | '_' | '-');
        let starts_well = normalised.chars().next().is_some_and(char::is_alphanumeric);
        let ends_well = normalised.chars().last().is_some_and(|c| c.is_alphanumeric() || is_mark(c));
        if length == 0 || length > MAX_USERNAME_CHARS || !normalised.chars().all(allowed) || !starts_well || !ends_well
        {
            return Err(invalid(format!(
                "username: 1 to {MAX_USERNAME_CHARS} letters, digits, `.`, `_` or `-`, starting with a letter or \
                 digit and ending with one (got {raw:?})"
            )));
        }
        Ok(Username(normalised))
    }

    /// The trimmed, normalised username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as others see it: 1 to 128 characters once trimmed; stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Checks and trims a display name.
    pub fn parse(raw: &str) -> Result<DisplayName, Invalid> {
        check_text("display_name", raw)?;
        let trimmed = raw.trim();
        let length = trimmed.chars().count();
        if length == 0 || length > MAX_DISPLAY_NAME_CHARS {
            return Err(invalid(format!("display_name: 1 to {MAX_DISPLAY_NAME_CHARS} characters")));
        }
        Ok(DisplayName(trimmed.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, checked for its shape only (`local@domain.tld`, no spaces): whether it reaches anyone is
/// for the school to know. Unique ignoring letter case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks and trims an email address.
    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        check_text("email", raw)?;
        let trimmed = raw.trim();
        let bad = || invalid(format!("email: not an email address ({raw:?})"));
        if trimmed.chars().count() > MAX_EMAIL_CHARS || trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = trimmed.split_once('@').ok_or_else(bad)?;
        let labels_ok = domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || domain.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(bad());
        }
        Ok(Email(trimmed.to_owned()))
    }

    /// The trimmed address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(message: String) -> Invalid {
    Invalid { code: ErrorCode::InvalidInput, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_letters_digits_and_three_marks() {
        for good in ["mei", "Mei.Chen", "a_b-c", "élodie", "x".repeat(64).as_str(), "  padded  "] {
            assert!(Username::parse(good).is_ok(), "{good:?}");
        }
        assert_eq!(Username::parse("  padded ").unwrap().as_str(), "padded");
        for bad in ["", "  ", "two words", "semi;colon", "at@sign", "x".repeat(65).as_str(), "..", ".", "-x", "x."] {
            assert_eq!(Username::parse(bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn usernames_are_nfkc_normalised_and_any_script_is_welcome() {
        assert_eq!(Username::parse("ａｄｍｉｎ").unwrap().as_str(), "admin");
        assert_eq!(Username::parse("ｍｅｉ＿chen").unwrap().as_str(), "mei_chen");
        // Decomposed é is composed, so it is the same name as the precomposed one.
        assert_eq!(Username::parse("e\u{301}lodie").unwrap().as_str(), "élodie");
        for good in ["मीरा", "李华", "Ålesund.2", "o\u{308}", "аdmin"] {
            assert!(Username::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["\u{301}a", "\u{301}", "a\u{200b}b", "a\u{0}"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse(" Mei Chen ").unwrap().as_str(), "Mei Chen");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"n".repeat(129)).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for good in ["mei@school.example", " A.B+c@sub.school.example "] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "mei",
            "mei@",
            "@school.example",
            "mei@school",
            "mei@@school.example",
            "m ei@school.example",
            "mei@school..example",
            "mei@.school.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for status in [UserStatus::Active, UserStatus::Deactivated, UserStatus::NotActivated] {
            assert_eq!(UserStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap_or_default(), status.as_str());
        }
    }
}
