//! JPEG: a marker walk.
//!
//! Kept: SOI, the tables (DQT, DHT, DAC, DRI), the frame header (SOFn), every
//! scan (SOS and its entropy-coded data, read up to the next marker that is
//! neither a stuffed 0xFF00 nor a restart marker, so progressive files with
//! many scans pass whole), EOI, the JFIF APP0 (without its thumbnail), the
//! Adobe APP14 (it says whether the data is YCbCr or RGB/CMYK: dropping it
//! changes the colours) and the ICC profile APP2. Everything else goes by
//! policy: EXIF/XMP APP1, IPTC/Photoshop APP13, MPF preview index, comments,
//! other APPn. Fill bytes and stray restart markers are dropped, and nothing
//! after EOI is copied (a JPEG that is also a ZIP comes out only a JPEG).

use sekisho_plugin_sdk::{ContentClass, Disposition, Failure};

use crate::tiff::Exif;
use crate::{Run, Walked, be16, check_dimensions, quoted};

/// Rebuilds a JPEG from its kept segments.
pub fn walk(data: &[u8], run: &mut Run) -> Result<Walked, Failure> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Failure::invalid("no SOI marker"));
    }
    let mut out = vec![0xFF, 0xD8];
    let mut pos = 2;
    let (mut size, mut scans, mut orientation) = (None, 0, 1);
    loop {
        run.next_part()?;
        if data.get(pos) != Some(&0xFF) {
            let detail =
                if pos >= data.len() { "truncated: no EOI".to_owned() } else { format!("no marker at offset {pos}") };
            return Err(Failure::invalid(detail));
        }
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let start = pos - 1;
        let code = *data.get(pos).ok_or_else(|| Failure::invalid("truncated: no EOI"))?;
        pos += 1;
        let at = || format!("marker 0x{code:02X} at offset {start}");
        match code {
            0xD9 => break,
            0xD0..=0xD7 | 0x01 => {
                run.repair(Disposition::Removed, at(), "stray marker outside a scan")?;
                continue;
            }
            0x00 | 0xD8 => return Err(Failure::invalid(format!("unexpected {}", at()))),
            _ => {}
        }
        let end = be16(data, pos)
            .filter(|&n| n >= 2)
            .map(|n| pos + usize::from(n))
            .filter(|&end| end <= data.len())
            .ok_or_else(|| Failure::invalid(format!("truncated or bad length: segment {}", at())))?;
        let payload = &data[pos + 2..end];
        let segment = &data[start..end];
        let mut rewritten = None;
        let keep = match code {
            0xC0..=0xCF if !matches!(code, 0xC4 | 0xC8 | 0xCC) => {
                let (height, width) = (be16(payload, 1).unwrap_or(0), be16(payload, 3).unwrap_or(0));
                if height == 0 && width != 0 {
                    return Err(Failure::unsupported("image height defined later by a DNL marker"));
                }
                check_dimensions(u32::from(width), u32::from(height))?;
                if size.replace((u32::from(width), u32::from(height))).is_some() {
                    return Err(Failure::invalid(format!("second frame header: {}", at())));
                }
                true
            }
            0xC4 | 0xCC | 0xDB | 0xDD | 0xDA => true,
            0xE0 if payload.starts_with(b"JFIF\0") && payload.len() >= 14 => {
                let (x, y) = (payload[12], payload[13]);
                let rewrite = if (x, y) != (0, 0) {
                    !run.decide(ContentClass::Metadata, at(), format!("JFIF thumbnail ({x}x{y})"))?
                } else if payload.len() > 14 {
                    let detail = format!("{} bytes after the JFIF header", payload.len() - 14);
                    run.repair(Disposition::Removed, at(), detail)?;
                    true
                } else {
                    false
                };
                if rewrite {
                    // The 14-byte JFIF header with a 0x0 thumbnail.
                    let mut jfif = data[start..pos + 16].to_vec();
                    jfif[2..4].copy_from_slice(&16u16.to_be_bytes());
                    jfif[16..18].copy_from_slice(&[0, 0]);
                    rewritten = Some(jfif);
                }
                true
            }
            0xE1 if payload.starts_with(b"Exif\0\0") => {
                let exif = Exif::read(payload);
                let keep = run.decide(ContentClass::Metadata, at(), exif.detail)?;
                if !keep && orientation == 1 {
                    orientation = exif.orientation;
                }
                keep
            }
            0xE1 if payload.starts_with(b"http://ns.adobe.com/xap/1.0/\0") => {
                run.decide(ContentClass::Metadata, at(), "XMP packet")?
            }
            0xE1 if payload.starts_with(b"http://ns.adobe.com/xmp/extension/\0") => {
                run.decide(ContentClass::Metadata, at(), "extended XMP packet")?
            }
            0xE2 if payload.starts_with(b"ICC_PROFILE\0") => true,
            0xE2 if payload.starts_with(b"MPF\0") => {
                run.decide(ContentClass::Metadata, at(), "Multi-Picture Format index (preview images)")?
            }
            0xED if payload.starts_with(b"Photoshop 3.0\0") => {
                run.decide(ContentClass::Metadata, at(), "Photoshop image resources (IPTC)")?
            }
            0xEE if payload.starts_with(b"Adobe") => true,
            0xE0..=0xEF => {
                let signature = payload.split(|&b| b == 0).next().unwrap_or_default();
                let detail = format!("APP{} segment {}", code - 0xE0, quoted(signature));
                run.decide(ContentClass::Metadata, at(), detail)?
            }
            0xFE => run.decide(ContentClass::Metadata, at(), format!("comment {}", quoted(payload)))?,
            _ => run.decide(ContentClass::UnknownParts, at(), "segment not needed to draw the image")?,
        };
        if keep {
            out.extend_from_slice(rewritten.as_deref().unwrap_or(segment));
        }
        pos = end;
        if code == 0xDA {
            if size.is_none() {
                return Err(Failure::invalid(format!("scan before the frame header: {}", at())));
            }
            let scan_end =
                entropy_end(data, pos).ok_or_else(|| Failure::invalid("truncated: the last scan has no end"))?;
            out.extend_from_slice(&data[pos..scan_end]);
            pos = scan_end;
            scans += 1;
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    if pos < data.len() {
        run.repair(Disposition::Removed, "after EOI", format!("{} bytes after the EOI marker", data.len() - pos))?;
    }
    let (Some((width, height)), 1..) = (size, scans) else {
        return Err(Failure::invalid("no frame header or no scan"));
    };
    Ok(Walked { data: out, width, height, orientation, frames: 1 })
}

/// Where the entropy-coded data that starts at `pos` ends: at the first 0xFF
/// that is not a stuffed 0xFF00 or a restart marker. `None` when the data
/// runs to the end of the file.
fn entropy_end(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match data.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 => pos += 2,
            _ => return Some(pos),
        }
    }
}
