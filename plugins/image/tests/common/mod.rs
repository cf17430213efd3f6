//! Helpers shared by the image plugin's tests: running the plugin, reading
//! back what it wrote, and checking that no metadata and nothing after the
//! end marker survived.

#![allow(dead_code)]

use std::io::Cursor;

use sekisho_plugin_sdk::{Action, Failure, Policy, Rebuilt};

/// The default policy: every class sanitized, structural mode.
pub fn structural() -> Policy {
    Policy::uniform(Action::Sanitize)
}

/// Every class sanitized, re-encode mode.
pub fn reencode() -> Policy {
    structural().with_option("image-mode", "re-encode")
}

/// Runs the plugin on `data`.
pub fn run(format: &str, data: &[u8], policy: &Policy) -> Result<(Vec<u8>, Rebuilt), Failure> {
    let mut out = Vec::new();
    let rebuilt =
        sekisho_image::sanitize(format, Cursor::new(data), &mut out, policy, &mut sekisho_plugin_sdk::RefuseAll)?;
    Ok((out, rebuilt))
}

/// The host's format id, from the magic bytes.
pub fn format_of(data: &[u8]) -> Option<&'static str> {
    Some(match data {
        [0x89, b'P', b'N', b'G', ..] => "png",
        [0xFF, 0xD8, 0xFF, ..] => "jpeg",
        [b'G', b'I', b'F', b'8', ..] => "gif",
        [b'I', b'I', b'*', 0, ..] | [b'M', b'M', 0, b'*', ..] => "tiff",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "webp",
        [b'B', b'M', ..] => "bmp",
        _ => return None,
    })
}

/// Decodes with the `image` crate: dimensions as displayed (EXIF orientation applied).
pub fn displayed_size(data: &[u8]) -> Result<(u32, u32), String> {
    use image::ImageDecoder;
    let reader = image::ImageReader::new(Cursor::new(data)).with_guessed_format().map_err(|e| e.to_string())?;
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let turned = decoder.orientation().map_err(|e| e.to_string())?.to_exif() >= 5;
    let image = image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    let (w, h) = (image.width(), image.height());
    Ok(if turned { (h, w) } else { (w, h) })
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The chunk types of a PNG, checking that IEND ends the file.
pub fn png_chunks(data: &[u8]) -> Vec<String> {
    let mut pos = 8;
    let mut kinds = Vec::new();
    while pos + 12 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&data[pos + 4..pos + 8]).into_owned());
        pos += 12 + len;
    }
    assert_eq!(pos, data.len(), "PNG chunks do not end at the end of the file");
    kinds
}

/// The markers of a JPEG (entropy data skipped), checking that EOI ends the file.
pub fn jpeg_markers(data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut markers = Vec::new();
    let mut pos = 2;
    loop {
        assert_eq!(data[pos], 0xFF, "no marker at {pos}");
        let code = data[pos + 1];
        if code == 0xD9 {
            assert_eq!(pos + 2, data.len(), "data after EOI");
            return markers;
        }
        let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
        markers.push((code, data[pos + 4..(pos + 2 + len).min(data.len())].to_vec()));
        pos += 2 + len;
        if code == 0xDA {
            while data[pos] != 0xFF || matches!(data[pos + 1], 0x00 | 0xD0..=0xD7) {
                pos += 1;
            }
        }
    }
}

/// The extension labels of a GIF, checking that the trailer ends the file.
pub fn gif_extensions(data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let packed = data[10];
    let mut pos = 13 + if packed & 0x80 != 0 { 3 << ((packed & 7) + 1) } else { 0 };
    let mut extensions = Vec::new();
    let skip_blocks = |mut pos: usize| {
        while data[pos] != 0 {
            pos += 1 + data[pos] as usize;
        }
        pos + 1
    };
    loop {
        match data[pos] {
            0x3B => {
                assert_eq!(pos + 1, data.len(), "data after the GIF trailer");
                return extensions;
            }
            0x2C => {
                let local = data[pos + 9];
                let table = if local & 0x80 != 0 { 3 << ((local & 7) + 1) } else { 0 };
                pos = skip_blocks(pos + 10 + table + 1);
            }
            0x21 => {
                let first = data[pos + 3..pos + 3 + data[pos + 2] as usize].to_vec();
                extensions.push((data[pos + 1], first));
                pos = skip_blocks(pos + 2);
            }
            other => panic!("unexpected GIF block 0x{other:02X}"),
        }
    }
}

/// The chunk types of a WebP, checking the RIFF size.
pub fn webp_chunks(data: &[u8]) -> Vec<String> {
    let riff = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    assert_eq!(riff + 8, data.len(), "RIFF size and file size differ");
    let mut pos = 12;
    let mut kinds = Vec::new();
    while pos < data.len() {
        let len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&data[pos..pos + 4]).into_owned());
        pos += 8 + len + len % 2;
    }
    kinds
}

/// Asserts that an output of `format` holds no metadata (EXIF, XMP, IPTC,
/// comments, text chunks) and nothing after its end marker.
pub fn assert_clean(label: &str, format: &str, data: &[u8]) {
    assert_eq!(format_of(data), Some(format), "{label}: output is not {format}");
    for needle in [&b"Exif\0\0"[..], b"http://ns.adobe.com/xap", b"<x:xmpmeta", b"Photoshop 3.0", b"XMP DataXMP"] {
        assert!(!find(data, needle), "{label}: {} survived", String::from_utf8_lossy(needle));
    }
    match format {
        "png" => {
            for kind in png_chunks(data) {
                assert!(
                    [
                        "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "bKGD", "pHYs",
                        "acTL", "fcTL", "fdAT"
                    ]
                    .contains(&kind.as_str()),
                    "{label}: PNG chunk {kind} survived"
                );
            }
        }
        "jpeg" => {
            for (code, payload) in jpeg_markers(data) {
                let app_ok = match code {
                    0xE0 => payload.starts_with(b"JFIF\0") && payload.len() == 14 && payload[12..14] == [0, 0],
                    0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
                    0xEE => payload.starts_with(b"Adobe"),
                    0xE1..=0xEF | 0xFE => false,
                    _ => true,
                };
                assert!(app_ok, "{label}: JPEG segment 0x{code:02X} survived");
            }
        }
        "gif" => {
            for (label_byte, first) in gif_extensions(data) {
                let ok = label_byte == 0xF9
                    || (label_byte == 0xFF && matches!(&first[..], b"NETSCAPE2.0" | b"ANIMEXTS1.0" | b"ICCRGBG1012"));
                assert!(ok, "{label}: GIF extension 0x{label_byte:02X} survived");
            }
        }
        "webp" => {
            for kind in webp_chunks(data) {
                assert!(
                    ["VP8X", "VP8 ", "VP8L", "ALPH", "ICCP", "ANIM", "ANMF"].contains(&kind.as_str()),
                    "{label}: WebP chunk {kind} survived"
                );
            }
        }
        "bmp" => {
            let size = u32::from_le_bytes(data[2..6].try_into().unwrap()) as usize;
            assert_eq!(size, data.len(), "{label}: BMP size field and file size differ");
        }
        _ => {}
    }
}
