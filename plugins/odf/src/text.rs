//! The text the rebuilt document shows, for the host's text channel.
//!
//! Read from the rebuilt `content.xml` (so nothing removed is there), in
//! document order:
//!
//! - text documents (and anything else): each `text:p` and `text:h` is
//!   `paragraph N`, N counting every paragraph and heading, empty ones too;
//!   a paragraph inside another (a footnote, a text box) is its own piece,
//!   given when it ends, before the one around it.
//! - spreadsheets: each non-empty cell is `SheetName!A1`, its paragraphs
//!   joined by line breaks, rows and columns counted with
//!   `table:number-rows-repeated` / `table:number-columns-repeated`. A
//!   repeated non-empty cell is given once per copy while the copies stay
//!   under [`MAX_COPIES`] bytes in all; then only once.
//! - presentations: the paragraphs of each `draw:page` are `slide N`, those
//!   of its speaker notes `slide N notes`; drawings: `page N`.
//!
//! Sub-documents (`Object 1/content.xml`) give their text the same way,
//! their member name before the location (`Object 1/content.xml paragraph 2`).
//! Comments kept by policy (`office:annotation`), tracked deletions,
//! headers and footers (`styles.xml`) are not read.

use sekisho_plugin_sdk::Host;
use sekisho_plugin_sdk::package::Part;
use sekisho_plugin_sdk::xml::{self, Element, Node};

const OFFICE: &str = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
const TEXT: &str = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
const TABLE: &str = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
const DRAW: &str = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0";
const PRESENTATION: &str = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0";

/// Bytes of text that repeated cells may add beyond their first copy.
pub const MAX_COPIES: usize = 16 << 20;

/// Most spaces one `text:s` gives.
const MAX_SPACES: usize = 1024;

/// Hands `host` the text of the rebuilt `parts`: the document's
/// `content.xml` first, then those of its sub-documents.
pub fn emit<H: Host + ?Sized>(parts: &[Part], host: &mut H) {
    let contents = parts.iter().filter(|p| !p.is_dir && (p.name == "content.xml" || p.name.ends_with("/content.xml")));
    let (top, subs): (Vec<&Part>, Vec<&Part>) = contents.partition(|p| p.name == "content.xml");
    let mut copies = MAX_COPIES;
    for part in top.into_iter().chain(subs) {
        let prefix = if part.name == "content.xml" { String::new() } else { format!("{} ", part.name) };
        let mut reader = Reader::new(&mut *host, prefix, copies);
        // The part was written by the rebuild: it reads. Were it not to, the text read so far is what there is.
        let _ = xml::scan(&part.data, |node| {
            reader.node(node);
            Ok(())
        });
        copies = reader.copies;
    }
}

/// What the document's body is.
#[derive(Clone, Copy, PartialEq)]
enum Body {
    Text,
    Spreadsheet,
    Presentation,
    Drawing,
}

/// What an open element is to the reader.
enum Open {
    Other,
    /// Nothing in it is read (its start opened the skip).
    Skip,
    Paragraph,
    Sheet,
    Row,
    Cell,
    Page,
    Notes,
}

/// A paragraph being read.
struct Paragraph {
    text: String,
    /// The last character is white space of the XML, collapsed to one space.
    space: bool,
}

struct Reader<'h, H: Host + ?Sized> {
    host: &'h mut H,
    prefix: String,
    copies: usize,
    body: Body,
    open: Vec<Open>,
    skipping: bool,
    /// The open paragraphs, innermost last.
    paragraphs: Vec<Paragraph>,
    paragraph: u64,
    page: u64,
    notes: bool,
    sheet: Option<String>,
    /// Row and column of the cell last started (1-based), and how many
    /// times its row and itself repeat.
    row: u64,
    row_repeat: u64,
    column: u64,
    cell_repeat: u64,
    cell: Option<String>,
}

impl<'h, H: Host + ?Sized> Reader<'h, H> {
    fn new(host: &'h mut H, prefix: String, copies: usize) -> Self {
        Reader {
            host,
            prefix,
            copies,
            body: Body::Text,
            open: Vec::new(),
            skipping: false,
            paragraphs: Vec::new(),
            paragraph: 0,
            page: 0,
            notes: false,
            sheet: None,
            row: 0,
            row_repeat: 1,
            column: 0,
            cell_repeat: 1,
            cell: None,
        }
    }

    fn node(&mut self, node: Node<'_>) {
        match node {
            Node::Start(element) => {
                let open = self.start(&element);
                self.skipping |= matches!(open, Open::Skip);
                self.open.push(open);
            }
            Node::Text(text) if !self.skipping => {
                if let Some(paragraph) = self.paragraphs.last_mut() {
                    push_collapsed(paragraph, &text);
                }
            }
            Node::Text(_) => {}
            Node::End => match self.open.pop() {
                Some(Open::Skip) => self.skipping = false,
                Some(open) if !self.skipping => self.end(open),
                _ => {}
            },
        }
    }

    fn start(&mut self, element: &Element<'_>) -> Open {
        if self.skipping {
            return Open::Other;
        }
        let attribute = |local: &str| element.attribute(TABLE, local).ok().flatten();
        let repeat = |local: &str| attribute(local).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(1).max(1);
        match (element.namespace, element.local) {
            (OFFICE, "spreadsheet") => self.body = Body::Spreadsheet,
            (OFFICE, "presentation") => self.body = Body::Presentation,
            (OFFICE, "drawing") => self.body = Body::Drawing,
            (OFFICE, "annotation" | "scripts" | "event-listeners" | "forms") | (TEXT, "tracked-changes") => {
                return Open::Skip;
            }
            (TEXT, "p" | "h") => {
                self.paragraphs.push(Paragraph { text: String::new(), space: false });
                return Open::Paragraph;
            }
            (TEXT, "s") => {
                let count = element.attribute(TEXT, "c").ok().flatten().and_then(|c| c.trim().parse().ok());
                self.push_raw(&" ".repeat(count.unwrap_or(1).min(MAX_SPACES)));
            }
            (TEXT, "tab") => self.push_raw("\t"),
            (TEXT, "line-break") => self.push_raw("\n"),
            (TABLE, "table") if self.body == Body::Spreadsheet && self.cell.is_none() => {
                self.sheet = Some(attribute("name").unwrap_or_default());
                self.row = 0;
                return Open::Sheet;
            }
            (TABLE, "table-row") if self.sheet.is_some() && self.cell.is_none() => {
                self.row = self.row.saturating_add(1);
                self.row_repeat = repeat("number-rows-repeated");
                self.column = 0;
                return Open::Row;
            }
            (TABLE, "table-cell" | "covered-table-cell") if self.sheet.is_some() && self.cell.is_none() => {
                self.column = self.column.saturating_add(1);
                self.cell_repeat = repeat("number-columns-repeated");
                self.cell = Some(String::new());
                return Open::Cell;
            }
            (DRAW, "page") => {
                self.page += 1;
                return Open::Page;
            }
            (PRESENTATION, "notes") => {
                self.notes = true;
                return Open::Notes;
            }
            _ => {}
        }
        Open::Other
    }

    fn end(&mut self, open: Open) {
        match open {
            Open::Paragraph => {
                let text = self.paragraphs.pop().map(|p| p.text).unwrap_or_default();
                let text = text.trim_matches([' ', '\t', '\n']).to_owned();
                if let Some(cell) = self.cell.as_mut().filter(|_| self.paragraphs.is_empty()) {
                    if !text.is_empty() {
                        if !cell.is_empty() {
                            cell.push('\n');
                        }
                        cell.push_str(&text);
                    }
                    return;
                }
                let location = match self.body {
                    Body::Presentation if self.notes => format!("slide {} notes", self.page),
                    Body::Presentation => format!("slide {}", self.page),
                    Body::Drawing => format!("page {}", self.page),
                    Body::Text | Body::Spreadsheet => {
                        self.paragraph += 1;
                        format!("paragraph {}", self.paragraph)
                    }
                };
                if !text.is_empty() {
                    self.emit(&location, &text);
                }
            }
            Open::Cell => {
                let text = self.cell.take().unwrap_or_default();
                let (row, column) = (self.row, self.column);
                let (rows, columns) = (self.row_repeat, self.cell_repeat);
                self.column = self.column.saturating_add(columns - 1);
                if text.is_empty() {
                    return;
                }
                let sheet = self.sheet.clone().unwrap_or_default();
                'copies: for r in 0..rows {
                    for c in 0..columns {
                        if (r, c) != (0, 0) {
                            // Further copies only while the budget lasts (a location is about 16 bytes).
                            let cost = text.len() + 16;
                            if self.copies < cost {
                                break 'copies;
                            }
                            self.copies -= cost;
                        }
                        let at = a1(row.saturating_add(r), column.saturating_add(c));
                        self.emit(&format!("{sheet}!{at}"), &text);
                    }
                }
            }
            Open::Row => self.row = self.row.saturating_add(self.row_repeat - 1),
            Open::Sheet => self.sheet = None,
            Open::Notes => self.notes = false,
            Open::Page | Open::Other | Open::Skip => {}
        }
    }

    /// Text given by an element (`text:s`, `text:tab`), kept as it is.
    fn push_raw(&mut self, text: &str) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.text.push_str(text);
            paragraph.space = false;
        }
    }

    fn emit(&mut self, location: &str, text: &str) {
        self.host.emit_text(&format!("{}{location}", self.prefix), text);
    }
}

/// Appends character data as ODF lays it out: each run of white space is
/// one space (`text:s`, `text:tab` and `text:line-break` are kept as given).
fn push_collapsed(out: &mut Paragraph, text: &str) {
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            if !out.text.is_empty() && !out.space {
                out.text.push(' ');
                out.space = true;
            }
        } else {
            out.text.push(c);
            out.space = false;
        }
    }
}

/// The A1 reference of a cell (row and column from 1): `A1`, `Z9`, `AA10`.
fn a1(row: u64, column: u64) -> String {
    let mut letters = Vec::new();
    let mut n = column;
    while n > 0 {
        let digit = ((n - 1) % 26) as u8;
        letters.push(b'A' + digit);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{row}", String::from_utf8(letters).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_references() {
        assert_eq!(a1(1, 1), "A1");
        assert_eq!(a1(9, 26), "Z9");
        assert_eq!(a1(10, 27), "AA10");
        assert_eq!(a1(1, 16384), "XFD1");
        assert!(a1(u64::MAX, u64::MAX).ends_with(&u64::MAX.to_string()));
    }
}
