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
    let mut text = Text { out: String::new(), pre: 0 };
    text.children(document, 0)?;
    Ok(text.finish())
}

struct Text {
    out: String,
    /// Depth inside `<pre>`, where white space is kept.
    pre: usize,
}

impl Text {
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
            "br" => self.newline(),
            "img" => self.push(&attribute("alt").map(|alt| format!(" {alt} ")).unwrap_or_default()),
            "td" | "th" => {
                if !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.trim_spaces();
                    self.out.push('\t');
                }
                self.children(node, depth)?;
            }
            "a" => {
                let start = self.out.len();
                self.children(node, depth)?;
                let href = attribute("href").filter(|href| url::reach(href) == Reach::Outside);
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
    }

    fn newline(&mut self) {
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
