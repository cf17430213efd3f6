//! TIFF structures: TIFF files, and the EXIF blocks of JPEG, PNG and WebP
//! (an EXIF block is a small TIFF file).
//!
//! A TIFF keeps its image data behind offsets spread over its IFDs, so it is
//! not rebuilt structurally: this walk only reads the first IFD for the
//! dimensions (bomb check), the orientation and the tags that will not be
//! carried over, and the file is re-encoded from its first image in both modes.
//! For EXIF blocks it tells what the block holds (GPS, maker notes, a
//! thumbnail) and the orientation. Every read is bounds-checked; a broken
//! EXIF block is reported as such and never fails the file (it is dropped).

use sekisho_plugin_sdk::{ContentClass, Failure};

use crate::{Run, Walked, check_dimensions};

/// Tags that describe the author, the device, the place or the document
/// rather than the pixels.
const METADATA: [(u16, &str); 23] = [
    (269, "DocumentName"),
    (270, "ImageDescription"),
    (271, "Make"),
    (272, "Model"),
    (285, "PageName"),
    (305, "Software"),
    (306, "DateTime"),
    (315, "Artist"),
    (316, "HostComputer"),
    (330, "SubIFDs (preview images)"),
    (700, "XMP"),
    (33432, "Copyright"),
    (33723, "IPTC"),
    (34377, "Photoshop image resources"),
    (34665, "EXIF IFD"),
    (34853, "GPS IFD"),
    (37724, "Photoshop layers (ImageSourceData)"),
    (40091, "XPTitle"),
    (40092, "XPComment"),
    (40093, "XPAuthor"),
    (40094, "XPKeywords"),
    (40095, "XPSubject"),
    (50341, "PrintIM"),
];

/// Tags that describe the pixels: read by the decoder, or rewritten by the encoder.
const PIXELS: [u16; 43] = [
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284, 286, 287, 290, 291,
    292, 293, 296, 301, 317, 318, 319, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 530, 531, 34675,
];

/// One IFD entry: tag, field type, count and where its 4-byte value field is.
struct Entry {
    tag: u16,
    kind: u16,
    value_at: usize,
}

/// A TIFF structure over borrowed bytes.
struct Tiff<'a> {
    data: &'a [u8],
    big_endian: bool,
    first_ifd: u32,
}

impl<'a> Tiff<'a> {
    fn parse(data: &'a [u8]) -> Option<Tiff<'a>> {
        let big_endian = match data.get(..4)? {
            b"II*\0" => false,
            b"MM\0*" => true,
            _ => return None,
        };
        let mut tiff = Tiff { data, big_endian, first_ifd: 0 };
        tiff.first_ifd = tiff.u32(4)?;
        Some(tiff)
    }

    fn u16(&self, at: usize) -> Option<u16> {
        if self.big_endian { crate::be16(self.data, at) } else { crate::le16(self.data, at) }
    }

    fn u32(&self, at: usize) -> Option<u32> {
        if self.big_endian { crate::be32(self.data, at) } else { crate::le32(self.data, at) }
    }

    /// The entries of the IFD at `offset` and the offset of the next IFD (0: none).
    fn ifd(&self, offset: u32) -> Option<(Vec<Entry>, u32)> {
        let at = usize::try_from(offset).ok()?;
        let count = usize::from(self.u16(at)?);
        let entries = (0..count)
            .map(|i| {
                let e = at + 2 + 12 * i;
                Some(Entry { tag: self.u16(e)?, kind: self.u16(e + 2)?, value_at: e + 8 })
            })
            .collect::<Option<Vec<_>>>()?;
        Some((entries, self.u32(at + 2 + 12 * count)?))
    }

    /// The first value of a SHORT or LONG entry.
    fn value(&self, entry: &Entry) -> Option<u32> {
        match entry.kind {
            3 => self.u16(entry.value_at).map(u32::from),
            4 => self.u32(entry.value_at),
            _ => None,
        }
    }

    fn find(&self, entries: &[Entry], tag: u16) -> Option<u32> {
        entries.iter().find(|e| e.tag == tag).and_then(|e| self.value(e))
    }
}

/// Orientation (1–8) from a tag value; anything else counts as upright.
fn orientation(value: Option<u32>) -> u8 {
    value.and_then(|v| u8::try_from(v).ok()).filter(|v| (1..=8).contains(v)).unwrap_or(1)
}

/// What an EXIF block holds, for the report, and its orientation.
pub(crate) struct Exif {
    pub orientation: u8,
    pub detail: String,
}

impl Exif {
    /// Reads an EXIF block (with or without its `Exif\0\0` prefix).
    pub fn read(block: &[u8]) -> Exif {
        let block = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
        let Some((tiff, (ifd0, next))) = Tiff::parse(block).and_then(|t| t.ifd(t.first_ifd).map(|ifd| (t, ifd))) else {
            return Exif { orientation: 1, detail: format!("unreadable EXIF block ({} bytes)", block.len()) };
        };
        let maker_notes = tiff
            .find(&ifd0, 34665)
            .and_then(|offset| tiff.ifd(offset))
            .is_some_and(|(exif_ifd, _)| exif_ifd.iter().any(|e| e.tag == 37500));
        let mut holds = Vec::new();
        if ifd0.iter().any(|e| e.tag == 34853) {
            holds.push("GPS tags".to_owned());
        }
        if maker_notes {
            holds.push("maker notes".to_owned());
        }
        if next != 0 {
            holds.push("a thumbnail".to_owned());
        }
        let orientation = orientation(tiff.find(&ifd0, 274));
        if orientation != 1 {
            holds.push(format!("orientation {orientation}"));
        }
        let mut detail = format!("EXIF block ({} bytes", block.len());
        if !holds.is_empty() {
            detail += &format!(": {}", holds.join(", "));
        }
        Exif { orientation, detail: detail + ")" }
    }
}

/// Reads a TIFF file's first IFD and records what the re-encode leaves out;
/// the file goes on whole to be decoded.
pub fn walk(data: &[u8], run: &mut Run) -> Result<Walked, Failure> {
    if data.starts_with(b"II+\0") || data.starts_with(b"MM\0+") {
        return Err(Failure::unsupported("BigTIFF"));
    }
    let tiff = Tiff::parse(data).ok_or_else(|| Failure::invalid("no TIFF header"))?;
    let (ifd0, mut next) = tiff
        .ifd(tiff.first_ifd)
        .ok_or_else(|| Failure::invalid(format!("the first IFD (offset {}) is outside the file", tiff.first_ifd)))?;
    let (Some(width), Some(height)) = (tiff.find(&ifd0, 256), tiff.find(&ifd0, 257)) else {
        return Err(Failure::invalid("the first IFD has no ImageWidth or ImageLength"));
    };
    check_dimensions(width, height)?;
    let mut unknown = Vec::new();
    for entry in &ifd0 {
        run.next_part()?;
        if let Some((_, name)) = METADATA.iter().find(|(tag, _)| *tag == entry.tag) {
            run.decide(ContentClass::Metadata, format!("IFD0 tag {}", entry.tag), *name)?;
        } else if !PIXELS.contains(&entry.tag) {
            unknown.push(entry.tag.to_string());
        }
    }
    if !unknown.is_empty() {
        run.decide(ContentClass::UnknownParts, "IFD0", format!("tags {} not carried over", unknown.join(", ")))?;
    }
    // Further IFDs are pages or previews; a broken chain only ends the count.
    let mut seen = vec![tiff.first_ifd];
    while next != 0 && !seen.contains(&next) {
        run.next_part()?;
        seen.push(next);
        match tiff.ifd(next) {
            Some((_, after)) => next = after,
            None => break,
        }
    }
    if seen.len() > 1 {
        let detail = format!("{} further image(s) (pages or previews): the re-encode keeps the first", seen.len() - 1);
        run.decide(ContentClass::UnknownParts, "IFD chain", detail)?;
    }
    let orientation = orientation(tiff.find(&ifd0, 274));
    Ok(Walked { data: data.to_vec(), width, height, orientation, frames: 1 })
}
