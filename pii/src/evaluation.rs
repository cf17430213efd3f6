//! A generated, labelled evaluation set and its precision / recall.
//!
//! [`generate`] writes Japanese (and some English) business-text snippets
//! from a seed: each holds a few lines, some with a true value of a detector
//! (labelled with its byte span), some with a decoy that a bare regex would
//! take for one — 12-digit numbers with a wrong check digit, order and member
//! numbers, digit runs inside longer numbers, dates, phone-like product codes
//! (`ABC-1234-5678`), e-mail-like strings in code (`@Override`, `foo@bar`,
//! `icon@2x.png`), JAN codes, numbers of the wrong length — separated by
//! ordinary sentences. Values come in the forms people write them: grouped or
//! not, full-width digits, full-width and katakana hyphens, `+81`, `T` +
//! corporate number, 和暦 dates.
//!
//! [`evaluate`] scans every sample and counts, per detector, the hits that
//! overlap a label of the same detector (true positives), the other hits
//! (false positives) and the labels no hit found (false negatives).
//!
//! The generator is deterministic (a xorshift64* stream from the seed), so a
//! failing count can be reproduced. The values are synthetic: check digits
//! are computed, not copied from anyone.

use std::fmt::Write as _;

use crate::check;
use crate::{Detector, Scanner};

/// A small deterministic random stream (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A stream from `seed` (any value; 0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// `n` random ASCII digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// A true value in a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// What it is.
    pub detector: Detector,
    /// Byte offset of its start in [`Sample::text`].
    pub start: usize,
    /// Byte offset past its end.
    pub end: usize,
}

/// One generated text and its true values.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The text.
    pub text: String,
    /// Every true value in it, in order.
    pub labels: Vec<Label>,
}

/// The counts of one detector over an evaluation set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    /// The detector.
    pub detector: Detector,
    /// Labels of this detector.
    pub labels: usize,
    /// Hits that overlap a label of this detector (one per label).
    pub true_positives: usize,
    /// Hits of this detector that overlap no such label (or one already
    /// counted).
    pub false_positives: usize,
    /// Labels that no hit of this detector overlaps.
    pub false_negatives: usize,
}

impl Score {
    /// TP / (TP + FP); 1 when there is no hit.
    pub fn precision(&self) -> f64 {
        let hits = self.true_positives + self.false_positives;
        if hits == 0 { 1.0 } else { self.true_positives as f64 / hits as f64 }
    }

    /// TP / (TP + FN); 1 when there is no label.
    pub fn recall(&self) -> f64 {
        let all = self.true_positives + self.false_negatives;
        if all == 0 { 1.0 } else { self.true_positives as f64 / all as f64 }
    }
}

/// The seed of the evaluation set the tests and the `evaluate` example use.
pub const SEED: u64 = 0x05EC_15A0;

/// The detectors the issue sets a goal for (precision and recall ≥ 0.99).
pub const GOAL: [Detector; 5] =
    [Detector::MyNumber, Detector::CorporateNumber, Detector::Email, Detector::Phone, Detector::PaymentCard];

/// Scans every sample with `scanner` and scores each built-in detector.
pub fn evaluate(scanner: &Scanner, samples: &[Sample]) -> Vec<Score> {
    let mut scores: Vec<Score> = Detector::ALL
        .iter()
        .map(|&d| Score { detector: d, labels: 0, true_positives: 0, false_positives: 0, false_negatives: 0 })
        .collect();
    for sample in samples {
        let hits = scanner.scan(&sample.text);
        let mut matched = vec![false; sample.labels.len()];
        for hit in &hits {
            let Some(d) = Detector::from_name(&hit.detector) else { continue };
            let found = sample
                .labels
                .iter()
                .enumerate()
                .position(|(i, l)| !matched[i] && l.detector == d && l.start < hit.end && hit.start < l.end);
            let score = &mut scores[d as usize];
            match found {
                Some(i) => {
                    matched[i] = true;
                    score.true_positives += 1;
                }
                None => score.false_positives += 1,
            }
        }
        for (i, l) in sample.labels.iter().enumerate() {
            let score = &mut scores[l.detector as usize];
            score.labels += 1;
            if !matched[i] {
                score.false_negatives += 1;
            }
        }
    }
    scores
}

/// The misses and false alarms of one detector, for debugging: each line is
/// `FN` or `FP` with the sample's text (synthetic values only).
pub fn errors(scanner: &Scanner, samples: &[Sample], detector: Detector) -> Vec<String> {
    let mut out = Vec::new();
    for sample in samples {
        let hits: Vec<_> = scanner.scan(&sample.text).into_iter().filter(|h| h.detector == detector.name()).collect();
        for l in sample.labels.iter().filter(|l| l.detector == detector) {
            if !hits.iter().any(|h| l.start < h.end && h.start < l.end) {
                out.push(format!("FN {:?} in {:?}", &sample.text[l.start..l.end], sample.text));
            }
        }
        for h in &hits {
            if !sample.labels.iter().any(|l| l.detector == detector && l.start < h.end && h.start < l.end) {
                out.push(format!("FP {:?} in {:?}", &sample.text[h.start..h.end], sample.text));
            }
        }
    }
    out
}

/// The scores as a Markdown table.
pub fn table(scores: &[Score]) -> String {
    let mut s = String::from("| detector | labels | TP | FP | FN | precision | recall |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for x in scores {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.4} | {:.4} |",
            x.detector.name(),
            x.labels,
            x.true_positives,
            x.false_positives,
            x.false_negatives,
            x.precision(),
            x.recall()
        );
    }
    s
}

/// `n` samples from `seed`.
pub fn generate(seed: u64, n: usize) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| sample(&mut rng)).collect()
}

/// A sample under construction.
struct Doc {
    text: String,
    labels: Vec<Label>,
}

impl Doc {
    fn put(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn value(&mut self, d: Detector, v: &str) {
        let start = self.text.len();
        self.text.push_str(v);
        self.labels.push(Label { detector: d, start, end: self.text.len() });
    }
}

const FILLER: &[&str] = &[
    "いつもお世話になっております。",
    "以下の通りご連絡いたします。",
    "よろしくお願いいたします。",
    "本件についてご確認をお願いします。",
    "添付資料をご確認ください。",
    "会議は来週月曜日の午後に行います。",
    "ご不明な点がございましたらお知らせください。",
    "先日はありがとうございました。",
    "引き続きよろしくお願い申し上げます。",
    "議事録を共有いたします。",
    "資料の修正版をお送りします。",
    "担当者が不在のため、折り返しご連絡いたします。",
    "Please find the details below.",
    "Thank you for your cooperation.",
    "第3四半期の売上は前年同期比で12%増加しました。",
    "参加者は25名、会場は本社3階会議室です。",
    "申請書は2部ご提出ください。",
];

const NAMES: &[&str] =
    &["山田太郎", "佐藤花子", "鈴木一郎", "田中美咲", "高橋健太", "伊藤さくら", "渡辺翔", "中村陽子"];
const COMPANIES: &[&str] =
    &["株式会社サンプル", "合同会社テスト", "一般社団法人例示協会", "有限会社見本商事", "サンプル工業株式会社"];

fn sample(rng: &mut Rng) -> Sample {
    let mut doc = Doc { text: String::new(), labels: Vec::new() };
    if rng.chance(0.5) {
        doc.put(rng.pick(FILLER));
        doc.put("\n");
    }
    let items = 2 + rng.below(5);
    for i in 0..items {
        if i > 0 {
            doc.put(if rng.chance(0.8) { "\n" } else { "　" });
            if rng.chance(0.4) {
                doc.put(rng.pick(FILLER));
                doc.put(if rng.chance(0.8) { "\n" } else { "　" });
            }
        }
        if rng.chance(0.55) { truth(rng, &mut doc) } else { decoy(rng, &mut doc) }
    }
    if rng.chance(0.5) {
        doc.put("\n");
        doc.put(rng.pick(FILLER));
    }
    Sample { text: doc.text, labels: doc.labels }
}

// ---- value generators -------------------------------------------------------

/// Full-width digits (and `-` as a full-width hyphen or a katakana long
/// vowel, space as the ideographic space).
fn full_width(rng: &mut Rng, s: &str) -> String {
    let dash = rng.pick(&["－", "ー", "‐", "−", "–", "-"]);
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap().to_string(),
            '-' => dash.to_string(),
            ' ' => "　".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn group(d: &str, sizes: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    for &n in sizes {
        out.push(&d[i..i + n]);
        i += n;
    }
    out.join(sep)
}

fn my_number(rng: &mut Rng) -> String {
    let base = rng.digits(11);
    let c = check::my_number_check_digit(base.as_bytes());
    format!("{base}{c}")
}

fn wrong_my_number(rng: &mut Rng) -> String {
    let base = rng.digits(11);
    let c = check::my_number_check_digit(base.as_bytes());
    let wrong = (c + 1 + rng.below(9) as u8) % 10;
    format!("{base}{wrong}")
}

fn format_twelve(rng: &mut Rng, d: &str) -> String {
    let v = match rng.below(4) {
        0 | 1 => d.to_string(),
        2 => group(d, &[4, 4, 4], "-"),
        _ => group(d, &[4, 4, 4], " "),
    };
    if rng.chance(0.25) { full_width(rng, &v) } else { v }
}

fn corporate(rng: &mut Rng) -> String {
    let base = match rng.below(3) {
        // Registered companies: registry office code, organisation kind, serial.
        0 | 1 => format!("{:04}{:02}{}", 100 + rng.below(9800), 1 + rng.below(5), rng.digits(6)),
        // Central and local government bodies.
        _ => format!("0000{}", rng.digits(8)),
    };
    let c = check::corporate_check_digit(base.as_bytes());
    format!("{c}{base}")
}

fn wrong_corporate(rng: &mut Rng) -> String {
    let v = corporate(rng);
    let c = v.as_bytes()[0] - b'0';
    let wrong = 1 + (c + rng.below(8) as u8) % 9;
    format!("{wrong}{}", &v[1..])
}

fn luhn_complete(rng: &mut Rng, prefix: &str, len: usize) -> String {
    let body = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
    let c = check::luhn_check_digit(body.as_bytes());
    format!("{body}{c}")
}

fn card(rng: &mut Rng) -> (String, usize) {
    match rng.below(7) {
        0 | 1 => (luhn_complete(rng, "4", 16), 16),
        2 => {
            let p =
                if rng.chance(0.5) { format!("{}", 51 + rng.below(5)) } else { format!("{}", 2221 + rng.below(500)) };
            (luhn_complete(rng, &p, 16), 16)
        }
        3 => {
            let p = rng.pick(&["34", "37"]);
            (luhn_complete(rng, p, 15), 15)
        }
        4 => {
            let p = format!("{}", 3528 + rng.below(62));
            (luhn_complete(rng, &p, 16), 16)
        }
        5 => {
            let p = if rng.chance(0.5) { "36".to_string() } else { format!("30{}", rng.below(6)) };
            (luhn_complete(rng, &p, 14), 14)
        }
        _ => {
            let p = rng.pick(&["6011", "65"]);
            (luhn_complete(rng, p, 16), 16)
        }
    }
}

fn format_card(rng: &mut Rng, d: &str, len: usize) -> String {
    let sep = rng.pick(&[" ", "-", ""]);
    let v = match (len, sep) {
        (_, "") => d.to_string(),
        (16, s) => group(d, &[4, 4, 4, 4], s),
        (15, s) => group(d, &[4, 6, 5], s),
        (14, s) => group(d, &[4, 6, 4], s),
        _ => d.to_string(),
    };
    if rng.chance(0.15) { full_width(rng, &v) } else { v }
}

/// A phone number as written, and whether it is a geographic number written
/// without any separator (which the detector wants a keyword for).
fn phone(rng: &mut Rng) -> (String, bool) {
    const AREAS: &[&str] =
        &["03", "06", "04", "011", "045", "052", "092", "075", "022", "0466", "0480", "0123", "0538", "01267"];
    let first = |rng: &mut Rng| char::from(b'2' + rng.below(8) as u8);
    let kind = rng.below(10);
    let (groups, geographic): (Vec<String>, bool) = match kind {
        0..=4 => {
            let area = rng.pick(AREAS);
            let ex = 6 - area.len();
            (vec![area.to_string(), format!("{}{}", first(rng), rng.digits(ex - 1)), rng.digits(4)], true)
        }
        5..=7 => {
            let p = rng.pick(&["090", "080", "070"]);
            (
                vec![
                    p.to_string(),
                    format!("{}{}", char::from(b'1' + rng.below(9) as u8), rng.digits(3)),
                    rng.digits(4),
                ],
                false,
            )
        }
        8 => (vec!["050".to_string(), format!("{}{}", first(rng), rng.digits(3)), rng.digits(4)], false),
        _ => (vec!["0120".to_string(), rng.digits(3), rng.digits(3)], false),
    };
    let plain = groups.concat();
    let v = match rng.below(10) {
        0..=4 => groups.join("-"),
        5 => groups.join(" "),
        6 if kind == 9 => groups.join("-"),
        6 if geographic => format!("{}({}){}", groups[0], groups[1], groups[2]),
        6 => format!("({}){}-{}", groups[0], groups[1], groups[2]),
        7 => {
            let national = &groups[0][1..];
            match rng.below(3) {
                0 => format!("+81-{}-{}-{}", national, groups[1], groups[2]),
                1 => format!("+81 {} {} {}", national, groups[1], groups[2]),
                _ => format!("+81(0){}-{}-{}", national, groups[1], groups[2]),
            }
        }
        _ => plain.clone(),
    };
    let bare_fixed = v == plain && (kind <= 4 || kind == 9);
    let v = if rng.chance(0.2) { full_width(rng, &v) } else { v };
    (v, bare_fixed)
}

fn email(rng: &mut Rng) -> String {
    const LOCAL: &[&str] = &[
        "taro.yamada",
        "hanako_sato",
        "info",
        "k-suzuki",
        "support+news",
        "t.tanaka2024",
        "m.ito",
        "sales",
        "y.watanabe",
    ];
    const DOMAIN: &[&str] = &[
        "example.jp",
        "example.co.jp",
        "example.ne.jp",
        "city.example.lg.jp",
        "example.com",
        "mail.example.org",
        "例え.jp",
        "テスト.co.jp",
        "example.tokyo",
        "sub.example.ac.jp",
    ];
    let v = format!("{}@{}", rng.pick(LOCAL), rng.pick(DOMAIN));
    if rng.chance(0.05) {
        // Written with a full-width at sign, as some pages do against
        // harvesting.
        return v.replace('@', "＠");
    }
    if rng.chance(0.05) {
        return v.to_uppercase();
    }
    if rng.chance(0.05) {
        v.chars().map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c }).collect()
    } else {
        v
    }
}

fn date(rng: &mut Rng) -> String {
    let y = 1935 + rng.below(70) as i32;
    let m = 1 + rng.below(12) as u32;
    let d = 1 + rng.below(28) as u32;
    match rng.below(6) {
        0 => format!("{y}年{m}月{d}日"),
        1 => format!("{y}/{m:02}/{d:02}"),
        2 => format!("{y}-{m:02}-{d:02}"),
        3 if (1927..=1988).contains(&y) => format!("昭和{}年{m}月{d}日", y - 1925),
        3 | 4 if (1990..=2018).contains(&y) => format!("平成{}年{m}月{d}日", y - 1988),
        4 if (1927..=1988).contains(&y) => format!("S{}.{m}.{d}", y - 1925),
        _ => format!("{y}年{m:02}月{d:02}日"),
    }
}

fn licence(rng: &mut Rng) -> String {
    const ISSUERS: &[u32] = &[10, 11, 20, 22, 30, 43, 44, 45, 54, 61, 62, 63, 73, 90, 93, 97];
    format!("{}{}{}", rng.pick(ISSUERS), rng.digits(9), rng.below(3))
}

fn passport(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(&["TK", "TZ", "TR", "TS", "MZ", "ME", "MU", "RE", "RZ"]), rng.digits(7))
}

/// A postal code and an address, as written.
fn postal(rng: &mut Rng) -> String {
    const ADDRESSES: &[&str] = &[
        "東京都千代田区霞が関1-1-1",
        "大阪府大阪市北区梅田3-1-1",
        "北海道札幌市中央区北1条西2丁目",
        "神奈川県横浜市西区みなとみらい2-3",
        "横浜市中区山下町1",
        "名古屋市中村区名駅4-7-1",
        "福岡県福岡市博多区博多駅前2-1",
        "さいたま市浦和区高砂3-15-1",
        "千代田区丸の内1-9-1",
        "沖縄県那覇市泉崎1-2-2",
        "宮城県仙台市青葉区本町3-8-1",
    ];
    let code = format!("{}-{}", rng.digits(3), rng.digits(4));
    let code = if rng.chance(0.15) { full_width(rng, &code) } else { code };
    let sep = rng.pick(&[" ", "　", "", " "]);
    format!("{code}{sep}{}", rng.pick(ADDRESSES))
}

// ---- true values -------------------------------------------------------------

fn truth(rng: &mut Rng, doc: &mut Doc) {
    let name = rng.pick(NAMES);
    match rng.below(10) {
        0 => {
            let v = my_number(rng);
            let v = format_twelve(rng, &v);
            let (pre, post) = rng.pick(&[
                ("マイナンバー：", ""),
                ("個人番号 ", ""),
                ("My Number: ", ""),
                ("", "（個人番号）"),
                ("番号は", "です。"),
                ("", ""),
            ]);
            if pre.is_empty() && post.is_empty() {
                // A table row, its neighbours numeric or not.
                doc.put(&format!("{},{name},", 1 + rng.below(500)));
                doc.value(Detector::MyNumber, &v);
                doc.put(&format!(",{}", rng.pick(&["東京都", "35", "1980/05/12"])));
            } else {
                doc.put(&format!("{name}さんの{pre}"));
                doc.value(Detector::MyNumber, &v);
                doc.put(post);
            }
        }
        1 => {
            let v = corporate(rng);
            let company = rng.pick(COMPANIES);
            match rng.below(4) {
                0 => {
                    doc.put(&format!("{company}（法人番号："));
                    doc.value(Detector::CorporateNumber, &v);
                    doc.put("）");
                }
                1 => {
                    doc.put("適格請求書発行事業者登録番号 T");
                    doc.value(Detector::CorporateNumber, &v);
                }
                2 => {
                    doc.put(&format!("{company} "));
                    let w = if rng.chance(0.3) { full_width(rng, &v) } else { v };
                    doc.value(Detector::CorporateNumber, &w);
                }
                _ => {
                    doc.put("Corporate Number: ");
                    doc.value(Detector::CorporateNumber, &v);
                }
            }
        }
        2 => {
            let v = email(rng);
            let (pre, post) = rng.pick(&[
                ("メール：", ""),
                ("E-mail: ", ""),
                ("", " までご連絡ください。"),
                ("担当：<", ">"),
                ("連絡先 ", ""),
                ("mailto:", ""),
                ("(", ")"),
            ]);
            doc.put(&format!("{name} {pre}"));
            doc.value(Detector::Email, &v);
            doc.put(post);
        }
        3 => {
            let (v, bare_fixed) = phone(rng);
            let (pre, post) = if bare_fixed {
                rng.pick(&[("TEL ", ""), ("電話番号：", ""), ("電話 ", "（代表）")])
            } else {
                rng.pick(&[
                    ("TEL：", ""),
                    ("電話番号 ", ""),
                    ("携帯 ", ""),
                    ("FAX ", ""),
                    ("お問い合わせは", "まで。"),
                    ("", "（代表）"),
                    ("Phone: ", ""),
                ])
            };
            if !bare_fixed && rng.chance(0.15) {
                // Compact: `TEL03-1234-5678/FAX03-1234-5679`.
                let (w, _) = phone(rng);
                doc.put(rng.pick(&["TEL", "TEL:", "Tel."]));
                doc.value(Detector::Phone, &v);
                doc.put(rng.pick(&["/FAX", " / FAX:", "、FAX "]));
                doc.value(Detector::Phone, &w);
            } else if !bare_fixed && rng.chance(0.15) {
                doc.put(&format!("{},{name},", 1 + rng.below(500)));
                doc.value(Detector::Phone, &v);
                doc.put(&format!(",{}", 20 + rng.below(50)));
            } else {
                doc.put(&format!("{name} {pre}"));
                doc.value(Detector::Phone, &v);
                doc.put(post);
            }
        }
        4 => {
            let (d, len) = card(rng);
            let v = format_card(rng, &d, len);
            let (pre, post) = rng.pick(&[
                ("カード番号：", ""),
                ("クレジットカード ", " 有効期限 12/27"),
                ("Card No. ", ""),
                ("お支払い：", "（VISA）"),
                ("決済 ", ""),
            ]);
            doc.put(pre);
            doc.value(Detector::PaymentCard, &v);
            doc.put(post);
        }
        5 => {
            let branch = rng.digits(3);
            let acct = rng.digits(7);
            let bank = rng.pick(&["みずほ", "三菱UFJ", "三井住友", "りそな", "横浜", "千葉", "静岡"]);
            match rng.below(4) {
                0 => {
                    doc.put(&format!("{bank}銀行 新宿支店 普通 "));
                    doc.value(Detector::BankAccount, &acct);
                }
                1 => {
                    doc.put(&format!("支店番号：{branch} 口座番号："));
                    doc.value(Detector::BankAccount, &acct);
                }
                2 => {
                    doc.put(&format!("振込先 {bank}銀行 当座 "));
                    doc.value(Detector::BankAccount, &format!("{branch}-{acct}"));
                }
                _ => {
                    doc.put("口座 ");
                    doc.value(Detector::BankAccount, &acct);
                    doc.put(&format!("（{name}）"));
                }
            }
        }
        6 => {
            let v = postal(rng);
            let pre = rng.pick(&["〒", "住所：〒", "住所 ", "〒", "送付先 〒"]);
            if pre.ends_with('〒') {
                doc.put(&pre[..pre.len() - '〒'.len_utf8()]);
                doc.value(Detector::PostalAddress, &format!("〒{v}"));
            } else {
                doc.put(pre);
                doc.value(Detector::PostalAddress, &v);
            }
        }
        7 => {
            let v = licence(rng);
            let (pre, post) = rng.pick(&[
                ("運転免許証番号：第", "号"),
                ("免許証番号 ", ""),
                ("Driver's License No. ", ""),
                ("運転免許証 第", "号"),
            ]);
            doc.put(pre);
            doc.value(Detector::DriversLicence, &v);
            doc.put(post);
        }
        8 => {
            let v = passport(rng);
            let pre = rng.pick(&["旅券番号：", "パスポート番号 ", "Passport No. ", "旅券 "]);
            doc.put(&format!("{name} {pre}"));
            doc.value(Detector::Passport, &v);
        }
        _ => {
            let v = date(rng);
            let (pre, post) = rng.pick(&[
                ("生年月日：", ""),
                ("誕生日 ", ""),
                ("DOB: ", ""),
                ("", "生まれ"),
                ("生年月日 ", "（満45歳）"),
            ]);
            doc.put(&format!("{name} {pre}"));
            doc.value(Detector::DateOfBirth, &v);
            doc.put(post);
        }
    }
}

// ---- decoys ------------------------------------------------------------------

fn decoy(rng: &mut Rng, doc: &mut Doc) {
    let s = match rng.below(25) {
        // 12 digits with a wrong check digit, with and without a keyword.
        0 => {
            let v = wrong_my_number(rng);
            format!("マイナンバー：{}", format_twelve(rng, &v))
        }
        1 => {
            let v = wrong_my_number(rng);
            format!("管理台帳 {}", format_twelve(rng, &v))
        }
        // Order and slip numbers (random: a check digit may happen to fit).
        2 => format!(
            "{}{}",
            rng.pick(&[
                "注文番号 ",
                "伝票番号：",
                "受付番号 ",
                "Order No. ",
                "お問い合わせ番号：",
                "お客様番号 ",
                "申込番号：",
                "取引ID ",
                "請求書番号 ",
                "契約番号：",
            ]),
            rng.digits(12)
        ),
        3 => format!("会員番号 {}", group(&rng.digits(16), &[4, 4, 4, 4], "-")),
        // A valid My Number inside a longer number.
        4 => {
            let v = my_number(rng);
            let mut long = String::new();
            while long.is_empty() || check::corporate_valid(long.as_bytes()) || is_card(long.as_bytes()) {
                let extra = 1 + rng.below(4);
                long = format!("{v}{}", rng.digits(extra));
            }
            format!("取引ID {long}")
        }
        5 => {
            let v = my_number(rng);
            format!("ロット{}-{}", rng.digits(2), v)
        }
        // Dates that are not dates of birth.
        6 => format!("作成日：{}", date(rng)),
        7 => format!("令和{}年{}月{}日 10:00 開始", 1 + rng.below(6), 1 + rng.below(12), 1 + rng.below(28)),
        // Phone-like product codes and impossible numbers.
        8 => format!("型番 {}-{}-{}", rng.pick(&["ABC", "XJ", "KP"]), rng.digits(4), rng.digits(4)),
        9 => format!("品番：{}", rng.pick(&["03-1234-567", "090-123-4567", "0000-1234-5678", "012-3456-7890"])),
        10 => format!("内線 {}、部屋番号 {}", rng.digits(4), rng.digits(3)),
        // E-mail-like strings in code.
        11 => rng
            .pick(&[
                "@Override public String toString()",
                "if (foo@bar) return;",
                "ssh user@localhost",
                "<img src=\"icon@2x.png\">",
                "@media screen and (max-width: 600px)",
                "npm install @types/node@20.11.5",
                "git clone git@server:repo.git",
                "decorator @app.route(\"/\")",
                "Message-ID: <20240315103000.4F2A9C@mail.example.co.jp>",
                "In-Reply-To: <6f1c2e9a-0b7d-4c55-9a4e-2d8e1f3b7a90@example.com>",
                "References: <CAFx+k2Q=abc@mail.gmail.com>",
            ])
            .to_string(),
        // JAN codes and corporate-number typos.
        12 => format!("JANコード {}", ean13(rng)),
        13 => format!("法人番号（誤記）{}", wrong_corporate(rng)),
        // Card-like numbers: failing Luhn, or with no issuer.
        14 => {
            let (mut d, len) = card(rng);
            let last = d.pop().unwrap();
            d.push(char::from(b'0' + ((last as u8 - b'0' + 1 + rng.below(9) as u8) % 10)));
            format!("カード番号 {}", format_card(rng, &d, len))
        }
        15 => format!("シリアル {}", luhn_complete(rng, "9", 16)),
        // Postal-like, bank-like, passport-like without context.
        16 => format!("製品コード {}-{}", rng.digits(3), rng.digits(4)),
        17 => format!("会員番号 {}", rng.digits(7)),
        18 => format!("型番 {}", passport(rng)),
        19 => format!("合計 {},{:03},{:03}円", 1 + rng.below(99), rng.below(1000), rng.below(1000)),
        20 => format!(
            "IP 192.168.{}.{} / v{}.{}.{}",
            rng.below(255),
            rng.below(255),
            rng.below(9),
            rng.below(20),
            rng.below(30)
        ),
        // A product list: bare JAN codes next to prices.
        21 => format!("商品A {} ¥{}", ean13(rng), 100 + rng.below(9000)),
        // Time stamps (YYYYMMDDhhmm) in logs and file names.
        22 => format!(
            "backup_{}{:02}{:02}{:02}{:02}.zip 更新",
            2000 + rng.below(30),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60)
        ),
        // A number with a wrong check digit in a table row.
        23 => {
            let v = wrong_my_number(rng);
            format!("{},{},{}", rng.pick(NAMES), v, rng.pick(&["東京都", "大阪府", "未記入"]))
        }
        // Amounts and quantities with separators, version strings.
        _ => format!(
            "予算 {},{:03},{:03},{:03}円（{}.{}%）",
            1 + rng.below(99),
            rng.below(1000),
            rng.below(1000),
            rng.below(1000),
            rng.below(100),
            rng.below(10)
        ),
    };
    doc.put(&s);
}

fn is_card(d: &[u8]) -> bool {
    check::luhn_valid(d) && check::card_brand(d).is_some()
}

/// A Japanese JAN code (45… or 49…, EAN-13 check digit).
fn ean13(rng: &mut Rng) -> String {
    let body = format!("{}{}", rng.pick(&["45", "49"]), rng.digits(10));
    let sum: u32 = body.bytes().enumerate().map(|(i, c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = generate(7, 20);
        let b = generate(7, 20);
        assert_eq!(a.iter().map(|s| &s.text).collect::<Vec<_>>(), b.iter().map(|s| &s.text).collect::<Vec<_>>());
    }

    #[test]
    fn labels_are_char_boundaries() {
        for s in generate(11, 500) {
            for l in &s.labels {
                assert!(s.text.is_char_boundary(l.start) && s.text.is_char_boundary(l.end));
                assert!(l.start < l.end);
            }
        }
    }
}
