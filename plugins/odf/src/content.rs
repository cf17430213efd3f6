//! The XML members of a document (content, styles, settings, user-interface
//! configuration, the XML of sub-documents): active elements and attributes
//! are found in one read and removed in one rewrite.
//!
//! Elements that are active whatever they point at (scripts, event
//! listeners, OLE objects, applets, plug-ins, DDE, external data sources,
//! comments, tracked changes) are judged by name; links by the URL in their
//! `xlink:href`, which can also run a macro (`macro:`, `vnd.sun.star.script:`).
//! Text stays whenever it can: a link or a DDE field loses its tags, not its
//! words, and a spreadsheet cell loses a risky formula but keeps its value.
//! A container of event listeners goes once all its listeners have gone.

use std::collections::{BTreeMap, BTreeSet};

use sekisho_plugin_sdk::xml::{self, Attribute, Edit, Element, Node};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy};

use crate::links::{self, Target};

const OFFICE: &str = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
const SCRIPT: &str = "urn:oasis:names:tc:opendocument:xmlns:script:1.0";
const TEXT: &str = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
const TABLE: &str = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
const DRAW: &str = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0";
const PRESENTATION: &str = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0";
const FORM: &str = "urn:oasis:names:tc:opendocument:xmlns:form:1.0";
const STYLE: &str = "urn:oasis:names:tc:opendocument:xmlns:style:1.0";
const META: &str = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0";
const SVG: &str = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0";
const XLINK: &str = "http://www.w3.org/1999/xlink";
const XFORMS: &str = "http://www.w3.org/2002/xforms";

/// The usual prefixes, to name elements in findings.
const PREFIXES: [(&str, &str); 12] = [
    (OFFICE, "office"),
    (SCRIPT, "script"),
    (TEXT, "text"),
    (TABLE, "table"),
    (DRAW, "draw"),
    (PRESENTATION, "presentation"),
    (FORM, "form"),
    (STYLE, "style"),
    (META, "meta"),
    (SVG, "svg"),
    (XLINK, "xlink"),
    (XFORMS, "xforms"),
];

/// Longest URL or formula quoted in a finding.
const MAX_QUOTE: usize = 160;

/// One XML member being cleaned.
pub struct Scope<'a> {
    /// The member name, used as the location of findings.
    pub name: &'a str,
    /// The folder of its (sub-)document, against which links resolve.
    pub root: &'a str,
    /// A user-interface configuration file (menus, toolbars, shortcuts):
    /// an item bound to a macro goes whole.
    pub ui: bool,
}

/// Package members the XML members point at, gathered over all of them.
#[derive(Default)]
pub struct Links {
    /// Members used by elements that stay.
    pub used: BTreeSet<String>,
    /// Members of removed objects (OLE data, plug-in media): they go too.
    pub orphans: BTreeSet<String>,
    /// Members of OLE objects the policy keeps.
    pub kept_ole: BTreeSet<String>,
}

/// Cleans one XML member; `None` when its bytes stay as they are.
pub fn clean(
    xml: &[u8],
    scope: &Scope<'_>,
    policy: &Policy,
    findings: &mut Findings,
    links: &mut Links,
) -> Result<Option<Vec<u8>>, Failure> {
    let stripped = without_external_dtd(xml);
    let xml = stripped.as_deref().unwrap_or(xml);
    let mut planner = Planner { scope, policy, findings, links, plan: BTreeMap::new(), open: Vec::new() };
    xml::scan(xml, |node| planner.visit(node))?;
    if !planner.open.is_empty() {
        return Err(Failure::invalid("the XML ends inside an element"));
    }
    let mut plan = planner.plan;
    if plan.is_empty() {
        return Ok(stripped);
    }
    let rewritten = xml::rewrite(xml, |element| Ok(plan.remove(&element.index).unwrap_or(Edit::Keep)))?;
    Ok(rewritten.or(stripped))
}

/// Cuts a document type declaration that only names an external DTD
/// (`<!DOCTYPE math:math PUBLIC "…" "math.dtd">`, written by OpenOffice in
/// formulas and manifests): it declares nothing, no consumer fetches it, and
/// the XML reader refuses every DTD. One with an internal subset (`[…]`,
/// where entities are declared) is left for the reader to refuse.
pub fn without_external_dtd(xml: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &[u8] = b"<!DOCTYPE";
    let first_element = xml
        .iter()
        .enumerate()
        .position(|(i, &b)| b == b'<' && !matches!(xml.get(i + 1), Some(b'?' | b'!')))
        .unwrap_or(xml.len());
    let start = xml[..first_element].windows(OPEN.len()).position(|w| w == OPEN)?;
    let mut quote = None;
    for (offset, &byte) in xml[start + OPEN.len()..].iter().enumerate() {
        match (quote, byte) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'[') => return None,
            (None, b'>') => return Some([&xml[..start], &xml[start + OPEN.len() + offset + 1..]].concat()),
            _ => {}
        }
    }
    None
}

/// How an element goes when its link must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `text:a`, `draw:a`: the tags go, the text or frame inside stays.
    Link,
    /// Image-map areas, slide-show click actions: nothing to keep.
    Hotspot,
    /// A form button that opens a URL: the button stays.
    Button,
    /// A form that submits to a URL.
    Submit,
    /// An embedded resource, resolved inside the package.
    Resource,
    /// A file linked by its location on disk (sections, templates).
    Linked,
    Other,
}

fn kind(element: &Element<'_>) -> Kind {
    match (element.namespace, element.local) {
        (TEXT | DRAW, "a") => Kind::Link,
        (DRAW, "area-rectangle" | "area-circle" | "area-polygon") | (PRESENTATION, "event-listener") => Kind::Hotspot,
        (FORM, "button") => Kind::Button,
        (FORM, "form") => Kind::Submit,
        (DRAW, "image" | "object" | "object-ole" | "plugin" | "applet" | "fill-image")
        | (STYLE, "background-image")
        | (TEXT, "list-level-style-image")
        | (SVG, "font-face-uri")
        | (PRESENTATION, "sound") => Kind::Resource,
        (DRAW, "floating-frame") | (TEXT, "section-source") | (META, "template" | "auto-reload") => Kind::Linked,
        _ => Kind::Other,
    }
}

/// Elements that are active content whatever they point at: their class,
/// what they are, and how they go.
fn fixed(element: &Element<'_>) -> Result<Option<(ContentClass, &'static str, Edit)>, Failure> {
    use ContentClass::*;
    let rule = match (element.namespace, element.local) {
        (OFFICE, "script") => (Macros, "script code stored in the document", Edit::Drop),
        (SCRIPT, "event-listener") => (Macros, "an event runs a macro or script", Edit::Drop),
        (TABLE, "error-macro") => (Macros, "invalid input runs a macro", Edit::Drop),
        (PRESENTATION, "event-listener") => match element.attribute(PRESENTATION, "action")?.as_deref() {
            Some("execute") => (ExternalActions, "a click runs a program or opens a file", Edit::Drop),
            Some("verb") => (ActiveObjects, "a click runs an OLE object verb", Edit::Drop),
            Some("sound") => (Multimedia, "a click plays a sound", Edit::Drop),
            _ => return Ok(None),
        },
        (DRAW, "object-ole") => (ActiveObjects, "binary OLE object (its replacement image stays)", Edit::Drop),
        (DRAW, "applet") => (ActiveObjects, "Java applet", Edit::Drop),
        (DRAW, "plugin") => (Multimedia, "plug-in or media object", Edit::Drop),
        (PRESENTATION, "sound") => (Multimedia, "sound played by the slide show", Edit::Drop),
        (TEXT, "dde-connection-decls") | (TABLE, "dde-links") | (OFFICE, "dde-source") => {
            (Dde, "DDE link to another application", Edit::Drop)
        }
        (TEXT, "dde-connection") => (Dde, "field showing DDE data (its text stays)", Edit::Unwrap),
        (
            TABLE,
            "table-source"
            | "cell-range-source"
            | "database-source-sql"
            | "database-source-table"
            | "database-source-query",
        ) => (DataConnections, "data linked from an external source (cached values stay)", Edit::Drop),
        (XFORMS, "submission") => (ExternalActions, "form data sent to a URL", Edit::Drop),
        (OFFICE, "annotation") => (Comments, "comment", Edit::Drop),
        (OFFICE, "annotation-end") => (Comments, "end of a commented range", Edit::Drop),
        (TEXT | TABLE, "tracked-changes") => (Revisions, "change history (the changes are accepted)", Edit::Drop),
        (TEXT, "change" | "change-start" | "change-end") => (Revisions, "change mark", Edit::Drop),
        _ => return Ok(None),
    };
    Ok(Some(rule))
}

/// What goes when a link or formula must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    Attribute,
    Unwrap,
    Drop,
}

/// An open element, for containers and for skipping what is already dropped.
struct Open {
    index: usize,
    /// `office:event-listeners`, which goes when all its listeners go.
    listeners: bool,
    /// It or an ancestor is dropped: nothing inside needs a decision.
    dropped: bool,
    children: usize,
    kept_children: usize,
}

/// Decides the edits of one XML member while it is read.
struct Planner<'a, 's> {
    scope: &'a Scope<'s>,
    policy: &'a Policy,
    findings: &'a mut Findings,
    links: &'a mut Links,
    plan: BTreeMap<usize, Edit>,
    open: Vec<Open>,
}

impl Planner<'_, '_> {
    fn visit(&mut self, node: Node<'_>) -> Result<(), Failure> {
        match node {
            Node::Start(element) => {
                let inside_dropped = self.open.last().is_some_and(|parent| parent.dropped);
                let edit = if inside_dropped { Edit::Drop } else { self.edit(&element)? };
                if let Some(parent) = self.open.last_mut() {
                    parent.children += 1;
                    parent.kept_children += usize::from(edit != Edit::Drop);
                }
                self.open.push(Open {
                    index: element.index,
                    listeners: element.is(OFFICE, "event-listeners"),
                    dropped: edit == Edit::Drop,
                    children: 0,
                    kept_children: 0,
                });
                if edit != Edit::Keep && !inside_dropped {
                    self.plan.insert(element.index, edit);
                }
            }
            Node::End => {
                let open = self.open.pop().ok_or_else(|| Failure::invalid("an end tag closes nothing"))?;
                if open.listeners && !open.dropped && open.children > 0 && open.kept_children == 0 {
                    self.plan.insert(open.index, Edit::Drop);
                }
            }
            Node::Text(_) => {}
        }
        Ok(())
    }

    fn edit(&mut self, element: &Element<'_>) -> Result<Edit, Failure> {
        if let Some((class, what, edit)) = fixed(element)? {
            let detail = format!("{}: {what}", qname(element.namespace, element.local));
            let member = match (kind(element), element.attribute(XLINK, "href")?) {
                (Kind::Resource, Some(href)) => match links::resolve(self.scope.root, &href) {
                    Target::Member(path) => Some(path),
                    _ => None,
                },
                _ => None,
            };
            let removal = if edit == Edit::Unwrap { Removal::Unwrap } else { Removal::Drop };
            if self.decide(class, &detail, removal)? == Decision::Sanitize {
                self.links.orphans.extend(member);
                return Ok(edit);
            }
            if element.is(DRAW, "object-ole") {
                self.links.kept_ole.extend(member);
            }
        }
        self.attributes(element)
    }

    /// Judges each attribute; the strongest removal wins.
    fn attributes(&mut self, element: &Element<'_>) -> Result<Edit, Failure> {
        let (mut unwrap, mut dropped) = (false, Vec::new());
        for attribute in element.attributes()? {
            let Some((class, detail, removal)) = self.judge(element, &attribute) else { continue };
            if self.decide(class, &detail, removal)? == Decision::Keep {
                continue;
            }
            match removal {
                Removal::Drop => return Ok(Edit::Drop),
                Removal::Unwrap => unwrap = true,
                Removal::Attribute => dropped.push((attribute.namespace, attribute.local)),
            }
        }
        if unwrap {
            return Ok(Edit::Unwrap);
        }
        if dropped.is_empty() {
            return Ok(Edit::Keep);
        }
        element.without_attributes(|a| dropped.iter().any(|(ns, local)| *ns == a.namespace && *local == a.local))
    }

    /// What is wrong with one attribute, if anything.
    fn judge(&mut self, element: &Element<'_>, attribute: &Attribute) -> Option<(ContentClass, String, Removal)> {
        let (kind, value) = (kind(element), attribute.value.as_str());
        let name = || qname(element.namespace, element.local);
        let href = attribute.namespace == XLINK && attribute.local == "href";
        if (href || self.scope.ui) && links::is_script_url(value) {
            let removal = match kind {
                Kind::Link => Removal::Unwrap,
                Kind::Hotspot => Removal::Drop,
                _ if self.scope.ui => Removal::Drop,
                _ => Removal::Attribute,
            };
            return Some((ContentClass::Macros, format!("{} runs {}", name(), quote(value)), removal));
        }
        if attribute.namespace == TABLE && attribute.local == "formula" {
            return links::formula_risk(value).map(|(class, detail)| (class, detail.to_owned(), Removal::Attribute));
        }
        if !href {
            return None;
        }
        let target = links::resolve(self.scope.root, value);
        match (&target, kind) {
            (Target::Here, _) => return None,
            (Target::Member(path), Kind::Resource | Kind::Other) => {
                self.links.used.insert(path.clone());
                return None;
            }
            _ => {}
        }
        let (class, verb, removal) = match kind {
            Kind::Link => (ContentClass::Hyperlinks, "links to", Removal::Unwrap),
            Kind::Hotspot => (ContentClass::Hyperlinks, "links to", Removal::Drop),
            Kind::Button => (ContentClass::Hyperlinks, "links to", Removal::Attribute),
            Kind::Submit => (ContentClass::ExternalActions, "submits to", Removal::Attribute),
            Kind::Resource | Kind::Linked => (ContentClass::ExternalLinks, "loads", Removal::Drop),
            Kind::Other => (ContentClass::ExternalLinks, "loads", Removal::Attribute),
        };
        if class == ContentClass::Hyperlinks && self.policy.keeps_links() {
            return None;
        }
        Some((class, format!("{} {verb} {}", name(), quote(value)), removal))
    }

    fn decide(&mut self, class: ContentClass, detail: &str, removal: Removal) -> Result<Decision, Failure> {
        let disposition = if removal == Removal::Attribute { Disposition::Neutralized } else { Disposition::Removed };
        self.findings.decide_grouped(self.policy, class, disposition, self.scope.name, detail)
    }
}

fn qname(namespace: &str, local: &str) -> String {
    match PREFIXES.iter().find(|(ns, _)| *ns == namespace) {
        Some((_, prefix)) => format!("{prefix}:{local}"),
        None => local.to_owned(),
    }
}

/// `value` quoted, cut short when long.
fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTE) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_external_doctypes_are_cut() {
        let math = b"<?xml version=\"1.0\"?>\n<!DOCTYPE math:math PUBLIC \"-//OpenOffice.org//DTD Modified W3C MathML 1.01//EN\" \"math.dtd\"><math:math/>";
        assert_eq!(without_external_dtd(math).unwrap(), b"<?xml version=\"1.0\"?>\n<math:math/>");
        assert_eq!(without_external_dtd(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"), None);
        assert_eq!(without_external_dtd(b"<a><!DOCTYPE b SYSTEM \"c\"></a>"), None);
        assert_eq!(without_external_dtd(b"<a/>"), None);
    }
}
