//! The rebuild: walks the group tree and writes what the policy keeps.
//!
//! Groups are judged by their own control words: an `\object` (or stray
//! `\objdata`) becomes the content of its `\result`, a field that reaches
//! outside the document becomes the content of its `\fldrslt`, and a few
//! destinations (`\info`, `\*\template`, `\*\datastore`...) go whole.
//! Everything else is written back token by token. Every call writes at
//! most one group, always closed.

use sekisho_plugin_sdk::pictures::{self, Picture};
use sekisho_plugin_sdk::{Action, ContentClass, Decision, Disposition, Embedded, Embedder, Failure, Findings, Policy};

use crate::fields::{self, field_class};
use crate::objects;
use crate::syntax::{Group, Kind, Node, Parsed, Writer};

/// Destinations removed whole: the word that names them, their class, and
/// what they are.
const DESTINATIONS: &[(&[u8], ContentClass, &str)] = &[
    (b"info", ContentClass::Metadata, "document information (title, author, company, dates)"),
    (b"generator", ContentClass::Metadata, "name of the program that wrote the file"),
    (b"userprops", ContentClass::Metadata, "custom document properties"),
    (b"template", ContentClass::ExternalLinks, "attached template"),
    (b"mailmerge", ContentClass::DataConnections, "mail merge data source"),
    (b"datastore", ContentClass::UnknownParts, "data store (binary data Word does not display)"),
];

pub struct Rebuild<'p, E: Embedder + ?Sized> {
    policy: &'p Policy,
    embedder: &'p mut E,
    pub findings: Findings,
    objects: usize,
}

impl<'p, E: Embedder + ?Sized> Rebuild<'p, E> {
    pub fn new(policy: &'p Policy, embedder: &'p mut E) -> Self {
        Rebuild { policy, embedder, findings: Findings::new(), objects: 0 }
    }

    /// Rebuilds a whole file.
    pub fn document(&mut self, parsed: &Parsed) -> Result<Vec<u8>, Failure> {
        let root = &parsed.root;
        if let Some(word) = root.words().find(|w| matches!(*w, b"object" | b"objdata" | b"field" | b"fldinst")) {
            let word = String::from_utf8_lossy(word);
            return Err(self.invalid(format!("\\{word} directly in the document group")));
        }
        if parsed.unclosed > 0 {
            // Closed whatever the policy: the output is well-formed.
            let detail = format!("{} groups not closed at the end of the file: closed", parsed.unclosed);
            self.decide(ContentClass::MalformedStructure, Disposition::Neutralized, "end of file", detail)?;
        }
        let mut out = Writer::default();
        self.plain(root, &[], &mut out)?;
        let trailing = parsed.trailing;
        if !trailing.iter().all(u8::is_ascii_whitespace) {
            let detail = format!("{} bytes after the end of the document", trailing.len());
            let location = format!("byte {}", parsed.end);
            if self.decide(ContentClass::MalformedStructure, Disposition::Removed, location, detail)?
                == Decision::Sanitize
            {
                return Ok(out.bytes);
            }
        }
        out.trailing(trailing);
        Ok(out.bytes)
    }

    /// A failure that carries what was found so far.
    fn invalid(&self, detail: impl Into<String>) -> Failure {
        Failure::invalid(detail).with_findings(self.findings.clone())
    }

    fn decide(
        &mut self,
        class: ContentClass,
        sanitized_as: Disposition,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) -> Result<Decision, Failure> {
        self.findings.decide(self.policy, class, sanitized_as, location, detail)
    }

    /// Writes `group`, or what stands for it; `skip` names a control word
    /// left out (the `\result` word of a result written in its object's place).
    fn group(&mut self, group: &Group, skip: &[u8], out: &mut Writer) -> Result<(), Failure> {
        let words = || group.words().filter(|w| *w != skip);
        if words().any(|w| w == b"object" || w == b"objdata") {
            return self.object(group, out);
        }
        if words().any(|w| w == b"field") {
            return self.field(group, skip, out);
        }
        if words().any(|w| w == b"pict") && words().any(|w| w == b"pngblip" || w == b"jpegblip") {
            return self.picture(group, out);
        }
        if self.removes_destination(group, skip)? {
            return Ok(());
        }
        self.plain(group, skip, out)
    }

    /// Whether `group` is a destination the policy removes (metadata, a
    /// remote template…). Not inlined: `group` recurses a thousand groups
    /// deep and its frame stays small.
    #[inline(never)]
    fn removes_destination(&mut self, group: &Group, skip: &[u8]) -> Result<bool, Failure> {
        let words = || group.words().filter(|w| *w != skip);
        let Some(&(word, class, what)) = DESTINATIONS.iter().find(|(word, ..)| words().any(|w| w == *word)) else {
            return Ok(false);
        };
        let detail = match word {
            b"template" => format!("{what} {:?}", fields::text(group)),
            _ => what.to_owned(),
        };
        let location = format!("\\{} at byte {}", String::from_utf8_lossy(word), group.at);
        Ok(self.decide(class, Disposition::Removed, location, detail)? == Decision::Sanitize)
    }

    /// Writes `group` with its own tokens and its nested groups rebuilt.
    fn plain(&mut self, group: &Group, skip: &[u8], out: &mut Writer) -> Result<(), Failure> {
        out.open();
        for index in 0..group.nodes.len() {
            self.node(group, index, skip, out)?;
        }
        out.close();
        Ok(())
    }

    /// Writes the `index`-th node of `group`.
    fn node(&mut self, group: &Group, index: usize, skip: &[u8], out: &mut Writer) -> Result<(), Failure> {
        let skipped = |node: Option<&Node>| matches!(node, Some(Node::Token(token)) if token.word() == Some(skip));
        match &group.nodes[index] {
            Node::Group(nested) => self.group(nested, &[], out)?,
            node if skipped(Some(node)) => {}
            // The `\*` that marked a skipped word as ignorable goes with it.
            Node::Token(token) if matches!(token.kind, Kind::Symbol(b'*')) && skipped(group.nodes.get(index + 1)) => {}
            Node::Token(token) => out.token(token),
        }
        Ok(())
    }

    /// A `\pict` group holding a PNG or a JPEG: the picture goes through the
    /// host to the image plugin (`embedded-images`) and the rebuilt bytes are
    /// written back as hex. Its own control words and groups stay; a picture
    /// whose data is not plain hex or `\bin` is written as it came.
    #[inline(never)]
    fn picture(&mut self, group: &Group, out: &mut Writer) -> Result<(), Failure> {
        let Some(data) = picture_data(group) else { return self.plain(group, &[], out) };
        let location = format!("picture at byte {}", group.at);
        let name = if group.has_word(b"pngblip") { "picture.png" } else { "picture.jpg" };
        match pictures::rebuild(&mut self.findings, self.policy, &mut *self.embedder, &location, name, &data)? {
            Picture::Keep => self.plain(group, &[], out),
            Picture::Remove => Ok(()),
            Picture::Rebuilt(rebuilt) => {
                out.open();
                for node in &group.nodes {
                    match node {
                        Node::Token(token) if matches!(token.kind, Kind::Text | Kind::Bin { .. }) => {}
                        Node::Token(token) => out.token(token),
                        Node::Group(nested) => out.verbatim(nested),
                    }
                }
                out.hex(&rebuilt);
                out.close();
                Ok(())
            }
        }
    }

    /// An `\object` group: kept as it is when the policy allows its class,
    /// otherwise replaced by its `\result`. Embedded documents go through the
    /// host first (so the report has them and a blocked child blocks the file),
    /// but the rebuilt copy is not put back.
    #[inline(never)]
    fn object(&mut self, group: &Group, out: &mut Writer) -> Result<(), Failure> {
        self.objects += 1;
        if self.objects > self.policy.limits.max_entries as usize {
            let detail = format!("more than {} objects", self.policy.limits.max_entries);
            return Err(Failure::limit(detail).with_findings(self.findings.clone()));
        }
        let location = format!("object {} at byte {}", self.objects, group.at);
        let object = objects::classify(group, self.objects);
        let decision = match object.document {
            Some((name, data)) if self.policy.action(ContentClass::EmbeddedFiles) == Action::Sanitize => {
                let class = ContentClass::EmbeddedFiles;
                let detail = match self.findings.embed(self.embedder, class, &location, &name, &data)? {
                    Embedded::Rebuilt(_) => format!("{} removed (rebuilt copy not re-embedded)", object.detail),
                    Embedded::Refused(why) => format!("{} removed: {why}", object.detail),
                };
                self.findings.push(class, Disposition::Removed, location, detail);
                Decision::Sanitize
            }
            _ => self.decide(object.class, Disposition::Removed, location, object.detail)?,
        };
        match (decision, group.child(b"result")) {
            (Decision::Sanitize, Some(result)) => self.group(result, b"result", out),
            (Decision::Sanitize, None) => Ok(()),
            (Decision::Keep, result) => {
                // Kept as it is, but what it displays is rebuilt like any text.
                out.open();
                for node in &group.nodes {
                    match node {
                        Node::Token(token) => out.token(token),
                        Node::Group(nested) if result.is_some_and(|r| std::ptr::eq(r, nested)) => {
                            self.group(nested, &[], out)?
                        }
                        Node::Group(nested) => out.verbatim(nested),
                    }
                }
                out.close();
                Ok(())
            }
        }
    }

    /// A `\field` group: the instruction is read from what is written for
    /// it, and a field that reaches outside the document is replaced by its
    /// `\fldrslt`, the text it displays. An instruction anywhere but in the
    /// one `\fldinst` group before the result could be read differently by
    /// Word: such a field is refused.
    #[inline(never)]
    fn field(&mut self, group: &Group, skip: &[u8], out: &mut Writer) -> Result<(), Failure> {
        let fldinst = group.child(b"fldinst");
        let result = group.child(b"fldrslt");
        let same = |a: &Group, b: Option<&Group>| b.is_some_and(|b| std::ptr::eq(a, b));
        let misplaced = group.has_word(b"fldinst")
            || group.groups().any(|g| !same(g, fldinst) && hides_instruction(g))
            || fldinst.is_some_and(|f| f.groups().any(hides_instruction))
            || result.is_some_and(|r| fldinst.is_none_or(|f| r.at <= f.at));
        if misplaced {
            return Err(self.invalid(format!("field at byte {} with a misplaced instruction", group.at)));
        }
        if fldinst.is_none() {
            return self.plain(group, skip, out);
        }
        let mark = out.mark();
        out.open();
        for (index, node) in group.nodes.iter().enumerate() {
            let before = out.bytes.len();
            self.node(group, index, skip, out)?;
            if !matches!(node, Node::Group(g) if same(g, fldinst)) {
                continue;
            }
            // What was written for the instruction: one group, or nothing.
            let instruction = if out.bytes.len() > before { out.text.last.clone() } else { Default::default() };
            let decision = match field_class(&instruction) {
                Some((ContentClass::Hyperlinks, _)) if self.policy.keeps_links() => Decision::Keep,
                Some((class, keyword)) => {
                    let detail = match keyword {
                        "computed" => "field whose instruction is computed by a nested field".to_owned(),
                        _ => format!("{keyword} field {:?}", instruction.text.trim()),
                    };
                    let location = format!("field at byte {}", group.at);
                    self.decide(class, Disposition::Neutralized, location, detail)?
                }
                None => Decision::Keep,
            };
            if decision == Decision::Sanitize {
                out.truncate(mark);
                return match result {
                    Some(result) => self.group(result, b"fldrslt", out),
                    None => Ok(()),
                };
            }
        }
        out.close();
        Ok(())
    }
}

/// True when `group` holds a `\fldinst` outside a field of its own.
/// The bytes of a picture group: its hex text (white space ignored) or its
/// `\bin` data; `None` when anything else is there or the hex is odd.
fn picture_data(group: &Group) -> Option<Vec<u8>> {
    let mut hex = Vec::new();
    let mut data = Vec::new();
    for node in &group.nodes {
        match node {
            Node::Token(token) => match token.kind {
                Kind::Text => hex.extend(token.bytes.iter().filter(|b| !b.is_ascii_whitespace())),
                Kind::Bin { data: bytes } => data.extend_from_slice(bytes),
                _ => {}
            },
            Node::Group(_) => {}
        }
    }
    if !hex.is_empty() && !data.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    for pair in hex.chunks(2) {
        data.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    (!data.is_empty()).then_some(data)
}

fn hides_instruction(group: &Group) -> bool {
    !group.has_word(b"field") && (group.has_word(b"fldinst") || group.groups().any(hides_instruction))
}
