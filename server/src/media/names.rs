//! File names as uploaders send them are hostile input: they may hold paths, control characters, or
//! right-to-left overrides that make `gpj.exe` look like `exe.jpg`. We keep a safe display name only.

use actix_web::http::header::{Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};

/// Longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// The name used when none (or nothing usable) was sent.
pub const FALLBACK_FILE_NAME: &str = "file";

/// The last path component, without control or bidirectional-formatting characters, trimmed, at most
/// 255 characters (keeping the extension), or `file` when nothing is left.
pub fn sanitize_file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return FALLBACK_FILE_NAME.to_owned();
    }
    if trimmed.chars().count() <= MAX_FILE_NAME_CHARS {
        return trimmed.to_owned();
    }
    // Too long: keep the extension (if short) and as much of the stem as fits.
    let extension = trimmed.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| ext.chars().count() <= 16);
    match extension {
        Some(ext) => {
            let stem: String = trimmed.chars().take(MAX_FILE_NAME_CHARS - ext.chars().count() - 1).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => trimmed.chars().take(MAX_FILE_NAME_CHARS).collect(),
    }
}

/// `name` with its extension replaced by `extension` (for images stored in another format than sent).
pub fn with_extension(name: &str, extension: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let stem: String = stem.chars().take(MAX_FILE_NAME_CHARS - extension.len() - 1).collect();
    format!("{stem}.{extension}")
}

/// Unicode's invisible direction marks and overrides.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A `Content-Disposition` (RFC 6266): `inline` or `attachment`, with an ASCII `filename` for old clients
/// and the exact name as UTF-8 in `filename*`.
pub fn content_disposition(inline: bool, file_name: &str) -> ContentDisposition {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !file_name.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".to_owned()),
            language_tag: None,
            value: file_name.as_bytes().to_vec(),
        }));
    }
    let disposition = if inline { DispositionType::Inline } else { DispositionType::Attachment };
    ContentDisposition { disposition, parameters }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_controls_and_overrides() {
        assert_eq!(sanitize_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(sanitize_file_name(Some("C:\\Users\\mei\\photo.jpg")), "photo.jpg");
        assert_eq!(sanitize_file_name(Some("a\u{0}b\nc\r.txt")), "abc.txt");
        assert_eq!(sanitize_file_name(Some("invoice\u{202E}gpj.exe")), "invoicegpj.exe");
        assert_eq!(sanitize_file_name(Some("  ..hidden ")), "hidden");
        assert_eq!(sanitize_file_name(Some("Klassenfoto 4B – Schüler.jpg")), "Klassenfoto 4B – Schüler.jpg");
        for empty in [None, Some(""), Some("/"), Some(".."), Some("\u{7}")] {
            assert_eq!(sanitize_file_name(empty), "file");
        }
        let long = format!("{}.pdf", "é".repeat(400));
        let kept = sanitize_file_name(Some(&long));
        assert_eq!(kept.chars().count(), 255);
        assert!(kept.ends_with(".pdf"));
    }

    #[test]
    fn extensions_are_replaced() {
        assert_eq!(with_extension("photo.webp", "jpg"), "photo.jpg");
        assert_eq!(with_extension("photo", "png"), "photo.png");
        assert_eq!(with_extension(".webp", "png"), ".webp.png");
    }

    #[test]
    fn disposition_has_an_ascii_fallback_and_the_utf8_name() {
        let header = content_disposition(true, "Grüße \"4B\".pdf").to_string();
        assert!(header.starts_with("inline; filename=\"Gr__e _4B_.pdf\""), "{header}");
        assert!(header.contains("filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%224B%22.pdf"), "{header}");
        assert_eq!(content_disposition(false, "a.docx").to_string(), "attachment; filename=\"a.docx\"");
    }
}
