//! Detecting the real type of a file.
//!
//! **The rule.** A file that passes must be inert under every
//! interpretation a consumer may apply: its content as a sniffer reads it
//! (browsers follow the WHATWG MIME Sniffing Standard), and its name as an
//! operating system or a browser reads it (Windows runs a `.js` on a
//! double-click; a browser renders any `.html` as HTML). When content and
//! name disagree, the file is sanitized under the more dangerous reading, or
//! refused. So:
//! - the content decides the format, never the extension alone; binary
//!   signatures come first, then markup as WHATWG sniffing finds it
//!   (whitespace, comments and XML declarations skipped), then e-mail, then
//!   the signatures vendor plugins declare (which cannot take over a format
//!   the host knows), then text;
//! - text whose name claims markup (`.html`, `.svg`…) goes to the markup
//!   plugin, or is refused where none rebuilds that markup ([`markup_name`]);
//! - a name that an operating system or a script host runs is the
//!   `executables` class ([`executables`]), whatever the content;
//! - otherwise the extension only picks the dialect of text (CSV, TSV) and is
//!   checked against the content, a mismatch being a finding.
//!
//! ZIP containers are looked into, since a ZIP may be OOXML, ODF, EPUB or a
//! plain archive. The container inspection reads the central directory and
//! at most two small members; everything else about the file is parsed
//! inside the sandbox by its plugin.

pub mod executables;

use std::io::Read;

use crate::source::Source;

/// A format the host knows how to recognize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// Format id, e.g. "pdf".
    pub id: &'static str,
    /// Canonical media type.
    pub media_type: &'static str,
    /// Extensions without the dot, the first one canonical.
    pub extensions: &'static [&'static str],
}

const fn known(id: &'static str, media_type: &'static str, extensions: &'static [&'static str]) -> Known {
    Known { id, media_type, extensions }
}

/// Formats recognized by content, whether or not a plugin handles them yet.
pub const KNOWN: &[Known] = &[
    known("pdf", "application/pdf", &["pdf"]),
    known("zip", "application/zip", &["zip"]),
    known("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", &["docx", "dotx"]),
    known("docm", "application/vnd.ms-word.document.macroEnabled.12", &["docm", "dotm"]),
    known("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &["xlsx", "xltx"]),
    known("xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12", &["xlsm", "xltm"]),
    known("xlsb", "application/vnd.ms-excel.sheet.binary.macroEnabled.12", &["xlsb"]),
    known(
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        &["pptx", "ppsx", "potx"],
    ),
    known("pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12", &["pptm", "ppsm", "potm"]),
    known("odt", "application/vnd.oasis.opendocument.text", &["odt", "ott"]),
    known("ods", "application/vnd.oasis.opendocument.spreadsheet", &["ods", "ots"]),
    known("odp", "application/vnd.oasis.opendocument.presentation", &["odp", "otp"]),
    known("odg", "application/vnd.oasis.opendocument.graphics", &["odg", "otg"]),
    known("epub", "application/epub+zip", &["epub"]),
    known("ole2", "application/x-ole-storage", &["doc", "dot", "xls", "xlt", "ppt", "pps", "pot", "msg"]),
    // A password-protected OOXML document: the package encrypted inside a
    // compound file (MS-OFFCRYPTO). Extensions past the third have no
    // counterpart by position in the plain formats, so a `.docm` is named
    // `.docx` once rebuilt.
    known(
        "ooxml-encrypted",
        "application/x-ooxml-encrypted",
        &[
            "docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "dotx", "dotm", "xltx", "xltm", "potx", "potm", "ppsx",
            "ppsm",
        ],
    ),
    known("rtf", "application/rtf", &["rtf"]),
    known("png", "image/png", &["png"]),
    known("jpeg", "image/jpeg", &["jpg", "jpeg", "jpe"]),
    known("gif", "image/gif", &["gif"]),
    known("bmp", "image/bmp", &["bmp"]),
    known("tiff", "image/tiff", &["tif", "tiff"]),
    known("webp", "image/webp", &["webp"]),
    known("svg", "image/svg+xml", &["svg"]),
    known("html", "text/html", &["html", "htm", "xhtml"]),
    known("eml", "message/rfc822", &["eml"]),
    known("text", "text/plain", &["txt", "text", "log", "md"]),
    known("csv", "text/csv", &["csv"]),
    known("tsv", "text/tab-separated-values", &["tsv", "tab"]),
];

/// The built-in entry for a format id.
pub fn known_format(id: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.id == id)
}

/// A signature declared by a plugin for a format the host does not know.
#[derive(Debug, Clone)]
pub struct DeclaredMagic {
    /// The format id it identifies.
    pub format: String,
    /// Offset from the start of the file.
    pub offset: u64,
    /// The bytes expected there.
    pub bytes: Vec<u8>,
}

/// What plugins declare to recognize formats the host does not know:
/// bytes at offsets, a member of a plain ZIP archive, the root element of
/// an XML document. The host's own detection is tried first.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// Bytes at offsets.
    pub magic: Vec<DeclaredMagic>,
    /// (member name, format)
    pub zip_members: Vec<(String, String)>,
    /// (namespace, local name, format); an empty namespace matches any.
    pub xml_roots: Vec<(String, String, String)>,
}

/// Bytes of the head looked at for signatures.
const HEAD: usize = 8192;
/// Largest container member read during detection.
const MEMBER_PEEK: u64 = 256 * 1024;

/// Detects the format id of `source`. `name` (the file name, if any) picks
/// the text dialect and sends text named as markup to the markup plugin.
/// `declared` are plugin signatures, tried after the host's own detection
/// of binary formats, markup and e-mail, so a plugin cannot take over a
/// format the host knows.
pub fn detect(source: &Source, name: Option<&str>, declared: &Declared) -> Option<String> {
    let head = source.head(HEAD).ok()?;
    if let Some(id) = binary_signature(&head) {
        return Some(match id {
            "zip" => match zip_flavour(source) {
                "zip" => declared_zip_member(source, declared).unwrap_or_else(|| "zip".to_owned()),
                flavour => flavour.to_owned(),
            },
            "ole2" if encrypted_package(source) => "ooxml-encrypted".to_owned(),
            _ => id.to_owned(),
        });
    }
    if let Some(id) = markup(&head) {
        return Some(id.to_owned());
    }
    if let Some(format) = declared_xml_root(&head, declared) {
        return Some(format);
    }
    for magic in &declared.magic {
        let at = source.read_at(magic.offset, magic.bytes.len()).ok()?;
        if !magic.bytes.is_empty() && at == magic.bytes {
            return Some(magic.format.clone());
        }
    }
    if !looks_like_text(&head) {
        return None;
    }
    let dialect = text_dialect(name, &head);
    Some(match name.and_then(extension).as_deref().and_then(markup_name) {
        Some(MarkupName::Rebuilt(format)) => format.to_owned(),
        _ => dialect.to_owned(),
    })
}

/// The format of a plain ZIP archive holding a member a plugin declared.
fn declared_zip_member(source: &Source, declared: &Declared) -> Option<String> {
    if declared.zip_members.is_empty() {
        return None;
    }
    let archive = zip::ZipArchive::new(source.reader()).ok()?;
    let names: Vec<String> = archive.file_names().filter_map(Result::ok).map(|n| n.into_owned()).collect();
    declared.zip_members.iter().find(|(member, _)| names.contains(member)).map(|(_, f)| f.clone())
}

/// The format of an XML document whose root element a plugin declared:
/// the first element after the declaration, comments and a doctype.
fn declared_xml_root(head: &[u8], declared: &Declared) -> Option<String> {
    if declared.xml_roots.is_empty() {
        return None;
    }
    let mut reader = quick_xml::Reader::from_reader(head);
    let mut buffer = Vec::new();
    loop {
        match reader.read_event_into(&mut buffer).ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let qname = e.name();
                let local = qname.local_name().into_inner().to_owned();
                // The default namespace, or the one of the element's prefix.
                let wanted = match qname.prefix() {
                    Some(prefix) => format!("xmlns:{}", prefix.into_inner()),
                    None => "xmlns".to_owned(),
                };
                let namespace = e
                    .attributes()
                    .filter_map(Result::ok)
                    .find(|a| a.key.as_ref() == wanted.as_str())
                    .map(|a| a.value.into_owned())
                    .unwrap_or_default();
                return declared
                    .xml_roots
                    .iter()
                    .find(|(ns, name, _)| *name == local && (ns.is_empty() || *ns == namespace))
                    .map(|(_, _, format)| format.clone());
            }
            quick_xml::events::Event::Eof => return None,
            quick_xml::events::Event::Text(t) if !t.trim().is_empty() => return None,
            _ => {}
        }
        buffer.clear();
    }
}

/// What a name says about markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkupName {
    /// A browser renders it as this format, which a plugin rebuilds.
    Rebuilt(&'static str),
    /// A browser or a mail client renders it as markup that no plugin
    /// rebuilds (XML, MHTML): text under such a name is refused.
    Refused(&'static str),
}

/// The markup a browser reads a file named with this (lowercase)
/// extension as, whatever its content.
pub fn markup_name(extension: &str) -> Option<MarkupName> {
    Some(match extension {
        "html" | "htm" | "xhtml" | "xht" | "shtml" => MarkupName::Rebuilt("html"),
        "svg" => MarkupName::Rebuilt("svg"),
        "xml" => MarkupName::Refused("XML, which a browser renders (and runs XHTML scripts in)"),
        "mht" | "mhtml" => MarkupName::Refused("a web archive (MHTML), which a browser renders as a page"),
        _ => return None,
    })
}

fn binary_signature(head: &[u8]) -> Option<&'static str> {
    let starts = |sig: &[u8]| head.starts_with(sig);
    Some(match () {
        _ if find(&head[..head.len().min(1024)], b"%PDF-").is_some() => "pdf",
        _ if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") => "zip",
        _ if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) => "ole2",
        // Word opens anything that starts `{\rt`: so must the RTF plugin (which refuses what is not RTF).
        _ if starts(b"{\\rt") => "rtf",
        _ if starts(b"\x89PNG\r\n\x1a\n") => "png",
        _ if starts(&[0xFF, 0xD8, 0xFF]) => "jpeg",
        _ if starts(b"GIF87a") || starts(b"GIF89a") => "gif",
        _ if starts(b"II*\0") || starts(b"MM\0*") => "tiff",
        _ if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") => "webp",
        _ if starts(b"BM") && head.len() >= 26 && head[6..10] == [0, 0, 0, 0] => "bmp",
        _ => return None,
    })
}

/// A compound file holding an encrypted OOXML package: its root has the
/// `EncryptionInfo` and `EncryptedPackage` streams. Only the directory is
/// read; the package is decrypted by its plugin, in the sandbox.
fn encrypted_package(source: &Source) -> bool {
    cfb::CompoundFile::open(source.reader())
        .is_ok_and(|file| file.is_stream("/EncryptionInfo") && file.is_stream("/EncryptedPackage"))
}

/// What kind of ZIP: OOXML by its content types, ODF/EPUB by `mimetype`.
fn zip_flavour(source: &Source) -> &'static str {
    let Ok(mut archive) = zip::ZipArchive::new(source.reader()) else {
        return "zip";
    };
    if let Some(mimetype) = peek_member(&mut archive, "mimetype") {
        let mimetype = String::from_utf8_lossy(&mimetype);
        let mimetype = mimetype.trim();
        if let Some(k) = KNOWN.iter().find(|k| k.media_type == mimetype) {
            return k.id;
        }
        if let Some(k) = KNOWN.iter().find(|k| mimetype.starts_with(k.media_type) && k.id.starts_with("od")) {
            return k.id;
        }
    }
    if let Some(types) = peek_member(&mut archive, "[Content_Types].xml") {
        return ooxml_flavour(&String::from_utf8_lossy(&types).to_ascii_lowercase());
    }
    "zip"
}

/// The OOXML format from `[Content_Types].xml`: the family is the main
/// document part's (`….main+xml`: an embedded workbook's type elsewhere in
/// the list does not make a presentation a spreadsheet); a macro-enabled main
/// part or a VBA project anywhere makes it the macro-enabled format.
fn ooxml_flavour(types: &str) -> &'static str {
    let main = types
        .split("contenttype=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|ct| ct.contains(".main+xml") || ct.ends_with(".main"))
        .unwrap_or("");
    let macro_enabled = main.contains("macroenabled") || types.contains("vbaproject");
    let pick = |plain, with_macros| if macro_enabled { with_macros } else { plain };
    match () {
        _ if main.contains("sheet.binary") => "xlsb",
        _ if main.contains("wordprocessingml") || main.contains("ms-word") => pick("docx", "docm"),
        _ if main.contains("spreadsheetml") || main.contains("ms-excel") => pick("xlsx", "xlsm"),
        _ if main.contains("presentationml") || main.contains("ms-powerpoint") => pick("pptx", "pptm"),
        _ => "zip",
    }
}

fn peek_member<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>, name: &str) -> Option<Vec<u8>> {
    let member = archive.by_name(name).ok()?;
    let mut data = Vec::new();
    member.take(MEMBER_PEEK).read_to_end(&mut data).ok()?;
    Some(data)
}

/// SVG, HTML and e-mail, recognized from the first bytes of text.
///
/// Markup follows the WHATWG MIME Sniffing Standard ("identifying a
/// resource with an unknown MIME type"): whitespace is skipped, then the
/// HTML patterns are looked for, a comment being one of them. Comments and
/// XML declarations are also skipped to find an `<svg` root behind them.
fn markup(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(head);
    let mut rest = text.trim_start_matches('\u{feff}');
    let (mut skipped_comment, mut xml_declaration) = (false, false);
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        if rest.starts_with("<!--") {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    skipped_comment = true;
                }
                // WHATWG: `<!--` alone makes a page HTML.
                None => return Some("html"),
            }
        } else if rest.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("<?xml")) {
            // WHATWG: `<?xml` makes a resource XML, whatever comments follow.
            xml_declaration |= !skipped_comment;
            match rest.find("?>") {
                Some(end) => rest = &rest[end + 2..],
                None => break,
            }
        } else {
            break;
        }
    }
    let start: String = rest.chars().take(64).collect::<String>().to_ascii_lowercase();
    if start.starts_with("<svg") || start.starts_with("<!doctype svg") {
        return Some("svg");
    }
    // WHATWG's HTML patterns, each followed by a tag-terminating byte, and
    // `<meta` (which older detection accepted).
    const TAGS: [&str; 17] = [
        "!doctype html",
        "html",
        "head",
        "script",
        "iframe",
        "h1",
        "div",
        "font",
        "table",
        "a",
        "style",
        "title",
        "b",
        "body",
        "br",
        "p",
        "meta",
    ];
    let html = start.strip_prefix('<').is_some_and(|tag| {
        TAGS.iter().any(|t| {
            tag.strip_prefix(t).is_some_and(|after| after.starts_with([' ', '>', '\t', '\n', '\r', '\x0c', '/']))
        })
    });
    if html || (skipped_comment && !xml_declaration) {
        return Some("html");
    }
    is_mail(rest).then_some("eml")
}

/// An RFC 5322 message: a block of `Name: value` header lines, at least two
/// of them well-known mail headers.
fn is_mail(text: &str) -> bool {
    const MAIL_HEADERS: [&str; 11] = [
        "from",
        "to",
        "subject",
        "date",
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "delivered-to",
        "content-type",
        "reply-to",
    ];
    let mut known = 0;
    for (number, line) in text.lines().take(64).enumerate() {
        if line.is_empty() {
            break;
        }
        // Continuation lines, and the `From ` separator line of mbox files.
        if line.starts_with([' ', '\t']) || (number == 0 && line.starts_with("From ")) {
            continue;
        }
        // The first line that is not a header ends the header block (mail
        // readers then take it as the body, without the blank line).
        let name = line.split_once(':').map(|(name, _)| name).unwrap_or_default();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            if number == 0 {
                return false;
            }
            break;
        }
        let name = name.to_ascii_lowercase();
        // Transport headers only ever start a message.
        if known == 0 && matches!(name.as_str(), "received" | "return-path" | "delivered-to") {
            known += 1;
        }
        if MAIL_HEADERS.contains(&name.as_str()) {
            known += 1;
        }
    }
    known >= 2
}

/// Text in any charset has no NUL bytes, except UTF-16, which has a BOM or
/// zeros in every other byte (the text plugin decides the details).
fn looks_like_text(head: &[u8]) -> bool {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    if !head.contains(&0) {
        return true;
    }
    let even_pairs = head.len() / 2;
    let zeros_at = |parity: usize| head.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros_at(0), zeros_at(1));
    even_pairs >= 2 && ((even * 10 >= even_pairs * 7 && odd == 0) || (odd * 10 >= even_pairs * 7 && even == 0))
}

/// True for the formats of plain text (text, CSV, TSV): a table named
/// `.txt` is not a lying extension, and keeps it.
pub fn same_text_family(format: &str, ext: &str) -> bool {
    let text_formats = ["text", "csv", "tsv"];
    text_formats.contains(&format) && KNOWN.iter().any(|k| text_formats.contains(&k.id) && k.extensions.contains(&ext))
}

/// CSV or TSV by the name's extension; a file with no known name, or a
/// `.txt`, that looks delimited is a table too, since spreadsheets import
/// it as one (and evaluate its formulas).
fn text_dialect(name: Option<&str>, head: &[u8]) -> &'static str {
    match extension(name.unwrap_or("")).as_deref() {
        Some("csv") => "csv",
        Some("tsv" | "tab") => "tsv",
        None | Some("txt") => sniff_delimited(head).unwrap_or("text"),
        _ => "text",
    }
}

/// `tsv` or `csv` when the head has at least two records and every one
/// that is not blank has the same, non-zero number of tabs (or commas)
/// outside double quotes; a record may span lines inside quotes. The last
/// record is ignored when the head was cut short.
fn sniff_delimited(head: &[u8]) -> Option<&'static str> {
    if head.contains(&0) {
        return None;
    }
    let complete = if head.len() < HEAD { head } else { &head[..head.iter().rposition(|&b| b == b'\n')?] };
    for (delimiter, dialect) in [(b'\t', "tsv"), (b',', "csv")] {
        let mut counts = Vec::new();
        let (mut in_quotes, mut count, mut blank) = (false, 0usize, true);
        for &byte in complete.iter().chain(std::iter::once(&b'\n')) {
            match byte {
                b'\n' if !in_quotes => {
                    if !blank {
                        counts.push(count);
                    }
                    (count, blank) = (0, true);
                    continue;
                }
                b'"' => in_quotes = !in_quotes,
                b if b == delimiter && !in_quotes => count += 1,
                _ => {}
            }
            blank &= byte.is_ascii_whitespace() && byte != delimiter;
        }
        if counts.len() >= 2 && counts[0] > 0 && counts.iter().all(|&c| c == counts[0]) {
            return Some(dialect);
        }
    }
    None
}

/// The lowercase extension of a file name, without the dot, as Windows
/// reads it: an alternate data stream (`a.js:x`) is cut off, and trailing
/// dots and spaces, which Windows drops (`a.js.` is `a.js`), are ignored.
pub fn extension(name: &str) -> Option<String> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let file = file.split(':').next().unwrap_or(file).trim_end_matches(['.', ' ']);
    let (stem, ext) = file.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_bytes(data: &[u8], name: Option<&str>) -> Option<String> {
        detect(&Source::bytes(data.to_vec()), name, &Declared::default())
    }

    #[test]
    fn signatures_win_over_names() {
        assert_eq!(detect_bytes(b"%PDF-1.7\n...", Some("a.txt")).as_deref(), Some("pdf"));
        assert_eq!(detect_bytes(b"\x89PNG\r\n\x1a\n\0\0", Some("a.csv")).as_deref(), Some("png"));
        assert_eq!(detect_bytes(b"{\\rtf1 hello}", None).as_deref(), Some("rtf"));
        assert_eq!(detect_bytes(b"{\\rt{\\object\\objautlink}}", Some("a.txt")).as_deref(), Some("rtf"));
    }

    #[test]
    fn text_dialect_comes_from_the_name() {
        assert_eq!(detect_bytes(b"a,b\n1,2\n", Some("t.csv")).as_deref(), Some("csv"));
        assert_eq!(detect_bytes(b"a\tb\n", Some("t.TSV")).as_deref(), Some("tsv"));
        assert_eq!(detect_bytes(b"hello", Some("t")).as_deref(), Some("text"));
        assert_eq!(detect_bytes(b"\x7fELF\x02\x01\x01\0\0\0", Some("t.txt")), None);
    }

    #[test]
    fn unnamed_or_txt_tables_are_tables() {
        let table = "品名,数量,単価\nりんご,3,120\n=cmd|' /C calc'!A0,1,0\n";
        assert_eq!(detect_bytes(table.as_bytes(), Some("stdin")).as_deref(), Some("csv"));
        assert_eq!(detect_bytes(table.as_bytes(), Some("a.txt")).as_deref(), Some("csv"));
        assert_eq!(detect_bytes(table.as_bytes(), Some("notes.md")).as_deref(), Some("text"));
        assert_eq!(detect_bytes(b"a\tb\n1\t=2+3\n\n", None).as_deref(), Some("tsv"));
        let quoted = "name,comment\n\"a\",\"two\nlines, with a comma\"\nb,c\n";
        assert_eq!(detect_bytes(quoted.as_bytes(), None).as_deref(), Some("csv"));
        assert_eq!(detect_bytes(b"Hello, world.\nNo table here\n", None).as_deref(), Some("text"));
        assert_eq!(detect_bytes(b"one, line only\n", None).as_deref(), Some("text"));
        assert_eq!(detect_bytes(b"a,b\nc,d,e\n", Some("x.txt")).as_deref(), Some("text"));
    }

    #[test]
    fn markup_and_mail() {
        assert_eq!(detect_bytes(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"\">", None).as_deref(), Some("svg"));
        assert_eq!(detect_bytes(b"<!DOCTYPE html><p>x", None).as_deref(), Some("html"));
        assert_eq!(detect_bytes(b"From: a@example.jp\r\nSubject: x\r\n\r\nbody", None).as_deref(), Some("eml"));
        let no_blank_line = b"From: a@example.jp\nTo: b@example.jp\nSubject: x\nthe body, with no blank line\n";
        assert_eq!(detect_bytes(no_blank_line, Some("msg.txt")).as_deref(), Some("eml"));
        assert_eq!(detect_bytes(b"Note: one line\nand text\n", Some("n.txt")).as_deref(), Some("text"));
        let mbox =
            b"From a@example.jp Tue May 10 11:28:07 2005\r\nReturn-Path: <a@example.jp>\r\nTo: b@example.jp\r\n\r\nx";
        assert_eq!(detect_bytes(mbox, Some("m.eml")).as_deref(), Some("eml"));
        let relayed = b"Received: from a by b\r\nReceived-SPF: softfail\r\nquite broken\r\n\r\nx";
        assert_eq!(detect_bytes(relayed, Some("m.eml")).as_deref(), Some("eml"));
        assert_eq!(detect_bytes(b"Note: this is text\nand more", None).as_deref(), Some("text"));
    }

    #[test]
    fn declared_magic_cannot_take_over_known_formats() {
        let magic = |format: &str, bytes: &[u8]| Declared {
            magic: vec![DeclaredMagic { format: format.into(), offset: 0, bytes: bytes.to_vec() }],
            ..Declared::default()
        };
        let source = Source::bytes(b"%PDF-1.4".to_vec());
        assert_eq!(detect(&source, None, &magic("evil", b"%PDF")).as_deref(), Some("pdf"));
        let source = Source::bytes(b"<!DOCTYPE html><p>x".to_vec());
        assert_eq!(detect(&source, None, &magic("evil", b"<!DOCTYPE")).as_deref(), Some("html"));
        let source = Source::bytes(b"farbfeld\0\0\0\x01\0\0\0\x01".to_vec());
        assert_eq!(detect(&source, None, &magic("farbfeld", b"farbfeld")).as_deref(), Some("farbfeld"));
    }

    #[test]
    fn plugins_recognize_zip_members_and_xml_roots() {
        let declared = Declared {
            zip_members: vec![("FixedDocumentSequence.fdseq".into(), "xps".into())],
            xml_roots: vec![("urn:example:jw".into(), "drawing".into(), "jw-xml".into())],
            ..Declared::default()
        };
        let mut buffer = std::io::Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut buffer);
        writer.start_file("FixedDocumentSequence.fdseq", zip::write::SimpleFileOptions::default()).unwrap();
        writer.finish().unwrap();
        let xps = Source::bytes(buffer.into_inner());
        assert_eq!(detect(&xps, None, &declared).as_deref(), Some("xps"));
        let xml = b"<?xml version=\"1.0\"?>\n<!-- x -->\n<jw:drawing xmlns:jw=\"urn:example:jw\"/>";
        assert_eq!(detect(&Source::bytes(xml.to_vec()), None, &declared).as_deref(), Some("jw-xml"));
        let other = b"<?xml version=\"1.0\"?><drawing xmlns=\"urn:other\"/>";
        assert_eq!(detect(&Source::bytes(other.to_vec()), None, &declared).as_deref(), Some("text"));
    }

    #[test]
    fn markup_behind_comments_and_names_that_claim_markup() {
        let page = b"<!-- generated --><p>hi</p><script>alert(1)</script>";
        assert_eq!(detect_bytes(page, Some("a.txt")).as_deref(), Some("html"));
        assert_eq!(detect_bytes(b"<!-- unterminated", None).as_deref(), Some("html"));
        let svg =
            b"<?xml version=\"1.0\"?>\n<!-- by hand -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>";
        assert_eq!(detect_bytes(svg, None).as_deref(), Some("svg"));
        assert_eq!(detect_bytes(b"  <A href=x>link</a>", None).as_deref(), Some("html"));
        assert_eq!(detect_bytes(b"<abbr>not a pattern</abbr>", None).as_deref(), Some("text"));
        let prose = b"Hello!\n<script>alert(1)</script>\n";
        assert_eq!(detect_bytes(prose, Some("page.html")).as_deref(), Some("html"));
        assert_eq!(detect_bytes(prose, Some("page.SHTML")).as_deref(), Some("html"));
        assert_eq!(detect_bytes(prose, Some("logo.svg")).as_deref(), Some("svg"));
        assert_eq!(detect_bytes(prose, Some("notes.txt")).as_deref(), Some("text"));
        assert!(matches!(markup_name("mhtml"), Some(MarkupName::Refused(_))));
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a.js.").as_deref(), Some("js"));
        assert_eq!(extension("a.js . .").as_deref(), Some("js"));
        assert_eq!(extension("a.js:Zone.Identifier").as_deref(), Some("js"));
        assert_eq!(extension("dir.d/a.PDF").as_deref(), Some("pdf"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("noext"), None);
    }

    #[test]
    fn ooxml_family_comes_from_the_main_part() {
        let pptm_with_a_workbook = r#"<types><default extension="xls" contenttype="application/vnd.ms-excel"/><override partname="/ppt/presentation.xml" contenttype="application/vnd.ms-powerpoint.presentation.macroenabled.main+xml"/></types>"#;
        assert_eq!(ooxml_flavour(pptm_with_a_workbook), "pptm");
        let docx = r#"<override contenttype="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>"#;
        assert_eq!(ooxml_flavour(docx), "docx");
        assert_eq!(
            ooxml_flavour(&format!("{docx}<default contenttype=\"application/vnd.ms-office.vbaproject\"/>")),
            "docm"
        );
        assert_eq!(
            ooxml_flavour("<override contenttype=\"application/vnd.ms-excel.sheet.binary.macroenabled.main\"/>"),
            "xlsb"
        );
    }
}
