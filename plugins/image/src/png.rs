//! PNG (and APNG): a chunk walk.
//!
//! Kept: the chunks that draw the picture (IHDR, PLTE, IDAT, IEND, the APNG
//! acTL/fcTL/fdAT) and the ones that set its colours (tRNS, gAMA, cHRM,
//! sRGB, iCCP, sBIT, bKGD, pHYs, cICP, mDCv, cLLi). Metadata (tEXt, zTXt,
//! iTXt — XMP lives there —, eXIf, tIME) and every other chunk go by policy.
//! Always repaired: bad CRCs (recomputed on kept chunks), colour chunks after
//! the image data, a second IHDR, and anything after IEND.

use sekisho_plugin_sdk::{ContentClass, Disposition, Failure};

use crate::tiff::Exif;
use crate::{Run, Walked, be32, check_dimensions, quoted};

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Chunks that draw the picture or set its colours.
const IMAGE: [&[u8; 4]; 18] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs",
    b"cICP", b"mDCv", b"cLLi", b"acTL", b"fcTL", b"fdAT",
];

/// Chunks the specification places before the first IDAT.
const BEFORE_IDAT: [&[u8; 4]; 12] =
    [b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"cICP", b"mDCv", b"acTL"];

/// Rebuilds a PNG from its kept chunks.
pub fn walk(data: &[u8], run: &mut Run) -> Result<Walked, Failure> {
    if !data.starts_with(SIGNATURE) {
        return Err(Failure::invalid("no PNG signature"));
    }
    let mut out = SIGNATURE.to_vec();
    let mut pos = SIGNATURE.len();
    let mut size = None;
    let (mut seen_idat, mut frames, mut orientation) = (false, 1, 1);
    loop {
        run.next_part()?;
        let start = pos;
        let length = be32(data, pos).ok_or_else(|| Failure::invalid(format!("truncated: no IEND (offset {pos})")))?;
        let body = pos + 8;
        let end = usize::try_from(length)
            .ok()
            .filter(|_| length <= i32::MAX as u32)
            .and_then(|n| body.checked_add(n))
            .filter(|end| end.checked_add(4).is_some_and(|e| e <= data.len()));
        let Some(end) = end else {
            return Err(Failure::invalid(format!("truncated: the chunk at offset {pos} runs past the end")));
        };
        let kind: &[u8; 4] = data[pos + 4..body].try_into().map_err(|_| Failure::invalid("chunk type"))?;
        let content = &data[body..end];
        let at = || format!("{} chunk at offset {start}", quoted(kind));
        let crc = be32(data, end).unwrap_or_default();
        pos = end + 4;

        let keep = match (size, kind) {
            (None, b"IHDR") if content.len() == 13 => {
                let (width, height) = (be32(content, 0).unwrap_or(0), be32(content, 4).unwrap_or(0));
                check_dimensions(width, height)?;
                size = Some((width, height));
                true
            }
            (None, _) => return Err(Failure::invalid(format!("the first chunk is the {}, not a valid IHDR", at()))),
            (Some(_), b"IHDR") => {
                run.repair(Disposition::Removed, at(), "second IHDR chunk")?;
                false
            }
            _ if IMAGE.contains(&kind) => {
                let misplaced = seen_idat && BEFORE_IDAT.contains(&kind);
                if misplaced {
                    run.repair(Disposition::Removed, at(), "colour or palette chunk after the image data")?;
                }
                !misplaced
            }
            (_, b"tEXt" | b"zTXt" | b"iTXt") => {
                let keyword = content.split(|&b| b == 0).next().unwrap_or_default();
                let xmp = keyword == b"XML:com.adobe.xmp";
                let detail = if xmp { "XMP packet".to_owned() } else { format!("text chunk {}", quoted(keyword)) };
                run.decide(ContentClass::Metadata, at(), detail)?
            }
            (_, b"eXIf") => {
                let exif = Exif::read(content);
                let keep = run.decide(ContentClass::Metadata, at(), exif.detail)?;
                if !keep && orientation == 1 {
                    orientation = exif.orientation;
                }
                keep
            }
            (_, b"tIME") => run.decide(ContentClass::Metadata, at(), "last-modification time")?,
            _ => run.decide(ContentClass::UnknownParts, at(), "chunk not needed to draw the image")?,
        };
        match kind {
            b"IDAT" => seen_idat = true,
            b"acTL" if keep => frames = be32(content, 0).unwrap_or(1).max(1),
            _ => {}
        }
        if keep {
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(kind);
            hasher.update(content);
            let computed = hasher.finalize();
            if computed != crc {
                run.repair(Disposition::Neutralized, at(), "bad CRC recomputed")?;
            }
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(content);
            out.extend_from_slice(&computed.to_be_bytes());
        }
        if kind == b"IEND" {
            break;
        }
    }
    if pos < data.len() {
        run.repair(Disposition::Removed, "after IEND", format!("{} bytes after the IEND chunk", data.len() - pos))?;
    }
    let (Some((width, height)), true) = (size, seen_idat) else {
        return Err(Failure::invalid("no IDAT chunk"));
    };
    Ok(Walked { data: out, width, height, orientation, frames })
}
