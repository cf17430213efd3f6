//! Charset detection and decoding to UTF-8, and refusal of binary data.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, ISO_2022_JP, UTF_8, UTF_16BE, UTF_16LE};
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
    if let Some(utf16) = sniff_utf16(bytes) {
        return utf16;
    }
    // ISO-2022-JP is 7-bit, so it is also valid UTF-8: look for its escapes first.
    const ISO_2022_JP_ESCAPES: [&[u8]; 4] = [b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D"];
    if bytes.is_ascii() && ISO_2022_JP_ESCAPES.iter().any(|esc| bytes.windows(esc.len()).any(|w| w == *esc)) {
        return ISO_2022_JP;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    detector.guess(None, Utf8Detection::Allow)
}

/// UTF-16 without BOM: mostly-Latin text has a zero in every other byte.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let pairs = bytes.len() / 2;
    let zeros = |parity: usize| bytes.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    let mostly = |n: usize| n * 10 >= pairs * 7;
    let rarely = |n: usize| n * 50 <= pairs;
    match (mostly(even), mostly(odd)) {
        (true, false) if rarely(odd) => Some(UTF_16BE),
        (false, true) if rarely(even) => Some(UTF_16LE),
        _ => None,
    }
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
