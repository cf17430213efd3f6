//! Writing the rebuilt tree as well-formed XML, always the same way.
//!
//! Every name was checked when read and every value is escaped here, so
//! the output is well formed whatever the input's quoting, CDATA sections
//! or references were. Character data that XML parsers normalize (line
//! breaks and tabs in attribute values, carriage returns) is written as
//! references, so reading the output back gives the same tree and writing
//! it again the same bytes.

use crate::tree::{Node, Tree};

/// The document: an XML declaration (the text is UTF-8 now), then the
/// top-level nodes, one per line.
pub fn write(tree: &Tree) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    for &index in &tree.top {
        node(tree, index, &mut out);
        out.push('\n');
    }
    out
}

fn node(tree: &Tree, index: usize, out: &mut String) {
    match &tree.nodes[index] {
        Node::Element(element) if element.removed => {}
        Node::Element(element) => {
            out.push('<');
            out.push_str(&element.name);
            for (name, value) in &element.attrs {
                out.push(' ');
                out.push_str(name);
                out.push_str("=\"");
                escape(value, true, out);
                out.push('"');
            }
            let shown = |&&child: &&usize| !matches!(&tree.nodes[child], Node::Element(e) if e.removed);
            let children: Vec<usize> = element.children.iter().filter(shown).copied().collect();
            if children.is_empty() {
                out.push_str("/>");
                return;
            }
            out.push('>');
            for child in children {
                node(tree, child, out);
            }
            out.push_str("</");
            out.push_str(&element.name);
            out.push('>');
        }
        Node::Text(text) => escape(text, false, out),
        Node::Comment(comment) => {
            out.push_str("<!--");
            out.push_str(comment);
            out.push_str("-->");
        }
        Node::Pi(pi) => {
            out.push_str("<?");
            out.push_str(pi);
            out.push_str("?>");
        }
        Node::Doctype(doctype) => {
            out.push_str("<!DOCTYPE ");
            out.push_str(doctype);
            out.push('>');
        }
    }
}

fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
}
