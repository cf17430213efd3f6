//! The charset of text that does not say (feature `charset`): the same guess
//! for plain text, pages and mail bodies, so that Japanese text in
//! ISO-2022-JP, Shift_JIS or EUC-JP decodes the same way in every plugin.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
pub use encoding_rs::Encoding;
use encoding_rs::{ISO_2022_JP, UTF_8, UTF_16BE, UTF_16LE};

/// The escapes that switch ISO-2022-JP into its double-byte sets.
const ISO_2022_JP_ESCAPES: [&[u8]; 4] = [b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D"];

/// The charset of unlabelled bytes: ISO-2022-JP when its escapes appear (it
/// is 7-bit, so it also reads as ASCII), UTF-8 when the bytes are valid
/// UTF-8, otherwise chardetng's guess.
pub fn guess(bytes: &[u8]) -> &'static Encoding {
    if bytes.is_ascii() && ISO_2022_JP_ESCAPES.iter().any(|escape| bytes.windows(escape.len()).any(|w| w == *escape)) {
        return ISO_2022_JP;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    detector.guess(None, Utf8Detection::Allow)
}

/// UTF-16 without a byte-order mark: mostly-Latin text has a zero in every
/// other byte, and almost none in the others.
pub fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EUC_JP, SHIFT_JIS};

    const JAPANESE: &str = "日本語のメール本文です。よろしくお願いします。山田太郎";

    #[test]
    fn japanese_legacy_charsets_are_told_apart() {
        assert_eq!(guess(JAPANESE.as_bytes()), UTF_8);
        for encoding in [SHIFT_JIS, EUC_JP, ISO_2022_JP] {
            let (bytes, _, _) = encoding.encode(JAPANESE);
            let guessed = guess(&bytes);
            assert_eq!(guessed, encoding, "{}", encoding.name());
            assert_eq!(guessed.decode_without_bom_handling(&bytes).0, JAPANESE);
        }
    }

    #[test]
    fn utf16_without_a_mark_is_found_by_its_zeros() {
        let text = "plain ascii text, long enough";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(sniff_utf16(&le), Some(UTF_16LE));
        assert_eq!(sniff_utf16(&be), Some(UTF_16BE));
        assert_eq!(sniff_utf16(text.as_bytes()), None);
        assert_eq!(sniff_utf16(b"ab\0"), None, "odd length");
    }
}
