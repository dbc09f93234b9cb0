//! GIFs keep their animation: every frame is decoded and written again with the `gif` crate, which keeps
//! the pixels, palettes, delays, disposal and the NETSCAPE2.0 loop count, and drops everything else:
//! comment blocks, plain-text blocks and other application extensions (XMP lives in one). The thumbnail
//! is the first frame, still.
//!
//! Blocking and CPU-heavy: call it on the blocking pool.

use std::fs::File;
use std::io::BufReader;
use std::num::NonZeroU64;
use std::path::Path;

use super::MediaError;
use super::images::{self, Encoded, MAX_PIXELS, ProcessedImage};
use super::sniff::FileKind;

/// Most frames an animation may have.
pub const MAX_FRAMES: usize = 500;
/// Most pixels all frames together may have (bounds the CPU time of re-encoding).
pub const MAX_TOTAL_PIXELS: u64 = 1_000_000_000;
/// Most memory the decoder may take for one frame: one byte per pixel of the largest image accepted.
const FRAME_MEMORY: NonZeroU64 = match NonZeroU64::new(MAX_PIXELS) {
    Some(bytes) => bytes,
    None => panic!("MAX_PIXELS is not zero"),
};

/// Re-encodes a GIF frame by frame and makes a still thumbnail of its first frame.
pub fn process_gif(path: &Path) -> Result<ProcessedImage, MediaError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.set_memory_limit(gif::MemoryLimit::Bytes(FRAME_MEMORY));
    // Frames must lie within the logical screen, whose size is checked below.
    options.check_frame_consistency(true);
    let mut decoder = options.read_info(BufReader::new(File::open(path)?)).map_err(decode_error)?;
    let (width, height) = (decoder.width(), decoder.height());
    images::check_dimensions(u32::from(width), u32::from(height))?;
    let global_palette = decoder.global_palette().map(<[u8]>::to_vec).unwrap_or_default();
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, width, height, &global_palette).map_err(encode_error)?;
        // `Finite(0)` (no NETSCAPE2.0 block in the source) writes none either: the animation plays once.
        encoder.set_repeat(decoder.repeat()).map_err(encode_error)?;
        let (mut frames, mut pixels) = (0usize, 0u64);
        while let Some(frame) = decoder.read_next_frame().map_err(decode_error)? {
            frames += 1;
            pixels += u64::from(frame.width) * u64::from(frame.height);
            if frames > MAX_FRAMES || pixels > MAX_TOTAL_PIXELS {
                return Err(MediaError::TooLarge(format!(
                    "the animation is too long to process: at most {MAX_FRAMES} frames"
                )));
            }
            let mut frame = frame.clone();
            // The decoder hands rows out de-interlaced; write them as they are.
            frame.interlaced = false;
            encoder.write_frame(&frame).map_err(|_| damaged())?;
        }
        if frames == 0 {
            return Err(damaged());
        }
    }
    let first = images::decode_upright(path, FileKind::Gif)?;
    Ok(ProcessedImage {
        main: Encoded { bytes, mime: "image/gif" },
        thumbnail: images::thumbnail(&first)?,
        width: u32::from(width),
        height: u32::from(height),
    })
}

fn damaged() -> MediaError {
    MediaError::Unsupported("the GIF could not be decoded: the file is damaged".into())
}

fn decode_error(err: gif::DecodingError) -> MediaError {
    match err {
        gif::DecodingError::Io(err) if err.kind() != std::io::ErrorKind::UnexpectedEof => MediaError::Io(err),
        gif::DecodingError::MemoryLimit => {
            MediaError::TooLarge("the image is too large to process: a frame is larger than allowed".into())
        }
        _ => damaged(),
    }
}

fn encode_error(err: gif::EncodingError) -> MediaError {
    MediaError::Internal(anyhow::Error::new(err).context("encoding a GIF"))
}
