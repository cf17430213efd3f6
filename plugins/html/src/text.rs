//! HTML as plain text, for mail gateways that deliver text only.
//!
//! The text is what a reader sees: block elements start new lines,
//! paragraphs and headings are set apart by a blank line, list items get a
//! dash, table cells a tab, images their `alt` text, white space collapses
//! as it does in a browser except in `<pre>`. A link keeps its target
//! visible as `text <https://…>` (once, when the text is the address
//! already); links that run script show no target. Scripts, styles, the
//! head and inline SVG or MathML give no text.

use html5ever::ns;
use markup5ever_rcdom::{Handle, NodeData};
use sekisho_plugin_sdk::Failure;

use crate::clean::{MAX_DEPTH, same_text};
use sekisho_plugin_sdk::url::{self, Reach};

/// Elements whose content is not text a reader sees.
const HIDDEN: &[&str] = &["head", "script", "style", "template", "noembed", "noframes", "iframe", "select", "datalist"];
/// Elements set apart by a blank line.
const PARAGRAPHS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "dl",
    "hr",
    "figure",
    "address",
];
/// Elements that start and end a line.
const BLOCKS: &[&str] = &[
    "div",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "li",
    "tr",
    "dt",
    "dd",
    "form",
    "fieldset",
    "legend",
    "details",
    "summary",
    "caption",
    "center",
    "figcaption",
    "body",
    "search",
    "listing",
];

/// The text of a parsed page.
pub fn extract(document: &Handle) -> Result<String, Failure> {
    let mut text = Text::new(true, false);
    text.children(document, 0)?;
    Ok(text.finish())
}

/// The text of a parsed page block by block, in reading order: each block
/// element (paragraph, heading, list item, table cell, `<pre>`, a run of
/// text in a `<div>`…) that shows something is one piece, white space
/// collapsed as a browser does, line breaks (`<br>`) kept inside it.
/// `targets` writes an outside link's target after its text, as [`extract`]
/// does (the page is turned into text); otherwise only what the page shows.
pub fn blocks(document: &Handle, targets: bool) -> Result<Vec<String>, Failure> {
    let mut text = Text::new(targets, true);
    text.children(document, 0)?;
    text.boundary();
    Ok(text.blocks.unwrap_or_default())
}

/// The text of the first `<title>` of a parsed page, white space collapsed;
/// `None` when there is none or it shows nothing.
pub fn title(document: &Handle) -> Option<String> {
    let mut stack = vec![document.clone()];
    while let Some(node) = stack.pop() {
        if let NodeData::Element { name, .. } = &node.data {
            if name.ns == ns!(html) && &*name.local == "title" {
                let mut text = String::new();
                for child in node.children.borrow().iter() {
                    if let NodeData::Text { contents } = &child.data {
                        text.push_str(&contents.borrow());
                    }
                }
                let text = text.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
                return (!text.is_empty()).then_some(text);
            }
            // The title lives in the head; the body is not searched.
            if name.ns == ns!(html) && &*name.local == "body" {
                continue;
            }
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    None
}

struct Text {
    out: String,
    /// Depth inside `<pre>`, where white space is kept.
    pre: usize,
    /// Outside link targets are written after the link's text.
    targets: bool,
    /// Where the block being read starts in `out`.
    block_start: usize,
    /// The blocks read so far, when they are recorded ([`blocks`]).
    blocks: Option<Vec<String>>,
}

impl Text {
    fn new(targets: bool, record: bool) -> Text {
        Text { out: String::new(), pre: 0, targets, block_start: 0, blocks: record.then(Vec::new) }
    }

    /// Ends the block being read: what it shows becomes one piece.
    fn boundary(&mut self) {
        if let Some(blocks) = &mut self.blocks {
            let piece = self.out[self.block_start..].trim_matches([' ', '\t', '\n', '\r']);
            if !piece.is_empty() {
                let piece = piece.lines().map(|line| line.trim_end_matches([' ', '\t', '\r'])).collect::<Vec<_>>();
                blocks.push(piece.join("\n"));
            }
        }
        self.block_start = self.out.len();
    }

    fn children(&mut self, node: &Handle, depth: usize) -> Result<(), Failure> {
        if depth >= MAX_DEPTH {
            return Err(Failure::limit(format!("elements nested deeper than {MAX_DEPTH} levels")));
        }
        for child in node.children.borrow().iter() {
            self.node(child, depth + 1)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Handle, depth: usize) -> Result<(), Failure> {
        let (name, attrs) = match &node.data {
            NodeData::Text { contents } => {
                self.push(&contents.borrow());
                return Ok(());
            }
            NodeData::Element { name, attrs, .. } => (name, attrs),
            NodeData::Document => return self.children(node, depth),
            _ => return Ok(()),
        };
        let local: &str = &name.local;
        if name.ns != ns!(html) || HIDDEN.contains(&local) {
            return Ok(());
        }
        let attribute =
            |key: &str| attrs.borrow().iter().find(|a| &*a.name.local == key).map(|a| a.value.trim().to_owned());
        match local {
            "br" => self.line_break(),
            "img" => self.push(&attribute("alt").map(|alt| format!(" {alt} ")).unwrap_or_default()),
            "td" | "th" => {
                self.boundary();
                if !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.trim_spaces();
                    self.out.push('\t');
                }
                self.children(node, depth)?;
                self.boundary();
            }
            "a" => {
                let start = self.out.len();
                self.children(node, depth)?;
                let href = attribute("href").filter(|href| self.targets && url::reach(href) == Reach::Outside);
                if let Some(href) = href.filter(|href| !same_text(&self.out[start..], href)) {
                    self.push(&format!(" <{href}>"));
                }
            }
            "pre" => {
                self.paragraph();
                self.pre += 1;
                self.children(node, depth)?;
                self.pre -= 1;
                self.paragraph();
            }
            "li" => {
                self.newline();
                self.out.push_str("- ");
                // The dash is layout, not the item's text.
                self.block_start = self.out.len();
                self.children(node, depth)?;
                self.newline();
            }
            _ if PARAGRAPHS.contains(&local) => {
                self.paragraph();
                self.children(node, depth)?;
                self.paragraph();
            }
            _ if BLOCKS.contains(&local) => {
                self.newline();
                self.children(node, depth)?;
                self.newline();
            }
            _ => self.children(node, depth)?,
        }
        Ok(())
    }

    /// Appends text, collapsing white space outside `<pre>`.
    fn push(&mut self, text: &str) {
        if self.pre > 0 {
            self.out.push_str(text);
            return;
        }
        for c in text.chars() {
            if c.is_ascii_whitespace() {
                if !self.out.is_empty() && !self.out.ends_with([' ', '\n', '\t']) {
                    self.out.push(' ');
                }
            } else {
                self.out.push(c);
            }
        }
    }

    fn trim_spaces(&mut self) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        self.block_start = self.block_start.min(kept);
    }

    /// Ends a block and its line.
    fn newline(&mut self) {
        self.boundary();
        self.line_break();
    }

    /// Ends a line inside the block (`<br>`).
    fn line_break(&mut self) {
        self.trim_spaces();
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn paragraph(&mut self) {
        self.newline();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Lines without trailing blanks, at most one empty line in a row,
    /// nothing blank around.
    fn finish(self) -> String {
        let mut text = String::with_capacity(self.out.len());
        let mut blank = 0;
        for line in self.out.lines().map(|line| line.trim_end_matches([' ', '\t'])) {
            blank = if line.is_empty() { blank + 1 } else { 0 };
            if blank <= 1 {
                text.push_str(line);
                text.push('\n');
            }
        }
        text.trim_matches('\n').to_owned()
    }
}
