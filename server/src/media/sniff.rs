//! What a file is, decided from its bytes alone: never from its name or the Content-Type the client sent,
//! which an attacker chooses. Only the kinds below are accepted; everything else (programs, archives,
//! HTML, videos, ...) is refused with 415.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::MediaError;

/// The accepted kinds of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Jpeg,
    Png,
    WebP,
    Gif,
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Doc,
    Xls,
    Ppt,
    /// UTF-8 text without NUL bytes.
    Text,
    /// AAC in ADTS frames.
    Aac,
    /// AAC (or ALAC) in an MPEG-4 audio container.
    M4a,
    Mp3,
    /// Ogg carrying Opus or Vorbis.
    Ogg,
    Wav,
}

impl FileKind {
    /// The media type stored and served.
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::WebP => "image/webp",
            FileKind::Gif => "image/gif",
            FileKind::Pdf => "application/pdf",
            FileKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            FileKind::Doc => "application/msword",
            FileKind::Xls => "application/vnd.ms-excel",
            FileKind::Ppt => "application/vnd.ms-powerpoint",
            FileKind::Text => "text/plain",
            FileKind::Aac => "audio/aac",
            FileKind::M4a => "audio/mp4",
            FileKind::Mp3 => "audio/mpeg",
            FileKind::Ogg => "audio/ogg",
            FileKind::Wav => "audio/wav",
        }
    }

    /// Images are decoded and re-encoded; everything else is stored as it came.
    pub fn is_image(self) -> bool {
        matches!(self, FileKind::Jpeg | FileKind::Png | FileKind::WebP | FileKind::Gif)
    }
}

/// How much of the start of a file the magic-number checks look at.
const HEAD: usize = 8192;
/// The most of `[Content_Types].xml` read from an Office document (it is a few kilobytes in practice).
const MAX_CONTENT_TYPES_XML: u64 = 1024 * 1024;

const WORD_MAIN: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const EXCEL_MAIN: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
const POWERPOINT_MAIN: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";

/// Decides what the file at `path` is. Blocking: it may read the whole file (text is checked to the end).
pub fn sniff(path: &Path) -> Result<FileKind, MediaError> {
    let mut head = Vec::with_capacity(HEAD);
    File::open(path)?.take(HEAD as u64).read_to_end(&mut head)?;
    let head = head.as_slice();
    if head.is_empty() {
        return Err(MediaError::Invalid("file: the file is empty".into()));
    }
    if infer::image::is_jpeg(head) {
        return Ok(FileKind::Jpeg);
    }
    if infer::image::is_png(head) {
        return Ok(FileKind::Png);
    }
    if infer::image::is_gif(head) {
        return Ok(FileKind::Gif);
    }
    if infer::image::is_webp(head) {
        return Ok(FileKind::WebP);
    }
    if infer::image::is_heif(head) || infer::image::is_avif(head) || has_brand(head, &[b"heic", b"heix", b"mif1"]) {
        return Err(MediaError::Unsupported(
            "HEIC/HEIF photos cannot be processed by this server: send them as JPEG \
             (on an iPhone: Settings > Camera > Formats > Most Compatible)"
                .into(),
        ));
    }
    if infer::archive::is_pdf(head) {
        return Ok(FileKind::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        return office_open_xml(path);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return legacy_office(path);
    }
    if infer::audio::is_wav(head) {
        return Ok(FileKind::Wav);
    }
    if infer::audio::is_ogg(head) {
        return ogg(head);
    }
    if has_brand(head, &[b"M4A ", b"M4B "]) {
        return Ok(FileKind::M4a);
    }
    if head.starts_with(b"ID3") || is_mpeg_audio_frame(head) {
        return Ok(FileKind::Mp3);
    }
    if is_adts_frame(head) {
        return Ok(FileKind::Aac);
    }
    if head.starts_with(b"\x7fELF") || head.starts_with(b"MZ") || is_mach_o(head) {
        return Err(MediaError::Unsupported("programs are not accepted".into()));
    }
    if is_utf8_text(path)? {
        return Ok(FileKind::Text);
    }
    Err(MediaError::Unsupported(
        "this kind of file is not accepted: send images (JPEG, PNG, WebP, GIF), PDF, Office documents, \
         plain text or audio (AAC, M4A, MP3, Ogg, WAV)"
            .into(),
    ))
}

/// Whether an ISO base media file (`ftyp` box first) names one of `brands` as major or compatible brand.
fn has_brand(head: &[u8], brands: &[&[u8; 4]]) -> bool {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.clamp(16, head.len());
    let major = &head[8..12];
    let compatible = head[16..end].chunks_exact(4);
    std::iter::once(major).chain(compatible).any(|brand| brands.iter().any(|b| brand == b.as_slice()))
}

/// An MPEG-1/2 audio frame header (layer I, II or III) with valid version, bitrate and sample rate.
fn is_mpeg_audio_frame(head: &[u8]) -> bool {
    let [a, b, c, ..] = *head else { return false };
    let sync = a == 0xFF && b & 0xE0 == 0xE0;
    let version = (b >> 3) & 0b11; // 0b01 is reserved
    let layer = (b >> 1) & 0b11; // 0b00 is reserved (and is what ADTS AAC has)
    let bitrate = c >> 4; // 0b1111 is invalid
    let sample_rate = (c >> 2) & 0b11; // 0b11 is reserved
    sync && version != 0b01 && layer != 0 && bitrate != 0b1111 && sample_rate != 0b11
}

/// An ADTS header: the AAC stream format of raw `.aac` files.
fn is_adts_frame(head: &[u8]) -> bool {
    let [a, b, c, ..] = *head else { return false };
    a == 0xFF && b & 0xF6 == 0xF0 && (c >> 2) & 0b1111 < 13
}

fn is_mach_o(head: &[u8]) -> bool {
    const MAGICS: [[u8; 4]; 5] = [
        [0xFE, 0xED, 0xFA, 0xCE],
        [0xFE, 0xED, 0xFA, 0xCF],
        [0xCE, 0xFA, 0xED, 0xFE],
        [0xCF, 0xFA, 0xED, 0xFE],
        [0xCA, 0xFE, 0xBA, 0xBE],
    ];
    MAGICS.iter().any(|m| head.starts_with(m))
}

/// Ogg is a container: accept it when its first stream is Opus or Vorbis audio (not Theora video).
fn ogg(head: &[u8]) -> Result<FileKind, MediaError> {
    // The first page: a 27-byte header whose last byte counts the segments, their lengths, then the packet.
    let segments = head.get(26).copied().unwrap_or(0) as usize;
    let packet = head.get(27 + segments..).unwrap_or_default();
    if packet.starts_with(b"OpusHead") || packet.starts_with(b"\x01vorbis") {
        Ok(FileKind::Ogg)
    } else {
        Err(MediaError::Unsupported("only Ogg audio (Opus or Vorbis) is accepted".into()))
    }
}

/// A `.docx`, `.xlsx` or `.pptx`: a ZIP whose `[Content_Types].xml` declares the main part of one of them.
/// Macro-enabled documents (`.docm` and the like, or anything carrying a `vbaProject.bin`) are refused.
fn office_open_xml(path: &Path) -> Result<FileKind, MediaError> {
    let not_office = || MediaError::Unsupported("ZIP archives are not accepted, except Office documents".into());
    let mut archive = zip::ZipArchive::new(BufReader::new(File::open(path)?)).map_err(|_| not_office())?;
    let names = archive.file_names().collect::<Result<Vec<_>, _>>().map_err(|_| not_office())?;
    if names.iter().any(|name| name.to_ascii_lowercase().ends_with("vbaproject.bin")) {
        return Err(MediaError::Unsupported("Office documents with macros are not accepted".into()));
    }
    let mut content_types = String::new();
    archive
        .by_name("[Content_Types].xml")
        .map_err(|_| not_office())?
        .take(MAX_CONTENT_TYPES_XML)
        .read_to_string(&mut content_types)
        .map_err(|_| not_office())?;
    [(WORD_MAIN, FileKind::Docx), (EXCEL_MAIN, FileKind::Xlsx), (POWERPOINT_MAIN, FileKind::Pptx)]
        .into_iter()
        .find(|(main, _)| content_types.contains(main))
        .map(|(_, kind)| kind)
        .ok_or_else(not_office)
}

/// A `.doc`, `.xls` or `.ppt`: an OLE compound file holding the main stream of one of them, and no macros.
fn legacy_office(path: &Path) -> Result<FileKind, MediaError> {
    let not_office =
        || MediaError::Unsupported("compound files are not accepted, except Word, Excel and PowerPoint".into());
    let compound = cfb::CompoundFile::open(File::open(path)?).map_err(|_| not_office())?;
    let has_macros = compound.walk().any(|entry| {
        let name = entry.name();
        name.eq_ignore_ascii_case("Macros")
            || name.eq_ignore_ascii_case("_VBA_PROJECT_CUR")
            || name.eq_ignore_ascii_case("_VBA_PROJECT")
            || name.eq_ignore_ascii_case("VBA")
    });
    if has_macros {
        return Err(MediaError::Unsupported("Office documents with macros are not accepted".into()));
    }
    if compound.is_stream("/WordDocument") {
        Ok(FileKind::Doc)
    } else if compound.is_stream("/Workbook") || compound.is_stream("/Book") {
        Ok(FileKind::Xls)
    } else if compound.is_stream("/PowerPoint Document") {
        Ok(FileKind::Ppt)
    } else {
        Err(not_office())
    }
}

/// Whether the whole file is valid UTF-8 without NUL bytes, read in chunks (a character may straddle two).
fn is_utf8_text(path: &Path) -> Result<bool, MediaError> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut carried = 0;
    loop {
        let read = file.read(&mut buf[carried..])?;
        if read == 0 {
            return Ok(carried == 0);
        }
        let filled = carried + read;
        let chunk = &buf[..filled];
        if chunk.contains(&0) {
            return Ok(false);
        }
        let valid_up_to = match std::str::from_utf8(chunk) {
            Ok(_) => filled,
            // An incomplete character at the end: keep it for the next read.
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => return Ok(false),
        };
        buf.copy_within(valid_up_to..filled, 0);
        carried = filled - valid_up_to;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn sniff_bytes(bytes: &[u8]) -> Result<FileKind, MediaError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        sniff(file.path())
    }

    #[test]
    fn magic_numbers_decide() {
        assert_eq!(sniff_bytes(b"%PDF-1.7\n%\xe2\xe3\n").unwrap(), FileKind::Pdf);
        assert_eq!(sniff_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00").unwrap(), FileKind::Mp3);
        assert_eq!(sniff_bytes(&[0xFF, 0xFB, 0x90, 0x64, 0x00]).unwrap(), FileKind::Mp3);
        assert_eq!(sniff_bytes(&[0xFF, 0xF1, 0x50, 0x80, 0x02]).unwrap(), FileKind::Aac);
        assert_eq!(sniff_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00isomM4A ").unwrap(), FileKind::M4a);
        assert!(matches!(
            sniff_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"),
            Err(MediaError::Unsupported(_))
        ));
        assert!(matches!(
            sniff_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1"),
            Err(MediaError::Unsupported(_))
        ));
    }

    #[test]
    fn programs_are_refused_whatever_they_are_called() {
        assert!(matches!(sniff_bytes(b"\x7fELF\x02\x01\x01\x00"), Err(MediaError::Unsupported(_))));
        assert!(matches!(sniff_bytes(b"MZ\x90\x00\x03\x00\x00\x00"), Err(MediaError::Unsupported(_))));
    }

    #[test]
    fn text_must_be_utf8_without_nul() {
        assert_eq!(sniff_bytes("Grüße aus der Klasse 4B 👋\n".as_bytes()).unwrap(), FileKind::Text);
        assert!(sniff_bytes(b"abc\x00def").is_err());
        assert!(sniff_bytes(b"caf\xe9").is_err());
        assert!(matches!(sniff_bytes(b""), Err(MediaError::Invalid(_))));
        // A long text whose multi-byte characters straddle the read boundaries.
        let long = "é".repeat(100_000) + "🎉";
        assert_eq!(sniff_bytes(long.as_bytes()).unwrap(), FileKind::Text);
    }
}
