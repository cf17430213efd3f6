//! Neutralize cells that a spreadsheet would evaluate as formulas: every
//! cell of CSV and TSV, and in plain text the start of each line and of
//! each tab-separated field (Excel opens `.txt` files through its import,
//! which splits on tabs and evaluates formulas).

use csv::{ReaderBuilder, Terminator, WriterBuilder};
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Host, Policy};

/// Characters that make Excel, LibreOffice and Google Sheets read a cell as a
/// formula (OWASP "CSV injection").
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Longest cell excerpt quoted in a finding.
const EXCERPT: usize = 60;

/// Parses `text` as delimited rows and rewrites it with every formula cell
/// prefixed by an apostrophe, which spreadsheets show as text. Each
/// non-empty cell goes to `host` as `row R, column C` with its value (without
/// the apostrophe added here).
pub fn neutralize<H: Host + ?Sized>(
    text: &str,
    delimiter: u8,
    policy: &Policy,
    findings: &mut Findings,
    host: &mut H,
) -> Result<String, Failure> {
    let mut reader =
        ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let crlf = text.contains("\r\n");
    let mut writer = WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .terminator(if crlf { Terminator::CRLF } else { Terminator::Any(b'\n') })
        .from_writer(Vec::with_capacity(text.len() + text.len() / 16));
    let mut record = csv::StringRecord::new();
    let mut row = 0usize;
    let write_error = |e: csv::Error| Failure::invalid(format!("rewriting table: {e}"));
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(Failure::invalid(format!("unreadable table: {e}"))),
        }
        row += 1;
        // Cells are written one by one, without a copy unless one is quoted.
        for (column, cell) in record.iter().enumerate() {
            let location = || format!("row {row}, column {}", column + 1);
            let decision = if is_formula(cell) {
                let detail = format!("formula cell {}", excerpt(cell));
                findings.decide(policy, ContentClass::Dde, Disposition::Neutralized, location(), detail)?
            } else {
                Decision::Keep
            };
            if !cell.is_empty() {
                host.emit_text(&location(), cell);
            }
            match decision {
                Decision::Keep => writer.write_field(cell).map_err(write_error)?,
                Decision::Sanitize => writer.write_field(format!("'{cell}")).map_err(write_error)?,
            }
        }
        writer.write_record(None::<&[u8]>).map_err(write_error)?;
    }
    let bytes = writer.into_inner().map_err(|e| Failure::invalid(format!("rewriting table: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Failure::invalid(format!("rewriting table: {e}")))
}

/// Plain text: a line, or a tab-separated field of it, that a spreadsheet
/// import would evaluate gets a leading apostrophe. Prose that merely starts
/// with a sign (`- item`, `+ added`, `@team`) stays: outside CSV only cells
/// that start with `=`, or with `+`, `-`, `@` and also call a function,
/// a DDE server or another sheet (`(`, `|`, `!`) are treated as formulas.
pub fn neutralize_text(text: &str, policy: &Policy, findings: &mut Findings) -> Result<String, Failure> {
    let mut out = String::with_capacity(text.len());
    for (number, line) in text.split_inclusive('\n').enumerate() {
        for (column, field) in line.split_inclusive('\t').enumerate() {
            let cell = field.trim_end_matches(['\t', '\n', '\r']);
            let formula = is_formula(cell) && (cell.starts_with('=') || cell.contains(['(', '|', '!']));
            if formula {
                let location = if column == 0 {
                    format!("line {}", number + 1)
                } else {
                    format!("line {}, field {}", number + 1, column + 1)
                };
                let detail = format!("formula {}", excerpt(cell));
                if findings.decide(policy, ContentClass::Dde, Disposition::Neutralized, location, detail)?
                    == Decision::Sanitize
                {
                    out.push('\'');
                }
            }
            out.push_str(field);
        }
    }
    Ok(out)
}

/// True when a spreadsheet would evaluate `cell`. Plain signed numbers
/// (`-12.5`, `+81`) are data, not formulas, and stay as they are.
pub fn is_formula(cell: &str) -> bool {
    cell.starts_with(TRIGGERS) && !is_plain_number(cell)
}

fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => (digits(int) || int.is_empty()) && digits(frac),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

fn excerpt(cell: &str) -> String {
    let short: String = cell.chars().take(EXCERPT).collect();
    let ellipsis = if short.len() < cell.len() { "…" } else { "" };
    format!("{:?}{ellipsis}", short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_not_formulas() {
        for cell in ["-12.5", "+81", "-1e5", "-.5", "1"] {
            assert!(!is_formula(cell), "{cell}");
        }
        for cell in ["=1+2", "-1+2", "+81-3-1234", "@SUM(A1)", "\tx", "\r=x", "=cmd|' /C calc'!A0", "-"] {
            assert!(is_formula(cell), "{cell}");
        }
    }

    #[test]
    fn text_lines_and_tab_fields_that_evaluate_are_neutralized() {
        let policy = Policy::uniform(sekisho_plugin_sdk::Action::Sanitize);
        let mut findings = Findings::new();
        let text =
            "- a list item\n=cmd|' /C calc'!A0\nname\t@SUM(1+1)*cmd|' /C calc'!A0\n+ added\n-2+3+cmd|' /C calc'!A0";
        let out = neutralize_text(text, &policy, &mut findings).unwrap();
        assert_eq!(
            out,
            "- a list item\n'=cmd|' /C calc'!A0\nname\t'@SUM(1+1)*cmd|' /C calc'!A0\n+ added\n'-2+3+cmd|' /C calc'!A0"
        );
        let locations: Vec<&str> = findings.as_slice().iter().map(|f| f.location.as_str()).collect();
        assert_eq!(locations, ["line 2", "line 3, field 2", "line 5"]);
        let blocked = Policy::uniform(sekisho_plugin_sdk::Action::Sanitize)
            .with(ContentClass::Dde, sekisho_plugin_sdk::Action::Block);
        let failure = neutralize_text("=1+1\n", &blocked, &mut Findings::new()).unwrap_err();
        assert!(failure.detail.starts_with("dde at line 1"), "{}", failure.detail);
    }
}
