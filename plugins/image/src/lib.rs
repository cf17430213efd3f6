//! Sekisho `image` plugin: rebuilds raster images (PNG, JPEG, GIF, BMP, TIFF, WebP).
//!
//! Two modes, chosen by the policy option `image-mode`:
//!
//! - **structural** (the default, fast): a small hand-written walk per
//!   container copies the coded image data and the chunks that set its
//!   colours, and drops everything else — EXIF/GPS, XMP, IPTC, comments, text
//!   chunks, thumbnails, unknown chunks and whatever follows the end marker
//!   (so a JPEG that is also a ZIP comes out only a JPEG). The rebuilt file is
//!   then decoded once (pixels discarded) to prove it is an image of the
//!   dimensions its header states; a file no decoder reads is refused.
//! - **re-encode**: the structurally rebuilt file is decoded and a new file
//!   is encoded from its pixels, so nothing crafted for a decoder (odd
//!   structure, hostile entropy or LZW streams) reaches the consumer. Only
//!   pixels and the ICC profile are carried over: what the policy allows is
//!   still recorded but comes out removed, and animations keep their first
//!   frame. JPEG is written at quality 90, WebP lossless.
//!
//! TIFF keeps image data behind offsets spread across its IFDs, so it is
//! re-encoded in both modes (first image only, Deflate-compressed).
//!
//! Structural anomalies (trailing data and polyglots, bad CRCs, misplaced
//! chunks, gaps) are always repaired and recorded: the policy for
//! malformed-structure can only refuse the file (`block`), since a rebuild
//! that kept a ZIP behind a JPEG would not be a rebuild.
//!
//! Orientation: when an EXIF block with an orientation other than 1 is
//! dropped, the orientation is applied to the pixels — the image is
//! re-encoded even in structural mode (single-frame images only), so the
//! picture stays upright without any EXIF left in the file.
//!
//! ICC profiles are colour data, not metadata about the author or the place:
//! they are kept in both modes (re-encode keeps a profile whose colour space
//! matches the new pixels) and not recorded. Decompression bombs are refused
//! from the header dimensions before anything is decoded.

mod bmp;
mod gif;
mod jpeg;
mod png;
mod reencode;
mod tiff;
mod webp;

use std::io::{Read, Write};

use sekisho_plugin_sdk::{
    Action, ContentClass, Decision, Disposition, Failure, Findings, Format, Magic, OptionDeclaration, PluginInfo,
    Policy, Rebuilt, read_all,
};

/// Plugin name as reported to the host.
pub const NAME: &str = "image";

/// Largest input read.
const MAX_INPUT_BYTES: u64 = 256 << 20;
/// Largest width or height accepted.
pub const MAX_SIDE: u32 = 32_768;
/// Largest pixel count accepted (100 megapixels).
pub const MAX_PIXELS: u64 = 100_000_000;

/// Describes the six raster formats.
pub fn describe() -> PluginInfo {
    let format = |id: &str, media: &str, extensions: &[&str], magic: &[(u32, &[u8])]| Format {
        id: id.into(),
        media_types: vec![media.into()],
        extensions: extensions.iter().map(|e| (*e).into()).collect(),
        magic: magic.iter().map(|(offset, bytes)| Magic { offset: *offset, bytes: bytes.to_vec() }).collect(),
        ..Default::default()
    };
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![
            format("png", "image/png", &["png"], &[(0, b"\x89PNG\r\n\x1a\n")]),
            format("jpeg", "image/jpeg", &["jpg", "jpeg", "jpe"], &[(0, b"\xFF\xD8\xFF")]),
            format("gif", "image/gif", &["gif"], &[(0, b"GIF87a"), (0, b"GIF89a")]),
            format("bmp", "image/bmp", &["bmp"], &[(0, b"BM")]),
            format("tiff", "image/tiff", &["tif", "tiff"], &[(0, b"II*\0"), (0, b"MM\0*")]),
            format("webp", "image/webp", &["webp"], &[(8, b"WEBP")]),
        ],
        classes: vec![
            ContentClass::ExternalLinks,
            ContentClass::Multimedia,
            ContentClass::Metadata,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
        ],
        options: vec![OptionDeclaration {
            name: "image-mode".into(),
            values: vec!["structural".into(), "re-encode".into()],
            default: "structural".into(),
            doc: "structural: copy the coded picture and drop the rest (fast); re-encode: decode the pixels and write a new file".into(),
        }],
        ..Default::default()
    }
}

/// Rebuilds the image of format `format` read from `input` into `output`.
/// An image has no text for the host's text channel: `host` is not used
/// (text in PNG chunks, EXIF and comments is metadata, removed).
pub fn sanitize<R: Read, W: Write, H: sekisho_plugin_sdk::Host + ?Sized>(
    format: &str,
    input: R,
    mut output: W,
    policy: &Policy,
    host: &mut H,
) -> Result<Rebuilt, Failure> {
    let _ = host;
    let reencode = match policy.option("image-mode") {
        None | Some("structural") => false,
        Some("re-encode") => true,
        Some(other) => return Err(Failure::unsupported(format!("unknown image-mode '{other}'"))),
    };
    let data = read_all(input, MAX_INPUT_BYTES)?;
    let mut run = Run { policy, pixels_only: reencode || format == "tiff", findings: Findings::new(), parts: 0 };
    let rebuilt = match rebuild(format, &data, &mut run) {
        Ok(rebuilt) => rebuilt,
        Err(failure) if failure.findings.is_empty() => return Err(failure.with_findings(run.findings)),
        Err(failure) => return Err(failure),
    };
    output.write_all(&rebuilt).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(Rebuilt { format: format.into(), findings: run.findings.into_vec() })
}

/// Walks the container, proves the result decodes, and re-encodes it when
/// the mode or a dropped orientation asks for new pixels.
fn rebuild(format: &str, data: &[u8], run: &mut Run) -> Result<Vec<u8>, Failure> {
    let walked = match format {
        "png" => png::walk(data, run)?,
        "jpeg" => jpeg::walk(data, run)?,
        "gif" => gif::walk(data, run)?,
        "bmp" => bmp::walk(data, run)?,
        "tiff" => tiff::walk(data, run)?,
        "webp" => webp::walk(data, run)?,
        other => return Err(Failure::unsupported(format!("'{other}' is not a format of the image plugin"))),
    };
    let decoded = reencode::decode(format, &walked.data, (walked.width, walked.height))?;
    let turn = walked.orientation != 1 && walked.frames == 1;
    if !run.pixels_only && !turn {
        return Ok(walked.data);
    }
    if walked.frames > 1 {
        let detail = format!("{} frames: the re-encoded image keeps the first", walked.frames);
        run.decide(ContentClass::Multimedia, "animation", detail)?;
    }
    if walked.orientation != 1 {
        let detail = format!("orientation {} applied to the pixels (image re-encoded)", walked.orientation);
        run.findings.push(ContentClass::Metadata, Disposition::Neutralized, "EXIF Orientation", detail);
    }
    reencode::encode(format, decoded, walked.orientation)
}

/// What a container walk hands on: the rebuilt file and what the pixel
/// stage needs to know about it.
pub(crate) struct Walked {
    pub data: Vec<u8>,
    /// Dimensions from the header (the canvas of an animation).
    pub width: u32,
    pub height: u32,
    /// EXIF orientation (1–8) that left the file with its EXIF block and must
    /// be applied to the pixels; 1 when there is none or it stayed.
    pub orientation: u8,
    /// Frames of an animation; 1 for a still image.
    pub frames: u32,
}

/// The findings of one file and how the policy applies to them.
pub(crate) struct Run<'p> {
    policy: &'p Policy,
    /// The output is encoded from pixels: nothing else can be carried over.
    pixels_only: bool,
    findings: Findings,
    /// Chunks, segments and blocks walked so far.
    parts: u32,
}

impl Run<'_> {
    /// Content the policy decides about (metadata, unknown parts): answers
    /// true when it stays in the output.
    pub fn decide(
        &mut self,
        class: ContentClass,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) -> Result<bool, Failure> {
        if self.pixels_only && self.policy.action(class) == Action::Allow {
            let detail = format!("{} (re-encoded: only the pixels are carried over)", detail.into());
            self.findings.push(class, Disposition::Removed, location, detail);
            return Ok(false);
        }
        Ok(self.findings.decide(self.policy, class, Disposition::Removed, location, detail)? == Decision::Keep)
    }

    /// A structural anomaly the rebuild always repairs (trailing data, a bad
    /// CRC, a misplaced chunk): the policy can only refuse the file for it.
    pub fn repair(
        &mut self,
        done: Disposition,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) -> Result<(), Failure> {
        let class = ContentClass::MalformedStructure;
        if self.policy.action(class) == Action::Block {
            return self.findings.decide(self.policy, class, done, location, detail).map(drop);
        }
        self.findings.push(class, done, location, detail);
        Ok(())
    }

    /// Counts one more chunk, segment or block against the policy's entry limit.
    pub fn next_part(&mut self) -> Result<(), Failure> {
        self.parts += 1;
        let max = self.policy.limits.max_entries;
        if self.parts > max {
            return Err(Failure::limit(format!("more than {max} chunks, segments or blocks")));
        }
        Ok(())
    }
}

/// Refuses empty images and images over the size limits, from the header,
/// before anything is decoded (decompression bombs).
pub(crate) fn check_dimensions(width: u32, height: u32) -> Result<(), Failure> {
    if width == 0 || height == 0 {
        return Err(Failure::invalid(format!("the header gives {width}x{height} pixels")));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Failure::limit(format!(
            "{width}x{height} pixels is over the limit ({MAX_SIDE} per side, {} megapixels)",
            MAX_PIXELS / 1_000_000
        )));
    }
    Ok(())
}

/// Up to 40 bytes of an untrusted name or text, printable ASCII only, for findings.
pub(crate) fn quoted(bytes: &[u8]) -> String {
    let shown: String =
        bytes.iter().take(40).map(|&b| if b == b' ' || b.is_ascii_graphic() { b as char } else { '?' }).collect();
    if bytes.len() > 40 { format!("'{shown}…'") } else { format!("'{shown}'") }
}

/// A big-endian u16 at `at`, if the data reaches that far.
pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

/// A big-endian u32 at `at`, if the data reaches that far.
pub(crate) fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// A little-endian u16 at `at`, if the data reaches that far.
pub(crate) fn le16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

/// A little-endian u32 at `at`, if the data reaches that far.
pub(crate) fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |format, reader, writer, policy, host| crate::sanitize(format, reader, writer, policy, host)
);
