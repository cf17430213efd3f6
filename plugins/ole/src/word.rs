//! Word binary documents (`WordDocument` stream): encryption, and fields
//! that reach outside the document (DDEAUTO runs a command on open).
//!
//! A field is `0x13 instruction 0x14 result 0x15` in the document text. The
//! text is found through the piece table (the `Clx` in the table stream);
//! a dangerous field's instruction characters are overwritten with spaces
//! in place, so no offset anywhere in the file moves and Word shows the
//! field's last result as plain text.
//!
//! The same characters give the text of the main document for the host's
//! text channel ([`paragraphs`]).

use sekisho_plugin_sdk::{Decision, Disposition, Failure, Findings, Policy, field_class};

use crate::tree::Storage;

const WORD_MAGIC: u16 = 0xA5EC;
const F_ENCRYPTED: u16 = 0x0100;
const F_WHICH_TABLE: u16 = 0x0200;
/// Index of `fcClx` among the FIB's (fc, lcb) pairs.
const CLX_PAIR: usize = 33;

/// Where one character of the document text lives in `WordDocument`.
#[derive(Clone, Copy)]
struct Char {
    offset: usize,
    /// 1 for cp1252 ("compressed") pieces, 2 for UTF-16.
    width: usize,
    code: u16,
}

/// Checks encryption and neutralizes dangerous fields in place; answers the
/// paragraphs of the main document as the rebuilt file shows them.
pub fn sanitize(root: &mut Storage, policy: &Policy, findings: &mut Findings) -> Result<Vec<String>, Failure> {
    let document = root.stream("WordDocument").ok_or_else(|| Failure::invalid("no WordDocument stream"))?;
    let flags = read_u16(document, 0x0A).ok_or_else(|| Failure::invalid("WordDocument is too short for a FIB"))?;
    if read_u16(document, 0) != Some(WORD_MAGIC) {
        return Err(Failure::invalid("WordDocument does not start with a Word FIB"));
    }
    if flags & F_ENCRYPTED != 0 {
        return Err(Failure::encrypted("the Word document is password-protected (encrypted FIB)"));
    }
    let table_name = if flags & F_WHICH_TABLE != 0 { "1Table" } else { "0Table" };
    let (fc, lcb) = clx_location(document).ok_or_else(|| Failure::invalid("the FIB has no piece table"))?;
    let table = root.stream(table_name).ok_or_else(|| Failure::invalid(format!("no {table_name} stream")))?;
    let clx = table
        .get(fc..fc.saturating_add(lcb))
        .ok_or_else(|| Failure::invalid("the piece table lies outside the table stream"))?;
    let chars = text_chars(clx, document)?;
    let main = main_text_length(document).map_or(chars.len(), |n| n.min(chars.len()));
    // Field instructions are not shown, blanked or not: the text does not depend on the blanking.
    let paragraphs = paragraphs(&chars[..main]);
    let blanks = dangerous_instructions(&chars, policy, findings)?;
    if blanks.is_empty() {
        return Ok(paragraphs);
    }
    let document = root.stream_mut("WordDocument").ok_or_else(|| Failure::invalid("no WordDocument stream"))?;
    for c in blanks {
        // A space in either width: 0x20, or 0x20 0x00.
        document[c.offset] = b' ';
        if c.width == 2 {
            document[c.offset + 1] = 0;
        }
    }
    Ok(paragraphs)
}

/// `ccpText` of the FIB: how many characters the main document has (the
/// footnotes, headers and other stories follow it).
fn main_text_length(fib: &[u8]) -> Option<usize> {
    let csw = read_u16(fib, 0x20)? as usize;
    let cslw_at = 0x22 + csw * 2;
    Some(read_u32(fib, cslw_at + 2 + 12)? as usize)
}

/// The paragraphs of `chars` as Word shows them: a paragraph ends at a
/// paragraph mark (13) or a page or section break (12), and a table row at
/// its end mark (a cell mark, 7, right after another); a cell mark is a
/// tab, a line break (11) a line break; fields show their result,
/// not their instruction; object, picture and note anchors show nothing.
/// Compressed characters are cp1252.
fn paragraphs(chars: &[Char]) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut text = String::new();
    // For each open field: whether its separator (the start of its result) was seen.
    let mut fields: Vec<bool> = Vec::new();
    let mut units: Vec<u16> = Vec::new();
    let mut last = 0u16;
    let flush = |units: &mut Vec<u16>, text: &mut String| {
        text.extend(char::decode_utf16(units.drain(..)).map(|c| c.unwrap_or('\u{fffd}')));
    };
    for c in chars {
        let row_end = c.code == 0x07 && last == 0x07;
        last = c.code;
        match c.code {
            0x13 => fields.push(false),
            0x14 => {
                if let Some(field) = fields.last_mut() {
                    *field = true;
                }
            }
            0x15 => {
                fields.pop();
            }
            _ if fields.iter().any(|shown| !shown) => {}
            0x0D | 0x0C | 0x07 if c.code != 0x07 || row_end => {
                flush(&mut units, &mut text);
                paragraphs.push(std::mem::take(&mut text).trim_matches([' ', '\t', '\n']).to_owned());
            }
            0x07 | 0x09 => units.push(u16::from(b'\t')),
            0x0B => units.push(u16::from(b'\n')),
            code if code < 0x20 => {}
            code if c.width == 1 && code >= 0x80 => {
                let byte = [code as u8];
                let (decoded, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                units.extend(decoded.encode_utf16());
            }
            code => units.push(code),
        }
    }
    flush(&mut units, &mut text);
    paragraphs.push(text.trim_matches([' ', '\t', '\n']).to_owned());
    paragraphs
}

/// (fcClx, lcbClx) from the FIB's variable part.
fn clx_location(fib: &[u8]) -> Option<(usize, usize)> {
    let csw = read_u16(fib, 0x20)? as usize;
    let cslw_at = 0x22 + csw * 2;
    let cslw = read_u16(fib, cslw_at)? as usize;
    let pairs_count_at = cslw_at + 2 + cslw * 4;
    let pairs = read_u16(fib, pairs_count_at)? as usize;
    if pairs <= CLX_PAIR {
        return None;
    }
    let at = pairs_count_at + 2 + CLX_PAIR * 8;
    Some((read_u32(fib, at)? as usize, read_u32(fib, at + 4)? as usize))
}

/// Every character of the text in CP order, from the piece table.
fn text_chars(clx: &[u8], document: &[u8]) -> Result<Vec<Char>, Failure> {
    let broken = || Failure::invalid("the piece table is malformed");
    let mut at = 0;
    // Skip the Prc entries (property modifiers) before the Pcdt.
    while clx.get(at) == Some(&0x01) {
        let size = read_u16(clx, at + 1).ok_or_else(broken)? as i16;
        at += 3 + usize::try_from(size).map_err(|_| broken())?;
    }
    if clx.get(at) != Some(&0x02) {
        return Err(broken());
    }
    let size = read_u32(clx, at + 1).ok_or_else(broken)? as usize;
    let plc = clx.get(at + 5..at + 5 + size).ok_or_else(broken)?;
    if plc.len() < 4 || (plc.len() - 4) % 12 != 0 {
        return Err(broken());
    }
    let pieces = (plc.len() - 4) / 12;
    let mut chars = Vec::new();
    for i in 0..pieces {
        let (start, end) = (read_u32(plc, i * 4).ok_or_else(broken)?, read_u32(plc, i * 4 + 4).ok_or_else(broken)?);
        let count = end.checked_sub(start).ok_or_else(broken)? as usize;
        let fc = read_u32(plc, (pieces + 1) * 4 + i * 8 + 2).ok_or_else(broken)?;
        let (width, offset) =
            if fc & 0x4000_0000 != 0 { (1, (fc & 0x3FFF_FFFF) as usize / 2) } else { (2, fc as usize) };
        if offset.checked_add(count.checked_mul(width).ok_or_else(broken)?).is_none_or(|end| end > document.len()) {
            return Err(Failure::invalid("a text piece lies outside the WordDocument stream"));
        }
        chars.reserve(count);
        for k in 0..count {
            let at = offset + k * width;
            let code = if width == 1 { u16::from(document[at]) } else { read_u16(document, at).ok_or_else(broken)? };
            chars.push(Char { offset: at, width, code });
        }
    }
    Ok(chars)
}

/// The instruction characters of fields that must go, deciding each field.
fn dangerous_instructions(chars: &[Char], policy: &Policy, findings: &mut Findings) -> Result<Vec<Char>, Failure> {
    // Open fields: their instruction characters, and whether the separator was seen.
    let mut open: Vec<(Vec<Char>, bool)> = Vec::new();
    let mut blanks = Vec::new();
    for &c in chars {
        match c.code {
            0x13 => open.push((Vec::new(), false)),
            0x14 => {
                if let Some(field) = open.last_mut() {
                    field.1 = true;
                }
            }
            0x15 => {
                let Some((instruction, _)) = open.pop() else { continue };
                let text: String =
                    instruction.iter().map(|c| char::from_u32(u32::from(c.code)).unwrap_or(' ')).collect();
                let Some((class, keyword)) = field_class(&text) else { continue };
                if class == sekisho_plugin_sdk::ContentClass::Hyperlinks && policy.keeps_links() {
                    continue;
                }
                let detail = format!("{keyword} field {:?}", text.trim().chars().take(120).collect::<String>());
                if findings.decide(policy, class, Disposition::Neutralized, "WordDocument text", detail)?
                    == Decision::Sanitize
                {
                    blanks.extend(instruction);
                }
            }
            _ => {
                if let Some((instruction, false)) = open.last_mut() {
                    instruction.push(c);
                }
            }
        }
    }
    Ok(blanks)
}

pub fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

pub fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
