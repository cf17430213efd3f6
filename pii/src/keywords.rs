//! Keywords near a value: they raise a detector's confidence, are required by
//! the detectors that have no check digit (bank account, driver's licence,
//! passport, date of birth), and tell a My Number from the order number or
//! the licence number it would otherwise look like.
//!
//! All keywords of the built-in detectors are found in one Aho-Corasick pass
//! (leftmost-longest, ASCII case-insensitive) over the normalized text; the
//! customer rules' keywords in a second automaton. A keyword that starts or
//! ends with an ASCII letter only counts as a word: `DOB` is not found in
//! `ADOBE`, `TEL` not in `HOTEL`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};

use crate::Detector;
use crate::normalize::normalize_str;

/// Bit of the "reference number" category: labels of numbers that are not
/// personal information (注文番号, 伝票番号, Order No…). A number such a label
/// names directly is not reported as a My Number, corporate number, card or
/// phone number.
pub(crate) const REFERENCE: u16 = 1 << 10;

/// Bit of keywords that follow their value (`1980年5月12日生まれ`): they never
/// introduce the value after them.
pub(crate) const SUFFIX: u16 = 1 << 11;

/// The category bit of a detector.
pub(crate) const fn bit(d: Detector) -> u16 {
    1 << d as u16
}

/// The built-in keyword lists. Matching is ASCII case-insensitive and runs on
/// normalized text (so `Ｍｙ Ｎｕｍｂｅｒ` is `My Number`).
const BUILT_IN: &[(u16, &[&str])] = &[
    (
        bit(Detector::MyNumber),
        &[
            "マイナンバー",
            "個人番号",
            "My Number",
            "MyNumber",
            "My No",
            "Individual Number",
            "Individual No",
            "個人番号カード",
            "マイナンバーカード",
            "通知カード",
        ],
    ),
    (
        bit(Detector::CorporateNumber),
        &[
            "法人番号",
            "Corporate Number",
            "Corporate No",
            "登録番号",
            "適格請求書",
            "インボイス",
            "Registration Number",
        ],
    ),
    (bit(Detector::Email), &["メール", "メアド", "mail", "email", "e-mail", "emails", "mailto", "アドレス", "連絡先"]),
    (
        bit(Detector::Phone),
        &[
            "電話",
            "TEL",
            "FAX",
            "ファックス",
            "ファクス",
            "携帯",
            "連絡先",
            "Phone",
            "Telephone",
            "Mobile",
            "Cell",
            "内線",
            "☎",
            "代表",
        ],
    ),
    (
        bit(Detector::PaymentCard),
        &[
            "カード",
            "クレジット",
            "Card",
            "Credit",
            "Visa",
            "Mastercard",
            "Master Card",
            "JCB",
            "AMEX",
            "American Express",
            "Diners",
            "Discover",
            "UnionPay",
            "銀聯",
            "有効期限",
            "Expiry",
            "Expiration",
            "CVV",
            "CVC",
            "セキュリティコード",
        ],
    ),
    (
        bit(Detector::BankAccount),
        &[
            "銀行",
            "支店",
            "口座",
            "普通",
            "当座",
            "預金",
            "信用金庫",
            "信金",
            "信用組合",
            "労働金庫",
            "農協",
            "店番",
            "振込先",
            "振込",
            "Bank",
            "Branch",
            "Account",
            "Acct",
        ],
    ),
    (
        bit(Detector::PostalAddress),
        &["住所", "所在地", "郵便番号", "Address", "Zip Code", "Zipcode", "Postal Code", "Postcode"],
    ),
    (
        bit(Detector::DriversLicence),
        &[
            "運転免許",
            "運転免許証",
            "運転免許証番号",
            "免許証番号",
            "免許番号",
            "免許証",
            "Driver's License",
            "Driver's Licence",
            "Driver’s License",
            "Driver’s Licence",
            "Drivers License",
            "Drivers Licence",
            "Driver License",
            "Driving Licence",
            "Driving License",
            "Licence No",
            "License No",
            "License Number",
            "Licence Number",
        ],
    ),
    (bit(Detector::Passport), &["旅券", "旅券番号", "パスポート", "Passport"]),
    (
        bit(Detector::DateOfBirth),
        &["生年月日", "誕生日", "DOB", "D.O.B", "Date of Birth", "Birth Date", "Birthdate", "Birthday", "Born"],
    ),
    (bit(Detector::DateOfBirth) | SUFFIX, &["生まれ", "生れ"]),
    (
        REFERENCE,
        &[
            "注文番号",
            "注文No",
            "注文",
            "受注番号",
            "発注番号",
            "伝票番号",
            "受付番号",
            "管理番号",
            "整理番号",
            "会員番号",
            "顧客番号",
            "お客様番号",
            "契約番号",
            "申込番号",
            "取引ID",
            "顧客ID",
            "会員ID",
            "ID",
            "請求番号",
            "管理No",
            "問い合わせ番号",
            "問合せ番号",
            "お問い合わせ番号",
            "追跡番号",
            "製造番号",
            "製品番号",
            "シリアル",
            "品番",
            "型番",
            "商品コード",
            "製品コード",
            "請求書番号",
            "見積番号",
            "JAN",
            "JANコード",
            "ISBN",
            "EAN",
            "Order",
            "Order No",
            "Invoice No",
            "Tracking",
            "Serial",
            "Part No",
            "SKU",
            "Item",
            "Product",
            "Model",
            "Message-ID",
            "In-Reply-To",
            "References",
            "Content-ID",
        ],
    ),
];

/// An Aho-Corasick automaton over normalized keywords, each with a payload.
struct Automaton<T> {
    ac: AhoCorasick,
    /// Per pattern: whether its first / last character is an ASCII letter.
    edges: Vec<(bool, bool)>,
    payload: Vec<T>,
}

impl<T> Automaton<T> {
    /// Builds from `(keyword, payload)` pairs; equal keywords (after
    /// normalization and ASCII lowercasing) are merged with `merge`.
    fn new(pairs: impl IntoIterator<Item = (String, T)>, merge: impl Fn(&mut T, T)) -> Result<Self, String> {
        let mut keys: Vec<String> = Vec::new();
        let mut payload: Vec<T> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (k, p) in pairs {
            let k = normalize_str(&k);
            if k.is_empty() {
                continue;
            }
            let key = k.to_ascii_lowercase();
            match index.get(&key) {
                Some(&i) => merge(&mut payload[i], p),
                None => {
                    index.insert(key, keys.len());
                    keys.push(k);
                    payload.push(p);
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keys)
            .map_err(|e| e.to_string())?;
        let edges = keys
            .iter()
            .map(|k| {
                let b = k.as_bytes();
                (b[0].is_ascii_alphabetic(), b[b.len() - 1].is_ascii_alphabetic())
            })
            .collect();
        Ok(Automaton { ac, edges, payload })
    }

    /// Every keyword in `text[span]`, in order, as `(start, end, pattern)`.
    fn find<'s>(&'s self, text: &'s str, span: (usize, usize)) -> impl Iterator<Item = (usize, usize, usize)> + 's {
        let b = text.as_bytes();
        self.ac.find_iter(Input::new(text).span(span.0..span.1)).filter_map(move |m| {
            let (s, e, p) = (m.start(), m.end(), m.pattern().as_usize());
            let (first, last) = self.edges[p];
            if first && s > 0 && b[s - 1].is_ascii_alphabetic() {
                return None;
            }
            if last && e < b.len() && b[e].is_ascii_alphabetic() {
                return None;
            }
            Some((s, e, p))
        })
    }
}

/// The built-in keyword automaton.
pub(crate) struct BuiltIn(Automaton<u16>);

impl BuiltIn {
    pub fn new() -> BuiltIn {
        let pairs = BUILT_IN.iter().flat_map(|&(mask, words)| words.iter().map(move |w| (w.to_string(), mask)));
        BuiltIn(Automaton::new(pairs, |a, b| *a |= b).expect("the built-in keywords compile"))
    }

    /// The keywords of `text` (normalized) within `windows` (sorted,
    /// disjoint byte spans at char boundaries).
    pub fn find(&self, text: &str, windows: &[(usize, usize)]) -> Found {
        let mut all = Vec::new();
        for &w in windows {
            for (s, e, p) in self.0.find(text, w) {
                all.push(Keyword { start: s, end: e, mask: self.0.payload[p] });
            }
        }
        Found { all }
    }
}

/// One keyword occurrence.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keyword {
    pub start: usize,
    pub end: usize,
    pub mask: u16,
}

/// The built-in keywords of one text, in text order (non-overlapping, so
/// sorted by end too).
pub(crate) struct Found {
    pub all: Vec<Keyword>,
}

/// Number of characters in `t[a..b]`, or `usize::MAX` when it is certainly
/// more than `limit`.
pub(crate) fn chars_between(t: &str, a: usize, b: usize, limit: usize) -> usize {
    if b <= a {
        return 0;
    }
    if b - a > limit.saturating_mul(4) {
        return usize::MAX;
    }
    t.as_bytes()[a..b].iter().filter(|&&c| (c & 0xC0) != 0x80).count()
}

impl Found {
    /// Whether a keyword of a category in `mask` lies within `window`
    /// characters of `[s, e)` on either side.
    pub fn near(&self, t: &str, mask: u16, s: usize, e: usize, window: usize) -> bool {
        // Keywords ending at or before s, nearest first.
        let i = self.all.partition_point(|k| k.end <= s);
        for k in self.all[..i].iter().rev() {
            if chars_between(t, k.end, s, window) > window {
                break;
            }
            if k.mask & mask != 0 {
                return true;
            }
        }
        for k in &self.all[i..] {
            if k.start < e {
                if k.mask & mask != 0 {
                    return true;
                }
                continue;
            }
            if chars_between(t, e, k.start, window) > window {
                break;
            }
            if k.mask & mask != 0 {
                return true;
            }
        }
        false
    }

    /// The nearest keyword ending at or before `s`, within `window`
    /// characters.
    pub fn before(&self, t: &str, s: usize, window: usize) -> Option<Keyword> {
        let i = self.all.partition_point(|k| k.end <= s);
        let k = *self.all[..i].last()?;
        (chars_between(t, k.end, s, window) <= window).then_some(k)
    }

    /// The nearest keyword starting at or after `e`, within `window`
    /// characters.
    pub fn after(&self, t: &str, e: usize, window: usize) -> Option<Keyword> {
        let i = self.all.partition_point(|k| k.start < e);
        let k = *self.all.get(i)?;
        (chars_between(t, e, k.start, window) <= window).then_some(k)
    }

    /// Whether a keyword of `mask` introduces the value at `[s, e)`: it is the
    /// nearest keyword before the value, within `window` characters, and no
    /// earlier value of the same detector (ending at `prev_end`) stands
    /// between them; or it is a suffix keyword right after the value
    /// (`1980年5月12日生まれ`, within 4 characters).
    pub fn introduces(&self, t: &str, mask: u16, s: usize, e: usize, prev_end: usize, window: usize) -> bool {
        if let Some(k) = self.before(t, s, window)
            && k.mask & mask != 0
            && k.mask & SUFFIX == 0
            && k.start >= prev_end
        {
            return true;
        }
        matches!(self.after(t, e, 4), Some(k) if k.mask & mask != 0 && k.mask & SUFFIX != 0)
    }

    /// Whether the keyword right before `s` names the value as something
    /// else: it is in `other` and not in `own`, and only label filler
    /// (`番号`, `No.`, `:`, `#`, spaces, brackets…) stands between.
    pub fn labelled_as_other(&self, t: &str, s: usize, own: u16, other: u16) -> bool {
        match self.before(t, s, 16) {
            Some(k) => k.mask & own == 0 && k.mask & other != 0 && only_label_filler(&t[k.end..s]),
            None => false,
        }
    }
}

/// Whether `between` (the text between a keyword and a value) is only what
/// stands between a label and its value.
pub(crate) fn only_label_filler(between: &str) -> bool {
    const WORDS: &[&str] = &[
        "番号",
        "ナンバー",
        "コード",
        "Number",
        "number",
        "No",
        "NO",
        "no",
        "Nr",
        "num",
        "は",
        "の",
        "第",
        "証",
        "情報",
        "記号",
    ];
    let mut rest = between;
    loop {
        let trimmed = rest.trim_start_matches(|c: char| {
            c.is_whitespace() || ":=#.-_()[]{}<>「」【】『』（）［］\"'/|、,＃№:".contains(c)
        });
        let mut next = trimmed;
        for w in WORDS {
            if let Some(r) = trimmed.strip_prefix(w) {
                next = r;
                break;
            }
        }
        if next.is_empty() {
            return true;
        }
        if next.len() == rest.len() {
            return false;
        }
        rest = next;
    }
}

/// The keywords of the customer rules (rule indices per keyword).
pub(crate) struct Custom(Automaton<Vec<usize>>);

impl Custom {
    /// Builds from each rule's keywords; `None` when no rule has keywords.
    pub fn new(rules: &[Vec<String>]) -> Result<Option<Custom>, String> {
        let pairs: Vec<(String, Vec<usize>)> =
            rules.iter().enumerate().flat_map(|(i, ks)| ks.iter().map(move |k| (k.clone(), vec![i]))).collect();
        if pairs.iter().all(|(k, _)| normalize_str(k).is_empty()) {
            return Ok(None);
        }
        Automaton::new(pairs, |a, b| a.extend(b)).map(|a| Some(Custom(a)))
    }

    /// Per rule, the spans of its keywords in `text`, in order.
    pub fn find(&self, text: &str, rules: usize) -> Vec<Vec<(usize, usize)>> {
        let mut per = vec![Vec::new(); rules];
        for (s, e, p) in self.0.find(text, (0, text.len())) {
            for &r in &self.0.payload[p] {
                per[r].push((s, e));
            }
        }
        per
    }
}

/// Whether one of `spans` (sorted, non-overlapping) lies within `window`
/// characters of `[s, e)`.
pub(crate) fn spans_near(t: &str, spans: &[(usize, usize)], s: usize, e: usize, window: usize) -> bool {
    let i = spans.partition_point(|k| k.1 <= s);
    if i > 0 && chars_between(t, spans[i - 1].1, s, window) <= window {
        return true;
    }
    match spans.get(i) {
        Some(&(ks, _)) => ks < e || chars_between(t, e, ks, window) <= window,
        None => false,
    }
}

/// A customer word list: the words (normalized), found leftmost-longest and
/// ASCII case-insensitive, as whole words where they start or end with an
/// ASCII letter.
pub(crate) struct WordList(Automaton<()>);

impl WordList {
    /// Builds from the words; empty words are skipped. `None` when no word is
    /// left.
    pub fn new(words: &[String]) -> Result<Option<WordList>, String> {
        let pairs: Vec<(String, ())> = words.iter().filter(|w| !w.trim().is_empty()).map(|w| (w.clone(), ())).collect();
        if pairs.is_empty() {
            return Ok(None);
        }
        Automaton::new(pairs, |_, _| ()).map(|a| Some(WordList(a)))
    }

    /// The spans of the words in `text`, in order.
    pub fn find<'s>(&'s self, text: &'s str) -> impl Iterator<Item = (usize, usize)> + 's {
        self.0.find(text, (0, text.len())).map(|(s, e, _)| (s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_keywords_are_words() {
        let b = BuiltIn::new();
        let t = "ADOBE HOTEL dob: tel";
        let found = b.find(t, &[(0, t.len())]);
        let masks: Vec<u16> = found.all.iter().map(|k| k.mask).collect();
        assert_eq!(masks, vec![bit(Detector::DateOfBirth), bit(Detector::Phone)]);
    }

    #[test]
    fn shared_keywords_merge() {
        let b = BuiltIn::new();
        let found = b.find("連絡先", &[(0, 9)]);
        assert_eq!(found.all.len(), 1);
        assert_eq!(found.all[0].mask, bit(Detector::Phone) | bit(Detector::Email));
    }

    #[test]
    fn filler() {
        assert!(only_label_filler("番号: "));
        assert!(only_label_filler(" No. "));
        assert!(only_label_filler("（"));
        assert!(!only_label_filler("番号\n山田,"));
        assert!(!only_label_filler("は以下の通り"));
    }
}
