//! Safety and records: the banned-words list, safeguarding visibility, conversation exports and message
//! retention. Reports and moderation deletes live with the admin endpoints and the conversation actor; this
//! module holds the rules they share.

pub mod banned_words;
pub mod export;
pub mod retention;

use hallway_protocol::safety::{BannedWords as BannedWordList, SafeguardingSetting};
use hallway_protocol::{ConversationKind, Role};
use sqlx::PgExecutor;

use crate::store;

/// The settings key of the safeguarding setting (`{"enabled": bool}`; on when absent).
pub const SAFEGUARDING_SETTING: &str = "safeguarding";
/// The settings key of the retention setting (`{"retention_days": int|null}`; off when absent).
pub const RETENTION_SETTING: &str = "retention";

/// Whether a conversation of this kind between people of these roles is under safeguarding visibility (when
/// the setting is on): a direct chat between a teacher and a student. Chats with parents, and groups, are not.
pub fn is_safeguarded_kind(kind: ConversationKind, roles: &[Role]) -> bool {
    kind == ConversationKind::Direct && roles.contains(&Role::Teacher) && roles.contains(&Role::Student)
}

/// Whether safeguarding visibility is on (the default).
pub async fn safeguarding_enabled(db: impl PgExecutor<'_>) -> Result<bool, sqlx::Error> {
    Ok(store::settings::get::<SafeguardingSetting>(db, SAFEGUARDING_SETTING).await?.unwrap_or_default().enabled)
}

/// The banned-words list as stored, compiled (empty when none was ever saved).
pub async fn load_banned_words(db: impl PgExecutor<'_>) -> Result<banned_words::BannedWords, sqlx::Error> {
    let stored: Option<BannedWordList> = store::settings::get(db, banned_words::SETTING).await?;
    Ok(stored.map(|list| banned_words::BannedWords::from_stored(&list.words)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_teacher_student_direct_chats_are_safeguarded() {
        use ConversationKind::{Direct, Group};
        use Role::*;
        assert!(is_safeguarded_kind(Direct, &[Teacher, Student]));
        assert!(is_safeguarded_kind(Direct, &[Student, Teacher]));
        for roles in [[Teacher, Parent], [Admin, Student], [Student, Student], [Teacher, Teacher], [Parent, Student]] {
            assert!(!is_safeguarded_kind(Direct, &roles), "{roles:?}");
        }
        assert!(!is_safeguarded_kind(Group, &[Teacher, Student]));
    }
}
