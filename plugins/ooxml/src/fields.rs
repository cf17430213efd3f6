//! Word fields and spreadsheet formulas that reach outside the document:
//! DDE/DDEAUTO (which run commands), INCLUDETEXT/INCLUDEPICTURE and friends
//! (which fetch remote content), HYPERLINK fields, and DDE formulas such as
//! `=cmd|'/c calc'!A1`.
//!
//! A complex field is spread over runs: `fldChar begin`, instruction text in
//! any number of `instrText` runs, `fldChar separate`, the displayed result,
//! `fldChar end`. The instruction is only known once the field is read, so a
//! first pass collects it and decides; neutralizing a field removes its
//! field characters and instruction and keeps the displayed result as plain
//! text.

use sekisho_plugin_sdk::xml::{self, Node};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy, field_class};

use crate::markup::{Change, Marks};
use crate::{SHEET_NS, WORD_NS};

/// A complex field being read.
struct Field {
    /// Indices of its `fldChar` and `instrText` elements.
    elements: Vec<usize>,
    instruction: String,
    in_instruction: bool,
}

/// Finds the fields and formulas of one part that must go.
pub fn plan(part: &str, data: &[u8], policy: &Policy, findings: &mut Findings) -> Result<Marks, Failure> {
    let mut marks = Marks::new();
    if !(contains(data, b"instrText") || contains(data, b"fldSimple") || contains(data, b"|") || contains(data, b"[")) {
        return Ok(marks);
    }
    let mut fields: Vec<Field> = Vec::new();
    // Per open element: what its text feeds (instruction text, formula).
    let mut open: Vec<Collect> = Vec::new();
    let mut formula: Option<(usize, String)> = None;
    let mut done: Vec<(Vec<usize>, String, bool)> = Vec::new();
    xml::scan(data, |node| {
        match node {
            Node::Start(element) => {
                let mut collect = Collect::Nothing;
                if element.is(WORD_NS, "fldChar") {
                    let kind = element.attribute(WORD_NS, "fldCharType")?.unwrap_or_default();
                    match kind.as_str() {
                        "begin" => fields.push(Field {
                            elements: vec![element.index],
                            instruction: String::new(),
                            in_instruction: true,
                        }),
                        "separate" => {
                            if let Some(field) = fields.last_mut() {
                                field.elements.push(element.index);
                                field.in_instruction = false;
                            }
                        }
                        "end" => {
                            if let Some(mut field) = fields.pop() {
                                field.elements.push(element.index);
                                done.push((field.elements, field.instruction, false));
                            }
                        }
                        _ => {}
                    }
                } else if element.is(WORD_NS, "instrText") || element.is(WORD_NS, "delInstrText") {
                    if let Some(field) = fields.last_mut().filter(|f| f.in_instruction) {
                        field.elements.push(element.index);
                        collect = Collect::Instruction;
                    }
                } else if element.is(WORD_NS, "fldSimple") {
                    let instruction = element.attribute(WORD_NS, "instr")?.unwrap_or_default();
                    done.push((vec![element.index], instruction, true));
                } else if element.is(SHEET_NS, "f") {
                    formula = Some((element.index, String::new()));
                    collect = Collect::Formula;
                }
                open.push(collect);
            }
            Node::Text(text) => match open.last() {
                Some(Collect::Instruction) => {
                    if let Some(field) = fields.last_mut() {
                        field.instruction.push_str(&text);
                    }
                }
                Some(Collect::Formula) => {
                    if let Some((_, f)) = formula.as_mut() {
                        f.push_str(&text);
                    }
                }
                _ => {}
            },
            Node::End => {
                if open.pop() == Some(Collect::Formula)
                    && let Some((index, text)) = formula.take()
                {
                    // The cached value stays; the formula that would reach out goes.
                    let decision = if is_dde_formula(&text) {
                        let detail = format!("DDE formula {:?}", clip(&text));
                        findings.decide(policy, ContentClass::Dde, Disposition::Neutralized, part, detail)?
                    } else if refers_to_external_workbook(&text) {
                        let detail = "formulas that read another workbook (their cached values stay)";
                        findings.decide_grouped(
                            policy,
                            ContentClass::ExternalLinks,
                            Disposition::Neutralized,
                            part,
                            detail,
                        )?
                    } else {
                        Decision::Keep
                    };
                    if decision == Decision::Sanitize {
                        marks.insert(index, Change::Drop);
                    }
                }
            }
        }
        Ok(())
    })?;
    for (elements, instruction, simple) in done {
        let Some((class, keyword)) = field_class(&instruction) else { continue };
        if class == ContentClass::Hyperlinks && policy.keeps_links() {
            continue;
        }
        let detail = format!("{keyword} field {:?}", clip(instruction.trim()));
        if findings.decide(policy, class, Disposition::Neutralized, part, detail)? == Decision::Sanitize {
            let change = if simple { Change::Unwrap } else { Change::Drop };
            marks.extend(elements.into_iter().map(|index| (index, change.clone())));
        }
    }
    Ok(marks)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Collect {
    Nothing,
    Instruction,
    Formula,
}

/// A formula calling another application through DDE: `app|topic!item`,
/// outside string literals.
fn is_dde_formula(formula: &str) -> bool {
    let mut in_string = false;
    let chars: Vec<char> = formula.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '"' => in_string = !in_string,
            '|' if !in_string => {
                let app = chars[..i].iter().rev().take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.'));
                if app.count() > 0 && chars[i + 1..].contains(&'!') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// A formula with an external workbook reference (`[1]Sheet!A1`), told
/// from structured table references (`Table1[2019]`) by what precedes it.
fn refers_to_external_workbook(formula: &str) -> bool {
    let mut in_string = false;
    let chars: Vec<char> = formula.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '"' => in_string = !in_string,
            '[' if !in_string => {
                let token_start = i == 0 || "=(,+-*/&^<>:;'{ !".contains(chars[i - 1]);
                let digits = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if token_start && digits > 0 && chars.get(i + 1 + digits) == Some(&']') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// True when `needle` occurs in `data` (a cheap look before parsing).
pub fn contains(data: &[u8], needle: &[u8]) -> bool {
    data.windows(needle.len()).any(|w| w == needle)
}

/// The start of a long instruction, for the report.
fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dde_formulas_are_told_from_strings_and_references() {
        assert!(is_dde_formula("cmd|' /C calc'!A0"));
        assert!(is_dde_formula("msexcel|'\\..\\..\\Windows\\System32\\cmd.exe /c calc'!''"));
        assert!(!is_dde_formula("\"a|b\"&Sheet1!A1"));
        assert!(!is_dde_formula("SUM(A1:A3)"));
    }

    #[test]
    fn external_workbook_references_are_told_from_table_references() {
        assert!(refers_to_external_workbook("[1]Uses!$A$1"));
        assert!(refers_to_external_workbook("SUM('[2]My Sheet'!A1:A3)"));
        assert!(refers_to_external_workbook("[1]!NR_Global_B2"));
        assert!(!refers_to_external_workbook("Table1[2019]"));
        assert!(!refers_to_external_workbook("SUM(Table1[[#This Row],[Cost]])"));
        assert!(!refers_to_external_workbook("\"[1]\"&A1"));
    }
}
