//! Validation steps: check digits, card brands, Japanese numbering plan,
//! calendar dates. Inputs are ASCII digit strings (already normalized).

/// Check digit of an individual number (個人番号, My Number) from its first 11
/// digits, as the enforcement order of the My Number Act (行政手続における特定の
/// 個人を識別するための番号の利用等に関する法律施行令, 第8条) defines it:
///
/// `P_n` is the n-th digit counted from the right of the 11 digits, `Q_n` is
/// `n + 1` for `1 <= n <= 6` and `n - 5` for `7 <= n <= 11`; with
/// `r = (Σ P_n × Q_n) mod 11`, the check digit is `0` when `r <= 1`, else
/// `11 - r`. From the left, the weights are 6,5,4,3,2,7,6,5,4,3,2.
pub(crate) fn my_number_check_digit(first11: &[u8]) -> u8 {
    debug_assert_eq!(first11.len(), 11);
    let sum: u32 = first11
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(d - b'0') * q
        })
        .sum();
    let r = sum % 11;
    if r <= 1 { 0 } else { (11 - r) as u8 }
}

/// Whether 12 ASCII digits are a valid individual number.
pub(crate) fn my_number_valid(d: &[u8]) -> bool {
    d.len() == 12 && d.iter().all(u8::is_ascii_digit) && my_number_check_digit(&d[..11]) == d[11] - b'0'
}

/// Check digit of a corporate number (法人番号) from the 12 digits that follow
/// it, as the National Tax Agency (国税庁) publishes it (法人番号の指定等に関する
/// 省令, 第2条): `P_n` is the n-th digit counted from the right of the 12
/// digits, `Q_n` is 1 when n is odd and 2 when n is even; the check digit is
/// `9 - ((Σ P_n × Q_n) mod 9)`, so it is never 0.
pub(crate) fn corporate_check_digit(base12: &[u8]) -> u8 {
    debug_assert_eq!(base12.len(), 12);
    let sum: u32 =
        base12.iter().rev().enumerate().map(|(i, &d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 2 }).sum();
    (9 - sum % 9) as u8
}

/// Whether 13 ASCII digits are a valid corporate number (check digit first).
pub(crate) fn corporate_valid(d: &[u8]) -> bool {
    d.len() == 13 && d.iter().all(u8::is_ascii_digit) && corporate_check_digit(&d[1..]) == d[0] - b'0'
}

/// Whether 13 ASCII digits are a valid EAN-13 (JAN) code: weights 1,3,1,3…
/// from the left over the first 12, the last digit completes a multiple of 10.
pub(crate) fn ean13_valid(d: &[u8]) -> bool {
    if d.len() != 13 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = d[..12].iter().enumerate().map(|(i, &c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    (10 - sum % 10) % 10 == u32::from(d[12] - b'0')
}

/// The Luhn (mod 10) check over ASCII digits.
pub(crate) fn luhn_valid(d: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let v = u32::from(c - b'0');
            if i % 2 == 1 {
                let x = v * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The Luhn digit that completes `d` (appended at the end).
pub(crate) fn luhn_check_digit(d: &[u8]) -> u8 {
    let mut with = d.to_vec();
    with.push(b'0');
    for c in b'0'..=b'9' {
        *with.last_mut().unwrap() = c;
        if luhn_valid(&with) {
            return c - b'0';
        }
    }
    unreachable!("one of ten digits completes a Luhn sum")
}

/// A card brand recognised from its issuer identification number (IIN) and
/// length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Brand {
    Visa,
    Mastercard,
    Amex,
    Jcb,
    Diners,
    Discover,
    UnionPay,
}

fn prefix_num(d: &[u8], n: usize) -> u32 {
    d[..n].iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'))
}

/// The brand whose IIN range and card lengths `d` fits, if any. Ranges:
/// Visa 4 (13, 16, 19 digits); Mastercard 51-55 and 2221-2720 (16); American
/// Express 34, 37 (15); JCB 3528-3589 (16-19); Diners Club 300-305, 3095, 36,
/// 38, 39 (14-19); Discover 6011, 644-649, 65 (16-19); UnionPay 62 (16-19).
pub(crate) fn card_brand(d: &[u8]) -> Option<Brand> {
    let len = d.len();
    if !(13..=19).contains(&len) {
        return None;
    }
    let p1 = prefix_num(d, 1);
    let p2 = prefix_num(d, 2);
    let p3 = prefix_num(d, 3);
    let p4 = prefix_num(d, 4);
    if p1 == 4 && matches!(len, 13 | 16 | 19) {
        return Some(Brand::Visa);
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        return Some(Brand::Mastercard);
    }
    if (p2 == 34 || p2 == 37) && len == 15 {
        return Some(Brand::Amex);
    }
    if (3528..=3589).contains(&p4) && len >= 16 {
        return Some(Brand::Jcb);
    }
    if ((300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39) && len >= 14 {
        return Some(Brand::Diners);
    }
    if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) && len >= 16 {
        return Some(Brand::Discover);
    }
    if p2 == 62 && len >= 16 {
        return Some(Brand::UnionPay);
    }
    None
}

/// The prefecture codes of public safety commissions (公安委員会) that open a
/// driver's licence number.
pub(crate) fn licence_issuer_valid(d: &[u8]) -> bool {
    if d.len() < 2 {
        return false;
    }
    let c = prefix_num(d, 2);
    matches!(c, 10..=14 | 20..=25 | 30 | 40..=55 | 60..=65 | 70..=74 | 80..=83 | 90..=97)
}

/// How a phone number candidate was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhoneForm {
    /// Digits only: `0312345678`.
    Plain,
    /// Groups: `03-1234-5678`, `03(1234)5678`, `(03) 1234-5678`.
    Grouped,
    /// `+81 3-1234-5678`: the national number follows without its 0.
    International,
}

/// The kind of a valid Japanese number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhoneKind {
    /// A geographic number: 0 + area code + exchange (6 digits in all) + a
    /// 4-digit subscriber number, 10 digits.
    Fixed,
    /// 070/080/090 mobile, 050 IP, 020 and 060: 11 digits.
    Mobile,
    /// 0120, 0570, 0990 (10 digits) and 0800 (11 digits).
    Service,
}

/// Validates a Japanese phone number given as its national digits (leading 0
/// included) and, for a grouped form, its digit groups in order.
///
/// Rules (the numbering plan of the Ministry of Internal Affairs and
/// Communications): numbers never start with `00`; `0X0` prefixes are
/// non-geographic (`020`, `050`, `060`, `070`, `080`, `090`: 11 digits;
/// `010` is the international prefix); `0120`, `0570`, `0990` have 10 digits
/// and `0800` 11; every other number is geographic with 10 digits. A grouped
/// geographic number keeps the area code and the exchange together in 6
/// digits (`03-1234`, `045-123`, `0466-12`, `01267-2`), then 4 digits; the
/// only 2-digit area codes are 03, 04 and 06.
pub(crate) fn phone_kind(digits: &[u8], groups: &[&[u8]], form: PhoneForm) -> Option<PhoneKind> {
    let n = digits.len();
    if n < 10 || digits[0] != b'0' || digits[1] == b'0' {
        return None;
    }
    let grouped = form == PhoneForm::Grouped;
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let p4 = &digits[..4];
    if matches!(p4, b"0120" | b"0570" | b"0990") {
        if n != 10 {
            return None;
        }
        if grouped && !(lens == [4, 3, 3] || lens == [4, 2, 4] || lens == [4, 6]) {
            return None;
        }
        return Some(PhoneKind::Service);
    }
    if p4 == b"0800" {
        if n != 11 {
            return None;
        }
        if grouped && !(lens == [4, 3, 4] || lens == [4, 7]) {
            return None;
        }
        return Some(PhoneKind::Service);
    }
    if digits[2] == b'0' {
        // 0X0: non-geographic.
        if !matches!(digits[1], b'2' | b'5' | b'6' | b'7' | b'8' | b'9') || n != 11 {
            return None;
        }
        if grouped && !(lens == [3, 4, 4] || lens == [3, 8]) {
            return None;
        }
        return Some(PhoneKind::Mobile);
    }
    if n != 10 {
        return None;
    }
    if grouped {
        let ok = match lens.as_slice() {
            [a, b, 4] => *a >= 2 && *a <= 5 && a + b == 6,
            [a, b] => *a >= 2 && *a <= 5 && a + b == 10,
            _ => false,
        };
        if !ok {
            return None;
        }
        if lens[0] == 2 && !matches!(&digits[..2], b"03" | b"04" | b"06") {
            return None;
        }
    }
    Some(PhoneKind::Fixed)
}

/// Japanese eras: name, first Gregorian year, number of years it lasted
/// (the last era open-ended).
const ERAS: [(&str, i32, i32); 5] =
    [("明治", 1868, 45), ("大正", 1912, 15), ("昭和", 1926, 64), ("平成", 1989, 31), ("令和", 2019, 99)];

/// The Gregorian year of year `y` of an era given by its name or its
/// one-letter abbreviation (M, T, S, H, R).
pub(crate) fn era_year(era: &str, y: i32) -> Option<i32> {
    let idx = match era {
        "明治" | "M" => 0,
        "大正" | "T" => 1,
        "昭和" | "S" => 2,
        "平成" | "H" => 3,
        "令和" | "R" => 4,
        _ => return None,
    };
    let (_, first, span) = ERAS[idx];
    if y < 1 || y > span {
        return None;
    }
    Some(first + y - 1)
}

/// Whether `y-m-d` is a calendar date between 1868 and 2099.
pub(crate) fn date_valid(y: i32, m: u32, d: u32) -> bool {
    if !(1868..=2099).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn my_number_known_values() {
        // 1*6+2*5+3*4+4*3+5*2+6*7+7*6+8*5+9*4+0*3+1*2 = 212; 212 mod 11 = 3;
        // 11 - 3 = 8.
        assert!(my_number_valid(b"123456789018"));
        assert!(!my_number_valid(b"123456789012"));
        // Remainders 0 and 1 give 0: 00000000001x: sum = 2 -> 9.
        assert_eq!(my_number_check_digit(b"00000000001"), 9);
        // Sum 11 (remainder 0): 0000000000 + P1=... use weights 6 and 5:
        // 6*1 + 5*1 = 11 -> 0.
        assert_eq!(my_number_check_digit(b"11000000000"), 0);
        // Sum 12 (remainder 1): 6*2 = 12 -> 0.
        assert_eq!(my_number_check_digit(b"20000000000"), 0);
        // Exactly one check digit in ten is right.
        let ok = (0..10u8).filter(|c| my_number_valid(&[b"12345678901".as_slice(), &[b'0' + c]].concat())).count();
        assert_eq!(ok, 1);
    }

    #[test]
    fn corporate_published_numbers() {
        // 国税庁 (National Tax Agency) itself.
        assert!(corporate_valid(b"7000012050002"));
        // トヨタ自動車株式会社.
        assert!(corporate_valid(b"1180301018771"));
        // ソニーグループ株式会社.
        assert!(corporate_valid(b"5010401067252"));
        // 株式会社三菱ＵＦＪ銀行.
        assert!(corporate_valid(b"5010001008846"));
        // The example of python-stdnum's jp.cn.
        assert!(corporate_valid(b"5835678256246"));
        assert!(!corporate_valid(b"8000012050002"));
        assert!(!corporate_valid(b"0000012050002"));
        assert_eq!(corporate_check_digit(b"000012050002"), 7);
    }

    #[test]
    fn luhn_and_brands() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert_eq!(card_brand(b"4111111111111111"), Some(Brand::Visa));
        assert_eq!(card_brand(b"5555555555554444"), Some(Brand::Mastercard));
        assert_eq!(card_brand(b"2223003122003222"), Some(Brand::Mastercard));
        assert_eq!(card_brand(b"378282246310005"), Some(Brand::Amex));
        assert_eq!(card_brand(b"3530111333300000"), Some(Brand::Jcb));
        assert_eq!(card_brand(b"30569309025904"), Some(Brand::Diners));
        assert_eq!(card_brand(b"6011111111111117"), Some(Brand::Discover));
        assert_eq!(card_brand(b"9111111111111111"), None);
        assert_eq!(card_brand(b"378282246310005000"), None);
        assert_eq!(luhn_check_digit(b"411111111111111"), 1);
        assert!(ean13_valid(b"4901234567894"));
        assert!(!ean13_valid(b"4901234567895"));
    }

    #[test]
    fn phone_numbering_plan() {
        use PhoneForm::*;
        let g = |s: &str| -> Option<PhoneKind> {
            let groups: Vec<&[u8]> = s.split('-').map(str::as_bytes).collect();
            let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
            phone_kind(&digits, &groups, Grouped)
        };
        assert_eq!(g("03-1234-5678"), Some(PhoneKind::Fixed));
        assert_eq!(g("045-123-4567"), Some(PhoneKind::Fixed));
        assert_eq!(g("0466-12-3456"), Some(PhoneKind::Fixed));
        assert_eq!(g("01267-2-3456"), Some(PhoneKind::Fixed));
        assert_eq!(g("090-1234-5678"), Some(PhoneKind::Mobile));
        assert_eq!(g("050-1234-5678"), Some(PhoneKind::Mobile));
        assert_eq!(g("0120-123-456"), Some(PhoneKind::Service));
        assert_eq!(g("0800-123-4567"), Some(PhoneKind::Service));
        assert_eq!(g("03-1234-56789"), None);
        assert_eq!(g("090-1234-567"), None);
        assert_eq!(g("01-2345-6789"), None);
        assert_eq!(g("045-1234-5678"), None);
        assert_eq!(g("00-1234-5678"), None);
        assert_eq!(g("040-1234-5678"), None);
        assert_eq!(phone_kind(b"09012345678", &[], Plain), Some(PhoneKind::Mobile));
        assert_eq!(phone_kind(b"0312345678", &[], Plain), Some(PhoneKind::Fixed));
        assert_eq!(phone_kind(b"031234567", &[], Plain), None);
    }

    #[test]
    fn dates_and_eras() {
        assert_eq!(era_year("昭和", 55), Some(1980));
        assert_eq!(era_year("平成", 1), Some(1989));
        assert_eq!(era_year("令和", 6), Some(2024));
        assert_eq!(era_year("昭和", 65), None);
        assert!(date_valid(2000, 2, 29));
        assert!(!date_valid(1900, 2, 29));
        assert!(!date_valid(1980, 13, 1));
        assert!(!date_valid(1980, 4, 31));
    }
}
