//! Sekisho `text` plugin: plain text, CSV and TSV.
//!
//! The charset is detected (UTF-8 with or without BOM, UTF-16, Shift_JIS/CP932,
//! EUC-JP, ISO-2022-JP and the other WHATWG encodings) and the text is rebuilt
//! as UTF-8. Binary data posing as text is refused; stray control characters
//! are removed. In CSV and TSV, cells that a spreadsheet would evaluate as a
//! formula (`=`, `+`, `-`, `@`, tab, CR: the DDE payload `=cmd|' /C calc'!A0`
//! among them) are neutralized with a leading apostrophe; in plain text, so
//! are lines and tab-separated fields that a spreadsheet import would
//! evaluate (see [`delimited::neutralize_text`]).

mod charset;
mod delimited;

use std::io::{Read, Write};

use sekisho_plugin_sdk::{ContentClass, Failure, Findings, Format, Host, PluginInfo, Policy, Rebuilt, read_all};

pub use charset::{Decoded, decode};

/// Plugin name as reported to the host.
pub const NAME: &str = "text";

/// The formats this plugin rebuilds. The host detects text by content and
/// picks the dialect from the extension.
pub fn describe() -> PluginInfo {
    let format = |id: &str, media: &[&str], ext: &[&str]| Format {
        id: id.into(),
        media_types: media.iter().map(|s| s.to_string()).collect(),
        extensions: ext.iter().map(|s| s.to_string()).collect(),
        magic: Vec::new(),
        ..Default::default()
    };
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![
            format("text", &["text/plain"], &["txt", "text", "log", "md"]),
            format("csv", &["text/csv"], &["csv"]),
            format("tsv", &["text/tab-separated-values"], &["tsv", "tab"]),
        ],
        classes: vec![ContentClass::Dde, ContentClass::MalformedStructure],
        ..Default::default()
    }
}

/// Rebuilds `input` of format `format` ("text", "csv" or "tsv") as UTF-8 into `output`.
///
/// The text kept goes to `host` as well: in plain text each non-blank line
/// (`line N`), in CSV and TSV each non-empty cell (`row R, column C`, both
/// 1-based), with the value the table holds: the apostrophe that
/// neutralizes a formula cell is not part of it. Everything emitted is in
/// the output, so the text handed over is bounded by the output's size.
pub fn sanitize<R: Read, W: Write, H: Host + ?Sized>(
    format: &str,
    input: R,
    output: &mut W,
    policy: &Policy,
    host: &mut H,
) -> Result<Rebuilt, Failure> {
    let bytes = read_all(input, policy.limits.max_expanded_bytes)?;
    let mut findings = Findings::new();
    let decoded = charset::decode(&bytes)?;
    let text = charset::strip_controls(&decoded.text, policy, &mut findings)?;
    let body = match format {
        "csv" => delimited::neutralize(&text, b',', policy, &mut findings, host)?,
        "tsv" => delimited::neutralize(&text, b'\t', policy, &mut findings, host)?,
        "text" => {
            let body = delimited::neutralize_text(&text, policy, &mut findings)?;
            emit_lines(&text, host);
            body
        }
        other => return Err(Failure::unsupported(format!("text plugin does not handle format {other:?}"))),
    };
    // Spreadsheets read BOM-less UTF-8 CSV as the local legacy code page, so a
    // table converted from Shift_JIS gets a BOM; otherwise the input's choice stays.
    let bom = decoded.had_bom || (format != "text" && !decoded.was_utf8);
    let write = |out: &mut W| -> std::io::Result<()> {
        if bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        out.write_all(body.as_bytes())
    };
    write(output).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(Rebuilt { format: format.into(), findings: findings.into_vec() })
}

/// Hands each non-blank line of plain text to `host` as `line N`, numbered
/// as the findings number them.
fn emit_lines<H: Host + ?Sized>(text: &str, host: &mut H) {
    for (number, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.trim().is_empty() {
            host.emit_text(&format!("line {}", number + 1), line);
        }
    }
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |format, reader, writer, policy, host| crate::sanitize(format, reader, writer, policy, host)
);
