//! RTF syntax: the file as a tree of groups and tokens, and the writer that
//! puts kept tokens back.
//!
//! Every token keeps its original bytes, so whatever the rebuild keeps comes
//! out byte for byte as it came in: the text is unchanged by construction and
//! a second pass finds nothing to change. Where the reading could differ from
//! Word's in a way that moves group boundaries (a `\bin` run longer than the
//! file, a `\'` escape that would swallow a brace), the file is refused rather
//! than guessed at.

use sekisho_plugin_sdk::Failure;

use crate::fields::Text;

/// Deepest group nesting accepted, as in Word.
pub const MAX_DEPTH: usize = 1000;

/// What a token's end could merge with if something it was followed by is
/// dropped: a control word without its delimiter absorbs following letters
/// or digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tail {
    /// Ends in a way nothing can extend.
    #[default]
    Closed,
    /// A control word name without parameter or delimiter: `\b`.
    Letters,
    /// A control word parameter without delimiter: `\fs24`.
    Digits,
}

#[derive(Debug)]
pub enum Kind<'a> {
    /// `\name` with an optional parameter.
    Word { name: &'a [u8], param: Option<i64> },
    /// `\binN` and the N raw bytes that follow it.
    Bin { data: &'a [u8] },
    /// `\` and one non-letter (for `\'hh`, the byte is `'`).
    Symbol(u8),
    /// Anything else up to the next `{`, `}` or `\`.
    Text,
}

#[derive(Debug)]
pub struct Token<'a> {
    /// The original bytes, delimiter and `\bin` data included.
    pub bytes: &'a [u8],
    pub kind: Kind<'a>,
    pub tail: Tail,
}

impl Token<'_> {
    /// The control word's name, if it is one.
    pub fn word(&self) -> Option<&[u8]> {
        match self.kind {
            Kind::Word { name, .. } => Some(name),
            Kind::Bin { .. } => Some(b"bin"),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub enum Node<'a> {
    Token(Token<'a>),
    Group(Group<'a>),
}

#[derive(Debug)]
pub struct Group<'a> {
    /// Offset of its `{`.
    pub at: usize,
    pub nodes: Vec<Node<'a>>,
}

impl<'a> Group<'a> {
    /// The control words directly in this group (not in nested groups).
    pub fn words(&self) -> impl Iterator<Item = &[u8]> {
        self.nodes.iter().filter_map(|node| match node {
            Node::Token(token) => token.word(),
            Node::Group(_) => None,
        })
    }

    pub fn has_word(&self, name: &[u8]) -> bool {
        self.words().any(|word| word == name)
    }

    /// The first nested group that has `name` among its own control words
    /// (`\result` of an object, `\fldinst` of a field).
    pub fn child(&self, name: &[u8]) -> Option<&Group<'a>> {
        self.groups().find(|group| group.has_word(name))
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group<'a>> {
        self.nodes.iter().filter_map(|node| match node {
            Node::Group(group) => Some(group),
            Node::Token(_) => None,
        })
    }
}

/// A parsed file: the outermost group and what follows it.
pub struct Parsed<'a> {
    pub root: Group<'a>,
    /// Groups still open at the end of the file.
    pub unclosed: usize,
    /// Bytes after the outermost group's closing brace, and their offset.
    pub trailing: &'a [u8],
    pub end: usize,
}

/// Parses `src`, which must start with `{`.
pub fn parse(src: &[u8]) -> Result<Parsed<'_>, Failure> {
    if src.first() != Some(&b'{') {
        return Err(Failure::invalid("the file does not start with a group"));
    }
    let mut stack: Vec<Group> = Vec::new();
    let mut pos = 0;
    while pos < src.len() {
        match src[pos] {
            b'{' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Failure::invalid(format!("groups nested deeper than {MAX_DEPTH} at byte {pos}")));
                }
                stack.push(Group { at: pos, nodes: Vec::new() });
                pos += 1;
            }
            b'}' => {
                pos += 1;
                let Some(group) = stack.pop() else { break };
                match stack.last_mut() {
                    Some(parent) => parent.nodes.push(Node::Group(group)),
                    None => return Ok(Parsed { root: group, unclosed: 0, trailing: &src[pos..], end: pos }),
                }
            }
            _ => {
                // A lone `\` at the very end is an incomplete token: the
                // unclosed groups around it are reported.
                let Some(token) = lex(src, pos)? else { break };
                pos += token.bytes.len();
                if let Some(group) = stack.last_mut() {
                    group.nodes.push(Node::Token(token));
                }
            }
        }
    }
    let unclosed = stack.len();
    let mut root = stack.pop().ok_or_else(|| Failure::invalid("empty input"))?;
    while let Some(mut parent) = stack.pop() {
        parent.nodes.push(Node::Group(root));
        root = parent;
    }
    Ok(Parsed { root, unclosed, trailing: &[], end: src.len() })
}

/// The token at `pos` (not a brace); `None` for an incomplete escape at the end.
fn lex(src: &[u8], pos: usize) -> Result<Option<Token<'_>>, Failure> {
    let rest = &src[pos..];
    if rest[0] != b'\\' {
        let len = rest.iter().position(|b| matches!(b, b'{' | b'}' | b'\\')).unwrap_or(rest.len());
        return Ok(Some(Token { bytes: &rest[..len], kind: Kind::Text, tail: Tail::Closed }));
    }
    let Some(&first) = rest.get(1) else { return Ok(None) };
    if !first.is_ascii_alphabetic() {
        let len = if first == b'\'' {
            let hex = rest.get(2..4).ok_or_else(|| Failure::invalid(format!("truncated \\' escape at byte {pos}")))?;
            if hex.iter().any(|b| matches!(b, b'{' | b'}' | b'\\')) {
                return Err(Failure::invalid(format!("\\' escape at byte {pos} runs into a brace or backslash")));
            }
            4
        } else {
            2
        };
        return Ok(Some(Token { bytes: &rest[..len], kind: Kind::Symbol(first), tail: Tail::Closed }));
    }
    let name_end = 1 + rest[1..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let name = &rest[1..name_end];
    let mut end = name_end;
    let negative = rest.get(end) == Some(&b'-') && rest.get(end + 1).is_some_and(u8::is_ascii_digit);
    let digits = rest[end + usize::from(negative)..].iter().take_while(|b| b.is_ascii_digit()).count();
    let param = (digits > 0).then(|| {
        let start = end + usize::from(negative);
        let value = rest[start..start + digits]
            .iter()
            .fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
        if negative { -value } else { value }
    });
    if digits > 0 {
        end += usize::from(negative) + digits;
    }
    let mut tail = if digits > 0 { Tail::Digits } else { Tail::Letters };
    if rest.get(end) == Some(&b' ') {
        end += 1;
        tail = Tail::Closed;
    }
    if name == b"bin" {
        // N raw bytes follow; a missing or negative N is none, as in Word.
        let n = param.unwrap_or(0).max(0);
        if n > (rest.len() - end) as i64 {
            return Err(Failure::invalid(format!("\\bin{n} at byte {pos} runs past the end of the file")));
        }
        let data = &rest[end..end + n as usize];
        if n > 0 {
            tail = Tail::Closed;
        }
        return Ok(Some(Token { bytes: &rest[..end + n as usize], kind: Kind::Bin { data }, tail }));
    }
    Ok(Some(Token { bytes: &rest[..end], kind: Kind::Word { name, param }, tail }))
}

/// The rebuilt file, written token by token.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
    tail: Tail,
    /// What has been written, read as text (for field instructions).
    pub text: Text,
}

/// A point in the output to go back to.
pub struct Mark {
    len: usize,
    depth: usize,
    tail: Tail,
}

impl Writer {
    pub fn token(&mut self, token: &Token) {
        // A space after a control word that the token would otherwise
        // extend (only where something between them was dropped).
        let absorbs = match (self.tail, token.bytes) {
            (Tail::Letters | Tail::Digits, [b' ', ..]) => true,
            (Tail::Letters | Tail::Digits, [d, ..]) if d.is_ascii_digit() => true,
            (Tail::Letters, [c, ..]) if c.is_ascii_alphabetic() => true,
            (Tail::Letters, [b'-', d, ..]) if d.is_ascii_digit() => true,
            _ => false,
        };
        if absorbs {
            self.bytes.push(b' ');
        }
        self.bytes.extend_from_slice(token.bytes);
        self.tail = token.tail;
        self.text.token(token);
    }

    pub fn open(&mut self) {
        self.bytes.push(b'{');
        self.tail = Tail::Closed;
        self.text.open();
    }

    pub fn close(&mut self) {
        self.bytes.push(b'}');
        self.tail = Tail::Closed;
        self.text.close();
    }

    /// Binary data as hex text, 128 digits a line (picture data).
    pub fn hex(&mut self, data: &[u8]) {
        if self.tail != Tail::Closed {
            self.bytes.push(b' ');
        }
        for (i, byte) in data.iter().enumerate() {
            if i % 64 == 0 {
                self.bytes.extend_from_slice(b"\r\n");
            }
            self.bytes.extend_from_slice(format!("{byte:02x}").as_bytes());
        }
        self.tail = Tail::Closed;
    }

    /// Bytes after the last group.
    pub fn trailing(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Writes `group` as it is (closing groups left open at the end of the file).
    pub fn verbatim(&mut self, group: &Group) {
        self.open();
        for node in &group.nodes {
            match node {
                Node::Token(token) => self.token(token),
                Node::Group(nested) => self.verbatim(nested),
            }
        }
        self.close();
    }

    pub fn mark(&self) -> Mark {
        Mark { len: self.bytes.len(), depth: self.text.depth(), tail: self.tail }
    }

    /// Forgets what was written since `mark`.
    pub fn truncate(&mut self, mark: Mark) {
        self.bytes.truncate(mark.len);
        self.text.truncate(mark.depth);
        self.tail = mark.tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(src: &[u8]) -> Vec<u8> {
        let parsed = parse(src).unwrap();
        let mut writer = Writer::default();
        writer.verbatim(&parsed.root);
        writer.trailing(parsed.trailing);
        writer.bytes
    }

    #[test]
    fn tokens_round_trip() {
        let src = b"{\\rtf1\\ansi {\\b bold}\\'e9\\u-3913?\\bin3 }{\\ {\\*\\x y}\\fs-24x}\r\n";
        assert_eq!(round_trip(src), src);
        let parsed = parse(src).unwrap();
        assert_eq!(parsed.trailing, b"\r\n");
        let bin = parsed.root.nodes.iter().find_map(|n| match n {
            Node::Token(Token { kind: Kind::Bin { data }, .. }) => Some(*data),
            _ => None,
        });
        assert_eq!(bin, Some(&b"}{\\"[..]));
    }

    #[test]
    fn words_and_params() {
        let parsed = parse(b"{\\fs24x\\b-\\li-5 \\bin}").unwrap();
        let tokens: Vec<(&[u8], Option<i64>, Tail)> = parsed
            .root
            .nodes
            .iter()
            .map(|n| match n {
                Node::Token(Token { kind: Kind::Word { name, param }, tail, .. }) => (*name, *param, *tail),
                Node::Token(Token { bytes, tail, .. }) => (*bytes, None, *tail),
                Node::Group(_) => unreachable!(),
            })
            .collect();
        let expected: Vec<(&[u8], Option<i64>, Tail)> = vec![
            (b"fs", Some(24), Tail::Digits),
            (b"x", None, Tail::Closed),
            (b"b", None, Tail::Letters),
            (b"-", None, Tail::Closed),
            (b"li", Some(-5), Tail::Closed),
            (b"\\bin", None, Tail::Letters),
        ];
        assert_eq!(tokens, expected);
    }

    #[test]
    fn hostile_structure_is_refused() {
        assert!(parse(b"{\\rtf1 \\bin99999999999999999999 x}").is_err());
        assert!(parse(b"{\\rtf1 \\'4}}").is_err());
        let deep = [b"{".repeat(MAX_DEPTH + 1), b"}".repeat(MAX_DEPTH + 1)].concat();
        assert!(parse(&deep).is_err());
        let parsed = parse(b"{\\rtf1 {a").unwrap();
        assert_eq!(parsed.unclosed, 2);
    }

    #[test]
    fn dropped_content_does_not_merge_tokens() {
        let mut writer = Writer::default();
        let parsed = parse(b"{\\b{x}old\\fs2{x}4\\i{x}-1\\i{x}-x}").unwrap();
        for node in &parsed.root.nodes {
            match node {
                Node::Token(token) => writer.token(token),
                Node::Group(_) => {}
            }
        }
        assert_eq!(writer.bytes, b"\\b old\\fs2 4\\i -1\\i-x");
    }
}
