//! GIF: a block walk.
//!
//! Kept: the header, the logical screen descriptor and global colour table,
//! every image (descriptor, local colour table, LZW data sub-blocks), graphic
//! control extensions (delay, disposal, transparency), the NETSCAPE2.0 /
//! ANIMEXTS1.0 loop extension and the ICC profile extension. Comments, plain
//! text extensions and other application extensions (XMP lives there) go by
//! policy; nothing after the trailer (0x3B) is copied. The LZW data is copied
//! as it is. Text spelled out by the compressed codes (a PHP payload for a
//! server that includes uploads) is pixel data: re-encode mode writes new LZW
//! codes, but pixels crafted so that a canonical LZW encoder spells the text
//! again keep it in any lossless rebuild.

use sekisho_plugin_sdk::{ContentClass, Disposition, Failure};

use crate::{Run, Walked, check_dimensions, le16, quoted};

/// Rebuilds a GIF from its kept blocks.
pub fn walk(data: &[u8], run: &mut Run) -> Result<Walked, Failure> {
    if !(data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) {
        return Err(Failure::invalid("no GIF signature"));
    }
    let truncated = || Failure::invalid("truncated: no trailer");
    let (Some(width), Some(height), Some(&packed)) = (le16(data, 6), le16(data, 8), data.get(10)) else {
        return Err(truncated());
    };
    check_dimensions(u32::from(width), u32::from(height))?;
    let screen_end = 13 + colour_table(packed);
    let mut out = data.get(..screen_end).ok_or_else(truncated)?.to_vec();
    let (mut pos, mut frames) = (screen_end, 0);
    loop {
        run.next_part()?;
        let start = pos;
        match *data.get(pos).ok_or_else(truncated)? {
            0x3B => {
                out.push(0x3B);
                pos += 1;
                break;
            }
            0x2C => {
                let (Some(w), Some(h), Some(&local)) = (le16(data, pos + 5), le16(data, pos + 7), data.get(pos + 9))
                else {
                    return Err(truncated());
                };
                check_dimensions(u32::from(w), u32::from(h))?;
                // Descriptor, local colour table, LZW minimum code size, data sub-blocks.
                pos = sub_blocks_end(data, pos + 10 + colour_table(local) + 1).ok_or_else(truncated)?;
                out.extend_from_slice(&data[start..pos]);
                frames += 1;
            }
            0x21 => {
                let label = *data.get(pos + 1).ok_or_else(truncated)?;
                pos = sub_blocks_end(data, pos + 2).ok_or_else(truncated)?;
                let first = data.get(start + 3..).and_then(|rest| rest.get(..usize::from(data[start + 2])));
                let first = first.unwrap_or_default();
                let at = || format!("extension 0x{label:02X} at offset {start}");
                let keep = match label {
                    0xF9 => true,
                    0xFF if matches!(first, b"NETSCAPE2.0" | b"ANIMEXTS1.0" | b"ICCRGBG1012") => true,
                    0xFF if first == b"XMP DataXMP" => run.decide(ContentClass::Metadata, at(), "XMP packet")?,
                    0xFF => {
                        let detail = format!("application extension {}", quoted(first));
                        run.decide(ContentClass::UnknownParts, at(), detail)?
                    }
                    0xFE => run.decide(ContentClass::Metadata, at(), format!("comment {}", quoted(first)))?,
                    0x01 => run.decide(ContentClass::UnknownParts, at(), "plain text extension")?,
                    _ => run.decide(ContentClass::UnknownParts, at(), "unknown extension")?,
                };
                if keep {
                    out.extend_from_slice(&data[start..pos]);
                }
            }
            other => return Err(Failure::invalid(format!("unexpected byte 0x{other:02X} at offset {pos}"))),
        }
    }
    if frames == 0 {
        return Err(Failure::invalid("no image in the file"));
    }
    if pos < data.len() {
        run.repair(Disposition::Removed, "after the trailer", format!("{} bytes after the trailer", data.len() - pos))?;
    }
    Ok(Walked { data: out, width: u32::from(width), height: u32::from(height), orientation: 1, frames })
}

/// Size of the colour table announced by a packed-fields byte.
fn colour_table(packed: u8) -> usize {
    if packed & 0x80 == 0 { 0 } else { 3 << ((packed & 7) + 1) }
}

/// The offset after the sub-blocks starting at `pos` (after their 0 terminator).
fn sub_blocks_end(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let n = usize::from(*data.get(pos)?);
        pos += 1 + n;
        if n == 0 {
            return Some(pos);
        }
    }
}
