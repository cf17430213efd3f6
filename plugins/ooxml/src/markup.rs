//! Rewriting the XML of a kept part: references to removed relationships,
//! comment anchors, tracked changes, mail merge, click actions and macro
//! buttons, plus what the first passes ([`fields`], [`workbook`]) marked.
//!
//! Elements that only exist to point at a removed part (an OLE object's
//! `o:OLEObject`, an ActiveX `w:control`, a workbook's sheet entry) go with
//! it; elements that carry visible content (a Word hyperlink's text, a
//! picture whose remote link was cut) stay without the reference.

use std::collections::{BTreeMap, BTreeSet};

use sekisho_plugin_sdk::xml::{self, Attribute, Edit, Element, Node};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy};

use crate::{R_NS, R_STRICT_NS, VML_EXCEL_NS, VML_OFFICE_NS, WORD_NS, fields, workbook};

/// Changes decided before the rewrite, by element index.
pub type Marks = BTreeMap<usize, Change>;

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Drop,
    Unwrap,
    /// Set an unqualified attribute.
    Set(&'static str, String),
}

/// What the rewrite of one part needs to know about the rest of the package.
pub struct Context<'a> {
    pub policy: &'a Policy,
    /// The part's name, for the report.
    pub part: &'a str,
    /// Ids of the part's relationships that were removed.
    pub removed: &'a BTreeSet<String>,
    /// Comment parts were removed: their anchors in the text go too.
    pub comments_removed: bool,
    /// The part is a spreadsheet's workbook part.
    pub is_workbook: bool,
}

/// Elements that have no meaning without the relationship they point at.
const DROP_WITHOUT_TARGET: &[&str] = &[
    "OLEObject",
    "control",
    "attachedTemplate",
    "subDoc",
    "altChunk",
    "externalReference",
    "oleObject",
    "sheet",
    "externalData",
    "webextensionref",
    "hlinkClick",
    "hlinkHover",
    "hlinkMouseOver",
    "dataSource",
    "headerSource",
    "sourceFileName",
];

/// Containers that must not be left empty once their entries are gone.
const NOT_EMPTY: &[&str] = &["externalReferences", "oleObjects", "controls", "hyperlinks", "definedNames"];

/// Tracked-change elements whose content is kept (the change is accepted).
const ACCEPTED_INSERTIONS: &[&str] = &["ins", "moveTo"];
/// Tracked-change elements dropped with their content (deletions, old formatting, markers).
const ACCEPTED_REMOVALS: &[&str] = &[
    "del",
    "moveFrom",
    "rPrChange",
    "pPrChange",
    "sectPrChange",
    "tblPrChange",
    "tblPrExChange",
    "trPrChange",
    "tcPrChange",
    "tblGridChange",
    "numberingChange",
    "moveFromRangeStart",
    "moveFromRangeEnd",
    "moveToRangeStart",
    "moveToRangeEnd",
    "cellIns",
    "cellDel",
    "cellMerge",
    "customXmlInsRangeStart",
    "customXmlInsRangeEnd",
    "customXmlDelRangeStart",
    "customXmlDelRangeEnd",
    "customXmlMoveFromRangeStart",
    "customXmlMoveFromRangeEnd",
    "customXmlMoveToRangeStart",
    "customXmlMoveToRangeEnd",
    "trackRevisions",
];

/// Rewrites one XML part; `None` when nothing changed.
pub fn rewrite(ctx: &Context<'_>, data: &[u8], findings: &mut Findings) -> Result<Option<Vec<u8>>, Failure> {
    let mut marks = fields::plan(ctx.part, data, ctx.policy, findings)?;
    if ctx.is_workbook {
        marks.extend(workbook::plan(ctx.part, data, ctx.removed, ctx.policy, findings)?);
    }
    let rewritten = xml::rewrite(data, |element| edit(ctx, &marks, element, findings))?;
    match rewritten {
        Some(out) => Ok(Some(drop_empty(&out)?.unwrap_or(out))),
        None => Ok(None),
    }
}

fn edit(ctx: &Context<'_>, marks: &Marks, element: &Element<'_>, findings: &mut Findings) -> Result<Edit, Failure> {
    let (policy, part) = (ctx.policy, ctx.part);
    if let Some(change) = marks.get(&element.index) {
        return apply(element, change);
    }
    let lost = |a: &Attribute| is_relationship_reference(a) && ctx.removed.contains(&a.value);
    if !ctx.removed.is_empty() && element.attributes()?.iter().any(lost) {
        return if element.is(WORD_NS, "hyperlink") {
            Ok(Edit::Unwrap)
        } else if element.local == "hyperlink" || DROP_WITHOUT_TARGET.contains(&element.local) {
            Ok(Edit::Drop)
        } else {
            element.without_attributes(lost)
        };
    }
    if matches!(element.local, "hlinkClick" | "hlinkHover" | "hlinkMouseOver")
        && let Some(action) = element.attribute("", "action")?
        && let Some((class, label)) = click_action(&action)
    {
        let detail = format!("{label} ({action})");
        return Ok(match findings.decide(policy, class, Disposition::Removed, part, detail)? {
            Decision::Keep => Edit::Keep,
            Decision::Sanitize => Edit::Drop,
        });
    }
    if element.is(VML_EXCEL_NS, "FmlaMacro") {
        let decision = findings.decide_grouped(
            policy,
            ContentClass::Macros,
            Disposition::Removed,
            part,
            "button calls a macro",
        )?;
        return Ok(if decision == Decision::Sanitize { Edit::Drop } else { Edit::Keep });
    }
    if element.namespace != WORD_NS {
        return Ok(Edit::Keep);
    }
    let local = element.local;
    if ctx.comments_removed && matches!(local, "commentRangeStart" | "commentRangeEnd" | "commentReference") {
        return Ok(Edit::Drop);
    }
    let accepted = if ACCEPTED_INSERTIONS.contains(&local) {
        Edit::Unwrap
    } else if ACCEPTED_REMOVALS.contains(&local) {
        Edit::Drop
    } else if local == "mailMerge" {
        let detail = "mail merge query and connection string";
        let decision = findings.decide(policy, ContentClass::DataConnections, Disposition::Removed, part, detail)?;
        return Ok(if decision == Decision::Sanitize { Edit::Drop } else { Edit::Keep });
    } else {
        return Ok(Edit::Keep);
    };
    let decision = findings.decide_grouped(
        policy,
        ContentClass::Revisions,
        Disposition::Neutralized,
        part,
        "tracked changes accepted",
    )?;
    Ok(if decision == Decision::Sanitize { accepted } else { Edit::Keep })
}

fn apply(element: &Element<'_>, change: &Change) -> Result<Edit, Failure> {
    Ok(match change {
        Change::Drop => Edit::Drop,
        Change::Unwrap => Edit::Unwrap,
        Change::Set(name, value) => {
            let Edit::Replace(mut start) =
                element.without_attributes(|a| a.namespace.is_empty() && a.local == *name)?
            else {
                return Ok(Edit::Keep);
            };
            start.push_attribute((*name, value.as_str()));
            Edit::Replace(start)
        }
    })
}

/// Attributes that hold a relationship id (`r:id`, `r:embed`, `r:link`,
/// VML's `o:relid`).
fn is_relationship_reference(attribute: &Attribute) -> bool {
    attribute.namespace == R_NS
        || attribute.namespace == R_STRICT_NS
        || (attribute.namespace == VML_OFFICE_NS && attribute.local == "relid")
}

/// PowerPoint click and hover actions that run something.
fn click_action(action: &str) -> Option<(ContentClass, &'static str)> {
    let action = action.to_ascii_lowercase();
    Some(if action.starts_with("ppaction://macro") {
        (ContentClass::Macros, "click runs a macro")
    } else if action.starts_with("ppaction://program") {
        (ContentClass::ExternalActions, "click runs a program")
    } else if action.starts_with("ppaction://ole") {
        (ContentClass::ActiveObjects, "click activates an OLE object")
    } else {
        return None;
    })
}

/// Drops the containers of [`NOT_EMPTY`] that have no child element left.
fn drop_empty(data: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
    let mut open: Vec<(usize, bool, bool)> = Vec::new();
    let mut empty = BTreeSet::new();
    xml::scan(data, |node| {
        match node {
            Node::Start(element) => {
                if let Some(parent) = open.last_mut() {
                    parent.2 = true;
                }
                open.push((element.index, NOT_EMPTY.contains(&element.local), false));
            }
            Node::End => {
                if let Some((index, true, false)) = open.pop() {
                    empty.insert(index);
                }
            }
            Node::Text(_) => {}
        }
        Ok(())
    })?;
    if empty.is_empty() {
        return Ok(None);
    }
    xml::rewrite(data, |element| Ok(if empty.contains(&element.index) { Edit::Drop } else { Edit::Keep }))
}
