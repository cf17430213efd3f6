//! Personal-information detectors for Sekisho's outbound audit (個人情報検知).
//!
//! A [`Scanner`] is built once (built-in detectors plus the customer's
//! [`CustomRule`]s) and scans any number of texts, from any number of threads.
//! Each [`Hit`] names its detector, a [`Confidence`], the byte span of the
//! value in the scanned text and its [`mask`]ed form: a hit never carries
//! the value itself, so nothing built from hits (a report, an audit line, a
//! log) can leak it.
//!
//! ```
//! use sekisho_pii::{Confidence, Scanner};
//!
//! let scanner = Scanner::new(&[]).unwrap();
//! let hits = scanner.scan("マイナンバー：1234 5678 9018、連絡先 taro@example.jp");
//! assert_eq!(hits.len(), 2);
//! assert_eq!(hits[0].detector, "my-number");
//! assert_eq!(hits[0].confidence, Confidence::High);
//! assert_eq!(hits[0].masked, "****-****-9018");
//! assert_eq!(hits[1].masked, "t***@example.jp");
//! ```
//!
//! # Detectors
//! Every built-in detector validates what its pattern finds; none is a bare
//! regex. See [`Detector`] for each one's rule. Candidates are found by
//! linear-time automata only (the `regex` crate and Aho-Corasick), never a
//! backtracking engine, so scanning time is linear in the text whatever it
//! holds.
//!
//! # Normalization
//! The text is scanned in a normalized form: full-width ASCII (`０`-`９`,
//! `Ａ`-`Ｚ`, `＠`, `－`, `（`, `：`…) as ASCII, the ideographic space as a
//! space, and the dash-like characters `‐ ‑ ‒ – — ― − ー ｰ` as `-` when they
//! stand between two digits. Spans in hits are byte offsets in the
//! **original** text. Customer patterns and word lists see the normalized
//! text too (a word list is normalized the same way).
//!
//! # Confidence
//! - [`Confidence::High`]: the value validates and a keyword of its kind is
//!   near (within 100 characters: `マイナンバー`, `法人番号`, `TEL`, `カード`…),
//!   or the detector needs a keyword and found one introducing the value (bank
//!   account, driver's licence, passport, date of birth), or the form is
//!   unambiguous (`〒` followed by an address, `T` + a corporate number);
//! - [`Confidence::Medium`]: the value validates (check digit, Luhn and IIN,
//!   numbering plan) but no keyword is near;
//! - [`Confidence::Low`]: a `〒` postal code with no address after it, or a
//!   customer rule declared `low` with no keyword near.
//!
//! A number labelled directly as something else (`注文番号 123456789018`,
//! `カード番号`, `運転免許証番号`) is not reported as a My Number, and so on.

#![warn(missing_docs)]

mod check;
mod detect;
pub mod evaluation;
mod keywords;
mod mask;
mod normalize;
pub mod password;

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

pub use mask::mask;

use detect::{BuiltInDetectors, RAISE_WINDOW, Raw};
use keywords::{Custom, WordList, spans_near};
use normalize::Normalized;

/// A built-in detector, by its policy name.
///
/// - `my-number` (個人番号): 12 digits, plain or grouped 4-4-4 by spaces or
///   hyphens, whose last digit is the check digit of the My Number Act's
///   enforcement order (weights 6,5,4,3,2,7,6,5,4,3,2 from the left; `11 -
///   (sum mod 11)`, 0 when the remainder is 0 or 1). Never inside a longer
///   number.
/// - `corporate-number` (法人番号): 13 digits whose first digit is `9 - (sum
///   mod 9)` over the other 12 weighted 1,2,1,2… from the right (国税庁);
///   `T` + 13 digits (invoice registration number) included.
/// - `email`: a practical RFC 5322 subset with IDN domains and a required
///   top-level domain that is not a file extension (`icon@2x.png` is not an
///   address, nor `user@localhost`, `foo@bar` or `@Override`).
/// - `phone`: Japanese numbers that the numbering plan allows: fixed
///   (10 digits; area code and exchange 6 digits together, subscriber 4),
///   070/080/090/050/020/060 (11 digits), 0120/0570/0990/0800, `+81` forms,
///   parentheses (`03(1234)5678`). A fixed number written without any
///   separator needs a phone keyword nearby.
/// - `payment-card`: 13-19 digits, plain or grouped, passing Luhn, in a known
///   IIN range of the right length (Visa, Mastercard, American Express, JCB,
///   Diners Club, Discover, UnionPay). 13-digit numbers need a card keyword.
/// - `bank-account`: a 7-digit account number, optionally preceded by its
///   3-digit branch (`123-1234567`), introduced by a bank keyword (銀行, 支店,
///   口座, 普通, 当座…) within 30 characters.
/// - `postal-address`: `〒123-4567`, or `123-4567` followed within 3
///   characters by a prefecture or a municipality (…市, …区, …町, …村, …郡).
/// - `drivers-licence`: 12 digits starting with a public safety commission
///   code (10-97), introduced by a licence keyword (運転免許, 免許証番号,
///   Driver's License…).
/// - `passport`: 2 capital letters and 7 digits introduced by 旅券,
///   パスポート or Passport.
/// - `date-of-birth`: a valid date (`1980/05/12`, `1980年5月12日`,
///   `昭和55年5月12日`, `S55.5.12`, `12/05/1980`) introduced by 生年月日, 誕生日,
///   DOB, Date of birth… or followed by 生まれ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    /// 個人番号 (`my-number`).
    MyNumber,
    /// 法人番号 (`corporate-number`).
    CorporateNumber,
    /// E-mail address (`email`).
    Email,
    /// Japanese phone number (`phone`).
    Phone,
    /// Payment card number (`payment-card`).
    PaymentCard,
    /// Bank account number (`bank-account`).
    BankAccount,
    /// Postal code with an address (`postal-address`).
    PostalAddress,
    /// Driver's licence number (`drivers-licence`).
    DriversLicence,
    /// Passport number (`passport`).
    Passport,
    /// Date of birth (`date-of-birth`).
    DateOfBirth,
}

impl Detector {
    /// Every built-in detector.
    pub const ALL: [Detector; 10] = [
        Detector::MyNumber,
        Detector::CorporateNumber,
        Detector::Email,
        Detector::Phone,
        Detector::PaymentCard,
        Detector::BankAccount,
        Detector::PostalAddress,
        Detector::DriversLicence,
        Detector::Passport,
        Detector::DateOfBirth,
    ];

    /// The policy name: `my-number`, `corporate-number`, `email`, `phone`,
    /// `payment-card`, `bank-account`, `postal-address`, `drivers-licence`,
    /// `passport`, `date-of-birth`.
    pub fn name(&self) -> &'static str {
        match self {
            Detector::MyNumber => "my-number",
            Detector::CorporateNumber => "corporate-number",
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::PaymentCard => "payment-card",
            Detector::BankAccount => "bank-account",
            Detector::PostalAddress => "postal-address",
            Detector::DriversLicence => "drivers-licence",
            Detector::Passport => "passport",
            Detector::DateOfBirth => "date-of-birth",
        }
    }

    /// The detector of a policy name, if it is a built-in one.
    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How sure a hit is (see the crate documentation). Ordered: `Low < Medium <
/// High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// Plausible, weak evidence.
    Low,
    /// Validated, no keyword.
    Medium,
    /// Validated and confirmed by context.
    High,
}

impl Confidence {
    /// One level up (High stays High): what a keyword near a customer rule's
    /// match does.
    pub fn raised(self) -> Confidence {
        match self {
            Confidence::Low => Confidence::Medium,
            _ => Confidence::High,
        }
    }

    /// `low`, `medium` or `high`.
    pub fn name(&self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One hit: never the value itself, only its masked form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The built-in detector's name ([`Detector::name`]) or the custom rule's
    /// name.
    pub detector: String,
    /// How sure the hit is.
    pub confidence: Confidence,
    /// The value as [`mask`] shows it (`****-****-9012`, `t***@example.jp`).
    pub masked: String,
    /// Byte offset of the value's start in the scanned text.
    pub start: usize,
    /// Byte offset just past the value's end in the scanned text.
    pub end: usize,
}

/// A customer rule from the policy: a named regex or a word list (or both),
/// with a confidence and optional keywords that raise it one level when one
/// is within 100 characters of a match.
///
/// The pattern uses the syntax of the `regex` crate (linear time; no
/// look-around, no backreferences) and, like the words and keywords, sees the
/// normalized text (see the crate documentation). Words and keywords match
/// ASCII case-insensitively, as whole words where they start or end with an
/// ASCII letter. A pattern that matches the empty string is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomRule {
    /// The rule's name, reported as [`Hit::detector`]; not a built-in
    /// detector's name.
    pub name: String,
    /// A regular expression.
    pub pattern: Option<String>,
    /// Words or phrases to find (blank entries are ignored).
    pub words: Vec<String>,
    /// The confidence of a match with no keyword near.
    pub confidence: Confidence,
    /// Keywords that raise the confidence of a match near them.
    pub keywords: Vec<String>,
}

/// Why a [`Scanner`] could not be built.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A custom rule's pattern does not compile, is too large, or matches the
    /// empty string.
    #[error("custom rule {rule:?}: invalid pattern: {message}")]
    InvalidPattern {
        /// The rule's name.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// A custom rule is malformed: no name, a built-in detector's name, a
    /// name used twice, or neither a pattern nor any word.
    #[error("custom rule {rule:?}: {message}")]
    InvalidRule {
        /// The rule's name.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

/// A compiled customer rule.
struct CompiledRule {
    name: String,
    regex: Option<Regex>,
    words: Option<WordList>,
    confidence: Confidence,
}

/// The compiled detectors: built once, reused for any number of texts
/// (`Send + Sync`: share it between threads).
pub struct Scanner {
    built_in: BuiltInDetectors,
    rules: Vec<CompiledRule>,
    rule_keywords: Option<Custom>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("built_in", &Detector::ALL.map(|d| d.name()))
            .field("rules", &self.rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

/// Compiled-size cap of a customer pattern (bytes of the regex program).
const PATTERN_SIZE_LIMIT: usize = 4 << 20;

impl Scanner {
    /// Compiles the built-in detectors and `custom` rules.
    pub fn new(custom: &[CustomRule]) -> Result<Scanner, Error> {
        let mut rules = Vec::with_capacity(custom.len());
        for rule in custom {
            let invalid = |message: &str| Error::InvalidRule { rule: rule.name.clone(), message: message.to_string() };
            if rule.name.trim().is_empty() {
                return Err(invalid("the rule has no name"));
            }
            if Detector::from_name(&rule.name).is_some() {
                return Err(invalid("the name is a built-in detector's"));
            }
            if custom.iter().filter(|r| r.name == rule.name).count() > 1 {
                return Err(invalid("two rules have this name"));
            }
            let regex = match &rule.pattern {
                Some(p) => {
                    let re = RegexBuilder::new(p)
                        .size_limit(PATTERN_SIZE_LIMIT)
                        .dfa_size_limit(2 * PATTERN_SIZE_LIMIT)
                        .build()
                        .map_err(|e| Error::InvalidPattern { rule: rule.name.clone(), message: e.to_string() })?;
                    if re.is_match("") {
                        return Err(Error::InvalidPattern {
                            rule: rule.name.clone(),
                            message: "the pattern matches the empty string".into(),
                        });
                    }
                    Some(re)
                }
                None => None,
            };
            let words = WordList::new(&rule.words).map_err(|m| invalid(&m))?;
            if regex.is_none() && words.is_none() {
                return Err(invalid("the rule has neither a pattern nor any word"));
            }
            rules.push(CompiledRule { name: rule.name.clone(), regex, words, confidence: rule.confidence });
        }
        let keyword_lists: Vec<Vec<String>> = custom.iter().map(|r| r.keywords.clone()).collect();
        let rule_keywords = Custom::new(&keyword_lists).map_err(|m| Error::InvalidRule {
            rule: custom.first().map(|r| r.name.clone()).unwrap_or_default(),
            message: m,
        })?;
        Ok(Scanner { built_in: BuiltInDetectors::new(), rules, rule_keywords })
    }

    /// All hits in `text`, in text order (by start, then end, then detector
    /// name), non-overlapping per detector. Different detectors may report
    /// overlapping spans (a customer rule and a built-in one).
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let norm = Normalized::new(text);
        let t: &str = &norm.text;
        let mut raw: Vec<Raw> = Vec::new();
        self.built_in.scan(t, &mut raw);
        let mut hits: Vec<Hit> = raw
            .into_iter()
            .map(|r| {
                let name = r.detector.name();
                Hit {
                    detector: name.to_string(),
                    confidence: r.confidence,
                    masked: mask(name, &t[r.start..r.end]),
                    start: r.start,
                    end: r.end,
                }
            })
            .collect();
        self.scan_custom(t, &mut hits);
        // Non-overlapping per detector: keep the first (then longest) hit.
        hits.sort_by(|a, b| (&a.detector, a.start, b.end).cmp(&(&b.detector, b.start, a.end)));
        let mut last: Option<(String, usize)> = None;
        hits.retain(|h| {
            if let Some((d, end)) = &last
                && *d == h.detector
                && h.start < *end
            {
                return false;
            }
            last = Some((h.detector.clone(), h.end));
            true
        });
        for h in &mut hits {
            h.start = norm.to_original(h.start);
            h.end = norm.to_original(h.end);
        }
        hits.sort_by(|a, b| (a.start, a.end, &a.detector).cmp(&(b.start, b.end, &b.detector)));
        hits
    }

    fn scan_custom(&self, t: &str, hits: &mut Vec<Hit>) {
        if self.rules.is_empty() {
            return;
        }
        let keywords = self.rule_keywords.as_ref().map(|k| k.find(t, self.rules.len()));
        for (i, rule) in self.rules.iter().enumerate() {
            let mut add = |s: usize, e: usize| {
                let near = keywords.as_ref().is_some_and(|k| spans_near(t, &k[i], s, e, RAISE_WINDOW));
                let confidence = if near { rule.confidence.raised() } else { rule.confidence };
                hits.push(Hit {
                    detector: rule.name.clone(),
                    confidence,
                    masked: mask(&rule.name, &t[s..e]),
                    start: s,
                    end: e,
                });
            };
            if let Some(re) = &rule.regex {
                for m in re.find_iter(t) {
                    if !m.is_empty() {
                        add(m.start(), m.end());
                    }
                }
            }
            if let Some(words) = &rule.words {
                for (s, e) in words.find(t) {
                    add(s, e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
