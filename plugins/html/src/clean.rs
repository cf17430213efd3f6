//! The HTML allowlist: walking the parsed page and writing what stays.
//!
//! html5ever builds the tree a browser builds (implied and misnested tags,
//! tables, `<noscript>` read as markup since no script will run), and the
//! page is written back from that tree, so the output says what a browser
//! reads. Elements are kept, unwrapped (their content stays: an unknown
//! element, a form, a link in keep-as-text mode) or dropped with their
//! content (scripts, frames and objects, media, form controls, inline SVG
//! and MathML, whose parsing rules differ from HTML's and which are the
//! usual road to mutation XSS). Attributes outside the allowlist go;
//! event handlers, URLs and CSS are judged by what they do. `<head>` starts
//! with `<meta charset="utf-8">`, since the page is UTF-8 now.

use html5ever::{Attribute, QualName, ns};
use markup5ever_rcdom::{Handle, NodeData};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, HyperlinkMode, Policy};

use sekisho_plugin_sdk::css;
use sekisho_plugin_sdk::url::{self, Reach};

/// Deepest element nesting accepted (browsers flatten past 512 too).
pub const MAX_DEPTH: usize = 512;

/// Elements that stay (their attributes are judged one by one).
#[rustfmt::skip]
const ELEMENTS: &[&str] = &[
    "a", "abbr", "acronym", "address", "area", "article", "aside", "b", "base", "bdi", "bdo", "big", "blockquote",
    "body", "br", "caption", "center", "cite", "code", "col", "colgroup", "data", "dd", "del", "details", "dfn",
    "dir", "div", "dl", "dt", "em", "fieldset", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "img", "ins", "kbd", "label", "legend", "li", "link",
    "main", "map", "mark", "menu", "meta", "nav", "nobr", "ol", "p", "picture", "pre", "q", "rb", "rp", "rt", "rtc",
    "ruby", "s", "samp", "search", "section", "small", "source", "span", "strike", "strong", "style", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "title", "tr", "tt", "u", "ul", "var",
    "wbr",
];

/// Attributes that only describe layout, text or structure.
#[rustfmt::skip]
const ATTRIBUTES: &[&str] = &[
    "abbr", "align", "alink", "alt", "axis", "bgcolor", "border", "cellpadding", "cellspacing", "char", "charoff",
    "class", "clear", "color", "colspan", "compact", "content", "coords", "datetime", "decoding", "dir", "face",
    "for", "frame", "headers", "height", "hidden", "hreflang", "hspace", "http-equiv", "id", "ismap", "lang",
    "leftmargin", "link", "loading", "marginheight", "marginwidth", "media", "name", "noshade", "nowrap", "open",
    "rel", "reversed", "role", "rowspan", "rules", "scope", "shape", "size", "sizes", "span", "start", "summary",
    "target", "text", "title", "topmargin", "translate", "type", "usemap", "valign", "value", "vlink", "vspace",
    "width", "xml:lang", "xmlns",
];

/// Attributes that hold URLs; those of links are followed, the others loaded.
#[rustfmt::skip]
const URL_ATTRIBUTES: &[&str] = &[
    "action", "background", "cite", "codebase", "data", "dynsrc", "formaction", "href", "icon", "longdesc",
    "lowsrc", "manifest", "ping", "poster", "src", "srcset",
];

/// `<meta name>` values that shape the page rather than describe its making.
const LAYOUT_META: &[&str] =
    &["viewport", "color-scheme", "supported-color-schemes", "theme-color", "referrer", "robots", "format-detection"];

/// Elements with no content and no end tag.
#[rustfmt::skip]
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track",
];
/// Elements whose text is written as it is (no references).
const RAW_TEXT: &[&str] = &["iframe", "noembed", "noframes", "script", "style", "xmp"];

/// What happens to an element.
enum Fate {
    Keep,
    /// The tags go, the content stays.
    Unwrap,
    /// The element goes with its content.
    Drop,
}

/// The attributes that stay on an element, and whether it stops being a link.
struct Attributes {
    kept: Vec<(String, String)>,
    /// The link goes (keep-as-text or remove mode): `Some`, with the target
    /// to show after its text in keep-as-text mode.
    unlinked: Option<Option<String>>,
}

/// Walks the document and writes what stays.
pub fn clean(document: &Handle, policy: &Policy, findings: &mut Findings) -> Result<String, Failure> {
    let mut cleaner = Cleaner { policy, findings, out: String::new() };
    cleaner.children(document, 0)?;
    Ok(cleaner.out)
}

struct Cleaner<'a> {
    policy: &'a Policy,
    findings: &'a mut Findings,
    out: String,
}

impl Cleaner<'_> {
    fn decide(
        &mut self,
        class: ContentClass,
        disposition: Disposition,
        location: &str,
        detail: &str,
    ) -> Result<bool, Failure> {
        Ok(self.findings.decide_grouped(self.policy, class, disposition, location, detail)? == Decision::Keep)
    }

    fn children(&mut self, node: &Handle, depth: usize) -> Result<(), Failure> {
        for child in node.children.borrow().iter() {
            self.node(child, depth)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Handle, depth: usize) -> Result<(), Failure> {
        match &node.data {
            NodeData::Document => self.children(node, depth)?,
            NodeData::Doctype { name, public_id, system_id } => {
                self.out.push_str("<!DOCTYPE ");
                self.out.push_str(name);
                let quoted = |id: &str| if id.contains('"') { format!(" '{id}'") } else { format!(" \"{id}\"") };
                if !public_id.is_empty() {
                    self.out.push_str(" PUBLIC");
                    self.out.push_str(&quoted(public_id));
                }
                if !system_id.is_empty() {
                    self.out.push_str(if public_id.is_empty() { " SYSTEM" } else { "" });
                    self.out.push_str(&quoted(system_id));
                }
                self.out.push_str(">\n");
            }
            NodeData::Text { contents } => escape(&contents.borrow(), false, &mut self.out),
            NodeData::Comment { contents } => {
                if self.decide(ContentClass::Comments, Disposition::Removed, "comment", "HTML comment")? {
                    self.out.push_str("<!--");
                    self.out.push_str(contents);
                    self.out.push_str("-->");
                }
            }
            NodeData::Element { name, attrs, template_contents, .. } => {
                if depth >= MAX_DEPTH {
                    return Err(Failure::limit(format!("elements nested deeper than {MAX_DEPTH} levels")));
                }
                let attrs = attrs.borrow();
                match self.fate(name, &attrs)? {
                    Fate::Drop => {}
                    Fate::Unwrap => self.children(node, depth + 1)?,
                    Fate::Keep => {
                        let template = template_contents.borrow();
                        self.element(node, name, &attrs, template.as_ref().unwrap_or(node), depth)?
                    }
                }
            }
            NodeData::ProcessingInstruction { .. } => {}
        }
        Ok(())
    }

    /// Whether an element stays, by what it is.
    fn fate(&mut self, name: &QualName, attrs: &[Attribute]) -> Result<Fate, Failure> {
        let local: &str = &name.local;
        let location = format!("<{local}>");
        if name.ns != ns!(html) {
            const SCRIPTED: &[&str] = &[
                "script",
                "handler",
                "listener",
                "set",
                "animate",
                "animateColor",
                "animateMotion",
                "animateTransform",
            ];
            let (class, detail) = if SCRIPTED.contains(&local) {
                (ContentClass::Scripts, "script or animation in inline SVG")
            } else {
                (ContentClass::UnknownParts, "inline SVG or MathML (parsed by other rules than HTML)")
            };
            let keep = self.decide(class, Disposition::Removed, &location, detail)?;
            return Ok(if keep { Fate::Keep } else { Fate::Drop });
        }
        let get = |key: &str| attrs.iter().find(|a| &*a.name.local == key).map(|a| a.value.trim().to_ascii_lowercase());
        let (class, detail, sanitized) = match local {
            "script" => (ContentClass::Scripts, "script", Fate::Drop),
            "noscript" => (ContentClass::Scripts, "noscript fallback, shown now that scripts are gone", Fate::Unwrap),
            "iframe" | "frame" | "frameset" | "object" | "embed" | "applet" | "param" | "portal" | "fencedframe" => {
                (ContentClass::ActiveObjects, "embedded frame or object", Fate::Drop)
            }
            "audio" | "video" | "track" => (ContentClass::Multimedia, "audio or video", Fate::Drop),
            "form" => (ContentClass::Forms, "form (its text stays)", Fate::Unwrap),
            "button" => (ContentClass::Forms, "form button (its label stays)", Fate::Unwrap),
            "input" | "select" | "textarea" | "datalist" | "keygen" | "output" | "option" | "optgroup" => {
                (ContentClass::Forms, "form control", Fate::Drop)
            }
            "template" => (ContentClass::UnknownParts, "template (inert content for scripts)", Fate::Drop),
            "noembed" | "noframes" => (ContentClass::UnknownParts, "fallback for plug-ins or frames", Fate::Drop),
            "meta" => return self.meta(get("charset"), get("http-equiv"), get("name").or_else(|| get("property"))),
            "link" | "base" => {
                let Some(href) = attrs.iter().find(|a| &*a.name.local == "href") else { return Ok(Fate::Keep) };
                let (class, detail) = match (local, url::reach(&href.value).class(false)) {
                    ("base", class) => {
                        (class.unwrap_or(ContentClass::ExternalLinks), "base URL for every relative URL")
                    }
                    (_, Some(class)) => (class, "linked resource (stylesheet, icon, preload)"),
                    (_, None) => return Ok(Fate::Keep),
                };
                let detail = format!("{detail}: {}", url::shown(&href.value));
                let location = format!("<{local} href>");
                let keep = self.decide(class, Disposition::Removed, &location, &detail)?;
                return Ok(if keep { Fate::Keep } else { Fate::Drop });
            }
            _ if ELEMENTS.contains(&local) => return Ok(Fate::Keep),
            _ => (ContentClass::UnknownParts, "not in the HTML allowlist (its content stays)", Fate::Unwrap),
        };
        let disposition =
            if matches!(sanitized, Fate::Unwrap) { Disposition::Neutralized } else { Disposition::Removed };
        Ok(if self.decide(class, disposition, &location, detail)? { Fate::Keep } else { sanitized })
    }

    /// `<meta>`: charset declarations are replaced by the writer's own,
    /// refreshes are auto-actions, authoring details are metadata.
    fn meta(
        &mut self,
        charset: Option<String>,
        http_equiv: Option<String>,
        name: Option<String>,
    ) -> Result<Fate, Failure> {
        if charset.is_some() || http_equiv.as_deref() == Some("content-type") {
            return Ok(Fate::Drop);
        }
        let (class, location, detail) = match (http_equiv.as_deref(), name) {
            (Some("refresh"), _) => (ContentClass::AutoActions, "refresh".to_owned(), "refresh or redirect on opening"),
            (Some("set-cookie"), _) => (ContentClass::AutoActions, "set-cookie".to_owned(), "sets a cookie on opening"),
            (None, Some(name)) if !LAYOUT_META.contains(&name.as_str()) => {
                (ContentClass::Metadata, url::shown(&name), "document metadata")
            }
            _ => return Ok(Fate::Keep),
        };
        let location = format!("<meta {location}>");
        Ok(if self.decide(class, Disposition::Removed, &location, detail)? { Fate::Keep } else { Fate::Drop })
    }

    /// Writes a kept element: its allowed attributes, then its content.
    fn element(
        &mut self,
        node: &Handle,
        name: &QualName,
        attrs: &[Attribute],
        content: &Handle,
        depth: usize,
    ) -> Result<(), Failure> {
        let local: &str = &name.local;
        let html = name.ns == ns!(html);
        let Attributes { kept, unlinked } = self.attributes(html, local, attrs)?;
        if let Some(shown) = unlinked {
            self.children(node, depth + 1)?;
            if let Some(target) = shown.filter(|target| !same_text(&text_content(node), target)) {
                self.out.push(' ');
                escape(&format!("<{}>", target.trim()), false, &mut self.out);
            }
            return Ok(());
        }
        self.out.push('<');
        self.out.push_str(local);
        for (key, value) in &kept {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape(value, true, &mut self.out);
            self.out.push('"');
        }
        self.out.push('>');
        if html && local == "head" {
            self.out.push_str("<meta charset=\"utf-8\">");
        }
        if html && VOID.contains(&local) {
            return Ok(());
        }
        if html && RAW_TEXT.contains(&local) {
            let mut text = String::new();
            for child in content.children.borrow().iter() {
                if let NodeData::Text { contents } = &child.data {
                    text.push_str(&contents.borrow());
                }
            }
            if local == "style" {
                text = self.rewrite_css(&text, "<style>")?.unwrap_or(text);
            }
            self.out.push_str(&text);
        } else {
            // The parser drops a line feed right after these start tags.
            let leading_newline = content.children.borrow().first().is_some_and(
                |first| matches!(&first.data, NodeData::Text { contents } if contents.borrow().starts_with('\n')),
            );
            if html && matches!(local, "pre" | "textarea" | "listing") && leading_newline {
                self.out.push('\n');
            }
            self.children(content, depth + 1)?;
        }
        self.out.push_str("</");
        self.out.push_str(local);
        self.out.push('>');
        Ok(())
    }

    /// The attributes of a kept element, judged one by one.
    fn attributes(&mut self, html: bool, local: &str, attrs: &[Attribute]) -> Result<Attributes, Failure> {
        let (mut kept, mut unlinked) = (Vec::new(), None);
        for attribute in attrs {
            let key = match &attribute.name.prefix {
                Some(prefix) => format!("{prefix}:{}", attribute.name.local),
                None => attribute.name.local.to_string(),
            };
            let mut value = attribute.value.to_string();
            let location = format!("<{local} {key}>");
            let keep = if matches!(local, "link" | "base") && key == "href" {
                // Judged with the element.
                true
            } else if key.to_ascii_lowercase().starts_with("on") {
                self.decide(ContentClass::Scripts, Disposition::Removed, &location, "event handler")?
            } else if URL_ATTRIBUTES.contains(&key.as_str()) || key == "xlink:href" {
                let link = matches!(key.as_str(), "href" | "xlink:href") && matches!(local, "a" | "area")
                    || matches!(key.as_str(), "cite" | "longdesc");
                let reach = if key == "srcset" {
                    value.split(',').filter_map(|c| c.split_whitespace().next()).map(url::reach).max()
                } else {
                    Some(url::reach(&value))
                };
                match reach.and_then(|reach| reach.class(link)) {
                    None => true,
                    Some(ContentClass::Hyperlinks) if self.policy.keeps_links() => true,
                    Some(ContentClass::Hyperlinks) => {
                        let text_mode = self.policy.hyperlink_mode == HyperlinkMode::KeepAsText;
                        let disposition = if text_mode { Disposition::Neutralized } else { Disposition::Removed };
                        let detail = format!("link to {}", url::shown(&value));
                        let keep = self.decide(ContentClass::Hyperlinks, disposition, &location, &detail)?;
                        if !keep && local == "a" && key == "href" {
                            unlinked = Some(text_mode.then(|| value.clone()));
                        }
                        keep
                    }
                    Some(class) => {
                        let what = if class == ContentClass::ExternalLinks { "reference to" } else { "URL" };
                        let detail = format!("{what} {}", url::shown(&value));
                        self.decide(class, Disposition::Removed, &location, &detail)?
                    }
                }
            } else if key == "style" {
                if let Some(rewritten) = self.rewrite_css(&value, &location)? {
                    value = rewritten;
                }
                true
            } else if url::reach(&value) == Reach::Script {
                self.decide(ContentClass::Scripts, Disposition::Removed, &location, "script URL")?
            } else if !html || ATTRIBUTES.contains(&key.as_str()) || key.starts_with("aria-") {
                true
            } else {
                let detail = "attribute outside the HTML allowlist";
                self.decide(ContentClass::UnknownParts, Disposition::Removed, &location, detail)?
            };
            if keep {
                kept.push((key, value));
            }
        }
        Ok(Attributes { kept, unlinked })
    }

    fn rewrite_css(&mut self, css: &str, location: &str) -> Result<Option<String>, Failure> {
        css::rewrite(css, |risk| Ok(!self.decide(risk.class, Disposition::Removed, location, &risk.detail)?))
    }
}

/// All the text under `node`, without recursion.
fn text_content(node: &Handle) -> String {
    let (mut text, mut stack) = (String::new(), vec![node.clone()]);
    while let Some(node) = stack.pop() {
        if let NodeData::Text { contents } = &node.data {
            text.push_str(&contents.borrow());
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    text
}

/// True when a link's text already shows its target (`https://x.jp/` or the
/// address of a `mailto:` link).
pub fn same_text(text: &str, target: &str) -> bool {
    let (text, target) = (text.trim(), target.trim());
    text == target || target.strip_prefix("mailto:").is_some_and(|address| address == text)
}

/// Escapes text or a double-quoted attribute value. Control characters
/// (C0 but tab, line feed and carriage return; C1; DEL) are dropped: they
/// show nothing, and escape bytes (ESC of ISO-2022-JP) are how a page
/// decoded under another charset turns into markup.
pub fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}
