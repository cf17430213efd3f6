//! Charset detection and decoding to UTF-8, and refusal of binary data.

use encoding_rs::{Encoding, UTF_8};
use sekisho_plugin_sdk::charset;
use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy};

/// Text decoded from its original charset.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    /// The input started with a byte-order mark.
    pub had_bom: bool,
    /// The input was UTF-8 already (with or without BOM).
    pub was_utf8: bool,
}

/// Share of control characters above which input is refused as binary.
const MAX_CONTROL_RATIO: f64 = 0.01;
/// A handful of stray escapes in a short text is not binary data.
const MIN_CONTROLS_FOR_BINARY: usize = 8;

/// Detects the charset of `bytes` and decodes them.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Failure> {
    let (encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some((encoding, len)) => (encoding, len),
        None => (sniff(bytes), 0),
    };
    let body = &bytes[bom_len..];
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        return Err(Failure::invalid(format!(
            "not valid text: byte sequences that are invalid in the detected charset {}",
            encoding.name()
        )));
    }
    Ok(Decoded { text: text.into_owned(), encoding, had_bom: bom_len > 0, was_utf8: encoding == UTF_8 })
}

/// Picks the charset of BOM-less input.
fn sniff(bytes: &[u8]) -> &'static Encoding {
    charset::sniff_utf16(bytes).unwrap_or_else(|| charset::guess(bytes))
}

fn is_unwanted_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')
}

/// Removes stray control characters (terminal escapes and the like); refuses
/// text with NUL bytes or so many controls that it is binary data.
pub fn strip_controls(text: &str, policy: &Policy, findings: &mut Findings) -> Result<String, Failure> {
    if text.contains('\0') {
        return Err(Failure::invalid("binary data posing as text: contains NUL characters"));
    }
    let controls = text.chars().filter(|&c| is_unwanted_control(c)).count();
    if controls == 0 {
        return Ok(text.to_owned());
    }
    let total = text.chars().count().max(1);
    if controls > MIN_CONTROLS_FOR_BINARY && controls as f64 / total as f64 > MAX_CONTROL_RATIO {
        return Err(Failure::invalid(format!("binary data posing as text: {controls} control characters in {total}")));
    }
    let decision = findings.decide(
        policy,
        ContentClass::MalformedStructure,
        Disposition::Removed,
        "text",
        format!("{controls} control characters (terminal escapes, C1 controls)"),
    )?;
    Ok(match decision {
        Decision::Keep => text.to_owned(),
        Decision::Sanitize => text.chars().filter(|&c| !is_unwanted_control(c)).collect(),
    })
}
