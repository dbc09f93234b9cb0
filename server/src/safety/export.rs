//! The school's record of one conversation: every message in seq order with its sender, times, earlier
//! versions, deletion and attachments, as JSON or as a printable, self-contained HTML page.
//!
//! Everything in the page that came from a person (names, message text, file names) is HTML-escaped: it is
//! user input, and an export is opened by an admin in a browser.

use std::fmt::Write as _;

use hallway_protocol::safety::{ConversationExport, ExportedMessage};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::store;

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
    let messages = store::exports::messages(db, conversation_id).await?;
    let members = store::safeguarding::members_of(db, &[conversation_id]).await?.remove(&conversation_id);
    Ok(Some(ConversationExport {
        conversation_id,
        kind: store::conversations::kind_from_db(&conversation.kind),
        name: conversation.name,
        created_at: conversation.created_at,
        members: members.unwrap_or_default(),
        exported_at: OffsetDateTime::now_utc(),
        exported_by,
        messages,
    }))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.4em}table{border-collapse:collapse;width:100%}\
th,td{border:1px solid #999;padding:.3em .5em;vertical-align:top;text-align:left}\
.body{white-space:pre-wrap;overflow-wrap:anywhere}.deleted{color:#777;font-style:italic}\
.edits{color:#444;font-size:.9em;margin:.3em 0 0 1em}.meta{color:#444}\
@media print{body{margin:0}tr{break-inside:avoid}}";

/// A printable page holding the whole record, with no scripts and nothing loaded from elsewhere.
pub fn to_html(export: &ConversationExport) -> String {
    let title = match &export.name {
        Some(name) => format!("Conversation \u{201c}{}\u{201d}", escape(name)),
        None => "Direct conversation".to_owned(),
    };
    let members: Vec<String> = export
        .members
        .iter()
        .map(|m| format!("{} (@{}, {})", escape(&m.display_name), escape(&m.username), m.role.as_str()))
        .collect();
    let mut page = String::new();
    // Writing into a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n\
         <p class=\"meta\">Conversation {id} ({kind}), created {created}.<br>Members: {members}.<br>\
         Exported {exported} by {by}. {count} messages.</p>\n\
         <table><thead><tr><th>#</th><th>Sent</th><th>From</th><th>Message</th><th>Attachments</th></tr></thead>\
         <tbody>\n",
        id = export.conversation_id,
        kind = export.kind.as_str(),
        created = time(export.created_at),
        members = members.join(", "),
        exported = time(export.exported_at),
        by = export.exported_by,
        count = export.messages.len(),
    );
    for message in &export.messages {
        message_row(&mut page, message);
    }
    page.push_str("</tbody></table>\n</body></html>\n");
    page
}

fn message_row(page: &mut String, message: &ExportedMessage) {
    let body = if message.deleted {
        let when = message.deleted_at.map(time).unwrap_or_default();
        format!("<div class=\"deleted\">deleted {when}</div>")
    } else {
        format!("<div class=\"body\">{}</div>", escape(&message.body))
    };
    let mut edits = String::new();
    if let Some(edited_at) = message.edited_at {
        let _ = write!(edits, "<div class=\"edits\">edited {}</div>", time(edited_at));
    }
    for edit in &message.edits {
        let _ = write!(
            edits,
            "<div class=\"edits\">earlier version, replaced {}: <span class=\"body\">{}</span></div>",
            time(edit.replaced_at),
            escape(&edit.body)
        );
    }
    let attachments: Vec<String> = message
        .attachments
        .iter()
        .map(|a| format!("{} ({}, {} bytes)", escape(&a.file_name), escape(&a.mime_type), a.size_bytes))
        .collect();
    let _ = writeln!(
        page,
        "<tr><td>{seq}</td><td>{sent}</td><td>{name} (@{username})</td><td>{body}{edits}</td><td>{attachments}</td></tr>",
        seq = message.seq,
        sent = time(message.created_at),
        name = escape(&message.sender_name),
        username = escape(&message.sender_username),
        attachments = attachments.join("<br>"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallway_protocol::ConversationKind;
    use hallway_protocol::safety::{ExportedAttachment, ExportedEdit};

    #[test]
    fn everything_from_people_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        let at = OffsetDateTime::UNIX_EPOCH;
        let export = ConversationExport {
            conversation_id: Uuid::nil(),
            kind: ConversationKind::Group,
            name: Some("<b>4B</b>".into()),
            created_at: at,
            members: Vec::new(),
            exported_at: at,
            exported_by: Uuid::nil(),
            messages: vec![ExportedMessage {
                id: Uuid::nil(),
                seq: 1,
                sender_id: Uuid::nil(),
                sender_name: "<img src=x onerror=alert(1)>".into(),
                sender_username: "u".into(),
                body: "<script>alert(1)</script>".into(),
                created_at: at,
                edited_at: Some(at),
                deleted: false,
                deleted_at: None,
                edits: vec![ExportedEdit { body: "<i>old</i>".into(), replaced_at: at }],
                attachments: vec![ExportedAttachment {
                    id: Uuid::nil(),
                    file_name: "<x>.png".into(),
                    mime_type: "image/png".into(),
                    size_bytes: 3,
                }],
            }],
        };
        let html = to_html(&export);
        for raw in ["<script", "<img", "<b>", "<i>", "<x>"] {
            assert!(!html.contains(raw), "{raw} is not escaped in {html}");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;x&gt;.png (image/png, 3 bytes)"));
    }
}
