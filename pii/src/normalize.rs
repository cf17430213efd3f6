//! Width and dash normalization that keeps byte spans mapping to the original
//! text.
//!
//! Every detector runs on a normalized copy of the text in which
//! - full-width ASCII (`！`..`～`, U+FF01..U+FF5E: `０`-`９`, `Ａ`-`Ｚ`, `＠`,
//!   `－`, `（`, `：`…) is the ASCII character it stands for;
//! - the ideographic space (U+3000) and the no-break space are a space;
//! - a dash-like character between two digits (`‐ ‑ ‒ – — ― − ー ｰ ﹣ ⁃`) is
//!   `-`. Elsewhere these are left alone, so the `ー` of `マイナンバー` stays.
//!
//! Each replaced character becomes exactly one ASCII byte, so a position in
//! the normalized text maps back to the original text by adding the number of
//! bytes the replacements before it saved. Those savings are recorded only at
//! replacements (`shifts`), so ASCII text and text with no full-width
//! characters cost nothing but one pass.

use std::borrow::Cow;

/// A normalized view of a text, with the way back to the original offsets.
pub(crate) struct Normalized<'a> {
    /// The normalized text.
    pub text: Cow<'a, str>,
    /// `(p, d)`: from normalized position `p` on (up to the next entry), the
    /// original position is `p + d`. Increasing in both.
    shifts: Vec<(usize, usize)>,
}

impl<'a> Normalized<'a> {
    /// Normalizes `text`.
    ///
    /// Works on bytes: ASCII and every multi-byte character that cannot be
    /// replaced (kana, kanji…) are copied in runs; only the lead bytes of
    /// replaceable characters (0xC2, 0xE2, 0xE3, 0xEF) are looked at.
    pub fn new(text: &'a str) -> Normalized<'a> {
        if text.is_ascii() {
            return Normalized { text: Cow::Borrowed(text), shifts: Vec::new() };
        }
        let b = text.as_bytes();
        let mut out: Option<String> = None;
        let mut shifts = Vec::new();
        let mut delta = 0usize;
        // Up to where `text` has been copied into `out`.
        let mut copied = 0;
        // Whether the last character (as normalized) is an ASCII digit.
        let mut prev_digit = false;
        let mut i = 0;
        while i < b.len() {
            let lead = b[i];
            if lead < 0x80 {
                prev_digit = lead.is_ascii_digit();
                i += 1;
                continue;
            }
            let len = utf8_len(lead);
            let replacement = match lead {
                0xC2 | 0xE2 | 0xE3 | 0xEF => {
                    let c = text[i..i + len].chars().next().expect("a char at a boundary");
                    let next = text[i + len..].chars().next();
                    map_char(c, prev_digit, next)
                }
                _ => None,
            };
            match replacement {
                Some(a) => {
                    let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    buf.push_str(&text[copied..i]);
                    buf.push(a);
                    copied = i + len;
                    delta += len - 1;
                    shifts.push((buf.len(), delta));
                    prev_digit = a.is_ascii_digit();
                }
                None => prev_digit = false,
            }
            i += len;
        }
        match out {
            Some(mut s) => {
                s.push_str(&text[copied..]);
                Normalized { text: Cow::Owned(s), shifts }
            }
            None => Normalized { text: Cow::Borrowed(text), shifts: Vec::new() },
        }
    }

    /// The original byte offset of normalized byte offset `pos` (a character
    /// boundary of the normalized text; the end of the text included).
    pub fn to_original(&self, pos: usize) -> usize {
        let i = self.shifts.partition_point(|&(p, _)| p <= pos);
        if i == 0 { pos } else { pos + self.shifts[i - 1].1 }
    }
}

/// Normalizes a short string (a keyword, a word of a customer list, a value
/// to mask) the same way as scanned text.
pub(crate) fn normalize_str(s: &str) -> String {
    Normalized::new(s).text.into_owned()
}

/// The length of the UTF-8 sequence that `lead` starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Whether `c` is a digit in ASCII or full width.
fn is_any_digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)
}

/// The ASCII replacement of `c`, if it has one here (see the module doc).
fn map_char(c: char, prev_digit: bool, next: Option<char>) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        '\u{3000}' | '\u{00A0}' => Some(' '),
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2043}' | '\u{2212}'
        | '\u{30FC}' | '\u{FF70}' | '\u{FE63}'
            if prev_digit && next.is_some_and(is_any_digit) =>
        {
            Some('-')
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_borrowed() {
        let n = Normalized::new("tel 03-1234-5678");
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert_eq!(n.to_original(5), 5);
    }

    #[test]
    fn full_width_digits_and_dashes() {
        let s = "番号：１２３４ー５６７８　９０１２です。マイナンバー";
        let n = Normalized::new(s);
        assert_eq!(n.text, "番号:1234-5678 9012です。マイナンバー");
        // Every normalized character boundary maps to an original boundary
        // holding the same character (after normalization).
        let t = n.text.as_ref();
        for (p, c) in t.char_indices() {
            let o = n.to_original(p);
            let oc = s[o..].chars().next().unwrap();
            let alone = normalize_str(&oc.to_string()).chars().next().unwrap();
            assert!(alone == c || (c == '-' && oc == 'ー'), "at {p}: {oc} -> {c}");
        }
        assert_eq!(n.to_original(t.len()), s.len());
        let a = t.find("1234").unwrap();
        let b = t.find("9012").unwrap() + 4;
        assert_eq!(&s[n.to_original(a)..n.to_original(b)], "１２３４ー５６７８　９０１２");
    }

    #[test]
    fn offsets_map_to_boundaries_on_random_text() {
        let alphabet = [
            "0", "7", "-", " ", "a", "@", "０", "９", "－", "ー", "‐", "−", "–", "　", "\u{a0}", "あ", "漢", "Ａ",
            "＠", "〒", "😀", "ｰ", "﹣",
        ];
        let mut rng = crate::evaluation::Rng::new(42);
        for _ in 0..2000 {
            let len = rng.below(24);
            let s: String = (0..len).map(|_| rng.pick(&alphabet)).collect();
            let n = Normalized::new(&s);
            let t = n.text.as_ref();
            let mut last = 0;
            for (p, c) in t.char_indices().chain([(t.len(), ' ')]) {
                let o = n.to_original(p);
                assert!(s.is_char_boundary(o) && o >= last, "{s:?} at {p}");
                if p < t.len() {
                    let oc = s[o..].chars().next().unwrap();
                    assert!(
                        oc == c || normalize_str(&oc.to_string()) == c.to_string() || c == '-',
                        "{s:?}: {oc} -> {c}"
                    );
                }
                last = o;
            }
            assert_eq!(n.to_original(t.len()), s.len());
        }
    }

    #[test]
    fn katakana_long_vowel_kept_outside_digits() {
        assert_eq!(normalize_str("ナンバー1"), "ナンバー1");
        assert_eq!(normalize_str("1ー2"), "1-2");
        assert_eq!(normalize_str("１－２"), "1-2");
        assert_eq!(normalize_str("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"), "taro@example.jp");
    }
}
