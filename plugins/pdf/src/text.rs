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
//! Lines and spaces come from where text is drawn (`Td`, `Tm`, `T*`, `TJ`
//! offsets): a move down starts a line, a move right past the end of the
//! last text is a space (not between CJK characters). The end is measured
//! with the font's widths (`/Widths`; `/W` of an `Identity-H` CID font),
//! estimated for other CID fonts (half an em a Latin character, an em a CJK
//! one), where a proportional font may get a stray space inside a word.
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
    /// Decoders and glyph widths by the address of their font dictionary
    /// (stable: `doc` is borrowed).
    decoders: BTreeMap<usize, (Decoder<'a>, Option<Widths>)>,
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
            let at = |i: usize| operands.get(i).and_then(number).unwrap_or(0.0);
            match operation.operator.as_str() {
                "BT" => page.position = Position::default(),
                "Tf" => {
                    let name = operands.first().and_then(|o| o.as_name().ok());
                    font = name.and_then(|name| fonts.get(name).copied());
                    page.position.size = operands.get(1).and_then(number).map_or(12.0, f64::abs).max(0.1);
                }
                "Td" | "TD" => page.position.move_by(at(0), at(1)),
                "Tm" => page.position.set(at(0), at(3), at(4), at(5)),
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
                            other => {
                                page.position.advance -= number(other).unwrap_or(0.0) / 1000.0 * page.position.size
                            }
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
            let widths = Widths::of(self.doc, font);
            self.decoders.insert(key, (decoder, widths));
        }
        if let Some((decoder, widths)) = self.decoders.get(&key) {
            page.push(&decoder.decode(bytes), widths.as_ref().map(|w| w.of_bytes(bytes)));
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

/// The glyph widths of a font, in thousandths of an em: a simple font's
/// (`/FirstChar`, `/Widths`, one-byte codes) or an `Identity-H`/`-V` Type0
/// font's (its descendant's `/W` and `/DW`, two-byte codes that are CIDs).
enum Widths {
    Simple { first: usize, widths: Vec<f64> },
    Cid { default: f64, widths: BTreeMap<u32, f64> },
}

/// CIDs whose width is read from a `/W` array at most.
const MAX_CID_WIDTHS: usize = 65536;

impl Widths {
    fn of(doc: &Document, font: &Dictionary) -> Option<Widths> {
        if font.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Type0") {
            return Self::of_cid_font(doc, font);
        }
        let first = usize::try_from(font.get(b"FirstChar").and_then(Object::as_i64).ok()?).ok()?;
        let widths = deref(doc, font.get(b"Widths").ok()?)?.as_array().ok()?;
        let widths: Vec<f64> = widths.iter().take(256).map(|w| deref(doc, w).and_then(number).unwrap_or(0.0)).collect();
        (first < 256 && !widths.is_empty()).then_some(Widths::Simple { first, widths })
    }

    fn of_cid_font(doc: &Document, font: &Dictionary) -> Option<Widths> {
        let encoding = font.get(b"Encoding").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_name().ok());
        if !matches!(encoding, Some(b"Identity-H" | b"Identity-V")) {
            return None;
        }
        let descendants = deref(doc, font.get(b"DescendantFonts").ok()?)?.as_array().ok()?;
        let cid_font = deref(doc, descendants.first()?)?.as_dict().ok()?;
        let default = cid_font.get(b"DW").ok().and_then(|o| deref(doc, o)).and_then(number).unwrap_or(1000.0);
        let mut widths = BTreeMap::new();
        let w = cid_font.get(b"W").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_array().ok());
        let mut items = w.into_iter().flatten().map(|o| deref(doc, o));
        // `c [w1 w2 …]` gives consecutive CIDs from c; `c_first c_last w` a range.
        while let Some(Some(first)) = items.next() {
            let Some(first) = number(first).filter(|n| *n >= 0.0).map(|n| n as u32) else { break };
            match items.next().flatten() {
                Some(Object::Array(list)) => {
                    for (i, width) in list.iter().enumerate() {
                        if widths.len() >= MAX_CID_WIDTHS {
                            break;
                        }
                        let width = deref(doc, width).and_then(number).unwrap_or(default);
                        widths.insert(first.saturating_add(i as u32), width);
                    }
                }
                Some(last) => {
                    let (Some(last), Some(Some(width))) = (number(last), items.next().map(|w| w.and_then(number)))
                    else {
                        break;
                    };
                    let last = (last.max(0.0) as u32).min(first.saturating_add(MAX_CID_WIDTHS as u32));
                    for cid in first..=last {
                        if widths.len() >= MAX_CID_WIDTHS {
                            break;
                        }
                        widths.insert(cid, width);
                    }
                }
                None => break,
            }
        }
        Some(Widths::Cid { default, widths })
    }

    /// The width of a string of codes, in ems.
    fn of_bytes(&self, bytes: &[u8]) -> f64 {
        let thousandths: f64 = match self {
            Widths::Simple { first, widths } => {
                let width = |b: &u8| (*b as usize).checked_sub(*first).and_then(|i| widths.get(i)).copied();
                bytes.iter().map(|b| width(b).unwrap_or(500.0)).sum()
            }
            Widths::Cid { default, widths } => bytes
                .chunks(2)
                .map(|code| {
                    let cid = code.iter().fold(0u32, |n, b| n << 8 | u32::from(*b));
                    widths.get(&cid).copied().unwrap_or(*default)
                })
                .sum(),
        };
        thousandths / 1000.0
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

/// Characters a full em wide: CJK and other East Asian wide characters.
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
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

/// Where text is drawn, as far as separating words and lines needs: the
/// origin of the line (user space, the current transformation ignored),
/// the text matrix's scale, the font size and how far the text shown since
/// the origin reaches, estimated without the font's widths (half an em a
/// Latin character, a full em a CJK one).
#[derive(Clone, Copy)]
struct Position {
    x: f64,
    y: f64,
    scale_x: f64,
    scale_y: f64,
    size: f64,
    /// Text space units shown since the origin.
    advance: f64,
}

impl Default for Position {
    fn default() -> Self {
        Position { x: 0.0, y: 0.0, scale_x: 1.0, scale_y: 1.0, size: 12.0, advance: 0.0 }
    }
}

impl Position {
    fn move_by(&mut self, tx: f64, ty: f64) {
        self.x += tx * self.scale_x;
        self.y += ty * self.scale_y;
        self.advance = 0.0;
    }

    fn set(&mut self, a: f64, d: f64, e: f64, f: f64) {
        (self.scale_x, self.scale_y, self.x, self.y, self.advance) = (a, d, e, f, 0.0);
    }

    /// Where the next character goes.
    fn cursor(&self) -> (f64, f64) {
        (self.x + self.advance * self.scale_x, self.y)
    }

    fn em(&self) -> f64 {
        (self.size * self.scale_x.abs().max(self.scale_y.abs())).max(0.01)
    }
}

/// The text of a page being read.
#[derive(Default)]
struct Page {
    text: String,
    position: Position,
    /// Where the last text shown ended.
    last: Option<(f64, f64)>,
    /// A line ends before the next text (`T*`, `'`, `"`).
    newline: bool,
}

impl Page {
    fn newline(&mut self) {
        self.newline = true;
    }

    /// Appends text shown with the current position; `width` is its width
    /// in ems when the font says it, otherwise it is estimated.
    fn push(&mut self, text: &str, width: Option<f64>) {
        let text: String = text.chars().filter(|c| !c.is_control() || *c == '\t').collect();
        let Some(first) = text.chars().next() else { return };
        let (x, y) = self.position.cursor();
        let em = self.position.em();
        if let Some((last_x, last_y)) = self.last {
            let text_so_far = !self.text.is_empty() && !self.text.ends_with('\n');
            if std::mem::take(&mut self.newline) || (y - last_y).abs() > em / 2.0 {
                if text_so_far {
                    self.text.push('\n');
                }
            } else if text_so_far && ((x - last_x) > em * 0.2 || (last_x - x) > em * 2.0) {
                // A gap between words; none between CJK characters, which have no spaces.
                let last = self.text.chars().next_back();
                if !last.is_some_and(|l| l == ' ' || is_wide(l) && is_wide(first)) {
                    self.text.push(' ');
                }
            }
        }
        self.newline = false;
        let width = width.unwrap_or_else(|| text.chars().map(|c| if is_wide(c) { 1.0 } else { 0.5 }).sum());
        self.position.advance += width * self.position.size;
        self.last = Some(self.position.cursor());
        self.text.push_str(&text);
    }

    /// Lines without trailing blanks, no blank lines around.
    fn finish(self) -> String {
        let lines: Vec<&str> = self.text.lines().map(|line| line.trim_end()).collect();
        lines.join("\n").trim_matches('\n').to_owned()
    }
}
