//! Printable invitation letters: one A4 page per person with the school's name, their activation code, a QR
//! code of their invitation link and three steps in plain words, as one PDF for the school to print.
//!
//! The PDF is written with `pdf-writer` using the standard Helvetica and Courier fonts (nothing embedded, so
//! a letter is a few kilobytes); their WinAnsi encoding covers Western European names, and characters beyond
//! it print as `?`. The QR code (`qrcode`, error correction M) is drawn as filled squares, so it prints sharp
//! at any size.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, EcLevel, QrCode};
use time::OffsetDateTime;
use time::macros::format_description;

/// A4 in points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 64.0;
/// The QR code's printed width, quiet zone excluded: about 6 cm, easy for any phone camera.
const QR_SIZE: f32 = 170.0;
/// Characters per line of body text at 11 pt Helvetica across the page (a little under the real width).
const WRAP_CHARS: usize = 84;

/// One person's letter.
#[derive(Debug, Clone)]
pub struct Letter {
    pub display_name: String,
    pub username: String,
    /// The activation code as printed: `ACDE-FGHJ-KMNP`.
    pub code: String,
    /// The invitation link the QR code carries: `https://<public URL>/join/<code>`.
    pub link: String,
    pub expires_at: OffsetDateTime,
}

/// What every letter of a school shares.
#[derive(Debug, Clone)]
pub struct School<'a> {
    pub name: &'a str,
    pub app_store_url: &'a str,
    pub play_store_url: &'a str,
}

/// Why the letters could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("an invitation link too long for a QR code")]
    Qr(#[from] qrcode::types::QrError),
}

/// The PDF: one page per letter, in the order given.
pub fn render(school: &School<'_>, letters: &[Letter]) -> Result<Vec<u8>, LetterError> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let mono = Ref::new(5);
    let mut next = 6;
    let mut alloc = || {
        let id = Ref::new(next);
        next += 1;
        id
    };
    let pages: Vec<(Ref, Ref)> = letters.iter().map(|_| (alloc(), alloc())).collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(pages.iter().map(|(page, _)| *page)).count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    for (font, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold"), (mono, "Courier-Bold")] {
        pdf.type1_font(font).base_font(Name(base.as_bytes())).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (letter, (page_id, content_id)) in letters.iter().zip(&pages) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold).pair(Name(b"F3"), mono);
        page.finish();
        let content = page_content(school, letter)?;
        pdf.stream(*content_id, &content);
    }
    Ok(pdf.finish())
}

/// Writes lines of text top-down.
struct Writer {
    content: Content,
    y: f32,
}

impl Writer {
    fn line(&mut self, font: &[u8], size: f32, text: &str) {
        self.content.begin_text();
        self.content.set_font(Name(font), size);
        self.content.next_line(MARGIN, self.y);
        self.content.show(Str(&win_ansi(text)));
        self.content.end_text();
        self.y -= size * 1.45;
    }

    fn paragraph(&mut self, text: &str) {
        for line in wrap(text, WRAP_CHARS) {
            self.line(b"F1", 11.0, &line);
        }
        self.y -= 6.0;
    }
}

fn page_content(school: &School<'_>, letter: &Letter) -> Result<Vec<u8>, LetterError> {
    let mut w = Writer { content: Content::new(), y: PAGE_HEIGHT - MARGIN - 10.0 };
    w.line(b"F2", 20.0, &format!("{}: your invitation to Hallway", school.name));
    w.y -= 6.0;
    w.line(b"F1", 12.0, &format!("For {}", letter.display_name));
    w.y -= 8.0;
    w.paragraph(&format!(
        "{} uses Hallway to send you messages: news from the class, and a way to write to the teachers. \
         Three steps get you in.",
        school.name
    ));
    w.line(b"F2", 12.0, "Your activation code");
    w.line(b"F3", 22.0, &letter.code);
    w.y -= 8.0;

    // The QR code, to the left under the code.
    let qr_top = w.y;
    draw_qr(&mut w.content, &letter.link, MARGIN, qr_top - QR_SIZE, QR_SIZE)?;
    w.y = qr_top - QR_SIZE - 22.0;
    w.paragraph(&format!("Or open this link on your phone: {}", letter.link));

    w.line(b"F2", 13.0, "Three steps");
    w.paragraph(&format!(
        "1. Install the Hallway app on your phone: from the App Store on an iPhone ({}), or from Google Play \
         on an Android phone ({}).",
        school.app_store_url, school.play_store_url
    ));
    w.paragraph(
        "2. Point your phone's camera at the square code above and open the link it shows. Or open the app, \
         choose \"I have an invitation\" and type your activation code.",
    );
    w.paragraph(&format!(
        "3. Choose your password. From then on you sign in with your username, {}, and that password.",
        letter.username
    ));
    let expires = letter
        .expires_at
        .format(format_description!("[day] [month repr:long] [year]"))
        .unwrap_or_else(|_| letter.expires_at.date().to_string());
    w.paragraph(&format!(
        "The code works once, for you only, until {expires}. Keep this letter to yourself. If the code does \
         not work, ask the school office for a new letter."
    ));
    Ok(w.content.finish())
}

/// Draws the QR code of `text` as black squares with its lower-left corner at (`x`, `y`), `size` wide.
fn draw_qr(content: &mut Content, text: &str, x: f32, y: f32, size: f32) -> Result<(), LetterError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let width = code.width();
    let module = size / width as f32;
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (row, col) = (i / width, i % width);
            let left = x + col as f32 * module;
            let bottom = y + size - (row + 1) as f32 * module;
            content.rect(left, bottom, module, module);
        }
    }
    content.set_fill_gray(0.0);
    content.fill_nonzero();
    Ok(())
}

/// Text in the standard fonts' WinAnsi encoding: Latin-1 as is, the typographic quotes and dashes at their
/// WinAnsi places, anything else `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{20AC}' => 0x80,
            c if (' '..='~').contains(&c) || ('\u{A0}'..='\u{FF}').contains(&c) => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Splits text into lines of at most `width` characters at spaces (a longer word, such as a link, gets a line
/// of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_and_keeps_long_words_whole() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("a https://very.long.example/join/X b", 10), ["a", "https://very.long.example/join/X", "b"]);
    }

    #[test]
    fn names_outside_win_ansi_print_as_question_marks() {
        assert_eq!(win_ansi("Zoë – “Mei” 陈"), b"Zo\xEB \x96 \x93Mei\x94 ?".to_vec());
    }
}
