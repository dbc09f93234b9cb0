//! Still images: decoded and re-encoded, which drops every metadata block (EXIF with its GPS position,
//! XMP, IPTC, ICC profiles, PNG text chunks): children's photos leave no trace of where they were taken.
//! The EXIF orientation is applied first, so photos stand upright without it. Decoding is bounded: the
//! dimensions are checked from the header before any pixel is decoded, and the decoder's allocations are
//! capped, so a small file declaring a huge image (a decompression bomb) is refused at once.
//!
//! Everything here blocks and burns CPU: call it on the blocking pool.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, Rgb, RgbImage};

use super::MediaError;
use super::sniff::FileKind;

/// Widest or tallest image accepted, in pixels.
pub const MAX_SIDE: u32 = 20_000;
/// Largest image accepted, in pixels (50 megapixels: more than any phone camera takes).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Most memory one decoder may allocate (50 megapixels of RGBA is 200 MB; 16-bit PNGs take twice that).
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Longest side of a thumbnail.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Side of a profile picture.
pub const AVATAR_SIDE: u32 = 256;
const JPEG_QUALITY: u8 = 88;
const THUMBNAIL_QUALITY: u8 = 80;

/// An encoded image and its media type.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
}

/// A re-encoded upload, its thumbnail and its upright dimensions.
pub struct ProcessedImage {
    pub main: Encoded,
    pub thumbnail: Encoded,
    pub width: u32,
    pub height: u32,
}

/// Re-encodes a JPEG, PNG or WebP: JPEG stays JPEG and PNG stays PNG. WebP becomes JPEG, or PNG when it
/// has an alpha channel (the `image` crate writes only lossless WebP, which would make photos several
/// times larger).
pub fn process_still(path: &Path, kind: FileKind) -> Result<ProcessedImage, MediaError> {
    let image = decode_upright(path, kind)?;
    let main = match kind {
        FileKind::Png => encode_png(&image)?,
        FileKind::WebP if image.color().has_alpha() => encode_png(&image)?,
        _ => encode_jpeg(&image, JPEG_QUALITY)?,
    };
    Ok(ProcessedImage { thumbnail: thumbnail(&image)?, width: image.width(), height: image.height(), main })
}

/// A profile picture: the centred square of the upright image, scaled to `AVATAR_SIDE`, as JPEG (any
/// transparency laid on white).
pub fn avatar(path: &Path, kind: FileKind) -> Result<Encoded, MediaError> {
    let image = decode_upright(path, kind)?;
    let side = image.width().min(image.height());
    let square = image.crop_imm((image.width() - side) / 2, (image.height() - side) / 2, side, side);
    let scaled = square.resize_exact(AVATAR_SIDE, AVATAR_SIDE, FilterType::Lanczos3);
    encode_jpeg(&scaled, JPEG_QUALITY)
}

/// A thumbnail whose longest side is `THUMBNAIL_SIDE` (smaller images keep their size): JPEG, or PNG when
/// the image has an alpha channel, so transparency survives.
pub fn thumbnail(image: &DynamicImage) -> Result<Encoded, MediaError> {
    let small = if image.width().max(image.height()) > THUMBNAIL_SIDE {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        image.clone()
    };
    if small.color().has_alpha() { encode_png(&small) } else { encode_jpeg(&small, THUMBNAIL_QUALITY) }
}

/// Decodes with bounded memory after checking the dimensions in the header, then applies the EXIF
/// orientation.
pub fn decode_upright(path: &Path, kind: FileKind) -> Result<DynamicImage, MediaError> {
    let format = match kind {
        FileKind::Jpeg => ImageFormat::Jpeg,
        FileKind::Png => ImageFormat::Png,
        FileKind::WebP => ImageFormat::WebP,
        FileKind::Gif => ImageFormat::Gif,
        _ => return Err(MediaError::Unsupported("this file is not an image".into())),
    };
    let mut reader = ImageReader::new(BufReader::new(File::open(path)?));
    reader.set_format(format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height)?;
    // A broken EXIF block is no reason to refuse a photo: it is dropped anyway.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Refuses images too large to process safely (413), whatever the file's size.
pub fn check_dimensions(width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Unsupported("the image has no pixels".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_big());
    }
    Ok(())
}

/// The decoders' limits: the side limit is checked by the decoder itself, from the header.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

fn too_big() -> MediaError {
    MediaError::TooLarge(format!(
        "the image is too large to process: at most {MAX_SIDE} pixels a side and {} megapixels",
        MAX_PIXELS / 1_000_000
    ))
}

/// Limits hit are 413; anything else the decoder refuses is not an image we can read (415).
pub fn decode_error(err: ImageError) -> MediaError {
    match err {
        ImageError::Limits(_) => too_big(),
        ImageError::IoError(err) if err.kind() != std::io::ErrorKind::UnexpectedEof => MediaError::Io(err),
        _ => MediaError::Unsupported("the image could not be decoded: the file is damaged or not an image".into()),
    }
}

fn encode_error(err: ImageError) -> MediaError {
    MediaError::Internal(anyhow::Error::new(err).context("encoding an image"))
}

/// JPEG, quality `quality`; an alpha channel is laid on white (JPEG has none).
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Encoded, MediaError> {
    let rgb = if image.color().has_alpha() { on_white(image) } else { image.to_rgb8() };
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(rgb)
        .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, quality))
        .map_err(encode_error)?;
    Ok(Encoded { bytes, mime: "image/jpeg" })
}

/// PNG in 8 bits per channel (16-bit sources are rare and not worth twice the space).
fn encode_png(image: &DynamicImage) -> Result<Encoded, MediaError> {
    let eight_bit = match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image.clone(),
        _ if image.color().has_alpha() => DynamicImage::ImageRgba8(image.to_rgba8()),
        _ => DynamicImage::ImageRgb8(image.to_rgb8()),
    };
    let mut bytes = Cursor::new(Vec::new());
    eight_bit.write_with_encoder(PngEncoder::new(&mut bytes)).map_err(encode_error)?;
    Ok(Encoded { bytes: bytes.into_inner(), mime: "image/png" })
}

fn on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        Rgb([blend(r), blend(g), blend(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_limits() {
        assert!(check_dimensions(8000, 6000).is_ok());
        assert!(matches!(check_dimensions(MAX_SIDE + 1, 10), Err(MediaError::TooLarge(_))));
        assert!(matches!(check_dimensions(10_000, 10_000), Err(MediaError::TooLarge(_))));
        assert!(matches!(check_dimensions(0, 10), Err(MediaError::Unsupported(_))));
    }

    #[test]
    fn thumbnails_fit_in_320_and_keep_alpha() {
        let wide = DynamicImage::ImageRgb8(RgbImage::new(1000, 500));
        let thumb = thumbnail(&wide).unwrap();
        assert_eq!(thumb.mime, "image/jpeg");
        let decoded = image::load_from_memory(&thumb.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 160));

        let small = DynamicImage::ImageRgba8(image::RgbaImage::new(40, 30));
        let thumb = thumbnail(&small).unwrap();
        assert_eq!(thumb.mime, "image/png");
        let decoded = image::load_from_memory(&thumb.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
    }
}
