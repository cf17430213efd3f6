//! The workbook part of a spreadsheet: auto-run defined names (`Auto_Open`
//! and friends start XLM macros when the file opens), and the sheet list
//! after macro sheets are removed.
//!
//! Defined names and the workbook view refer to sheets by position
//! (`localSheetId`, `activeTab`, `firstSheet`), so removing a sheet entry
//! renumbers the ones after it, and names scoped to or pointing into a
//! removed sheet go with it.

use std::collections::BTreeSet;

use sekisho_plugin_sdk::xml::{self, Node};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy};

use crate::markup::{Change, Marks};
use crate::{R_NS, SHEET_NS};

/// Names that run a macro when the workbook opens, closes or changes window.
const AUTO_NAMES: &[&str] = &["auto_open", "auto_close", "auto_activate", "auto_deactivate"];

struct DefinedName {
    index: usize,
    name: String,
    local_sheet: Option<usize>,
    formula: String,
}

/// Plans the edits of a workbook part whose relationships `removed` are gone.
pub fn plan(
    part: &str,
    data: &[u8],
    removed: &BTreeSet<String>,
    policy: &Policy,
    findings: &mut Findings,
) -> Result<Marks, Failure> {
    let mut sheets: Vec<(String, bool)> = Vec::new();
    let mut names: Vec<DefinedName> = Vec::new();
    let mut views: Vec<(usize, Vec<(&'static str, usize)>)> = Vec::new();
    let mut in_name = false;
    xml::scan(data, |node| {
        match node {
            Node::Start(element) if element.is(SHEET_NS, "sheet") => {
                let id = element.attribute(R_NS, "id")?.unwrap_or_default();
                let name = element.attribute("", "name")?.unwrap_or_default();
                sheets.push((name, removed.contains(&id)));
            }
            Node::Start(element) if element.is(SHEET_NS, "definedName") => {
                names.push(DefinedName {
                    index: element.index,
                    name: element.attribute("", "name")?.unwrap_or_default(),
                    local_sheet: element.attribute("", "localSheetId")?.and_then(|v| v.parse().ok()),
                    formula: String::new(),
                });
                in_name = true;
            }
            Node::Start(element) if element.is(SHEET_NS, "workbookView") => {
                let positions = ["activeTab", "firstSheet"]
                    .into_iter()
                    .filter_map(|a| Some((a, element.attribute("", a).ok()??.parse().ok()?)))
                    .collect();
                views.push((element.index, positions));
            }
            Node::Text(text) if in_name => {
                if let Some(name) = names.last_mut() {
                    name.formula.push_str(&text);
                }
            }
            Node::End => in_name = false,
            _ => {}
        }
        Ok(())
    })?;
    let removed_sheets: Vec<&str> = sheets.iter().filter(|(_, gone)| *gone).map(|(n, _)| n.as_str()).collect();
    // New position of each old sheet position, `None` for removed sheets.
    let mut position = Vec::with_capacity(sheets.len());
    let mut next = 0;
    for (_, gone) in &sheets {
        position.push((!gone).then_some(next));
        next += usize::from(!gone);
    }
    let mut marks = Marks::new();
    for name in names {
        let bare = name.name.trim_start_matches("_xlnm.").to_ascii_lowercase();
        if AUTO_NAMES.iter().any(|auto| bare.starts_with(auto)) {
            let detail = format!("defined name {:?} runs {:?} when the workbook opens", name.name, name.formula);
            if findings.decide(policy, ContentClass::Macros, Disposition::Removed, part, detail)? == Decision::Sanitize
            {
                marks.insert(name.index, Change::Drop);
                continue;
            }
        }
        let in_removed = removed_sheets.iter().any(|sheet| refers_to(&name.formula, sheet));
        let renumbered = name.local_sheet.map(|old| position.get(old).copied().flatten());
        match renumbered {
            _ if in_removed => {
                marks.insert(name.index, Change::Drop);
            }
            Some(None) => {
                marks.insert(name.index, Change::Drop);
            }
            Some(Some(new)) if Some(new) != name.local_sheet => {
                marks.insert(name.index, Change::Set("localSheetId", new.to_string()));
            }
            _ => {}
        }
    }
    let kept = next;
    for (index, positions) in views {
        // One attribute per view is enough in practice: both point at the first sheet.
        if let Some((attribute, _)) = positions.into_iter().find(|(_, v)| *v >= kept) {
            marks.insert(index, Change::Set(attribute, "0".into()));
        }
    }
    Ok(marks)
}

/// True when a formula refers to a cell of `sheet` (`Macro1!A1`, `'My sheet'!A1`).
fn refers_to(formula: &str, sheet: &str) -> bool {
    let quoted = format!("'{}'!", sheet.replace('\'', "''"));
    formula.contains(&quoted) || formula.contains(&format!("{sheet}!"))
}
