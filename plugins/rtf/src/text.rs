//! The text the rebuilt document shows, for the host's text channel.
//!
//! The rebuilt file is read again, token by token, as a reader lays it out:
//! each paragraph (ended by `\par`, `\sect` or a table's `\row`) is
//! `paragraph N`, N counting every paragraph, empty ones too; `\line` is a
//! line break, `\tab` and `\cell` a tab. Destinations that are not text
//! are skipped: `\*\…` groups, the font, colour, style and list tables,
//! `\info`, pictures (`\pict` and its hex or `\bin` data), field
//! instructions (the result shown stays), objects' data, footnotes.
//! Bytes (`\'hh` and 8-bit text) are decoded with the code page of the
//! current font's character set (`\fcharset128` is Shift_JIS) or else the
//! document's (`\ansicpg932` is Shift_JIS); `\uN` is the character, its
//! `\ucN` fallback skipped. What the rebuild removed is not in the file, so
//! not here.

use std::collections::BTreeMap;

use encoding_rs::{
    BIG5, EUC_KR, Encoding, GBK, MACINTOSH, SHIFT_JIS, UTF_8, WINDOWS_874, WINDOWS_1250, WINDOWS_1251, WINDOWS_1252,
    WINDOWS_1253, WINDOWS_1254, WINDOWS_1255, WINDOWS_1256, WINDOWS_1257, WINDOWS_1258,
};
use sekisho_plugin_sdk::Host;

use crate::syntax::{self, Group, Kind, Node, Token};

/// Destinations whose content is not text a reader sees.
const SKIPPED: &[&[u8]] = &[
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"listtable",
    b"listoverridetable",
    b"revtbl",
    b"rsidtbl",
    b"info",
    b"pict",
    b"nonshppict",
    b"object",
    b"objdata",
    b"objclass",
    b"objname",
    b"fldinst",
    b"footnote",
    b"xmlnstbl",
    b"latentstyles",
    b"datastore",
    b"themedata",
    b"colorschememapping",
    b"generator",
    b"template",
    b"filetbl",
    b"pgdsctbl",
];

/// Fonts whose character set is known, at most (a bigger table is read up to it).
const MAX_FONTS: usize = 4096;

/// Hands `host` the paragraphs of the rebuilt RTF document `rtf`.
// Not inlined: the rebuild's recursion, 1000 groups deep, runs on the same stack.
#[inline(never)]
pub fn emit<H: Host + ?Sized>(rtf: &[u8], host: &mut H) {
    let Ok(parsed) = syntax::parse(rtf) else { return };
    let mut reader = Reader {
        host,
        document: WINDOWS_1252,
        fonts: BTreeMap::new(),
        default_font: None,
        paragraph: 0,
        text: String::new(),
        bytes: Vec::new(),
        bytes_encoding: WINDOWS_1252,
    };
    reader.fonts(&parsed.root);
    reader.read(&parsed.root);
    reader.end_paragraph();
}

/// What a group inherits from the group around it.
#[derive(Clone, Copy)]
struct State {
    skip: bool,
    /// Characters after `\uN` that stand in for it.
    uc: usize,
    /// Fallback characters still to skip.
    pending: usize,
    font: Option<i64>,
}

struct Reader<'h, H: Host + ?Sized> {
    host: &'h mut H,
    document: &'static Encoding,
    /// Font number → encoding of its character set.
    fonts: BTreeMap<i64, &'static Encoding>,
    default_font: Option<i64>,
    paragraph: u64,
    text: String,
    /// Bytes not decoded yet, and the encoding they are in.
    bytes: Vec<u8>,
    bytes_encoding: &'static Encoding,
}

impl<H: Host + ?Sized> Reader<'_, H> {
    /// Reads the document's code page and the character set of each font.
    fn fonts(&mut self, root: &Group) {
        for node in &root.nodes {
            match node {
                Node::Token(token) => match token.kind {
                    Kind::Word { name: b"ansicpg", param: Some(cp) } => self.document = code_page(cp),
                    Kind::Word { name: b"mac", .. } => self.document = MACINTOSH,
                    Kind::Word { name: b"deff", param } => self.default_font = param,
                    _ => {}
                },
                Node::Group(group) if group.has_word(b"fonttbl") => self.font_table(group),
                Node::Group(_) => {}
            }
        }
    }

    fn font_table(&mut self, table: &Group) {
        // Fonts are groups of the table, or runs in it; nested groups are walked without recursion.
        let mut stack = vec![table];
        let mut font = None;
        while let Some(group) = stack.pop() {
            for node in &group.nodes {
                match node {
                    Node::Token(token) => match token.kind {
                        Kind::Word { name: b"f", param } => font = param,
                        Kind::Word { name: b"fcharset", param: Some(charset) } => {
                            self.set_font(font, charset_encoding(charset, self.document))
                        }
                        Kind::Word { name: b"cpg", param: Some(cp) } => self.set_font(font, code_page(cp)),
                        _ => {}
                    },
                    Node::Group(inner) => stack.push(inner),
                }
            }
        }
    }

    fn set_font(&mut self, font: Option<i64>, encoding: &'static Encoding) {
        let Some(font) = font else { return };
        if self.fonts.len() < MAX_FONTS || self.fonts.contains_key(&font) {
            self.fonts.insert(font, encoding);
        }
    }

    fn encoding(&self, font: Option<i64>) -> &'static Encoding {
        let font = font.or(self.default_font);
        font.and_then(|f| self.fonts.get(&f).copied()).unwrap_or(self.document)
    }

    /// Reads the document group by group, without recursion.
    fn read(&mut self, root: &Group) {
        let top = State { skip: false, uc: 1, pending: 0, font: None };
        // (group, next node, state inside it)
        let mut stack: Vec<(&Group, usize, State)> = vec![(root, 0, top)];
        while let Some((group, next, mut state)) = stack.pop() {
            let Some(node) = group.nodes.get(next) else { continue };
            if next == 0 && is_skipped(group) {
                state.skip = true;
            }
            match node {
                Node::Token(token) => {
                    if !state.skip {
                        self.token(token, &mut state);
                    }
                    stack.push((group, next + 1, state));
                }
                Node::Group(inner) => {
                    // The fallback of `\uN` may be a group: it counts as one character.
                    let skip_inner = state.pending > 0;
                    state.pending = state.pending.saturating_sub(1);
                    stack.push((group, next + 1, state));
                    let inner_state = State { pending: 0, skip: state.skip || skip_inner, ..state };
                    stack.push((inner, 0, inner_state));
                }
            }
        }
    }

    fn token(&mut self, token: &Token, state: &mut State) {
        if state.pending > 0 {
            match token.kind {
                Kind::Text => {
                    let n = token.bytes.iter().filter(|b| !matches!(b, b'\r' | b'\n')).count();
                    if n <= state.pending {
                        state.pending -= n;
                        return;
                    }
                    let skipped = state.pending;
                    state.pending = 0;
                    let rest: Vec<u8> =
                        token.bytes.iter().copied().filter(|b| !matches!(b, b'\r' | b'\n')).skip(skipped).collect();
                    self.push_bytes(&rest, state.font);
                    return;
                }
                _ => {
                    state.pending -= 1;
                    return;
                }
            }
        }
        match token.kind {
            Kind::Text => {
                let bytes: Vec<u8> = token.bytes.iter().copied().filter(|b| !matches!(b, b'\r' | b'\n')).collect();
                self.push_bytes(&bytes, state.font);
            }
            Kind::Symbol(b'\'') => {
                let hex = token.bytes.get(2..4).and_then(|h| std::str::from_utf8(h).ok());
                if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    self.push_bytes(&[byte], state.font);
                }
            }
            Kind::Symbol(c @ (b'\\' | b'{' | b'}')) => self.push_bytes(&[c], state.font),
            Kind::Symbol(b'~') => self.push_char(' '),
            Kind::Symbol(b'_') => self.push_char('-'),
            Kind::Word { name, param } => match (name, param) {
                (b"par" | b"sect" | b"row", _) => self.end_paragraph(),
                (b"line", _) => self.push_char('\n'),
                (b"tab" | b"cell", _) => self.push_char('\t'),
                (b"emdash", _) => self.push_char('—'),
                (b"endash", _) => self.push_char('–'),
                (b"bullet", _) => self.push_char('•'),
                (b"lquote", _) => self.push_char('‘'),
                (b"rquote", _) => self.push_char('’'),
                (b"ldblquote", _) => self.push_char('“'),
                (b"rdblquote", _) => self.push_char('”'),
                (b"u", Some(n)) => {
                    self.push_char(char::from_u32(n.rem_euclid(65536) as u32).unwrap_or('\u{fffd}'));
                    state.pending = state.uc;
                }
                (b"uc", Some(n)) => state.uc = n.clamp(0, 16) as usize,
                (b"f", font) => state.font = font,
                (b"plain", _) => state.font = None,
                _ => {}
            },
            _ => {}
        }
    }

    fn push_bytes(&mut self, bytes: &[u8], font: Option<i64>) {
        let encoding = self.encoding(font);
        if encoding != self.bytes_encoding {
            self.decode();
            self.bytes_encoding = encoding;
        }
        self.bytes.extend_from_slice(bytes);
    }

    fn push_char(&mut self, c: char) {
        self.decode();
        self.text.push(c);
    }

    /// Decodes the bytes read so far.
    fn decode(&mut self) {
        if !self.bytes.is_empty() {
            let (text, _) = self.bytes_encoding.decode_without_bom_handling(&self.bytes);
            self.text.push_str(&text);
            self.bytes.clear();
        }
    }

    fn end_paragraph(&mut self) {
        self.decode();
        self.paragraph += 1;
        let text = std::mem::take(&mut self.text);
        let lines: Vec<&str> = text.split('\n').map(|line| line.trim_end_matches([' ', '\t'])).collect();
        let text = lines.join("\n");
        let text = text.trim_matches(['\n', ' ', '\t']);
        if !text.is_empty() {
            self.host.emit_text(&format!("paragraph {}", self.paragraph), text);
        }
    }
}

/// True for a group that is a destination without text: `{\*\…}`, or one
/// of [`SKIPPED`].
fn is_skipped(group: &Group) -> bool {
    let Some(Node::Token(first)) = group.nodes.first() else { return false };
    if matches!(first.kind, Kind::Symbol(b'*')) {
        return true;
    }
    first.word().is_some_and(|word| SKIPPED.contains(&word))
}

/// The encoding of a Windows code page number.
fn code_page(cp: i64) -> &'static Encoding {
    match cp {
        932 => SHIFT_JIS,
        936 => GBK,
        949 | 1361 => EUC_KR,
        950 => BIG5,
        874 => WINDOWS_874,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        10000 => MACINTOSH,
        20932 => encoding_rs::EUC_JP,
        65001 => UTF_8,
        _ => WINDOWS_1252,
    }
}

/// The encoding of a font character set (`\fcharsetN`); ANSI and default
/// fonts use the document's code page.
fn charset_encoding(charset: i64, document: &'static Encoding) -> &'static Encoding {
    match charset {
        77 => MACINTOSH,
        128 => SHIFT_JIS,
        129 | 130 => EUC_KR,
        134 => GBK,
        136 => BIG5,
        161 => WINDOWS_1253,
        162 => WINDOWS_1254,
        163 => WINDOWS_1258,
        177 => WINDOWS_1255,
        178 => WINDOWS_1256,
        186 => WINDOWS_1257,
        204 => WINDOWS_1251,
        222 => WINDOWS_874,
        238 => WINDOWS_1250,
        _ => document,
    }
}
