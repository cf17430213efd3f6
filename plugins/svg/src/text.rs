//! The text the rebuilt image shows, for the host's text channel.
//!
//! Read from the tree as written (so nothing removed is there): each
//! `<text>` element is one piece, `text N` in document order, its
//! `<tspan>`, `<textPath>` and `<a>` runs included, a `<tspan>` placed on
//! its own (`x`, `y` or `dy`) starting a new line; each `<title>` is
//! `title` and each `<desc>` is `desc`. White space collapses as SVG's
//! default `xml:space` does. Styles, scripts and comments give none.

use sekisho_plugin_sdk::Host;

use crate::tree::{Element, Node, Tree};

/// Hands `host` the text of `tree`.
pub fn emit<H: Host + ?Sized>(tree: &Tree, host: &mut H) {
    let mut texts = 0usize;
    let mut stack = vec![tree.root];
    // Document order, without recursion: children are pushed in reverse.
    while let Some(index) = stack.pop() {
        let Some(Node::Element(element)) = tree.nodes.get(index) else { continue };
        if element.removed {
            continue;
        }
        let location = match local(element) {
            "text" => {
                texts += 1;
                format!("text {texts}")
            }
            "title" => "title".to_owned(),
            "desc" => "desc".to_owned(),
            _ => {
                stack.extend(element.children.iter().rev());
                continue;
            }
        };
        let mut lines = vec![String::new()];
        collect(tree, element, &mut lines);
        let lines: Vec<String> = lines.iter().map(|line| collapse(line)).filter(|line| !line.is_empty()).collect();
        if !lines.is_empty() {
            host.emit_text(&location, &lines.join("\n"));
        }
    }
}

/// The character data under `element` as lines: a run positioned on its
/// own starts one.
fn collect(tree: &Tree, element: &Element, lines: &mut Vec<String>) {
    let mut stack: Vec<usize> = element.children.iter().rev().copied().collect();
    while let Some(index) = stack.pop() {
        match tree.nodes.get(index) {
            Some(Node::Text(text)) => lines.last_mut().expect("a line").push_str(text),
            Some(Node::Element(child)) if !child.removed => {
                // `<tref>` shows another element's text: that one is read where it is.
                if !matches!(local(child), "tspan" | "textPath" | "a" | "altGlyph") {
                    continue;
                }
                let placed = child.attrs.iter().any(|(name, _)| matches!(name.as_str(), "x" | "y" | "dy"));
                if placed && lines.last().is_some_and(|line| !line.trim().is_empty()) {
                    lines.push(String::new());
                }
                stack.extend(child.children.iter().rev());
            }
            _ => {}
        }
    }
}

/// The element's name without its prefix.
fn local(element: &Element) -> &str {
    element.name.rsplit(':').next().unwrap_or(&element.name)
}

/// White space runs become one space, none at the ends.
fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}
