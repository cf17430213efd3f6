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

use sekisho_plugin_sdk::{ContentClass, Failure, Findings, Format, PluginInfo, Policy, Rebuilt, read_all};

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
    }
}

/// Rebuilds `input` of format `format` ("text", "csv" or "tsv") as UTF-8 into `output`.
pub fn sanitize<R: Read, W: Write>(
    format: &str,
    input: R,
    output: &mut W,
    policy: &Policy,
) -> Result<Rebuilt, Failure> {
    let bytes = read_all(input, policy.limits.max_expanded_bytes)?;
    let mut findings = Findings::new();
    let decoded = charset::decode(&bytes)?;
    let text = charset::strip_controls(&decoded.text, policy, &mut findings)?;
    let body = match format {
        "csv" => delimited::neutralize(&text, b',', policy, &mut findings)?,
        "tsv" => delimited::neutralize(&text, b'\t', policy, &mut findings)?,
        "text" => delimited::neutralize_text(&text, policy, &mut findings)?,
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

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |format, reader, writer, policy, _host| crate::sanitize(format, reader, writer, policy)
);
