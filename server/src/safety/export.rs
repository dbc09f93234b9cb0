//! The school's record of one conversation: every message in seq order with its sender, times, earlier
//! versions, deletion and attachments, as JSON or as a printable, self-contained HTML page.
//!
//! The page comes from an askama template, which HTML-escapes every value: names, message text and file names
//! are user input, and an export is opened by an admin in a browser.

use std::collections::HashMap;

use askama::Template;
use hallway_protocol::safety::{ConversationExport, ExportedAttachment, ExportedEdit, ExportedMessage};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::store;
use crate::store::exports::{AttachmentRow, EditRow, MessageRow};

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Html,
}

/// Gathers the record of a conversation, or `None` when there is no such conversation.
pub async fn gather(
    db: &PgPool,
    conversation_id: Uuid,
    exported_by: Uuid,
) -> Result<Option<ConversationExport>, sqlx::Error> {
    let Some(conversation) = store::exports::conversation(db, conversation_id).await? else { return Ok(None) };
    let rows = store::exports::messages(db, conversation_id).await?;
    let edits = store::exports::edits(db, conversation_id).await?;
    let attachments = store::exports::attachments(db, conversation_id).await?;
    let members = crate::views::conversations::members_of(db, &[conversation_id]).await?.remove(&conversation_id);
    Ok(Some(ConversationExport {
        conversation_id,
        kind: store::conversations::kind_from_db(&conversation.kind),
        name: conversation.name,
        created_at: conversation.created_at,
        members: members.unwrap_or_default(),
        exported_at: OffsetDateTime::now_utc(),
        exported_by,
        messages: messages(rows, edits, attachments),
    }))
}

/// The messages in the rows' order (by seq), each with its earlier versions and its files in theirs.
fn messages(rows: Vec<MessageRow>, edits: Vec<EditRow>, attachments: Vec<AttachmentRow>) -> Vec<ExportedMessage> {
    let mut edits_of: HashMap<Uuid, Vec<ExportedEdit>> = HashMap::new();
    for edit in edits {
        edits_of
            .entry(edit.message_id)
            .or_default()
            .push(ExportedEdit { body: edit.old_body, replaced_at: edit.edited_at });
    }
    let mut attachments_of: HashMap<Uuid, Vec<ExportedAttachment>> = HashMap::new();
    for a in attachments {
        attachments_of.entry(a.message_id).or_default().push(ExportedAttachment {
            id: a.id,
            file_name: a.file_name,
            mime_type: a.mime_type,
            size_bytes: a.size_bytes,
        });
    }
    rows.into_iter()
        .map(|row| ExportedMessage {
            edits: edits_of.remove(&row.id).unwrap_or_default(),
            attachments: attachments_of.remove(&row.id).unwrap_or_default(),
            id: row.id,
            seq: row.seq,
            sender_id: row.sender_id,
            sender_name: row.sender_name,
            sender_username: row.sender_username,
            deleted: row.deleted_at.is_some(),
            body: row.body,
            created_at: row.created_at,
            edited_at: row.edited_at,
            deleted_at: row.deleted_at,
        })
        .collect()
}

/// The printable page: `server/templates/export.html`, rendered by askama, which escapes every value.
#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage<'a> {
    export: &'a ConversationExport,
}

impl ExportPage<'_> {
    fn title(&self) -> String {
        match &self.export.name {
            Some(name) => format!("Conversation \u{201c}{name}\u{201d}"),
            None => "Direct conversation".to_owned(),
        }
    }

    fn time(&self, at: &OffsetDateTime) -> String {
        at.format(&Rfc3339).unwrap_or_else(|_| at.unix_timestamp().to_string())
    }
}

/// A printable page holding the whole record, with no scripts and nothing loaded from elsewhere.
pub fn to_html(export: &ConversationExport) -> Result<String, askama::Error> {
    ExportPage { export }.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallway_protocol::{ConversationKind, Role, User};

    const AT: &str = "1970-01-01T00:00:00Z";

    fn member(display_name: &str, username: &str, role: Role) -> User {
        User { id: Uuid::nil(), username: username.into(), display_name: display_name.into(), role, avatar_url: None }
    }

    fn message(seq: i64, sender_name: &str, body: &str) -> ExportedMessage {
        ExportedMessage {
            id: Uuid::nil(),
            seq,
            sender_id: Uuid::nil(),
            sender_name: sender_name.into(),
            sender_username: "u".into(),
            body: body.into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            edited_at: None,
            deleted: false,
            deleted_at: None,
            edits: Vec::new(),
            attachments: Vec::new(),
        }
    }

    fn attachment(file_name: &str, size_bytes: i64) -> ExportedAttachment {
        ExportedAttachment { id: Uuid::nil(), file_name: file_name.into(), mime_type: "image/png".into(), size_bytes }
    }

    fn export(name: Option<&str>, members: Vec<User>, messages: Vec<ExportedMessage>) -> ConversationExport {
        ConversationExport {
            conversation_id: Uuid::nil(),
            kind: ConversationKind::Group,
            name: name.map(str::to_owned),
            created_at: OffsetDateTime::UNIX_EPOCH,
            members,
            exported_at: OffsetDateTime::UNIX_EPOCH,
            exported_by: Uuid::nil(),
            messages,
        }
    }

    #[test]
    fn everything_from_people_is_escaped() {
        let mut hostile = message(1, "<img src=x onerror=alert(1)>", "<script>alert(1)</script>");
        hostile.edited_at = Some(OffsetDateTime::UNIX_EPOCH);
        hostile.edits = vec![ExportedEdit { body: "<i>old</i>".into(), replaced_at: OffsetDateTime::UNIX_EPOCH }];
        hostile.attachments = vec![attachment("<x>.png", 3)];
        let members = vec![member(r#"O'Brien & "Sons" <x>"#, "obrien", Role::Parent)];
        let html = to_html(&export(Some("<b>4B</b>"), members, vec![hostile])).unwrap();

        for raw in ["<script", "<img", "<b>", "<i>", "<x>", "O'Brien", r#""Sons""#, "& \""] {
            assert!(!html.contains(raw), "{raw} is not escaped in {html}");
        }
        assert!(html.contains("<title>Conversation \u{201c}&#60;b&#62;4B&#60;/b&#62;\u{201d}</title>"), "{html}");
        assert!(html.contains("Members: O&#39;Brien &#38; &#34;Sons&#34; &#60;x&#62; (@obrien, parent)."), "{html}");
        let row = format!(
            "<tr><td>1</td><td>{AT}</td><td>&#60;img src=x onerror=alert(1)&#62; (@u)</td><td>\
             <div class=\"body\">&#60;script&#62;alert(1)&#60;/script&#62;</div><div class=\"edits\">edited {AT}</div>\
             <div class=\"edits\">earlier version, replaced {AT}: <span class=\"body\">&#60;i&#62;old&#60;/i&#62;</span></div>\
             </td><td>&#60;x&#62;.png (image/png, 3 bytes)</td></tr>"
        );
        assert!(html.contains(&row), "{html}");
    }

    #[test]
    fn the_page_shows_members_deletions_and_attachments_in_seq_order() {
        let mut deleted = message(2, "Mei", "");
        deleted.deleted = true;
        deleted.deleted_at = Some(OffsetDateTime::UNIX_EPOCH);
        let mut with_files = message(3, "Ms. Rivera", "Two forms\nattached");
        with_files.attachments = vec![attachment("a.png", 1), attachment("b.png", 2)];
        let members = vec![member("Ms. Rivera", "rivera", Role::Teacher), member("Mei", "mei", Role::Parent)];
        let html = to_html(&export(None, members, vec![message(1, "Mei", "Hello"), deleted, with_files])).unwrap();

        assert!(html.contains("<title>Direct conversation</title>") && html.contains("<h1>Direct conversation</h1>"));
        let meta = format!(
            "Conversation {} (group), created {AT}.<br>Members: Ms. Rivera (@rivera, teacher), Mei (@mei, parent).\
             <br>Exported {AT} by {}. 3 messages.</p>",
            Uuid::nil(),
            Uuid::nil()
        );
        assert!(html.contains(&meta), "{html}");
        assert!(html.contains("<td><div class=\"deleted\">deleted 1970-01-01T00:00:00Z</div></td><td></td></tr>"));
        assert!(html.contains(
            "<div class=\"body\">Two forms\nattached</div></td><td>a.png (image/png, 1 bytes)<br>\
             b.png (image/png, 2 bytes)</td></tr>"
        ));
        let rows: Vec<usize> = ["<tr><td>1</td>", "<tr><td>2</td>", "<tr><td>3</td>"]
            .iter()
            .map(|row| html.find(row).unwrap_or_else(|| panic!("{row} is missing from {html}")))
            .collect();
        assert!(rows.is_sorted(), "rows in seq order");
        assert_eq!(html.matches("<tr>").count(), 4, "a header row and one row per message");
        let empty = to_html(&export(Some("Empty"), Vec::new(), Vec::new())).unwrap();
        assert!(empty.contains("Members: none.<br>") && empty.contains("0 messages."), "{empty}");
    }
}
