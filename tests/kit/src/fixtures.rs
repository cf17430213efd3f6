//! Small files generated in memory, the same bytes on every run: CSV with
//! DDE cells, ZIP archives (traversal names, a broken central directory),
//! e-mail with an attachment, HTML with scripts, pictures.

use std::io::{Cursor, Write};

/// The DDE payload every formula cell of [`csv_dde`] carries.
pub const DDE_PAYLOAD: &str = "cmd|' /C calc.exe'!A0";

/// A CSV whose cells start formulas that run `calc.exe` through DDE, in
/// each way a spreadsheet accepts (`=`, `+`, `-`, `@`), beside ordinary
/// cells and a plain negative number, which is not a formula.
pub fn csv_dde() -> Vec<u8> {
    let p = DDE_PAYLOAD;
    format!(
        "item,quantity,price\r\n\
         apple,3,-12.5\r\n\
         ={p},1,0\r\n\
         pear,+1+{p},0\r\n\
         plum,2,\"-2+3+{p}\"\r\n\
         \"@SUM(1+1)*{p}\",4,0\r\n"
    )
    .into_bytes()
}

/// The number of formula cells in [`csv_dde`].
pub const CSV_DDE_FORMULAS: usize = 4;

/// Options that make a ZIP member the same bytes on every run.
fn member_options(method: zip::CompressionMethod) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().compression_method(method).last_modified_time(zip::DateTime::default())
}

/// A ZIP archive of (name, bytes) members, deflated, in order. Names are
/// written as given, `..` and all.
pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        writer.start_file(*name, member_options(zip::CompressionMethod::Deflated)).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The unsafe member names of [`zip_traversal`].
pub const TRAVERSAL_NAMES: [&str; 3] = ["../evil.txt", "/abs.txt", "..\\win.txt"];

/// An archive whose members would land outside the extraction folder:
/// a parent reference, an absolute path, a Windows parent reference,
/// beside one safe member.
pub fn zip_traversal() -> Vec<u8> {
    zip(&[
        ("readme.txt", b"a safe member\n"),
        (TRAVERSAL_NAMES[0], b"escapes upwards\n"),
        (TRAVERSAL_NAMES[1], b"absolute path\n"),
        (TRAVERSAL_NAMES[2], b"escapes upwards on Windows\n"),
    ])
}

/// An archive whose end-of-central-directory record claims a central
/// directory larger than the whole file and starting past its end, the
/// kind of defect of rubyzip's `zipWithTooBigCDirSizeField.zip`: no reader
/// can find its entries.
pub fn zip_with_broken_central_directory() -> Vec<u8> {
    let mut data = zip(&[("a.txt", b"first\n"), ("b.txt", b"second\n")]);
    let eocd = data.windows(4).rposition(|w| w == b"PK\x05\x06").expect("an end of central directory record");
    // Offsets 12 and 16 of the record: size and offset of the central directory.
    data[eocd + 12..eocd + 16].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
    data[eocd + 16..eocd + 20].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
    data
}

/// Base64 with line breaks every 76 characters, as MIME writes it.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, group) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = group.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for k in 0..4 {
            out.push(if k <= group.len() { ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// A multipart message with a text body and one base64 attachment.
pub fn eml_with_attachment(subject: &str, body: &str, name: &str, content_type: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.jp>\r\nTo: receiver@example.jp\r\nSubject: {subject}\r\n\
         Date: Mon, 1 Apr 2024 09:00:00 +0900\r\nMessage-ID: <fixture-1@example.jp>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"sekisho-fixture\"\r\n\r\n\
         --sekisho-fixture\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {body}\r\n\
         --sekisho-fixture\r\nContent-Type: {content_type}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {}\r\n--sekisho-fixture--\r\n",
        base64(data)
    )
    .into_bytes()
}

/// A small e-mail carrying the macro document of [`crate::office::docm`].
pub fn eml_with_docm() -> Vec<u8> {
    eml_with_attachment(
        "Report",
        "Please find the report attached.",
        "report.docm",
        "application/vnd.ms-word.document.macroEnabled.12",
        &crate::office::docm("Quarterly report"),
    )
}

/// An HTML page with the usual XSS payloads around some text.
pub fn html_with_scripts() -> Vec<u8> {
    concat!(
        "<!DOCTYPE html><html><head><title>Payloads</title>",
        "<script>alert('head')</script></head><body>",
        "<h1>Visible heading</h1><p>Visible text.</p>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(2)\">link</a>",
        "<svg onload=alert(3)><script>alert(4)</script></svg>",
        "<iframe src=\"javascript:alert(5)\"></iframe>",
        "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
        "</body></html>\n"
    )
    .as_bytes()
    .to_vec()
}

/// A picture with smooth gradients, so that encoders have work to do.
fn gradient(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, ((x + y) % 256) as u8])
    })
}

/// A baseline JPEG of `width` by `height` pixels, no metadata.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(gradient(width, height)).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A PNG of `width` by `height` pixels, no metadata.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(gradient(width, height)).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// [`jpeg`] with a comment segment (`COM`) after its start marker.
pub fn jpeg_with_comment(width: u32, height: u32, comment: &str) -> Vec<u8> {
    let plain = jpeg(width, height);
    let mut segment = vec![0xFF, 0xFE];
    segment.extend(((comment.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(comment.as_bytes());
    [&plain[..2], &segment, &plain[2..]].concat()
}

/// Width and height of a picture that decodes, `None` when it does not.
pub fn picture_size(data: &[u8]) -> Option<(u32, u32)> {
    image::load_from_memory(data).ok().map(|picture| (picture.width(), picture.height()))
}

/// [`png`] with a `tEXt` chunk after its header (`keyword`, `text`): the
/// place where photo tools and phones leave comments and positions.
pub fn png_with_text(width: u32, height: u32, keyword: &str, text: &str) -> Vec<u8> {
    let plain = png(width, height);
    // Signature (8) and the IHDR chunk (4 + 4 + 13 + 4).
    let (head, rest) = plain.split_at(33);
    let mut data = keyword.as_bytes().to_vec();
    data.push(0);
    data.extend_from_slice(text.as_bytes());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc32fast::hash(&chunk[4..]).to_be_bytes());
    [head, &chunk, rest].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_deterministic() {
        assert_eq!(zip_traversal(), zip_traversal());
        assert_eq!(jpeg(16, 8), jpeg(16, 8));
        assert_eq!(eml_with_docm(), eml_with_docm());
    }

    #[test]
    fn traversal_names_are_written_as_given() {
        let archive = zip::ZipArchive::new(Cursor::new(zip_traversal())).unwrap();
        let names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
        for name in TRAVERSAL_NAMES {
            assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
        }
    }

    #[test]
    fn the_broken_central_directory_is_refused_by_a_reader() {
        assert!(zip::ZipArchive::new(Cursor::new(zip_with_broken_central_directory())).is_err());
    }

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64(b"Cat"), "Q2F0");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
