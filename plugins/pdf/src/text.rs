//! The text of each kept page, for the host's text channel.
//!
//! Read from the rebuilt document, page by page (`page N`, one piece per
//! page): the text operators of the page's content (`Tj`, `TJ`, `'`, `"`)
//! and of the form XObjects it draws (each form once per page, eight deep
//! at most), decoded with the font in use:
//!
//! - fonts with a `/ToUnicode` CMap and an `Identity-H`/`-V` encoding (the
//!   Type0 fonts of Japanese PDFs), and simple fonts (standard, WinAnsi,
//!   MacRoman, `/Differences`, ToUnicode): lopdf's decoding;
//! - Type0 fonts with a predefined CJK CMap: the bytes are in its charset
//!   (`90ms-RKSJ-H` is Shift_JIS, `EUC-H` EUC-JP, `UniJIS-UCS2-H` UTF-16…);
//! - a Type0 font with `Identity-H` and no ToUnicode maps glyph ids that
//!   only the font program can name: its text is not given.
//!
//! Lines come from the text positioning operators (a move down, `T*`, `'`);
//! a move along the line or a wide `TJ` gap is a space between Latin
//! letters and nothing between CJK characters.
//!
//! Bounded: at most [`MAX_CONTENT`] bytes of decompressed content (pages,
//! forms, CMaps) are read for the whole file, a page over [`MAX_PAGE`] is
//! skipped, and at most [`MAX_FONTS`] fonts are decoded; past the total the
//! remaining pages give no text.

use std::collections::{BTreeMap, BTreeSet};

use encoding_rs::{BIG5, EUC_JP, EUC_KR, GBK, SHIFT_JIS, UTF_8, UTF_16BE};
use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};
use sekisho_plugin_sdk::Host;

/// Decompressed bytes read for text in one file at most.
pub const MAX_CONTENT: usize = 128 << 20;
/// Decompressed content of one page (or form) read at most.
pub const MAX_PAGE: usize = 32 << 20;
/// Distinct fonts whose encoding is read at most.
pub const MAX_FONTS: usize = 4096;
/// Form XObjects nested in each other at most.
const MAX_FORM_DEPTH: usize = 8;

/// Hands `host` the text of each page of `doc`.
pub fn emit<H: Host + ?Sized>(doc: &Document, host: &mut H) {
    let mut reader = Reader { doc, budget: MAX_CONTENT, decoders: BTreeMap::new() };
    for (number, page_id) in doc.get_pages() {
        let Some(content) = reader.content_of_page(page_id) else {
            if reader.budget == 0 {
                break;
            }
            continue;
        };
        let fonts = doc.get_page_fonts(page_id).unwrap_or_default();
        let resources = page_resources(doc, page_id);
        let mut page = Page::default();
        let mut forms = BTreeSet::new();
        reader.operations(&content.operations, &fonts, &resources, &mut page, &mut forms, 0);
        let text = page.finish();
        if !text.is_empty() {
            host.emit_text(&format!("page {number}"), &text);
        }
    }
}

/// How the strings of one font become text.
enum Decoder<'a> {
    Lopdf(Encoding<'a>),
    Charset(&'static encoding_rs::Encoding),
    /// Nothing can name its glyphs.
    Unknown,
}

impl Decoder<'_> {
    fn decode(&self, bytes: &[u8]) -> String {
        match self {
            Decoder::Lopdf(encoding) => encoding.bytes_to_string(bytes).unwrap_or_default(),
            Decoder::Charset(charset) => charset.decode_without_bom_handling(bytes).0.into_owned(),
            Decoder::Unknown => String::new(),
        }
    }
}

struct Reader<'a> {
    doc: &'a Document,
    /// Decompressed bytes that may still be read.
    budget: usize,
    /// Decoders by the address of their font dictionary (stable: `doc` is borrowed).
    decoders: BTreeMap<usize, Decoder<'a>>,
}

impl<'a> Reader<'a> {
    /// The page's content, charged to the budget; `None` when it cannot be
    /// read or is over the limits (the budget is then spent if it was the total).
    fn content_of_page(&mut self, page_id: ObjectId) -> Option<Content> {
        let limit = self.budget.min(MAX_PAGE);
        match self.doc.get_page_content_with_limit(page_id, limit) {
            Ok(data) => {
                self.budget -= data.len().min(self.budget);
                Content::decode(&data).ok()
            }
            Err(error) => {
                if limit == self.budget && over_limit(&error) {
                    self.budget = 0;
                }
                None
            }
        }
    }

    fn operations(
        &mut self,
        operations: &[Operation],
        fonts: &BTreeMap<Vec<u8>, &'a Dictionary>,
        resources: &[&'a Dictionary],
        page: &mut Page,
        forms: &mut BTreeSet<ObjectId>,
        depth: usize,
    ) {
        let mut font: Option<&'a Dictionary> = None;
        for operation in operations {
            let operands = &operation.operands;
            match operation.operator.as_str() {
                "BT" | "ET" => page.gap(),
                "Tf" => {
                    let name = operands.first().and_then(|o| o.as_name().ok());
                    font = name.and_then(|name| fonts.get(name).copied());
                }
                "Td" | "TD" => match operands.get(1).and_then(number) {
                    Some(ty) if ty.abs() > 0.01 => page.newline(),
                    _ => page.gap(),
                },
                "Tm" => {
                    let f = operands.get(5).and_then(number).unwrap_or(0.0);
                    if page.y.is_some_and(|y| (y - f).abs() > 0.01) {
                        page.newline();
                    } else {
                        page.gap();
                    }
                    page.y = Some(f);
                }
                "T*" => page.newline(),
                "Tj" => self.show(font, operands.first(), page),
                "'" => {
                    page.newline();
                    self.show(font, operands.first(), page);
                }
                "\"" => {
                    page.newline();
                    self.show(font, operands.get(2), page);
                }
                "TJ" => {
                    for item in operands.first().and_then(|o| o.as_array().ok()).into_iter().flatten() {
                        match item {
                            Object::String(..) => self.show(font, Some(item), page),
                            other if number(other).is_some_and(|n| n < -200.0) => page.gap(),
                            _ => {}
                        }
                    }
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    let name = operands.first().and_then(|o| o.as_name().ok());
                    if let Some(name) = name {
                        self.form(name, resources, fonts, page, forms, depth);
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads the form XObject `name` once per page.
    fn form(
        &mut self,
        name: &[u8],
        resources: &[&'a Dictionary],
        fonts: &BTreeMap<Vec<u8>, &'a Dictionary>,
        page: &mut Page,
        forms: &mut BTreeSet<ObjectId>,
        depth: usize,
    ) {
        let doc = self.doc;
        let Some(id) = resources.iter().find_map(|r| {
            let xobjects = deref(doc, r.get(b"XObject").ok()?)?.as_dict().ok()?;
            xobjects.get(name).ok()?.as_reference().ok()
        }) else {
            return;
        };
        if !forms.insert(id) {
            return;
        }
        let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) else { return };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return;
        }
        let limit = self.budget.min(MAX_PAGE);
        let data = match stream.get_plain_content_with_limit(limit) {
            Ok(data) => data,
            Err(error) => {
                if limit == self.budget && over_limit(&error) {
                    self.budget = 0;
                }
                return;
            }
        };
        self.budget -= data.len().min(self.budget);
        let Ok(content) = Content::decode(&data) else { return };
        // The form's own resources first, then the page's.
        let own = stream.dict.get(b"Resources").ok().and_then(|r| deref(doc, r)).and_then(|r| r.as_dict().ok());
        let mut own_fonts = fonts.clone();
        if let Some(font_dict) = own.and_then(|r| deref(doc, r.get(b"Font").ok()?)).and_then(|f| f.as_dict().ok()) {
            for (key, value) in font_dict.iter() {
                if let Some(font) = deref(doc, value).and_then(|f| f.as_dict().ok()) {
                    own_fonts.insert(key.clone(), font);
                }
            }
        }
        let mut own_resources: Vec<&'a Dictionary> = own.into_iter().collect();
        own_resources.extend_from_slice(resources);
        self.operations(&content.operations, &own_fonts, &own_resources, page, forms, depth + 1);
    }

    fn show(&mut self, font: Option<&'a Dictionary>, string: Option<&Object>, page: &mut Page) {
        let (Some(font), Some(Object::String(bytes, _))) = (font, string) else { return };
        let key = font as *const Dictionary as usize;
        if !self.decoders.contains_key(&key) {
            if self.decoders.len() >= MAX_FONTS {
                return;
            }
            let decoder = self.decoder(font);
            self.decoders.insert(key, decoder);
        }
        if let Some(decoder) = self.decoders.get(&key) {
            page.push(&decoder.decode(bytes));
        }
    }

    /// How `font` decodes, its ToUnicode CMap charged to the budget.
    fn decoder(&mut self, font: &'a Dictionary) -> Decoder<'a> {
        let doc = self.doc;
        let to_unicode = font.get(b"ToUnicode").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_stream().ok());
        if let Some(cmap) = to_unicode {
            match cmap.get_plain_content_with_limit(self.budget.min(MAX_PAGE)) {
                Ok(data) => self.budget -= data.len().min(self.budget),
                Err(_) => return Decoder::Unknown,
            }
        }
        let subtype = font.get(b"Subtype").and_then(Object::as_name).ok();
        let encoding = font.get(b"Encoding").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_name().ok());
        if subtype == Some(b"Type0") {
            match encoding {
                Some(b"Identity-H" | b"Identity-V") if to_unicode.is_none() => return Decoder::Unknown,
                Some(b"Identity-H" | b"Identity-V") | None => {}
                Some(name) => return predefined(name).map_or(Decoder::Unknown, Decoder::Charset),
            }
        }
        match font.get_font_encoding_with_limit(doc, self.budget.min(MAX_PAGE)) {
            Ok(Encoding::SimpleEncoding(name)) => predefined(name).map_or(Decoder::Unknown, Decoder::Charset),
            Ok(encoding) => Decoder::Lopdf(encoding),
            Err(_) => Decoder::Unknown,
        }
    }
}

/// The charset of a predefined CMap (PDF 32000-1, 9.7.5.2).
fn predefined(name: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let name = String::from_utf8_lossy(name);
    Some(match name.as_ref() {
        n if n.contains("RKSJ") => SHIFT_JIS,
        n if n.starts_with("EUC-") || n.starts_with("Ext-EUC") => EUC_JP,
        n if n.contains("UCS2") || n.contains("UTF16") => UTF_16BE,
        n if n.contains("UTF8") => UTF_8,
        n if n.starts_with("GB") => GBK,
        n if n.starts_with("B5") || n.starts_with("ETen") || n.starts_with("HKscs") => BIG5,
        n if n.starts_with("KSC") => EUC_KR,
        _ => return None,
    })
}

/// The page's resource dictionaries, its own first, then inherited ones.
fn page_resources(doc: &Document, page_id: ObjectId) -> Vec<&Dictionary> {
    let Ok((own, inherited)) = doc.get_page_resources(page_id) else { return Vec::new() };
    let inherited = inherited.into_iter().filter_map(|id| doc.get_dictionary(id).ok());
    own.into_iter().chain(inherited).collect()
}

/// True when reading failed because the content is over the limit given.
fn over_limit(error: &lopdf::Error) -> bool {
    matches!(error, lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }))
}

/// `object`, or what it refers to.
fn deref<'d>(doc: &'d Document, object: &'d Object) -> Option<&'d Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(n) => Some(*n as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

/// The text of a page being read.
#[derive(Default)]
struct Page {
    text: String,
    /// What separates the next text from the last: nothing, a gap, a line.
    pending: Pending,
    /// The baseline set by the last `Tm`.
    y: Option<f64>,
}

#[derive(Default, PartialEq)]
enum Pending {
    #[default]
    Nothing,
    Gap,
    Line,
}

impl Page {
    fn gap(&mut self) {
        if self.pending == Pending::Nothing {
            self.pending = Pending::Gap;
        }
    }

    fn newline(&mut self) {
        self.pending = Pending::Line;
    }

    fn push(&mut self, text: &str) {
        let text: String = text.chars().filter(|c| !c.is_control() || *c == '\t').collect();
        let Some(first) = text.chars().next() else { return };
        match std::mem::take(&mut self.pending) {
            Pending::Line if !self.text.is_empty() && !self.text.ends_with('\n') => self.text.push('\n'),
            Pending::Gap => {
                let last = self.text.chars().next_back();
                let latin = |c: char| c.is_alphanumeric() && (c as u32) < 0x2E80;
                if last.is_some_and(|l| latin(l) && latin(first) || l.is_ascii_punctuation()) {
                    self.text.push(' ');
                }
            }
            _ => {}
        }
        self.text.push_str(&text);
    }

    /// Lines without trailing blanks, no blank lines around.
    fn finish(self) -> String {
        let lines: Vec<&str> = self.text.lines().map(|line| line.trim_end()).collect();
        lines.join("\n").trim_matches('\n').to_owned()
    }
}
