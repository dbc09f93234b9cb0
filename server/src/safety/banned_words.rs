//! The school's banned words and phrases, compiled once (when the server starts and whenever an admin changes
//! the list) so that checking a message costs one pass over its words.
//!
//! Matching is on whole words, case- and accent-insensitively: both the list and the message are folded
//! (lower case, Unicode NFKD, combining marks removed, so "Bädword", "BADWORD" and "ｂａｄｗｏｒｄ" are all
//! "badword") and split into words (runs of letters and digits). A banned entry matches when its words
//! appear consecutively in the message's words: "class" matches "Class!" but not "classic", and the phrase
//! "go away" matches "Go... away" but not "go right away".

use std::collections::HashMap;

use hallway_protocol::safety::{MAX_BANNED_WORD_CHARS, MAX_BANNED_WORDS};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The settings key the list is stored under (`{"words": [...]}`).
pub const SETTING: &str = "banned_words";

/// Why an admin's list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("words: at most {MAX_BANNED_WORDS} entries")]
    TooMany,
    #[error("words: each entry must hold at least one letter or digit")]
    NoWord,
    #[error("words: each entry is at most {MAX_BANNED_WORD_CHARS} characters")]
    TooLong,
}

/// A compiled list. Cheap to share behind an `Arc`; empty by default (nothing is banned).
#[derive(Debug, Clone, Default)]
pub struct BannedWords {
    /// The entries as the admins wrote them (trimmed, without folded duplicates), in their order.
    entries: Vec<String>,
    /// Each entry's folded words, indexed by its first word: a message word that starts no entry costs one
    /// hash lookup.
    by_first_word: HashMap<String, Vec<Vec<String>>>,
}

impl BannedWords {
    /// Checks and compiles an admin's list: at most `MAX_BANNED_WORDS` entries of at most
    /// `MAX_BANNED_WORD_CHARS` characters, each holding a letter or digit. Blank entries and entries that
    /// fold to one already listed are dropped.
    pub fn compile(raw: &[String]) -> Result<BannedWords, ListError> {
        let mut compiled = BannedWords::default();
        let mut seen = std::collections::HashSet::new();
        for entry in raw.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if entry.chars().count() > MAX_BANNED_WORD_CHARS {
                return Err(ListError::TooLong);
            }
            let words = words(&fold(entry));
            let Some(first) = words.first().cloned() else { return Err(ListError::NoWord) };
            if !seen.insert(words.clone()) {
                continue;
            }
            compiled.entries.push(entry.to_owned());
            compiled.by_first_word.entry(first).or_default().push(words);
        }
        if compiled.entries.len() > MAX_BANNED_WORDS {
            return Err(ListError::TooMany);
        }
        Ok(compiled)
    }

    /// Compiles a list stored earlier; one that no longer passes the checks is kept as far as it goes, since
    /// a stored list was valid when it was saved and silently banning nothing would be worse.
    pub fn from_stored(raw: &[String]) -> BannedWords {
        BannedWords::compile(raw).unwrap_or_else(|err| {
            tracing::error!(error = %err, "the stored banned-words list no longer compiles; using what does");
            let kept: Vec<String> = raw
                .iter()
                .filter(|e| e.chars().count() <= MAX_BANNED_WORD_CHARS && !words(&fold(e)).is_empty())
                .take(MAX_BANNED_WORDS)
                .cloned()
                .collect();
            BannedWords::compile(&kept).unwrap_or_default()
        })
    }

    /// The entries as the admins wrote them.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether nothing is banned.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `text` contains a banned word or phrase.
    pub fn matches(&self, text: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let text = words(&fold(text));
        text.iter().enumerate().any(|(at, word)| {
            self.by_first_word
                .get(word)
                .is_some_and(|phrases| phrases.iter().any(|phrase| text[at..].starts_with(phrase)))
        })
    }
}

/// Lower case, compatibility-decomposed, without combining marks: the form both sides are compared in.
pub fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).nfkd().filter(|c| !is_combining_mark(*c)).collect()
}

/// The words of folded text: runs of letters and digits.
fn words(folded: &str) -> Vec<String> {
    folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: &[&str]) -> BannedWords {
        BannedWords::compile(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn matches_whole_words_whatever_the_case_and_accents() {
        let banned = list(&["badword", "Class"]);
        for text in ["badword", "BADWORD", "Bädword!", "a ｂａｄｗｏｒｄ here", "so, bAdWoRd.", "CLASS", "clàss"]
        {
            assert!(banned.matches(text), "{text}");
        }
        for text in ["badwords", "classic", "subclass", "bad word", "", "  "] {
            assert!(!banned.matches(text), "{text}");
        }
    }

    #[test]
    fn phrases_match_consecutive_words_only() {
        let banned = list(&["go away"]);
        assert!(banned.matches("Just GO... away!"));
        assert!(banned.matches("go away"));
        assert!(!banned.matches("go right away"));
        assert!(!banned.matches("go"));
        assert!(!banned.matches("away go"));
    }

    #[test]
    fn accented_entries_match_plain_text_and_other_scripts_work() {
        let banned = list(&["Crème", "İdiot", "дурак"]);
        assert!(banned.matches("creme brulee"));
        assert!(banned.matches("idiot"));
        assert!(banned.matches("ты ДУРАК"));
        assert!(!banned.matches("crèmerie"));
    }

    #[test]
    fn lists_are_checked_and_deduplicated() {
        let banned = list(&[" badword ", "BADWORD", "", "Bädword"]);
        assert_eq!(banned.entries(), ["badword"]);
        assert_eq!(BannedWords::compile(&["!!!".to_owned()]).unwrap_err(), ListError::NoWord);
        assert_eq!(BannedWords::compile(&["x".repeat(101)]).unwrap_err(), ListError::TooLong);
        let many: Vec<String> = (0..1001).map(|i| format!("w{i}")).collect();
        assert_eq!(BannedWords::compile(&many).unwrap_err(), ListError::TooMany);
        assert!(!BannedWords::default().matches("anything"));
    }
}
