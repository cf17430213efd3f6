//! The built-in detectors. Each finds candidates with a linear-time regex on
//! the normalized text, checks that a candidate stands alone (not inside a
//! longer number or code), then validates it (check digit, numbering plan,
//! calendar) and weighs the keywords around it.

use regex::Regex;

use crate::check::{self, PhoneForm, PhoneKind};
use crate::keywords::{BuiltIn, Found, REFERENCE, bit};
use crate::{Confidence, Detector};

/// Keywords within this many characters of a value raise its confidence.
pub(crate) const RAISE_WINDOW: usize = 100;
/// Detectors that need a keyword (bank account, driver's licence, passport,
/// date of birth, an undecorated landline number) want it within this many
/// characters before the value.
pub(crate) const REQUIRED_WINDOW: usize = 30;

/// Labels that name a number as something else than the detector's own: a
/// number labelled `注文番号` or `カード番号` is not a My Number.
const NUMBER_LABELS: u16 = REFERENCE
    | bit(Detector::MyNumber)
    | bit(Detector::CorporateNumber)
    | bit(Detector::PaymentCard)
    | bit(Detector::BankAccount)
    | bit(Detector::DriversLicence)
    | bit(Detector::Passport)
    | bit(Detector::Phone);

/// A finding on the normalized text.
pub(crate) struct Raw {
    pub detector: Detector,
    pub confidence: Confidence,
    pub start: usize,
    pub end: usize,
}

/// The compiled built-in detectors.
pub(crate) struct BuiltInDetectors {
    twelve: Regex,
    corporate: Regex,
    card: Regex,
    phone: Regex,
    email: Regex,
    bank: Regex,
    postal: Regex,
    passport: Regex,
    date: Regex,
    keywords: BuiltIn,
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("built-in patterns compile")
}

/// The 47 prefectures.
const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// Domain endings that are file extensions, not top-level domains: `icon@2x.png`.
const FILE_EXTENSIONS: &[&str] = &[
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "webp",
    "bmp",
    "ico",
    "tif",
    "tiff",
    "heic",
    "css",
    "scss",
    "less",
    "js",
    "mjs",
    "cjs",
    "ts",
    "tsx",
    "jsx",
    "vue",
    "html",
    "htm",
    "xml",
    "json",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
    "log",
    "txt",
    "md",
    "rst",
    "csv",
    "tsv",
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "ppt",
    "pptx",
    "jtd",
    "exe",
    "dll",
    "so",
    "dylib",
    "class",
    "jar",
    "java",
    "kt",
    "kts",
    "scala",
    "py",
    "rb",
    "rs",
    "go",
    "c",
    "h",
    "cpp",
    "hpp",
    "cs",
    "swift",
    "php",
    "pl",
    "sh",
    "bat",
    "ps1",
    "lock",
    "properties",
    "gradle",
    "tar",
    "gz",
    "tgz",
    "xz",
    "bz2",
    "zip",
    "rar",
    "7z",
    "mp3",
    "mp4",
    "wav",
    "mov",
    "avi",
    "mkv",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "map",
    "min",
    "bak",
    "tmp",
    "old",
];

impl BuiltInDetectors {
    pub fn new() -> BuiltInDetectors {
        BuiltInDetectors {
            twelve: re(r"[0-9]{12}|[0-9]{4}-[0-9]{4}-[0-9]{4}|[0-9]{4} [0-9]{4} [0-9]{4}"),
            corporate: re(r"T?(?:[0-9]{13}|[0-9]-[0-9]{4}-[0-9]{4}-[0-9]{4})"),
            card: re(concat!(
                r"[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -][0-9]{3})?",
                r"|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5}",
                r"|[0-9]{13,19}",
            )),
            phone: re(concat!(
                r"\+81[ -]?(?:\(0\)[ -]?)?[1-9][0-9]{0,3}(?:[ -]?[0-9]{1,4}){0,3}",
                r"|\(0[0-9]{1,4}\) ?[0-9]{1,4}[ -]?[0-9]{4}",
                r"|0[0-9]{1,4}\([0-9]{1,4}\)[0-9]{4}",
                r"|0[0-9]{1,4}[ -][0-9]{1,4}[ -][0-9]{3,4}",
                r"|0[0-9]{1,4}-[0-9]{5,8}",
                r"|0[0-9]{9,10}",
            )),
            email: re(concat!(
                r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*",
                r"@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+",
                r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9\-]{1,59})",
            )),
            bank: re(r"[0-9]{3}[ -][0-9]{7}|[0-9]{7}"),
            postal: re(r"〒 ?[0-9]{3}-?[0-9]{4}|[0-9]{3}-[0-9]{4}"),
            passport: re(r"[A-Z]{2}[0-9]{7}"),
            date: re(concat!(
                r"(?:19|20)[0-9]{2}[/.\-][0-9]{1,2}[/.\-][0-9]{1,2}",
                r"|(?:19|20)[0-9]{2} ?年 ?[0-9]{1,2} ?月 ?[0-9]{1,2} ?日",
                r"|(?:明治|大正|昭和|平成|令和) ?(?:[0-9]{1,2}|元) ?年 ?[0-9]{1,2} ?月 ?[0-9]{1,2} ?日",
                r"|[MTSHR]\.? ?[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{1,2}",
                r"|[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-](?:19|20)[0-9]{2}",
            )),
            keywords: BuiltIn::new(),
        }
    }

    /// Runs every built-in detector over normalized text `t`.
    ///
    /// Only the parts of the text that can hold a value are searched: the
    /// numeric detectors run on windows around ASCII digits, the e-mail
    /// detector on windows around `@`, the keyword automaton on windows
    /// around both wide enough for [`RAISE_WINDOW`]. Prose between them is
    /// read once (to find the digits) and never by the automata.
    pub fn scan(&self, t: &str, out: &mut Vec<Raw>) {
        let b = t.as_bytes();
        let digits = windows(t, |c| c.is_ascii_digit(), NUMERIC_MARGIN, NUMERIC_MARGIN);
        let ats = windows(t, |c| c == b'@', 128, 300);
        if digits.is_empty() && ats.is_empty() {
            return;
        }
        let reach = RAISE_WINDOW * 4 + 64;
        let around =
            merge(digits.iter().chain(&ats).map(|&(s, e)| (floor(t, s.saturating_sub(reach)), ceil(t, e + reach))));
        let kw = self.keywords.find(t, &around);
        let cx = Cx { t, b, kw: &kw, digits: &digits };
        if !digits.is_empty() {
            self.twelve(&cx, out);
            self.corporate(&cx, out);
            self.card(&cx, out);
            self.phone(&cx, out);
            self.postal(&cx, out);
            if cx.has(Detector::BankAccount) {
                self.bank(&cx, out);
            }
            if cx.has(Detector::Passport) {
                self.passport(&cx, out);
            }
            if cx.has(Detector::DateOfBirth) {
                self.date_of_birth(&cx, out);
            }
        }
        for &(ws, we) in &ats {
            self.email(&cx, ws, we, out);
        }
    }

    /// 12 digits: My Number (check digit) and driver's licence (keyword).
    fn twelve(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let licence_kw = cx.has(Detector::DriversLicence);
        let own = bit(Detector::MyNumber);
        let mut prev_end = 0;
        for m in cx.find(&self.twelve) {
            let (s, e) = (m.start(), m.end());
            if !cx.alone(s, e, m.as_str().contains(' ')) {
                continue;
            }
            let d = digits(m.as_str());
            let licence =
                licence_kw && cx.kw.introduces(cx.t, bit(Detector::DriversLicence), s, e, prev_end, REQUIRED_WINDOW);
            prev_end = e;
            if licence && check::licence_issuer_valid(&d) {
                out.push(Raw { detector: Detector::DriversLicence, confidence: Confidence::High, start: s, end: e });
            }
            if !check::my_number_valid(&d) {
                continue;
            }
            let near = cx.near(own, s, e);
            // A time stamp (YYYYMMDDhhmm) is far likelier than a My Number
            // that reads as one (about 1 in 30 000): unless a keyword says so.
            if !near && is_timestamp(&d) {
                continue;
            }
            // Labelled as a licence number (or an order number, a card…).
            if licence && cx.kw.before(cx.t, s, REQUIRED_WINDOW).is_none_or(|k| k.mask & own == 0) {
                continue;
            }
            if cx.kw.labelled_as_other(cx.t, s, own, NUMBER_LABELS) {
                continue;
            }
            let confidence = if near { Confidence::High } else { Confidence::Medium };
            out.push(Raw { detector: Detector::MyNumber, confidence, start: s, end: e });
        }
    }

    /// 13 digits with the leading check digit; `T` + 13 digits is an invoice
    /// registration number (適格請求書発行事業者登録番号), a corporate number.
    fn corporate(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::CorporateNumber);
        let mut prev_end = 0;
        for m in cx.find(&self.corporate) {
            let (mut s, e) = (m.start(), m.end());
            if !cx.alone(s, e, false) {
                continue;
            }
            let prev_end = std::mem::replace(&mut prev_end, e);
            let invoice = cx.b[s] == b'T';
            if cx.kw.labelled_as_other(cx.t, s, own, NUMBER_LABELS) {
                continue;
            }
            if invoice {
                s += 1;
            }
            let d = digits(&cx.t[s..e]);
            if !check::corporate_valid(&d) {
                continue;
            }
            let near = cx.near(own, s, e);
            // A Japanese JAN (EAN-13) product code, 45… or 49… with a valid
            // EAN check digit, passes the corporate check one time in nine:
            // unless a corporate keyword introduces it, take it for the
            // product code.
            if !invoice && is_jan(&d) && !cx.kw.introduces(cx.t, own, s, e, prev_end, REQUIRED_WINDOW) {
                continue;
            }
            let confidence = if invoice || near { Confidence::High } else { Confidence::Medium };
            out.push(Raw { detector: Detector::CorporateNumber, confidence, start: s, end: e });
        }
    }

    /// 13-19 digits, Luhn, a known IIN range for the length.
    fn card(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::PaymentCard);
        let mut prev_end = 0;
        for m in cx.find(&self.card) {
            let (s, mut e) = (m.start(), m.end());
            let spaced = m.as_str().contains(' ');
            if !cx.alone(s, e, spaced) {
                continue;
            }
            let prev_end = std::mem::replace(&mut prev_end, e);
            let mut d = digits(m.as_str());
            let valid = |d: &[u8]| check::luhn_valid(d) && check::card_brand(d).is_some();
            // `4111 1111 1111 1111 362,…`: the pattern took a following
            // 3-digit number for the last group of a 19-digit card.
            let groups = m.as_str().split([' ', '-']).count();
            if !valid(&d) && groups == 5 && d.len() == 19 {
                d.truncate(16);
                e -= 4;
            }
            if !valid(&d) || !cx.alone(s, e, spaced) {
                continue;
            }
            let near = cx.near(own, s, e);
            // 13-digit Visa numbers are rare today and collide with
            // corporate numbers and JAN codes: only when a card keyword
            // introduces them.
            if d.len() == 13 && (is_jan(&d) || !cx.kw.introduces(cx.t, own, s, e, prev_end, REQUIRED_WINDOW)) {
                continue;
            }
            if cx.kw.labelled_as_other(cx.t, s, own, NUMBER_LABELS) {
                continue;
            }
            let confidence = if near { Confidence::High } else { Confidence::Medium };
            out.push(Raw { detector: Detector::PaymentCard, confidence, start: s, end: e });
        }
    }

    /// Japanese phone numbers (see [`check::phone_kind`]).
    fn phone(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::Phone);
        for m in cx.find(&self.phone) {
            let (s, e) = (m.start(), m.end());
            let text = m.as_str();
            if !cx.alone(s, e, text.contains(' ')) {
                continue;
            }
            let groups: Vec<&[u8]> =
                text.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).map(str::as_bytes).collect();
            let (form, national) = if let Some(rest) = text.strip_prefix("+81") {
                let rest = rest.replacen("(0)", "", 1);
                let mut n = vec![b'0'];
                n.extend(digits(&rest));
                (PhoneForm::International, n)
            } else if text.bytes().all(|c| c.is_ascii_digit()) {
                (PhoneForm::Plain, digits(text))
            } else {
                (PhoneForm::Grouped, digits(text))
            };
            let Some(kind) = check::phone_kind(&national, &groups, form) else { continue };
            let plain_fixed = form == PhoneForm::Plain && kind != PhoneKind::Mobile;
            if plain_fixed && !cx.kw.near(cx.t, own, s, e, REQUIRED_WINDOW) {
                continue;
            }
            if cx.kw.labelled_as_other(cx.t, s, own, NUMBER_LABELS) {
                continue;
            }
            let confidence = if cx.near(own, s, e) && !plain_fixed { Confidence::High } else { Confidence::Medium };
            out.push(Raw { detector: Detector::Phone, confidence, start: s, end: e });
        }
    }

    /// A practical RFC 5322 subset: a dot-atom local part of
    /// `[A-Za-z0-9_%+-]`, a domain of at least two labels (Unicode letters
    /// allowed: IDN), an alphabetic or `xn--` top-level domain that is not a
    /// file extension.
    fn email(&self, cx: &Cx, ws: usize, we: usize, out: &mut Vec<Raw>) {
        let own = bit(Detector::Email);
        let b = cx.b;
        for m in self.email.find_iter(&cx.t[ws..we]).map(|m| Match::new(ws, m)) {
            let (s, e) = (m.start(), m.end());
            // The local part goes on to the left with characters this
            // subset leaves out (`=`, `/`, `!`…): a part of something else,
            // such as a Gmail Message-ID (`CA+x=y@mail.gmail.com`).
            if s > 0 && b"@.=/!#$&'*?^`{|}~".contains(&b[s - 1]) {
                continue;
            }
            if e < b.len() {
                let n = b[e];
                if n.is_ascii_alphanumeric() || matches!(n, b'-' | b'_' | b'@') {
                    continue;
                }
                if n == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_alphanumeric) {
                    continue;
                }
            }
            let (local, domain) = m.as_str().split_once('@').expect("the pattern has an @");
            if local.len() > 64 || domain.len() > 253 {
                continue;
            }
            if domain.split('.').any(|l| l.chars().count() > 63) {
                continue;
            }
            let tld = domain.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
            if FILE_EXTENSIONS.contains(&tld.as_str()) {
                continue;
            }
            // Message-IDs and Content-IDs look like addresses.
            if machine_local_part(local) || cx.kw.labelled_as_other(cx.t, s, own, REFERENCE) {
                continue;
            }
            let confidence = if cx.near(own, s, e) { Confidence::High } else { Confidence::Medium };
            out.push(Raw { detector: Detector::Email, confidence, start: s, end: e });
        }
    }

    /// A 7-digit account number (with or without its 3-digit branch in
    /// front) introduced by a bank keyword within [`REQUIRED_WINDOW`].
    fn bank(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::BankAccount);
        let mut prev_end = 0;
        for m in cx.find(&self.bank) {
            let (s, e) = (m.start(), m.end());
            if !cx.alone(s, e, false) {
                continue;
            }
            let introduced = cx.kw.introduces(cx.t, own, s, e, prev_end, REQUIRED_WINDOW);
            prev_end = e;
            if !introduced {
                continue;
            }
            let with_branch = e - s > 7 || branch_before(cx.t, s);
            let confidence = if with_branch { Confidence::High } else { Confidence::Medium };
            out.push(Raw { detector: Detector::BankAccount, confidence, start: s, end: e });
        }
    }

    /// A postal code (`〒123-4567`, or `123-4567` followed by an address);
    /// the finding spans the code and the prefecture / municipality after it.
    /// A `〒` code with no address is a low-confidence finding.
    fn postal(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::PostalAddress);
        for m in cx.find(&self.postal) {
            let (s, e) = (m.start(), m.end());
            if !cx.alone(s, e, false) {
                continue;
            }
            let mark = m.as_str().starts_with('〒');
            let (end, confidence) = match address_after(cx.t, e) {
                Some(end) if mark => (end, Confidence::High),
                Some(end) => (end, if cx.near(own, s, e) { Confidence::High } else { Confidence::Medium }),
                None if mark => (e, if cx.near(own, s, e) { Confidence::Medium } else { Confidence::Low }),
                None if cx.kw.introduces(cx.t, own, s, e, 0, REQUIRED_WINDOW) => (e, Confidence::Medium),
                None => continue,
            };
            out.push(Raw { detector: Detector::PostalAddress, confidence, start: s, end });
        }
    }

    /// Two capital letters and 7 digits, introduced by a passport keyword.
    fn passport(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::Passport);
        let b = cx.b;
        let mut prev_end = 0;
        for m in cx.find(&self.passport) {
            let (s, e) = (m.start(), m.end());
            if (s > 0 && b[s - 1].is_ascii_alphanumeric()) || b.get(e).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            let introduced = cx.kw.introduces(cx.t, own, s, e, prev_end, REQUIRED_WINDOW);
            prev_end = e;
            if introduced {
                out.push(Raw { detector: Detector::Passport, confidence: Confidence::High, start: s, end: e });
            }
        }
    }

    /// A calendar date (Gregorian or 和暦) introduced by a birth keyword.
    fn date_of_birth(&self, cx: &Cx, out: &mut Vec<Raw>) {
        let own = bit(Detector::DateOfBirth);
        let b = cx.b;
        let mut prev_end = 0;
        for m in cx.find(&self.date) {
            let (s, e) = (m.start(), m.end());
            if s > 0 && b[s - 1].is_ascii_alphanumeric() {
                continue;
            }
            if b.get(e).is_some_and(u8::is_ascii_digit)
                || (b.get(e).is_some_and(|c| b"/.-".contains(c)) && b.get(e + 1).is_some_and(u8::is_ascii_digit))
            {
                continue;
            }
            if !parse_date(m.as_str()) {
                continue;
            }
            let introduced = cx.kw.introduces(cx.t, own, s, e, prev_end, REQUIRED_WINDOW);
            prev_end = e;
            if introduced {
                out.push(Raw { detector: Detector::DateOfBirth, confidence: Confidence::High, start: s, end: e });
            }
        }
    }
}

/// A match in the whole text.
struct Match<'t> {
    start: usize,
    end: usize,
    text: &'t str,
}

impl<'t> Match<'t> {
    /// A match in a window starting at `offset`.
    fn new(offset: usize, m: regex::Match<'t>) -> Match<'t> {
        Match { start: offset + m.start(), end: offset + m.end(), text: m.as_str() }
    }

    fn start(&self) -> usize {
        self.start
    }

    fn end(&self) -> usize {
        self.end
    }

    fn as_str(&self) -> &'t str {
        self.text
    }
}

/// The text being scanned, its keywords and the windows around its digits.
struct Cx<'a> {
    t: &'a str,
    b: &'a [u8],
    kw: &'a Found,
    digits: &'a [(usize, usize)],
}

impl<'a> Cx<'a> {
    /// The matches of `re` in the digit windows, in text order.
    fn find<'r>(&self, re: &'r Regex) -> impl Iterator<Item = Match<'a>> + use<'a, 'r> {
        let t = self.t;
        self.digits.iter().flat_map(move |&(ws, we)| re.find_iter(&t[ws..we]).map(move |m| Match::new(ws, m)))
    }

    /// Whether the text has any keyword of `d`.
    fn has(&self, d: Detector) -> bool {
        self.kw.all.iter().any(|k| k.mask & bit(d) != 0)
    }

    /// [`stands_alone`], except that a keyword ending right at `s` is a
    /// boundary too: `TEL03-1234-5678`.
    fn alone(&self, s: usize, e: usize, spaced: bool) -> bool {
        let left = left_alone(self.b, s, spaced)
            || (s > 0
                && self.b[s - 1].is_ascii_alphabetic()
                && self.kw.before(self.t, s, 0).is_some_and(|k| k.end == s));
        left && right_alone(self.b, e, spaced)
    }

    /// Whether a keyword of `mask` is within [`RAISE_WINDOW`] of `[s, e)`.
    fn near(&self, mask: u16, s: usize, e: usize) -> bool {
        self.kw.near(self.t, mask, s, e, RAISE_WINDOW)
    }
}

/// Whether the local part of an address-like string is a machine-made
/// identifier (a Message-ID's left part) rather than a mailbox: a UUID, a
/// run of 12 digits or more (a time stamp; mailboxes named after an 11-digit
/// mobile number stay), 16 hexadecimal characters or more mixing digits and
/// letters, or only digits and dots with two dots or more.
fn machine_local_part(local: &str) -> bool {
    let b = local.as_bytes();
    let uuid = {
        let parts: Vec<&str> = local.split('-').collect();
        parts.len() == 5
            && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
            && parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_hexdigit()))
    };
    let longest = |f: fn(&u8) -> bool| -> usize { b.split(|c| !f(c)).map(<[u8]>::len).max().unwrap_or(0) };
    let hex_run = b
        .split(|c| !c.is_ascii_hexdigit())
        .any(|r| r.len() >= 16 && r.iter().any(u8::is_ascii_digit) && r.iter().any(u8::is_ascii_alphabetic));
    let dotted_numbers =
        b.iter().all(|&c| c.is_ascii_digit() || c == b'.') && b.iter().filter(|&&c| c == b'.').count() >= 2;
    uuid || longest(u8::is_ascii_digit) >= 12 || hex_run || dotted_numbers
}

/// Bytes kept around the digits of a numeric window: more than any
/// non-digit run a numeric value holds at its ends or inside (`令和 元 年 `,
/// `+81(0) `, `〒 `, `日`), so no value is cut and none spans two windows.
const NUMERIC_MARGIN: usize = 24;

/// The largest char boundary at or before `i`.
fn floor(t: &str, mut i: usize) -> usize {
    i = i.min(t.len());
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or after `i`.
fn ceil(t: &str, mut i: usize) -> usize {
    i = i.min(t.len());
    while !t.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Merges sorted windows that overlap or touch.
fn merge(spans: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Windows of `t` around every byte that `anchor` accepts: from `before`
/// bytes before it to `after` bytes after it (at char boundaries), merged
/// when they overlap or touch.
fn windows(t: &str, anchor: impl Fn(u8) -> bool, before: usize, after: usize) -> Vec<(usize, usize)> {
    let b = t.as_bytes();
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| anchor(c)) {
        let p = i + p;
        let s = floor(t, p.saturating_sub(before));
        let e = ceil(t, p + 1 + after);
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
        i = p + 1;
    }
    out
}

/// Whether 12 digits read as a time stamp `YYYYMMDDhhmm` (1990-2049).
fn is_timestamp(d: &[u8]) -> bool {
    let n = |i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
    let year = n(0) * 100 + n(2);
    (1990..=2049).contains(&year) && check::date_valid(year as i32, n(4), n(6)) && n(8) < 24 && n(10) < 60
}

/// Whether 13 digits look like a Japanese JAN (EAN-13) product code: 45… or
/// 49… with a valid EAN check digit.
fn is_jan(d: &[u8]) -> bool {
    (d.starts_with(b"45") || d.starts_with(b"49")) && check::ean13_valid(d)
}

/// The ASCII digits of `s`.
fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).collect()
}

/// Length of the run of ASCII digits ending at `end` (exclusive).
fn digit_run_before(b: &[u8], end: usize) -> usize {
    b[..end].iter().rev().take_while(|c| c.is_ascii_digit()).count()
}

/// Length of the run of ASCII digits starting at `start`.
fn digit_run_after(b: &[u8], start: usize) -> usize {
    b[start.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Whether the number at `[s, e)` stands alone rather than being part of a
/// longer number or a code: no ASCII letter or digit touches it; no `-`/`_`
/// joins it to a letter or digit (`ABC-1234-5678`, `12-1234-5678-9012`); no
/// `.` or `/` joins it to a digit (`3.14…`, `2024/…`); and, when it is
/// grouped by spaces (`spaced`), no further group of 4 digits follows or
/// precedes it after a space (`1234 5678 9012 3456`). A comma separates:
/// `1,123456789018,35` is a CSV row, and thousands groups have 3 digits.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn stands_alone(b: &[u8], s: usize, e: usize, spaced: bool) -> bool {
    left_alone(b, s, spaced) && right_alone(b, e, spaced)
}

/// The left half of [`stands_alone`].
fn left_alone(b: &[u8], s: usize, spaced: bool) -> bool {
    if s > 0 {
        let p = b[s - 1];
        if p.is_ascii_alphanumeric() {
            return false;
        }
        if s >= 2 {
            let pp = b[s - 2];
            if matches!(p, b'-' | b'_') && pp.is_ascii_alphanumeric() {
                return false;
            }
            if matches!(p, b'.' | b'/') && pp.is_ascii_digit() {
                return false;
            }
            if spaced && p == b' ' && digit_run_before(b, s - 1) == 4 {
                return false;
            }
        }
    }
    true
}

/// The right half of [`stands_alone`].
fn right_alone(b: &[u8], e: usize, spaced: bool) -> bool {
    if e < b.len() {
        let n = b[e];
        if n.is_ascii_alphanumeric() {
            return false;
        }
        if let Some(&nn) = b.get(e + 1) {
            if matches!(n, b'-' | b'_') && nn.is_ascii_alphanumeric() {
                return false;
            }
            if matches!(n, b'.' | b'/') && nn.is_ascii_digit() {
                return false;
            }
            if spaced && n == b' ' && digit_run_after(b, e + 1) == 4 {
                return false;
            }
        }
    }
    true
}

/// Whether a standalone 3-digit number (a branch number) stands within
/// [`REQUIRED_WINDOW`] characters before `s`.
fn branch_before(t: &str, s: usize) -> bool {
    let b = t.as_bytes();
    let mut from = s;
    let mut chars = 0;
    while from > 0 && chars < REQUIRED_WINDOW {
        from -= 1;
        while from > 0 && !t.is_char_boundary(from) {
            from -= 1;
        }
        chars += 1;
    }
    let window = &b[from..s];
    let mut i = 0;
    while i < window.len() {
        if window[i].is_ascii_digit() {
            let start = i;
            while i < window.len() && window[i].is_ascii_digit() {
                i += 1;
            }
            let touches_letter = (start > 0 && window[start - 1].is_ascii_alphabetic())
                || window.get(i).is_some_and(u8::is_ascii_alphabetic);
            if i - start == 3 && !touches_letter {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// Whether `c` may be part of a municipality name (kanji, kana with ヶ, 々).
fn name_char(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{3041}'..='\u{309F}' | '\u{30A1}'..='\u{30FA}' | '々')
}

/// The end of an address (a prefecture, a municipality, or both) that starts
/// within 3 characters (spaces, `,`, `:`, `、`) after `e`.
fn address_after(t: &str, e: usize) -> Option<usize> {
    let mut pos = e;
    for _ in 0..3 {
        match t[pos..].chars().next() {
            Some(c @ (' ' | ',' | ':' | '、' | '\t')) => pos += c.len_utf8(),
            _ => break,
        }
    }
    let rest = &t[pos..];
    if let Some(p) = PREFECTURES.iter().find(|p| rest.starts_with(**p)) {
        let after = pos + p.len();
        return Some(municipality(&t[after..]).map_or(after, |n| after + n));
    }
    municipality(rest).map(|n| pos + n)
}

/// The byte length of a municipality name at the start of `s`: up to 10
/// name characters, the last being 市, 区 or 郡 (at least one before it), or
/// 町 or 村 (at least two before it).
/// A name does not start with a particle (`から市…` is not one).
fn municipality(s: &str) -> Option<usize> {
    if ["から", "まで", "より", "など", "にて"].iter().any(|p| s.starts_with(p)) {
        return None;
    }
    for (count, (i, c)) in s.char_indices().enumerate() {
        if count == 0 && "をはがのにへとでもや".contains(c) {
            return None;
        }
        // Towns and villages have names of two characters or more; a
        // one-character name before 町 or 村 is more often a surname (中村).
        let min = if matches!(c, '町' | '村') { 2 } else { 1 };
        if count >= min && matches!(c, '市' | '区' | '町' | '村' | '郡') {
            return Some(i + c.len_utf8());
        }
        if !name_char(c) || count >= 10 {
            return None;
        }
    }
    None
}

/// Whether a matched date is a valid calendar date.
fn parse_date(s: &str) -> bool {
    let era = ["明治", "大正", "昭和", "平成", "令和"].into_iter().find(|e| s.starts_with(e)).or_else(|| {
        let c = s.chars().next()?;
        matches!(c, 'M' | 'T' | 'S' | 'H' | 'R').then(|| &s[..1])
    });
    let mut nums: Vec<(i32, usize)> = Vec::new();
    let mut cur: Option<(i32, usize)> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
            let (v, n) = cur.unwrap_or((0, 0));
            cur = Some((v.saturating_mul(10).saturating_add(d as i32), n + 1));
        } else {
            if let Some(x) = cur.take() {
                nums.push(x);
            }
            if c == '元' {
                nums.push((1, 1));
            }
        }
    }
    nums.extend(cur);
    if nums.len() != 3 {
        return false;
    }
    let [(a, la), (b, _), (c, lc)] = [nums[0], nums[1], nums[2]];
    if let Some(era) = era {
        return check::era_year(era, a).is_some_and(|y| check::date_valid(y, b as u32, c as u32));
    }
    if la == 4 {
        return check::date_valid(a, b as u32, c as u32);
    }
    if lc == 4 {
        return check::date_valid(c, a as u32, b as u32) || check::date_valid(c, b as u32, a as u32);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_alone() {
        let ok = |t: &str, needle: &str, spaced: bool| {
            let s = t.find(needle).unwrap();
            stands_alone(t.as_bytes(), s, s + needle.len(), spaced)
        };
        assert!(ok("番号 123456789018 です", "123456789018", false));
        assert!(!ok("1234567890185", "123456789018", false));
        assert!(!ok("A123456789018", "123456789018", false));
        assert!(!ok("ABC-1234-5678", "1234-5678", false));
        assert!(!ok("12-1234-5678-9012", "1234-5678-9012", false));
        assert!(!ok("0.123456789018", "123456789018", false));
        assert!(!ok("1234 5678 9012 3456", "1234 5678 9012", true));
        assert!(ok("No.123456789018", "123456789018", false));
        assert!(ok("(123456789018)", "123456789018", false));
        assert!(ok("4111 1111 1111 1111 12/25", "4111 1111 1111 1111", true));
    }

    #[test]
    fn addresses() {
        let t = "〒100-8914 東京都千代田区永田町";
        let e = t.find(' ').unwrap();
        assert_eq!(&t[e..address_after(t, e).unwrap()], " 東京都千代田区");
        let t = "530-0001 大阪市北区";
        assert_eq!(&t[8..address_after(t, 8).unwrap()], " 大阪市");
        assert_eq!(address_after("123-4567から市役所", 8), None);
        assert_eq!(address_after("123-4567 円", 8), None);
    }

    #[test]
    fn dates() {
        assert!(parse_date("1980/05/12"));
        assert!(parse_date("1980年5月12日"));
        assert!(parse_date("昭和55年5月12日"));
        assert!(parse_date("平成元年1月8日"));
        assert!(parse_date("S55.5.12"));
        assert!(parse_date("12/31/1999"));
        assert!(!parse_date("1980/13/45"));
        assert!(!parse_date("昭和70年1月1日"));
    }
}
