//! BMP: the file is rebuilt from the sizes its header states.
//!
//! Kept: the DIB header, the bit masks, the palette, the pixel array (or the
//! RLE data) and an embedded ICC profile (BITMAPV5HEADER), laid out again
//! without gaps. A linked profile names a file on the reader's machine: it
//! goes by the external-links policy. Bytes between the palette and the
//! pixels, and after the pixels, are not copied.

use sekisho_plugin_sdk::{ContentClass, Disposition, Failure};

use crate::{Run, Walked, check_dimensions, le16, le32, quoted};

/// Colour-space types of a BITMAPV5HEADER (the bytes of 'MBED', 'LINK', 'sRGB').
const PROFILE_EMBEDDED: u32 = 0x4D42_4544;
const PROFILE_LINKED: u32 = 0x4C49_4E4B;
const SRGB: u32 = 0x7352_4742;

/// Offsets of the V5 colour-space type, profile offset and profile size in the file.
const CS_TYPE: usize = 14 + 56;
const PROFILE_DATA: usize = 14 + 112;
const PROFILE_SIZE: usize = 14 + 116;

/// Rebuilds a BMP from its header, palette, pixels and profile.
pub fn walk(data: &[u8], run: &mut Run) -> Result<Walked, Failure> {
    let truncated = |what: &str| Failure::invalid(format!("truncated: the {what} runs past the end"));
    if !data.starts_with(b"BM") {
        return Err(Failure::invalid("no BM signature"));
    }
    let (Some(pixel_offset), Some(dib)) = (le32(data, 10), le32(data, 14)) else {
        return Err(truncated("file header"));
    };
    let header_end = 14 + usize::try_from(dib).unwrap_or(usize::MAX).min(data.len());
    let header = data.get(..header_end).filter(|_| header_end >= 26).ok_or_else(|| truncated("DIB header"))?;
    let (width, height, bpp, compression, colours) = match dib {
        12 => (le16(data, 18).map(i32::from), le16(data, 20).map(i32::from), le16(data, 24), Some(0), Some(0)),
        40 | 52 | 56 | 108 | 124 => {
            let signed = |at| le32(data, at).map(|v| v as i32);
            (signed(18), signed(22), le16(data, 28), le32(data, 30), le32(data, 46))
        }
        other => return Err(Failure::unsupported(format!("BMP with a {other}-byte header"))),
    };
    let (Some(width), Some(height), Some(bpp), Some(compression), Some(colours)) =
        (width, height, bpp, compression, colours)
    else {
        return Err(truncated("DIB header"));
    };
    let (width, rows) = (u32::try_from(width).unwrap_or(0), height.unsigned_abs());
    check_dimensions(width, rows)?;

    let masks = match (dib, compression) {
        (40, 3) => 12,
        (40, 6) => 16,
        _ => 0,
    };
    let palette_entries = match (bpp, colours) {
        (1 | 4 | 8, 0) => 1 << bpp,
        (1 | 4 | 8, n) if n > 1 << bpp => {
            return Err(Failure::invalid(format!("{n} palette entries for {bpp} bits per pixel")));
        }
        (_, n) => n as usize,
    };
    let palette_end = palette_entries
        .checked_mul(if dib == 12 { 3 } else { 4 })
        .and_then(|n| n.checked_add(header_end + masks))
        .filter(|&end| end <= data.len())
        .ok_or_else(|| truncated("palette"))?;
    let pixel_offset = usize::try_from(pixel_offset).unwrap_or(usize::MAX);
    if pixel_offset < palette_end {
        return Err(Failure::invalid(format!("the pixel data (offset {pixel_offset}) overlaps the header")));
    }
    let pixel_bytes = match compression {
        0 | 3 | 6 => {
            let stride = (u64::from(width) * u64::from(bpp)).div_ceil(32) * 4;
            usize::try_from(stride * u64::from(rows)).unwrap_or(usize::MAX)
        }
        1 | 2 => match le32(data, 34).and_then(|n| usize::try_from(n).ok()) {
            Some(0) | None => data.len().saturating_sub(pixel_offset),
            Some(n) => n,
        },
        4 | 5 => return Err(Failure::unsupported("BMP holding a JPEG or PNG stream")),
        other => return Err(Failure::invalid(format!("unknown BMP compression {other}"))),
    };
    let pixel_end = pixel_offset
        .checked_add(pixel_bytes)
        .filter(|&end| end <= data.len())
        .ok_or_else(|| truncated("pixel data"))?;

    let mut dib_header = header[14..].to_vec();
    let mut profile: &[u8] = &[];
    let mut profile_end = 0;
    if dib == 124 {
        let cs_type = le32(data, CS_TYPE).unwrap_or(0);
        let start = le32(data, PROFILE_DATA).and_then(|n| usize::try_from(n).ok()).map(|n| 14 + n);
        let size = le32(data, PROFILE_SIZE).and_then(|n| usize::try_from(n).ok());
        let found =
            start.zip(size).and_then(|(s, n)| Some((s, s.checked_add(n)?))).filter(|&(_, end)| end <= data.len());
        let keep = match (cs_type, found) {
            (PROFILE_EMBEDDED, Some(_)) => true,
            (PROFILE_LINKED, Some((s, end))) => {
                let detail = format!("linked colour profile {}", quoted(&data[s..end]));
                run.decide(ContentClass::ExternalLinks, "BITMAPV5HEADER profile", detail)?
            }
            (PROFILE_EMBEDDED | PROFILE_LINKED, None) => return Err(truncated("colour profile")),
            _ => false,
        };
        profile_end = found.map_or(0, |(_, end)| end);
        if let (true, Some((s, end))) = (keep, found) {
            profile = &data[s..end];
        } else if cs_type == PROFILE_LINKED {
            dib_header[CS_TYPE - 14..CS_TYPE - 10].copy_from_slice(&SRGB.to_le_bytes());
        }
    }
    let new_pixel_offset = palette_end;
    let total = new_pixel_offset + pixel_bytes + profile.len();
    if dib == 124 {
        let profile_at = if profile.is_empty() { 0 } else { new_pixel_offset + pixel_bytes - 14 };
        dib_header[PROFILE_DATA - 14..PROFILE_DATA - 10].copy_from_slice(&field(profile_at)?);
        dib_header[PROFILE_SIZE - 14..PROFILE_SIZE - 10].copy_from_slice(&field(profile.len())?);
    }

    if data[6..10] != [0; 4] {
        run.repair(Disposition::Neutralized, "file header", "reserved bytes cleared")?;
    }
    if pixel_offset > palette_end {
        let detail = format!("{} bytes between the palette and the pixel data", pixel_offset - palette_end);
        run.repair(Disposition::Removed, format!("offset {palette_end}"), detail)?;
    }
    let trailing = data.len().saturating_sub(pixel_end.max(profile_end));
    if trailing > 0 {
        run.repair(Disposition::Removed, "after the pixel data", format!("{trailing} bytes after the image data"))?;
    }

    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&field(total)?);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&field(new_pixel_offset)?);
    out.extend_from_slice(&dib_header);
    out.extend_from_slice(&data[header_end..palette_end]);
    out.extend_from_slice(&data[pixel_offset..pixel_end]);
    out.extend_from_slice(profile);
    Ok(Walked { data: out, width, height: rows, orientation: 1, frames: 1 })
}

/// A 32-bit little-endian header field.
fn field(value: usize) -> Result<[u8; 4], Failure> {
    u32::try_from(value).map(u32::to_le_bytes).map_err(|_| Failure::limit("BMP larger than 4 GiB"))
}
