//! Finding a page's charset and decoding it, as a browser would.
//!
//! Japanese mail and pages still come in Shift_JIS, EUC-JP and ISO-2022-JP,
//! and a page shows as mojibake when it is read in the wrong one. The order
//! is the WHATWG one: a byte-order mark, then a `<meta charset>` or
//! `<meta http-equiv="Content-Type" content="…; charset=…">` in the first
//! 1024 bytes, then a guess (ISO-2022-JP escapes, valid UTF-8, chardetng).
//! A declaration that the bytes contradict loses to them: a page declared
//! Shift_JIS whose non-ASCII bytes are all valid UTF-8 is UTF-8 (mislabelled
//! mail is common; legacy Japanese text that happens to be valid UTF-8 is not).

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};
use sekisho_plugin_sdk::charset;

/// A page decoded to UTF-8.
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    /// Byte sequences invalid in `encoding` were replaced with U+FFFD.
    pub replaced: bool,
    /// The declared charset, when the bytes contradicted it.
    pub overruled: Option<&'static Encoding>,
}

/// Bytes a browser looks at for a `<meta>` charset declaration.
const PRESCAN: usize = 1024;

pub fn decode(bytes: &[u8]) -> Decoded {
    let (encoding, body, declared) = match Encoding::for_bom(bytes) {
        Some((encoding, bom)) => (encoding, &bytes[bom..], false),
        None => match declared(&bytes[..bytes.len().min(PRESCAN)]) {
            Some(encoding) => (encoding, bytes, true),
            None => (charset::guess(bytes), bytes, false),
        },
    };
    if declared
        && encoding != UTF_8
        && !bytes.is_ascii()
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return Decoded { text: text.to_owned(), encoding: UTF_8, replaced: false, overruled: Some(encoding) };
    }
    let (text, replaced) = encoding.decode_without_bom_handling(body);
    Decoded { text: text.into_owned(), encoding, replaced, overruled: None }
}

/// The charset a `<meta>` declares in `head`, as the WHATWG prescan reads it:
/// a UTF-16 declaration in a page that can be read as ASCII means UTF-8.
fn declared(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = find(&lower[at..], b"<meta") {
        let start = at + found + 5;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        at = end;
        let tag = &lower[start..end];
        let Some(charset) = find(tag, b"charset") else { continue };
        let value = tag[charset + 7..].trim_ascii_start();
        let Some(value) = value.strip_prefix(b"=") else { continue };
        let value = value.trim_ascii_start();
        let value = value.strip_prefix(b"\"").or_else(|| value.strip_prefix(b"'")).unwrap_or(value);
        let label = value.split(|&b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>')).next()?;
        if let Some(encoding) = Encoding::for_label(label) {
            return Some(match encoding {
                e if e == UTF_16LE || e == UTF_16BE => UTF_8,
                e if e == X_USER_DEFINED => WINDOWS_1252,
                e => e,
            });
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EUC_JP, SHIFT_JIS};

    #[test]
    fn declarations() {
        assert_eq!(declared(b"<meta charset=\"Shift_JIS\">"), Some(SHIFT_JIS));
        assert_eq!(declared(b"<META http-equiv=Content-Type content='text/html; charset=euc-jp'>"), Some(EUC_JP));
        assert_eq!(declared(b"<meta charset=utf-16>"), Some(UTF_8));
        assert_eq!(declared(b"<meta name=description content=charset>"), None);
        assert_eq!(declared(b"<p>no meta</p>"), None);
    }

    #[test]
    fn the_bytes_overrule_a_wrong_declaration() {
        let page = "<meta charset=\"shift_jis\"><p>日本語のメール本文</p>";
        let decoded = decode(page.as_bytes());
        assert_eq!(decoded.encoding, UTF_8);
        assert_eq!(decoded.overruled, Some(SHIFT_JIS));
        assert!(decoded.text.contains("日本語のメール本文"));
        let broken = decode(b"<meta charset=utf-8><p>\xff</p>");
        assert!(broken.replaced && broken.text.contains('\u{fffd}'));
    }
}
