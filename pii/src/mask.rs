//! Masking: what a finding may show of its value.

use crate::normalize::normalize_str;

/// The masked form of `value` as found by `detector` (a built-in detector's
/// name or a customer rule's name). The value is first normalized like
/// scanned text (full-width digits and letters as ASCII).
///
/// The rule:
/// - `my-number`: `****-****-9012`, the last 4 digits;
/// - `corporate-number`: `*********0002`, the last 4 digits;
/// - `payment-card`: `****-****-****-1234`, the last 4 digits, whatever the
///   length;
/// - `phone`: `***-****-5678`, the last 4 digits, whatever the grouping;
/// - `email`: the first character of the local part, `***`, and the domain
///   (`t***@example.jp`); a local part shorter than 3 characters is hidden
///   whole (`***@example.jp`);
/// - `postal-address`: `〒***-**67`, the last 2 digits of the postal code and
///   nothing of the address;
/// - everything else (`bank-account`, `drivers-licence`, `passport`,
///   `date-of-birth`, customer rules): every character but separators
///   (space, `-`, `/`, `.`, `:`, brackets) becomes `*`, except the last
///   quarter of them, at most 4: `*******67` for a passport, `****/**/12` for
///   a date, `********9012` for a licence; values of 3 characters or fewer are
///   hidden whole.
///
/// A value too short for its detector's format falls back to the generic
/// rule, so a mask never shows more than a quarter of a value.
pub fn mask(detector: &str, value: &str) -> String {
    let v = normalize_str(value);
    let digits: Vec<u8> = v.bytes().filter(u8::is_ascii_digit).collect();
    let last4 = |min: usize| -> Option<String> {
        (digits.len() >= min).then(|| String::from_utf8_lossy(&digits[digits.len() - 4..]).into_owned())
    };
    let fixed = match detector {
        "my-number" => last4(12).map(|l| format!("****-****-{l}")),
        "corporate-number" => last4(13).map(|l| format!("*********{l}")),
        "payment-card" => last4(13).map(|l| format!("****-****-****-{l}")),
        "phone" => last4(10).map(|l| format!("***-****-{l}")),
        "email" => mask_email(&v),
        "postal-address" if digits.len() >= 7 => {
            let mark = if v.trim_start().starts_with('〒') { "〒" } else { "" };
            Some(format!("{mark}***-**{}", String::from_utf8_lossy(&digits[5..7])))
        }
        _ => None,
    };
    fixed.unwrap_or_else(|| mask_generic(&v))
}

fn mask_email(v: &str) -> Option<String> {
    let (local, domain) = v.rsplit_once('@')?;
    if domain.is_empty() {
        return None;
    }
    let mut chars = local.chars();
    let head = match chars.next() {
        Some(c) if local.chars().count() >= 3 => c.to_string(),
        _ => String::new(),
    };
    Some(format!("{head}***@{domain}"))
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || "-/.:()[]（）".contains(c)
}

/// Every non-separator character as `*` but the last quarter (at most 4).
pub(crate) fn mask_generic(v: &str) -> String {
    let n = v.chars().filter(|&c| !is_separator(c)).count();
    let keep = (n / 4).min(4);
    let mut seen = 0;
    v.chars()
        .map(|c| {
            if is_separator(c) {
                c
            } else {
                seen += 1;
                if seen > n - keep { c } else { '*' }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask("my-number", "1234 5678 9018"), "****-****-9018");
        assert_eq!(mask("my-number", "１２３４５６７８９０１８"), "****-****-9018");
        assert_eq!(mask("corporate-number", "7000012050002"), "*********0002");
        assert_eq!(mask("payment-card", "4111-1111-1111-1234"), "****-****-****-1234");
        assert_eq!(mask("phone", "03-1234-5678"), "***-****-5678");
        assert_eq!(mask("phone", "+81 90 1234 5678"), "***-****-5678");
        assert_eq!(mask("email", "taro.yamada@example.jp"), "t***@example.jp");
        assert_eq!(mask("email", "ab@example.jp"), "***@example.jp");
        assert_eq!(mask("postal-address", "〒100-8914 東京都千代田区"), "〒***-**14");
        assert_eq!(mask("passport", "TK1234567"), "*******67");
        assert_eq!(mask("date-of-birth", "1980/05/12"), "****/**/12");
        assert_eq!(mask("drivers-licence", "301234567890"), "*********890");
        assert_eq!(mask("bank-account", "123-1234567"), "***-*****67");
        assert_eq!(mask("社員番号", "E12"), "***");
        assert_eq!(mask("極秘", "極秘"), "**");
        // Too short for its format: generic.
        assert_eq!(mask("my-number", "1234"), "***4");
    }

    #[test]
    fn never_the_whole_value() {
        for (d, v) in [
            ("my-number", "123456789018"),
            ("phone", "09012345678"),
            ("payment-card", "4111111111111111"),
            ("email", "a@b.jp"),
            ("bank-account", "1234567"),
            ("x", "abcd"),
        ] {
            assert_ne!(mask(d, v), v);
            assert!(!mask(d, v).contains(&v[..v.len() - 1]) || v.len() < 5, "{d}");
        }
    }
}
