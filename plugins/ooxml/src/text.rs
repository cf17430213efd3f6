//! The text the rebuilt document shows, for the host's text channel.
//!
//! Read from the kept parts after the rebuild (so nothing removed is there):
//!
//! - Word: each paragraph (`w:p`) of the main document is `paragraph N`, N
//!   counting every paragraph, empty ones too; a paragraph inside another
//!   (a text box) is its own piece, given when it ends. Headers, footers,
//!   footnotes and endnotes follow in that order, `word/header1.xml
//!   paragraph N`, then comments when the policy keeps them
//!   (`word/comments.xml paragraph N`). Runs give `w:t` (field codes and
//!   deleted text are not shown, so not given), tabs and breaks; the
//!   fallback copy of a text box (`mc:Fallback`) is skipped.
//! - Excel: each non-empty cell of each kept sheet, in workbook order, is
//!   `SheetName!A1`: shared strings resolved, inline strings, numbers and
//!   formula results as written in the XML, booleans as `TRUE`/`FALSE`;
//!   phonetic guides (`rPh`, furigana) are not shown, so not given. A cell
//!   without an `r` reference is located as `SheetName!R1C1`.
//! - PowerPoint: each non-empty paragraph (`a:p`) of each slide, in the
//!   presentation's order, is `slide N`; those of its notes `slide N notes`.
//!
//! Everything given stops at [`MAX_TEXT`] bytes for the file: shared strings
//! let a small package name a long text many times.

use sekisho_plugin_sdk::Host;
use sekisho_plugin_sdk::xml::{self, Element, Node};

use crate::opc::key;
use crate::rebuild::Package;
use crate::{R_NS, R_STRICT_NS, SHEET_NS, WORD_NS};

/// Bytes of text given for one file at most.
pub const MAX_TEXT: usize = 64 << 20;

const DRAWING_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
const PRESENTATION_NS: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
const COMPATIBILITY_NS: &str = "http://schemas.openxmlformats.org/markup-compatibility/2006";

/// Word parts read after the main document, in this order, by the end of
/// their content type (comments are there only when the policy keeps them).
const WORD_PARTS: [&str; 5] = [
    "wordprocessingml.header+xml",
    "wordprocessingml.footer+xml",
    "wordprocessingml.footnotes+xml",
    "wordprocessingml.endnotes+xml",
    "wordprocessingml.comments+xml",
];

/// Hands `host` the text of the rebuilt `package`.
pub fn emit<H: Host + ?Sized>(package: &Package, format: &str, host: &mut H) {
    let mut out = Budget { host, left: MAX_TEXT };
    let Some(main) = package.main_part() else { return };
    match format {
        "docx" | "docm" => word(package, &main, &mut out),
        "xlsx" | "xlsm" => excel(package, &main, &mut out),
        "pptx" | "pptm" => powerpoint(package, &main, &mut out),
        _ => {}
    }
}

/// The host, until the text given reaches the limit.
struct Budget<'h, H: Host + ?Sized> {
    host: &'h mut H,
    left: usize,
}

impl<H: Host + ?Sized> Budget<'_, H> {
    fn emit(&mut self, location: &str, text: &str) {
        if text.len() <= self.left {
            self.left -= text.len();
            self.host.emit_text(location, text);
        } else {
            self.left = 0;
        }
    }
}

fn word<H: Host + ?Sized>(package: &Package, main: &str, out: &mut Budget<'_, H>) {
    paragraphs(package, main, WORD_NS, &mut |n, text| out.emit(&format!("paragraph {n}"), text));
    let names = package.part_names();
    for kind in WORD_PARTS {
        for name in &names {
            if package.content_type(name).is_some_and(|ct| ct.ends_with(kind)) && key(name) != main {
                paragraphs(package, name, WORD_NS, &mut |n, text| out.emit(&format!("{name} paragraph {n}"), text));
            }
        }
    }
}

/// Reads the paragraphs (`p` in `namespace`) of `part`, calling `give` with
/// each paragraph's number and text (empty paragraphs are counted, not given).
fn paragraphs(package: &Package, part: &str, namespace: &str, give: &mut dyn FnMut(u64, &str)) {
    let Some(data) = package.part(part).map(|p| &p.data) else { return };
    let mut reader = Runs::new(namespace);
    let _ = xml::scan(data, |node| {
        if let Some(text) = reader.node(node) {
            reader.count += 1;
            if !text.is_empty() {
                give(reader.count, &text);
            }
        }
        Ok(())
    });
}

/// Paragraphs of WordprocessingML or DrawingML, read run by run.
struct Runs<'n> {
    namespace: &'n str,
    /// What each open element is: a paragraph, text, skipped, or other.
    open: Vec<Open>,
    /// The open paragraphs' text, innermost last.
    paragraphs: Vec<String>,
    skipping: usize,
    count: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Other,
    Paragraph,
    Text,
    Skip,
}

impl<'n> Runs<'n> {
    fn new(namespace: &'n str) -> Self {
        Runs { namespace, open: Vec::new(), paragraphs: Vec::new(), skipping: 0, count: 0 }
    }

    /// Reads one node; answers a paragraph's text when one ends.
    fn node(&mut self, node: Node<'_>) -> Option<String> {
        match node {
            Node::Start(element) => {
                let open = self.start(&element);
                self.skipping += usize::from(open == Open::Skip);
                self.open.push(open);
                None
            }
            Node::Text(text) => {
                if self.skipping == 0 && self.open.last() == Some(&Open::Text) {
                    self.push(&text);
                }
                None
            }
            Node::End => match self.open.pop()? {
                Open::Skip => {
                    self.skipping -= 1;
                    None
                }
                Open::Paragraph if self.skipping == 0 => {
                    let text = self.paragraphs.pop().unwrap_or_default();
                    Some(text.trim_matches(['\n', '\t', ' ']).to_owned())
                }
                Open::Paragraph => {
                    self.paragraphs.pop();
                    None
                }
                _ => None,
            },
        }
    }

    fn start(&mut self, element: &Element<'_>) -> Open {
        if self.skipping > 0 {
            return Open::Other;
        }
        if element.is(COMPATIBILITY_NS, "Fallback") {
            return Open::Skip;
        }
        if element.namespace != self.namespace {
            return Open::Other;
        }
        match element.local {
            "p" => {
                self.paragraphs.push(String::new());
                Open::Paragraph
            }
            "t" => Open::Text,
            "tab" if self.namespace == WORD_NS => {
                self.push("\t");
                Open::Other
            }
            "br" | "cr" => {
                self.push("\n");
                Open::Other
            }
            "noBreakHyphen" => {
                self.push("-");
                Open::Other
            }
            // Phonetic guides and the text of instructions are not shown.
            "instrText" | "delText" | "delInstrText" | "rt" => Open::Skip,
            _ => Open::Other,
        }
    }

    fn push(&mut self, text: &str) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.push_str(text);
        }
    }
}

fn excel<H: Host + ?Sized>(package: &Package, main: &str, out: &mut Budget<'_, H>) {
    let rels = package.relationships(main);
    let shared = rels
        .iter()
        .find(|(kind, _, _)| kind.ends_with("/sharedStrings"))
        .map(|(_, _, part)| shared_strings(package, part))
        .unwrap_or_default();
    let Some(data) = package.part(main).map(|p| &p.data) else { return };
    let mut sheets = Vec::new();
    let _ = xml::scan(data, |node| {
        if let Node::Start(element) = node
            && element.is(SHEET_NS, "sheet")
        {
            let name = element.attribute("", "name")?.unwrap_or_default();
            let id = element.attribute(R_NS, "id")?.or(element.attribute(R_STRICT_NS, "id")?).unwrap_or_default();
            sheets.push((name, id));
        }
        Ok(())
    });
    for (name, id) in sheets {
        let Some((_, _, part)) = rels.iter().find(|(kind, rid, _)| *rid == id && kind.ends_with("/worksheet")) else {
            continue;
        };
        cells(package, part, &name, &shared, out);
    }
}

/// The text of each shared string (`si`), phonetic guides left out.
fn shared_strings(package: &Package, part: &str) -> Vec<String> {
    let Some(data) = package.part(part).map(|p| &p.data) else { return Vec::new() };
    let mut strings = Vec::new();
    let mut reader = Strings::default();
    let _ = xml::scan(data, |node| {
        if let Some(text) = reader.node(node, "si") {
            strings.push(text);
        }
        Ok(())
    });
    strings
}

/// Rich or plain strings of SpreadsheetML (`si`, `is`): the text of the
/// `t` elements outside phonetic guides (`rPh`).
#[derive(Default)]
struct Strings {
    /// For each open element: (is the container, is `rPh`, is `t`).
    open: Vec<(bool, bool, bool)>,
    current: Option<String>,
    phonetic: usize,
    text: usize,
}

impl Strings {
    /// Reads one node; answers the string when its `container` element ends.
    fn node(&mut self, node: Node<'_>, container: &str) -> Option<String> {
        match node {
            Node::Start(element) => {
                let flags = (element.is(SHEET_NS, container), element.is(SHEET_NS, "rPh"), element.is(SHEET_NS, "t"));
                if flags.0 {
                    self.current = Some(String::new());
                }
                self.phonetic += usize::from(flags.1);
                self.text += usize::from(flags.2);
                self.open.push(flags);
                None
            }
            Node::Text(text) => {
                if self.phonetic == 0
                    && self.text > 0
                    && let Some(current) = self.current.as_mut()
                {
                    current.push_str(&text);
                }
                None
            }
            Node::End => {
                let (is_container, phonetic, text) = self.open.pop()?;
                self.phonetic -= usize::from(phonetic);
                self.text -= usize::from(text);
                if is_container { self.current.take() } else { None }
            }
        }
    }
}

fn cells<H: Host + ?Sized>(package: &Package, part: &str, sheet: &str, shared: &[String], out: &mut Budget<'_, H>) {
    let Some(data) = package.part(part).map(|p| &p.data) else { return };
    let mut reader = Cells { sheet, shared, ..Cells::default() };
    let _ = xml::scan(data, |node| {
        if let Some((location, text)) = reader.node(node) {
            out.emit(&location, &text);
        }
        Ok(())
    });
}

/// The cells of a worksheet.
#[derive(Default)]
struct Cells<'a> {
    sheet: &'a str,
    shared: &'a [String],
    /// Names of the open elements in the sheet namespace ("" for others).
    open: Vec<&'static str>,
    row: u64,
    column: u64,
    /// The open cell: its location, type, value (`v`) and inline string.
    cell: Option<(String, String)>,
    value: Option<String>,
    inline: Strings,
    /// Depth inside the open cell's inline string (`is`).
    inline_depth: usize,
    inline_text: Option<String>,
}

impl Cells<'_> {
    fn node(&mut self, node: Node<'_>) -> Option<(String, String)> {
        if self.inline_depth > 0 {
            match &node {
                Node::Start(_) => self.inline_depth += 1,
                Node::End => self.inline_depth -= 1,
                Node::Text(_) => {}
            }
            if let Some(text) = self.inline.node(node, "is") {
                self.inline_text = Some(text);
            }
            return None;
        }
        match node {
            Node::Start(element) => {
                let name = if element.namespace == SHEET_NS { element.local } else { "" };
                let name: &'static str = match name {
                    "row" => {
                        let r = element.attribute("", "r").ok().flatten().and_then(|r| r.trim().parse().ok());
                        self.row = r.unwrap_or(self.row.saturating_add(1));
                        self.column = 0;
                        "row"
                    }
                    "c" => {
                        let reference = element.attribute("", "r").ok().flatten();
                        let kind = element.attribute("", "t").ok().flatten().unwrap_or_default();
                        self.column = reference.as_deref().and_then(column_of).unwrap_or(self.column.saturating_add(1));
                        let location = match reference.filter(|r| column_of(r).is_some()) {
                            Some(reference) => format!("{}!{}", self.sheet, reference.trim()),
                            None => format!("{}!R{}C{}", self.sheet, self.row, self.column),
                        };
                        self.cell = Some((location, kind));
                        self.value = None;
                        self.inline_text = None;
                        "c"
                    }
                    "v" if self.cell.is_some() => {
                        self.value = Some(String::new());
                        "v"
                    }
                    "is" if self.cell.is_some() => {
                        // The inline string, up to its end, goes to its own reader.
                        self.inline = Strings::default();
                        self.inline.node(Node::Start(element), "is");
                        self.inline_depth = 1;
                        return None;
                    }
                    _ => "",
                };
                self.open.push(name);
                None
            }
            Node::Text(text) => {
                if self.open.last() == Some(&"v")
                    && let Some(value) = self.value.as_mut()
                {
                    value.push_str(&text);
                }
                None
            }
            Node::End => {
                if self.open.pop()? != "c" {
                    return None;
                }
                let (location, kind) = self.cell.take()?;
                let value = self.value.take().map(|v| v.trim().to_owned());
                let text = match (kind.as_str(), value) {
                    ("inlineStr", _) => self.inline_text.take()?,
                    ("s", Some(index)) => self.shared.get(index.parse::<usize>().ok()?)?.clone(),
                    ("b", Some(value)) => (if value == "1" { "TRUE" } else { "FALSE" }).to_owned(),
                    (_, Some(value)) => value,
                    (_, None) => return None,
                };
                (!text.trim().is_empty()).then_some((location, text))
            }
        }
    }
}

/// The column number of an A1 reference (`B7` → 2); `None` when it is not one.
fn column_of(reference: &str) -> Option<u64> {
    let reference = reference.trim().trim_start_matches('$');
    let letters: &str = &reference[..reference.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(reference.len())];
    let digits = reference[letters.len()..].trim_start_matches('$');
    if letters.is_empty() || letters.len() > 3 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(letters.bytes().fold(0, |n, b| n * 26 + u64::from(b.to_ascii_uppercase() - b'A' + 1)))
}

fn powerpoint<H: Host + ?Sized>(package: &Package, main: &str, out: &mut Budget<'_, H>) {
    let rels = package.relationships(main);
    let Some(data) = package.part(main).map(|p| &p.data) else { return };
    let mut slides = Vec::new();
    let _ = xml::scan(data, |node| {
        if let Node::Start(element) = node
            && element.is(PRESENTATION_NS, "sldId")
        {
            let id = element.attribute(R_NS, "id")?.or(element.attribute(R_STRICT_NS, "id")?).unwrap_or_default();
            slides.push(id);
        }
        Ok(())
    });
    let mut number = 0;
    for id in slides {
        let Some((_, _, slide)) = rels.iter().find(|(kind, rid, _)| *rid == id && kind.ends_with("/slide")) else {
            continue;
        };
        number += 1;
        paragraphs(package, slide, DRAWING_NS, &mut |_, text| out.emit(&format!("slide {number}"), text));
        let notes = package.relationships(slide).into_iter().find(|(kind, _, _)| kind.ends_with("/notesSlide"));
        if let Some((_, _, notes)) = notes {
            let location = format!("slide {number} notes");
            paragraphs(package, &notes, DRAWING_NS, &mut |_, text| out.emit(&location, text));
        }
    }
}
