//! Excel binary workbooks (BIFF8 `Workbook`, BIFF5 `Book`): the workbook
//! globals say whether the file is encrypted, holds Excel 4 (XLM) macro
//! sheets, or links to other workbooks and applications (DDE).
//!
//! Macro sheets and external links live inside the record stream, where
//! sheets, names and formulas refer to each other by position; removing
//! them means renumbering all of those, which this plugin does not do. So
//! they are refused (blocked, with the reason) unless the policy allows
//! them — never passed through.

use sekisho_plugin_sdk::{ContentClass, Failure, Findings, Policy};

use crate::kept_or_refused;
use crate::tree::Storage;
use crate::word::read_u16;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FILEPASS: u16 = 0x002F;
const BOUNDSHEET: u16 = 0x0085;
const SUPBOOK: u16 = 0x01AE;
const NAME: u16 = 0x0018;

/// Checks the workbook globals.
pub fn check(root: &Storage, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    let (stream, book) = ["Workbook", "Book"]
        .iter()
        .find_map(|name| root.stream(name).map(|data| (*name, data)))
        .ok_or_else(|| Failure::invalid("no Workbook stream"))?;
    let globals = globals(book)?;
    let mut macro_sheets = Vec::new();
    let mut auto_names = 0;
    for (kind, data) in &globals {
        match *kind {
            FILEPASS => return Err(Failure::encrypted("the workbook is password-protected (FILEPASS record)")),
            BOUNDSHEET if data.get(5) == Some(&1) || data.get(5) == Some(&6) => {
                macro_sheets.push(sheet_name(data));
            }
            NAME if is_auto_open(data) => auto_names += 1,
            _ => {}
        }
    }
    if !macro_sheets.is_empty() {
        let detail = format!(
            "Excel 4 macro sheets {macro_sheets:?}{} are records of the workbook stream and cannot be removed safely",
            if auto_names > 0 { " started by Auto_Open" } else { "" }
        );
        kept_or_refused(policy, findings, ContentClass::Macros, stream, detail)?;
    }
    for (kind, data) in &globals {
        if *kind != SUPBOOK {
            continue;
        }
        let (Some(sheets), Some(length)) = (read_u16(data, 0), read_u16(data, 2)) else { continue };
        // 0x0401: this workbook; 0x3A01: add-in functions.
        if length == 0x0401 || length == 0x3A01 {
            continue;
        }
        // The path's characters (assuming one byte each), without its encoding markers.
        let path = data.get(5..).unwrap_or_default().iter().take(length as usize);
        let target: String = path.map(|&b| char::from(b)).filter(|c| !c.is_control()).collect();
        let (class, label) = if sheets == 0 {
            (ContentClass::Dde, "DDE or OLE link")
        } else {
            (ContentClass::ExternalLinks, "link to an external workbook")
        };
        let detail = format!("{label} {:?} is part of the workbook stream and cannot be removed safely", target.trim());
        kept_or_refused(policy, findings, class, stream, detail)?;
    }
    Ok(())
}

/// The records of the workbook globals substream (first BOF to its EOF).
fn globals(book: &[u8]) -> Result<Vec<(u16, &[u8])>, Failure> {
    let mut records = Vec::new();
    let mut at = 0;
    while let (Some(kind), Some(size)) = (read_u16(book, at), read_u16(book, at + 2)) {
        let data = book
            .get(at + 4..at + 4 + size as usize)
            .ok_or_else(|| Failure::invalid("a workbook record runs past the end of the stream"))?;
        if records.is_empty() && kind != BOF {
            return Err(Failure::invalid("the workbook stream does not start with a BOF record"));
        }
        records.push((kind, data));
        if kind == EOF {
            return Ok(records);
        }
        at += 4 + size as usize;
    }
    Err(Failure::invalid("the workbook globals have no EOF record"))
}

/// A BOUNDSHEET's name (BIFF8: cch, flags, characters).
fn sheet_name(data: &[u8]) -> String {
    let Some(&length) = data.get(6) else { return String::new() };
    let wide = data.get(7).is_some_and(|f| f & 1 != 0);
    let chars = data.get(8..).unwrap_or_default();
    if wide {
        let units: Vec<u16> =
            chars.chunks_exact(2).take(length as usize).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        chars.iter().take(length as usize).map(|&b| char::from(b)).collect()
    }
}

/// A built-in `Auto_Open` (1) or `Auto_Close` (2) name.
fn is_auto_open(data: &[u8]) -> bool {
    let builtin = read_u16(data, 0).is_some_and(|flags| flags & 0x0020 != 0);
    builtin && matches!(data.get(15), Some(1 | 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    #[test]
    fn globals_stop_at_their_eof_and_name_macro_sheets() {
        let mut sheet = vec![0x10, 0, 0, 0, 0, 1, 6, 0];
        sheet.extend(b"Macro1");
        let book =
            [record(BOF, &[0; 16]), record(BOUNDSHEET, &sheet), record(EOF, &[]), record(BOF, &[0; 16])].concat();
        let records = globals(&book).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(sheet_name(records[1].1), "Macro1");
        assert!(globals(&record(BOF, &[0; 4])).is_err());
        assert!(globals(&[0x09, 0x08, 0xFF, 0xFF]).is_err());
    }
}
