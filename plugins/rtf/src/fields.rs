//! Field instructions and the plain text they are written in.
//!
//! A field is `{\field{\*\fldinst INSTRUCTION}{\fldrslt RESULT}}`. The
//! instruction can be split over groups and runs, and written with `\'hh`
//! or `\uN` escapes, so it is read the way Word reads it: text of nested
//! groups included, ignorable `{\*...}` destinations left out. Word fields
//! that reach outside the document are classified as in the OOXML plugin
//! (DDE/DDEAUTO run commands, INCLUDETEXT/INCLUDEPICTURE fetch content...).
//!
//! The rebuild reads instructions from what it writes (the writer feeds
//! every token it writes to a [`Text`]), not from the input: whatever it
//! removes inside an instruction, a second pass reads the same instruction
//! and judges it the same way.

use sekisho_plugin_sdk::ContentClass;

use crate::syntax::{Group, Kind, Node, Token};

/// Most characters of a group's text that are kept: enough for a keyword
/// and the start of its arguments, for the report.
const MAX_TEXT: usize = 240;

/// The class of a field instruction that reaches outside the document, and
/// its keyword (the SDK's table, shared with the other Word formats); an
/// instruction whose first word comes from a nested field (the QUOTE trick
/// that hides DDE) is DDE.
pub fn field_class(instruction: &Summary) -> Option<(ContentClass, &'static str)> {
    if instruction.field_first {
        return Some((ContentClass::Dde, "computed"));
    }
    sekisho_plugin_sdk::field_class(&instruction.text)
}

/// The plain text of `group` (the start of it), as Word would read it.
pub fn text(group: &Group) -> String {
    fn walk(text: &mut Text, group: &Group) {
        text.open();
        for node in &group.nodes {
            match node {
                Node::Token(token) => text.token(token),
                Node::Group(nested) => walk(text, nested),
            }
        }
        text.close();
    }
    let mut text = Text::default();
    walk(&mut text, group);
    text.last.text.trim().to_owned()
}

/// The text of one group, read as a field instruction.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// The start of the text, whitespace runs collapsed to one space.
    pub text: String,
    /// A nested field comes before any text: the instruction's keyword is
    /// computed (`{\field{\*\fldinst {\field ... QUOTE 68 68 69}}...}`), a
    /// way to hide DDE.
    pub field_first: bool,
    /// Starts with `\*`: Word skips it unless it knows the next word.
    ignorable: bool,
    /// Has a `\field` word of its own.
    field: bool,
    started: bool,
    /// Fallback characters still to skip after a `\uN`, and how many follow each.
    skip: usize,
    uc: usize,
}

impl Summary {
    fn push(&mut self, c: char) {
        if self.skip > 0 {
            self.skip -= 1;
        } else if self.text.len() < MAX_TEXT && !(c.is_whitespace() && self.text.ends_with(' ')) {
            self.text.push(if c.is_whitespace() { ' ' } else { c });
        }
    }

    fn blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// Reads text from a stream of groups and tokens.
#[derive(Default)]
pub struct Text {
    open: Vec<Summary>,
    /// The group closed last.
    pub last: Summary,
}

impl Text {
    pub fn open(&mut self) {
        let uc = self.open.last().map_or(1, |parent| parent.uc);
        self.open.push(Summary { uc, ..Summary::default() });
    }

    pub fn close(&mut self) {
        let Some(group) = self.open.pop() else { return };
        if let Some(parent) = self.open.last_mut().filter(|_| !group.ignorable) {
            if parent.blank() && (group.field || group.field_first) {
                parent.field_first = true;
            }
            for c in group.text.chars() {
                if parent.text.len() >= MAX_TEXT {
                    break;
                }
                parent.push(c);
            }
        }
        self.last = group;
    }

    /// Forgets groups opened since there were `depth` open.
    pub fn truncate(&mut self, depth: usize) {
        self.open.truncate(depth);
    }

    pub fn depth(&self) -> usize {
        self.open.len()
    }

    pub fn token(&mut self, token: &Token) {
        let Some(group) = self.open.last_mut() else { return };
        let first = !std::mem::replace(&mut group.started, true);
        match token.kind {
            Kind::Symbol(b'*') if first => group.ignorable = true,
            Kind::Text => {
                for &b in token.bytes.iter().filter(|b| !matches!(b, b'\r' | b'\n')) {
                    group.push(char::from(b));
                }
            }
            Kind::Symbol(b'\'') => {
                let hex = std::str::from_utf8(&token.bytes[2..]).ok();
                if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    group.push(char::from(byte));
                }
            }
            Kind::Symbol(b'~') => group.push(' '),
            Kind::Symbol(c @ (b'\\' | b'{' | b'}')) => group.push(char::from(c)),
            Kind::Word { name: b"u", param: Some(n) } => {
                group.push(char::from_u32(n.rem_euclid(65536) as u32).unwrap_or('\u{fffd}'));
                group.skip = group.uc;
            }
            Kind::Word { name: b"uc", param: Some(n) } => group.uc = n.clamp(0, 16) as usize,
            Kind::Word { name: b"tab" | b"par" | b"line", .. } => group.push(' '),
            Kind::Word { name: b"field", .. } => group.field = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Writer, parse};

    /// The instruction as the writer reads it.
    fn instruction(src: &[u8]) -> Summary {
        let mut writer = Writer::default();
        writer.verbatim(&parse(src).unwrap().root);
        writer.text.last
    }

    #[test]
    fn instructions_are_read_through_escapes_and_groups() {
        let dde =
            instruction(b"{\\*\\fldinst {\\rtlch D}{\\*\\x hidden}\\'44E\\u65?UTO c:\\\\\\\\windows\\\\\\\\cmd.exe}");
        assert_eq!(dde.text, "DDEAUTO c:\\\\windows\\\\cmd.exe");
        assert_eq!(field_class(&dde), Some((ContentClass::Dde, "DDEAUTO")));
        let link = instruction(b"{\\*\\fldinst {\\f1  HYPERLINK\r\n \"http://x\" }}");
        assert_eq!(link.text, " HYPERLINK \"http://x\" ");
        assert_eq!(field_class(&link), Some((ContentClass::Hyperlinks, "HYPERLINK")));
        assert_eq!(field_class(&instruction(b"{\\*\\fldinst { PAGEREF \"target\" } }")), None);
        let computed = instruction(b"{\\*\\fldinst {\\field{\\*\\fldinst QUOTE 68 68 69}{\\fldrslt DDE}} cmd}");
        assert!(computed.field_first);
        assert_eq!(computed.text, "DDE cmd");
        assert_eq!(field_class(&computed), Some((ContentClass::Dde, "computed")));
        assert!(!instruction(b"{\\*\\fldinst IF {\\field{\\*\\fldinst PAGE}} = 1}").field_first);
        let long = [&b"{\\*\\fldinst "[..], &b" ".repeat(100_000), b"INCLUDETEXT x}"].concat();
        assert_eq!(field_class(&instruction(&long)), Some((ContentClass::ExternalLinks, "INCLUDETEXT")));
    }

    #[test]
    fn field_keywords() {
        let summary = |text: &str| Summary { text: text.into(), ..Summary::default() };
        assert_eq!(
            field_class(&summary(" includePicture \"http://x/y.png\" \\d")).map(|c| c.1),
            Some("INCLUDEPICTURE")
        );
        assert_eq!(field_class(&summary(" PAGE ")), None);
        assert_eq!(field_class(&summary("")), None);
    }
}
