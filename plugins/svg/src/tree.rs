//! Reading an SVG document into the tree of what stays.
//!
//! The document is read once with quick-xml, namespaces resolved, and every
//! element, attribute, run of text, comment and processing instruction is
//! judged as it comes: what the policy removes never enters the tree, so
//! the reference checks (`refs`) and the writer (`write`) only see what
//! stays. Elements are judged by name first, whatever their namespace or
//! case (an SVG pasted into HTML is parsed case-insensitively, so
//! `<ScRiPt>` is a script there), then against the SVG vocabulary.
//! Attributes are judged by what they do: event handlers, URLs (`href`,
//! `xlink:href`), CSS (`style`, and `url()` in presentation attributes).
//! Only the five predefined entities and character references are read: a
//! DTD's internal subset is removed unexpanded, which defuses entity bombs.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use sekisho_plugin_sdk::{Action, ContentClass, Decision, Disposition, Failure, Findings, Policy};

use sekisho_plugin_sdk::css;
use sekisho_plugin_sdk::url;

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Deepest element nesting accepted; renderers give up around here too.
pub const MAX_DEPTH: usize = 256;

/// SVG 1.1 and 2 elements that draw, group, define paint, filter, animate
/// or describe (`script`, `foreignObject` and `metadata` are judged by class).
#[rustfmt::skip]
const SVG_ELEMENTS: &[&str] = &[
    "a", "altGlyph", "altGlyphDef", "altGlyphItem", "animate", "animateColor", "animateMotion", "animateTransform",
    "circle", "clipPath", "color-profile", "cursor", "defs", "desc", "ellipse", "feBlend", "feColorMatrix",
    "feComponentTransfer", "feComposite", "feConvolveMatrix", "feDiffuseLighting", "feDisplacementMap",
    "feDistantLight", "feDropShadow", "feFlood", "feFuncA", "feFuncB", "feFuncG", "feFuncR", "feGaussianBlur",
    "feImage", "feMerge", "feMergeNode", "feMorphology", "feOffset", "fePointLight", "feSpecularLighting",
    "feSpotLight", "feTile", "feTurbulence", "filter", "font", "font-face", "font-face-format", "font-face-name",
    "font-face-src", "font-face-uri", "g", "glyph", "glyphRef", "hkern", "image", "line", "linearGradient",
    "marker", "mask", "missing-glyph", "mpath", "path", "pattern", "polygon", "polyline", "radialGradient", "rect",
    "set", "stop", "style", "svg", "switch", "symbol", "text", "textPath", "title", "tref", "tspan", "use", "view",
];

/// Elements whose character data is content; elsewhere SVG renders none.
const TEXT_ELEMENTS: &[&str] =
    &["a", "altGlyph", "desc", "script", "style", "text", "textPath", "title", "tref", "tspan"];

/// Animation elements, which can set an attribute (a link's `href`) to a script URL.
const ANIMATIONS: &[&str] = &["animate", "animateColor", "animateMotion", "animateTransform", "set"];

/// One node of the rebuilt document.
pub enum Node {
    Element(Element),
    Text(String),
    Comment(String),
    /// A processing instruction, `target data` as written.
    Pi(String),
    /// A document type declaration without internal subset, kept by policy.
    Doctype(String),
}

pub struct Element {
    /// Qualified name, as written.
    pub name: String,
    /// Attributes that stay: qualified name and value (unescaped).
    pub attrs: Vec<(String, String)>,
    pub children: Vec<usize>,
    /// `id` or `xml:id`.
    pub id: Option<String>,
    /// For `<use>` and `<feImage>`: the id of the element it renders.
    pub renders: Option<String>,
    /// Removed after reading (a reference loop).
    pub removed: bool,
}

/// The rebuilt document: nodes in document order.
pub struct Tree {
    pub nodes: Vec<Node>,
    /// Top-level nodes (doctype, comments, processing instructions, root element).
    pub top: Vec<usize>,
    pub root: usize,
}

/// Namespace of an element or attribute.
enum Ns {
    /// No namespace: an unprefixed element without default namespace, or an attribute.
    None,
    Bound(String),
    /// A prefix that no `xmlns:` declares.
    Undeclared(String),
}

impl Ns {
    fn of(resolved: ResolveResult<'_>) -> Ns {
        match resolved {
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Bound(ns) => Ns::Bound(ns.as_ref().to_owned()),
            ResolveResult::Unknown(prefix) => Ns::Undeclared(prefix),
        }
    }

    /// SVG elements are in the SVG namespace, or in none in files that forgot it.
    fn is_svg(&self) -> bool {
        match self {
            Ns::None => true,
            Ns::Bound(ns) => ns == SVG_NS,
            Ns::Undeclared(_) => false,
        }
    }
}

/// Reads `text` (UTF-8, line ends normalized) into the tree of what stays.
pub fn read(text: &str, policy: &Policy, findings: &mut Findings) -> Result<Tree, Failure> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    let mut builder = Builder {
        policy,
        findings,
        nodes: Vec::new(),
        top: Vec::new(),
        root: None,
        open: Vec::new(),
        skipping: 0,
        text: String::new(),
        entities_removed: false,
    };
    let mut first = true;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(not_well_formed)?;
        let ns = Ns::of(ns);
        if !matches!(event, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) {
            builder.flush_text()?;
        }
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                builder.start(&ns, start, empty, &reader)?;
            }
            Event::End(_) => builder.end()?,
            Event::Text(text) => builder.text.push_str(&text),
            Event::CData(data) => builder.text.push_str(&data),
            Event::GeneralRef(reference) => {
                if reference.is_char_ref() {
                    let c = reference.resolve_char_ref().map_err(not_well_formed)?;
                    builder.text.extend(c);
                } else if let Some(value) = resolve_predefined_entity(&reference) {
                    builder.text.push_str(value);
                } else if !builder.entities_removed {
                    return Err(Failure::invalid(format!(
                        "XML reference to the undeclared entity &{};",
                        shorten(&reference)
                    )));
                }
            }
            Event::Comment(comment) => builder.comment(&comment)?,
            Event::PI(pi) => builder.instruction(pi.target(), &pi)?,
            Event::DocType(doctype) => builder.doctype(&doctype)?,
            Event::Decl(_) if first => {}
            Event::Decl(_) => return Err(Failure::invalid("XML declaration after the start of the document")),
            Event::Eof => break,
        }
        first = false;
    }
    builder.finish()
}

struct Builder<'a> {
    policy: &'a Policy,
    findings: &'a mut Findings,
    nodes: Vec<Node>,
    top: Vec<usize>,
    root: Option<usize>,
    /// Kept elements that are open.
    open: Vec<usize>,
    /// Depth inside a removed element (0: not inside one).
    skipping: usize,
    /// Character data not yet attached.
    text: String,
    /// A DTD's internal subset was removed: references to its entities are dropped with it.
    entities_removed: bool,
}

impl Builder<'_> {
    fn decide(&mut self, class: ContentClass, location: &str, detail: &str) -> Result<Decision, Failure> {
        self.findings.decide_grouped(self.policy, class, Disposition::Removed, location, detail)
    }

    fn element(&self, index: usize) -> Option<&Element> {
        match self.nodes.get(index) {
            Some(Node::Element(element)) => Some(element),
            _ => None,
        }
    }

    /// Adds a node under the innermost open element, or at the top level.
    fn attach(&mut self, node: Node) -> usize {
        let index = self.nodes.len();
        self.nodes.push(node);
        let parent = self.open.last().copied();
        match parent.and_then(|p| self.nodes.get_mut(p)) {
            Some(Node::Element(parent)) => parent.children.push(index),
            _ => self.top.push(index),
        }
        index
    }

    fn start(&mut self, ns: &Ns, start: &BytesStart<'_>, empty: bool, reader: &NsReader<&[u8]>) -> Result<(), Failure> {
        if self.skipping > 0 {
            self.skipping += usize::from(!empty);
            return Ok(());
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(Failure::limit(format!("elements nested deeper than {MAX_DEPTH} levels")));
        }
        let name = start.name().as_ref().to_owned();
        let local = start.local_name().as_ref().to_owned();
        check_name(&name)?;
        if self.open.is_empty() {
            if self.root.is_some() {
                return Err(Failure::invalid(format!("a second root element <{}>", shorten(&name))));
            }
            if local != "svg" || !ns.is_svg() {
                return Err(Failure::invalid(format!("the root element is <{}>, not <svg>", shorten(&name))));
            }
        }
        if !self.keeps_element(ns, &name, &local, start)? {
            self.skipping = usize::from(!empty);
            return Ok(());
        }
        let element = self.element_of(ns, name, &local, start, reader)?;
        let index = self.attach(Node::Element(element));
        if self.open.is_empty() {
            self.root = Some(index);
        }
        if empty {
            self.finish_element(index)?;
        } else {
            self.open.push(index);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), Failure> {
        if self.skipping > 0 {
            self.skipping -= 1;
            return Ok(());
        }
        match self.open.pop() {
            Some(index) => self.finish_element(index),
            None => Err(Failure::invalid("XML end tag without start tag")),
        }
    }

    /// Whether an element stays: by its class whatever its namespace, then
    /// by the SVG vocabulary.
    fn keeps_element(&mut self, ns: &Ns, name: &str, local: &str, start: &BytesStart<'_>) -> Result<bool, Failure> {
        let location = format!("<{}>", shorten(name));
        let classified = match local.to_ascii_lowercase().as_str() {
            "script" | "handler" | "listener" => Some((ContentClass::Scripts, "script")),
            "foreignobject" => Some((ContentClass::ActiveObjects, "foreign (HTML) content")),
            "iframe" | "frame" | "frameset" | "object" | "embed" | "applet" => {
                Some((ContentClass::ActiveObjects, "embedded object"))
            }
            "form" | "input" | "button" | "select" | "textarea" | "option" | "keygen" => {
                Some((ContentClass::Forms, "form control"))
            }
            "audio" | "video" | "source" | "track" => Some((ContentClass::Multimedia, "audio or video")),
            "metadata" => Some((ContentClass::Metadata, "metadata (authoring tool data, RDF)")),
            _ => None,
        };
        if let Some((class, detail)) = classified {
            return Ok(self.decide(class, &location, detail)? == Decision::Keep);
        }
        let unknown = match ns {
            Ns::Undeclared(prefix) => {
                let detail = format!("element prefix {:?} is not declared", shorten(prefix));
                return Ok(self.decide(ContentClass::MalformedStructure, &location, &detail)? == Decision::Keep);
            }
            Ns::Bound(ns) if ns != SVG_NS => Some(format!("element outside SVG (namespace {})", url::shown(ns))),
            _ if !SVG_ELEMENTS.contains(&local) => Some("not an SVG element".to_owned()),
            _ => None,
        };
        if let Some(detail) = unknown {
            return Ok(self.decide(ContentClass::UnknownParts, &location, &detail)? == Decision::Keep);
        }
        if ANIMATIONS.contains(&local) {
            for attribute in start.attributes().with_checks(false) {
                let attribute = attribute.map_err(not_well_formed)?;
                if attribute.key.as_ref() != "attributeName" {
                    continue;
                }
                let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(not_well_formed)?;
                let target = value.trim().to_ascii_lowercase();
                let target = target.strip_prefix("xlink:").unwrap_or(&target);
                if target == "href" || target.starts_with("on") {
                    let detail = format!("animation that sets {target} (a script URL or handler)");
                    return Ok(self.decide(ContentClass::Scripts, &location, &detail)? == Decision::Keep);
                }
            }
        }
        Ok(true)
    }

    /// The element as it stays: its attributes judged one by one, its id,
    /// and for `<use>` and `<feImage>` the id of the element it renders.
    fn element_of(
        &mut self,
        ns: &Ns,
        name: String,
        local: &str,
        start: &BytesStart<'_>,
        reader: &NsReader<&[u8]>,
    ) -> Result<Element, Failure> {
        let link = ns.is_svg() && local == "a";
        let (mut kept, mut id, mut href, mut xlink_href) = (Vec::new(), None, None, None);
        for attribute in start.attributes().with_checks(true) {
            let attribute = attribute.map_err(not_well_formed)?;
            let key = attribute.key.as_ref().to_owned();
            check_name(&key)?;
            let mut value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(not_well_formed)?.into_owned();
            check_chars(&value)?;
            let (ns, attr_local) = reader.resolver().resolve_attribute(attribute.key);
            let (ns, attr_local) = (Ns::of(ns), attr_local.as_ref().to_owned());
            let location = format!("<{} {}>", shorten(&name), shorten(&key));
            if key == "xmlns" || key.starts_with("xmlns:") {
                kept.push((key, value));
                continue;
            }
            let ns = match ns {
                Ns::None => "",
                Ns::Bound(ref ns) if ns == XLINK_NS || ns == XML_NS => ns.as_str(),
                Ns::Bound(ref ns) => {
                    let detail = format!("attribute outside SVG (namespace {})", url::shown(ns));
                    if self.decide(ContentClass::UnknownParts, &location, &detail)? == Decision::Keep {
                        kept.push((key, value));
                    }
                    continue;
                }
                Ns::Undeclared(ref prefix) => {
                    let detail = format!("attribute prefix {:?} is not declared", shorten(prefix));
                    if self.decide(ContentClass::MalformedStructure, &location, &detail)? == Decision::Keep {
                        kept.push((key, value));
                    }
                    continue;
                }
            };
            let keep = if ns.is_empty() && attr_local.to_ascii_lowercase().starts_with("on") {
                self.decide(ContentClass::Scripts, &location, "event handler")? == Decision::Keep
            } else if attr_local == "href" && (ns.is_empty() || ns == XLINK_NS) {
                let keep = self.keeps_url(&value, link, &location)?;
                if keep {
                    let target = value.trim().strip_prefix('#').map(str::to_owned);
                    *(if ns.is_empty() { &mut href } else { &mut xlink_href }) = target;
                }
                keep
            } else if attr_local == "style" && ns.is_empty() {
                if let Some(rewritten) = self.rewrite_css(&value, &location)? {
                    value = rewritten;
                }
                true
            } else if let Some(risk) = css::risk(&value) {
                self.decide(risk.class, &location, &risk.detail)? == Decision::Keep
            } else {
                true
            };
            if keep {
                if attr_local == "id" && (ns.is_empty() || ns == XML_NS) {
                    id.get_or_insert_with(|| value.clone());
                }
                kept.push((key, value));
            }
        }
        // SVG 2: `href` wins over `xlink:href`.
        let renders = href.or(xlink_href).filter(|_| ns.is_svg() && matches!(local, "use" | "feImage"));
        Ok(Element { name, attrs: kept, children: Vec::new(), id, renders, removed: false })
    }

    /// Whether a URL attribute stays: links (`<a href>`) follow the
    /// hyperlink mode, resources must stay inside the document.
    fn keeps_url(&mut self, value: &str, link: bool, location: &str) -> Result<bool, Failure> {
        let Some(class) = url::reach(value).class(link) else {
            return Ok(true);
        };
        if class == ContentClass::Hyperlinks && self.policy.keeps_links() {
            return Ok(true);
        }
        let detail = match class {
            ContentClass::Hyperlinks => format!("link to {}", url::shown(value)),
            ContentClass::ExternalLinks => format!("reference to {}", url::shown(value)),
            _ => format!("URL {}", url::shown(value)),
        };
        Ok(self.decide(class, location, &detail)? == Decision::Keep)
    }

    /// Removes what the policy removes from CSS; `None` when nothing changed.
    fn rewrite_css(&mut self, css: &str, location: &str) -> Result<Option<String>, Failure> {
        css::rewrite(css, |risk| Ok(self.decide(risk.class, location, &risk.detail)? == Decision::Sanitize))
    }

    /// A `<style>` element's CSS is judged as one text, once it is complete.
    fn finish_element(&mut self, index: usize) -> Result<(), Failure> {
        let Some(element) = self.element(index) else { return Ok(()) };
        if element.name.rsplit(':').next() != Some("style") {
            return Ok(());
        }
        let location = format!("<{}>", element.name);
        let (mut css, mut others) = (String::new(), Vec::new());
        for &child in &element.children {
            match self.nodes.get(child) {
                Some(Node::Text(text)) => css.push_str(text),
                _ => others.push(child),
            }
        }
        let css = self.rewrite_css(&css, &location)?.unwrap_or(css);
        let text = (!css.is_empty()).then(|| {
            self.nodes.push(Node::Text(css));
            self.nodes.len() - 1
        });
        if let Some(Node::Element(element)) = self.nodes.get_mut(index) {
            element.children = text.into_iter().chain(others).collect();
        }
        Ok(())
    }

    /// Attaches pending character data where SVG shows it (or where it is
    /// white space); outside the root it must be white space.
    fn flush_text(&mut self) -> Result<(), Failure> {
        if self.text.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.text);
        check_chars(&text)?;
        if self.skipping > 0 {
            return Ok(());
        }
        let blank = text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let Some(&parent) = self.open.last() else {
            if blank {
                return Ok(());
            }
            return Err(Failure::invalid("character data outside the root element"));
        };
        let Some(element) = self.element(parent) else { return Ok(()) };
        let shown = TEXT_ELEMENTS.contains(&element.name.rsplit(':').next().unwrap_or_default());
        let location = format!("<{}>", element.name);
        if blank
            || shown
            || self.decide(ContentClass::MalformedStructure, &location, "character data where SVG shows none")?
                == Decision::Keep
        {
            self.attach(Node::Text(text));
        }
        Ok(())
    }

    fn comment(&mut self, comment: &str) -> Result<(), Failure> {
        if self.skipping == 0 && self.decide(ContentClass::Comments, "comment", "XML comment")? == Decision::Keep {
            self.attach(Node::Comment(comment.to_owned()));
        }
        Ok(())
    }

    fn instruction(&mut self, target: &str, pi: &str) -> Result<(), Failure> {
        if self.skipping > 0 {
            return Ok(());
        }
        let location = format!("<?{}?>", shorten(target));
        let (class, detail) = match target.to_ascii_lowercase().as_str() {
            "xml-stylesheet" => (ContentClass::ExternalLinks, "processing instruction that loads a stylesheet"),
            "php" => (ContentClass::Scripts, "PHP code"),
            _ => (ContentClass::MalformedStructure, "processing instruction"),
        };
        if self.decide(class, &location, detail)? == Decision::Keep {
            self.attach(Node::Pi(pi.to_owned()));
        }
        Ok(())
    }

    /// A DTD reference may stay by policy; an internal subset (entity and
    /// attribute-default declarations) never does, since nothing expands it.
    fn doctype(&mut self, doctype: &str) -> Result<(), Failure> {
        if self.root.is_some() || !self.open.is_empty() {
            return Err(Failure::invalid("document type declaration inside the document"));
        }
        let location = "<!DOCTYPE>";
        if doctype.contains('[') {
            let detail =
                "internal DTD subset (entity declarations): removed unexpanded, with references to its entities";
            let class = ContentClass::MalformedStructure;
            if self.policy.action(class) == Action::Block {
                self.decide(class, location, detail)?;
            }
            self.findings.push(class, Disposition::Removed, location, detail);
            self.entities_removed = true;
        } else if self.decide(ContentClass::MalformedStructure, location, "document type declaration")?
            == Decision::Keep
        {
            self.attach(Node::Doctype(doctype.trim().to_owned()));
        }
        Ok(())
    }

    fn finish(self) -> Result<Tree, Failure> {
        if !self.open.is_empty() || self.skipping > 0 {
            return Err(Failure::invalid("XML is not well formed: it ends inside an element"));
        }
        let root = self.root.ok_or_else(|| Failure::invalid("no <svg> root element"))?;
        Ok(Tree { nodes: self.nodes, top: self.top, root })
    }
}

/// Element and attribute names the writer can write back as they are.
fn check_name(name: &str) -> Result<(), Failure> {
    let valid = name.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == ':' || !c.is_ascii())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.') || !c.is_ascii());
    if valid { Ok(()) } else { Err(Failure::invalid(format!("XML name {:?} is not valid", shorten(name)))) }
}

/// XML 1.0 allows no control characters but tab, line feed and carriage return.
pub fn check_chars(text: &str) -> Result<(), Failure> {
    let forbidden =
        |c: &char| matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    match text.chars().find(forbidden) {
        Some(c) => Err(Failure::invalid(format!("character U+{:04X} is not allowed in XML", c as u32))),
        None => Ok(()),
    }
}

fn not_well_formed(error: impl std::fmt::Display) -> Failure {
    Failure::invalid(format!("XML is not well formed: {error}"))
}

/// A name or prefix shortened for a message.
fn shorten(text: &str) -> String {
    url::shown(text)
}
