//! WebP: a RIFF chunk walk.
//!
//! Kept: VP8X, VP8 / VP8L bitstreams, ALPH, ICCP, ANIM and ANMF frames (whose
//! own sub-chunks are walked the same way). EXIF, XMP and unknown chunks go
//! by policy. The VP8X flags are rewritten to say what is left, the RIFF size
//! is recomputed, and nothing after the RIFF length is copied.

use sekisho_plugin_sdk::{ContentClass, Disposition, Failure};

use crate::tiff::Exif;
use crate::{Run, Walked, check_dimensions, le16, le32, quoted};

/// VP8X flag bits.
const ICC: u8 = 0x20;
const ALPHA: u8 = 0x10;
const EXIF: u8 = 0x08;
const XMP: u8 = 0x04;
const ANIMATION: u8 = 0x02;

/// Rebuilds a WebP from its kept chunks.
pub fn walk(data: &[u8], run: &mut Run) -> Result<Walked, Failure> {
    if data.len() < 12 || &data[..4] != b"RIFF" || &data[8..12] != b"WEBP" {
        return Err(Failure::invalid("no RIFF WEBP header"));
    }
    let riff_end = le32(data, 4).and_then(|n| usize::try_from(n).ok()).and_then(|n| n.checked_add(8));
    let Some(riff_end) = riff_end.filter(|&end| end <= data.len() && end >= 12) else {
        return Err(Failure::invalid(format!("truncated: the RIFF header gives more than the {} bytes", data.len())));
    };
    let mut body = Vec::new();
    let (mut size, mut orientation, mut flags) = (None, 1, 0u8);
    let (mut bitstreams, mut animation_frames) = (0, 0);
    for (index, Chunk { kind, content, offset }) in chunks(data, 12, riff_end, run)?.into_iter().enumerate() {
        let at = || format!("{} chunk at offset {offset}", quoted(kind));
        let keep = match kind {
            b"VP8X" if index == 0 && content.len() >= 10 => {
                let width = 1 + (le32(content, 4).unwrap_or(0) & 0xFF_FFFF);
                let height = 1 + (le32(content, 6).unwrap_or(0) >> 8);
                check_dimensions(width, height)?;
                size = Some((width, height));
                flags = content[0] & (ALPHA | ANIMATION);
                true
            }
            b"VP8 " | b"VP8L" => {
                let dimensions = bitstream_size(kind, content)
                    .ok_or_else(|| Failure::invalid(format!("bad bitstream header: {}", at())))?;
                check_dimensions(dimensions.0, dimensions.1)?;
                size.get_or_insert(dimensions);
                bitstreams += 1;
                true
            }
            b"ALPH" | b"ANIM" => true,
            b"ICCP" => {
                flags |= ICC;
                true
            }
            b"ANMF" => {
                animation_frames += 1;
                true
            }
            b"EXIF" => {
                let exif = Exif::read(content);
                let keep = run.decide(ContentClass::Metadata, at(), exif.detail)?;
                if keep {
                    flags |= EXIF;
                } else if orientation == 1 {
                    orientation = exif.orientation;
                }
                keep
            }
            b"XMP " => {
                let keep = run.decide(ContentClass::Metadata, at(), "XMP packet")?;
                if keep {
                    flags |= XMP;
                }
                keep
            }
            b"VP8X" => {
                run.repair(Disposition::Removed, at(), "misplaced or short VP8X chunk")?;
                false
            }
            _ => run.decide(ContentClass::UnknownParts, at(), "chunk not needed to draw the image")?,
        };
        if keep && kind == b"ANMF" {
            put(&mut body, kind, &frame(content, offset, run)?);
        } else if keep {
            put(&mut body, kind, content);
        }
    }
    if riff_end < data.len() {
        let detail = format!("{} bytes after the RIFF data", data.len() - riff_end);
        run.repair(Disposition::Removed, "after the RIFF data", detail)?;
    }
    let frames = if animation_frames > 0 { animation_frames } else { bitstreams.min(1) };
    let Some((width, height)) = size.filter(|_| frames > 0) else {
        return Err(Failure::invalid("no image bitstream"));
    };
    if body.starts_with(b"VP8X") {
        body[8] = flags;
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Ok(Walked { data: out, width, height, orientation, frames })
}

/// One RIFF chunk: its type, its content and the offset of its header.
struct Chunk<'a> {
    kind: &'a [u8; 4],
    content: &'a [u8],
    offset: usize,
}

/// The chunks between `pos` and `end`.
fn chunks<'a>(data: &'a [u8], mut pos: usize, end: usize, run: &mut Run) -> Result<Vec<Chunk<'a>>, Failure> {
    let mut found = Vec::new();
    while pos < end {
        run.next_part()?;
        let length = le32(data, pos + 4).and_then(|n| usize::try_from(n).ok());
        let content_end = length.and_then(|n| (pos + 8).checked_add(n)).filter(|&e| e <= end);
        let (Some(kind), Some(content_end)) = (data.get(pos..pos + 4), content_end) else {
            return Err(Failure::invalid(format!("truncated: the chunk at offset {pos} runs past its container")));
        };
        let kind: &[u8; 4] = kind.try_into().map_err(|_| Failure::invalid("chunk type"))?;
        found.push(Chunk { kind, content: &data[pos + 8..content_end], offset: pos });
        // Chunks are padded to an even size.
        pos = (content_end + (content_end - pos) % 2).min(end);
    }
    Ok(found)
}

/// An ANMF frame with only its image sub-chunks kept.
fn frame(content: &[u8], offset: usize, run: &mut Run) -> Result<Vec<u8>, Failure> {
    let header = content.get(..16).ok_or_else(|| Failure::invalid(format!("short ANMF chunk at offset {offset}")))?;
    let mut rebuilt = header.to_vec();
    for Chunk { kind, content: sub, offset: at } in chunks(content, 16, content.len(), run)? {
        let keep = match kind {
            b"ALPH" | b"VP8 " | b"VP8L" => true,
            _ => {
                let location = format!("{} chunk at offset {} in the ANMF frame at offset {offset}", quoted(kind), at);
                run.decide(ContentClass::UnknownParts, location, "chunk not needed to draw the image")?
            }
        };
        if keep {
            put(&mut rebuilt, kind, sub);
        }
    }
    Ok(rebuilt)
}

/// Appends a chunk with its size and padding.
fn put(out: &mut Vec<u8>, kind: &[u8; 4], content: &[u8]) {
    out.extend_from_slice(kind);
    out.extend_from_slice(&u32::try_from(content.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(content);
    if content.len() % 2 == 1 {
        out.push(0);
    }
}

/// Width and height from a VP8 or VP8L bitstream header.
fn bitstream_size(kind: &[u8; 4], content: &[u8]) -> Option<(u32, u32)> {
    if kind == b"VP8L" {
        let bits = le32(content, 1).filter(|_| content.first() == Some(&0x2F))?;
        return Some((1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)));
    }
    if content.get(3..6) != Some(&[0x9D, 0x01, 0x2A]) {
        return None;
    }
    Some((u32::from(le16(content, 6)? & 0x3FFF), u32::from(le16(content, 8)? & 0x3FFF)))
}
