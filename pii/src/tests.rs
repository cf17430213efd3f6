//! Unit tests of the scanner, detector by detector, decoys included.

use super::*;

fn scanner() -> Scanner {
    Scanner::new(&[]).unwrap()
}

/// The (detector, original substring, confidence) of each hit.
fn hits(text: &str) -> Vec<(String, String, Confidence)> {
    scanner()
        .scan(text)
        .into_iter()
        .map(|h| (h.detector.clone(), text[h.start..h.end].to_string(), h.confidence))
        .collect()
}

/// The substrings `detector` found in `text`.
fn found(text: &str, detector: &str) -> Vec<String> {
    hits(text).into_iter().filter(|(d, _, _)| d == detector).map(|(_, s, _)| s).collect()
}

fn conf(text: &str, detector: &str) -> Vec<Confidence> {
    hits(text).into_iter().filter(|(d, _, _)| d == detector).map(|(_, _, c)| c).collect()
}

#[test]
fn scanner_is_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Scanner>();
}

#[test]
fn detector_names_round_trip() {
    for d in Detector::ALL {
        assert_eq!(Detector::from_name(d.name()), Some(d));
        assert_eq!(d.to_string(), d.name());
    }
    assert_eq!(Detector::from_name("drivers-license"), None);
    assert_eq!(Detector::ALL.len(), 10);
}

// ---- My Number ---------------------------------------------------------------

#[test]
fn my_number_forms() {
    for text in [
        "123456789018",
        "番号 1234 5678 9018 です",
        "1234-5678-9018",
        "１２３４５６７８９０１８",
        "１２３４－５６７８－９０１８",
        "１２３４ー５６７８ー９０１８",
        "１２３４　５６７８　９０１８",
        "山田,123456789018,東京都",
        "17,123456789018,35",
        "個人番号 1234 5678 9018　443,渡辺",
    ] {
        assert_eq!(found(text, "my-number").len(), 1, "{text}");
    }
    let text = "氏名 山田 １２３４－５６７８－９０１８ 以上";
    let h = &scanner().scan(text)[0];
    assert_eq!(&text[h.start..h.end], "１２３４－５６７８－９０１８");
    assert_eq!(h.masked, "****-****-9018");
}

#[test]
fn my_number_keywords_raise_confidence() {
    assert_eq!(conf("マイナンバー：123456789018", "my-number"), [Confidence::High]);
    assert_eq!(conf("個人番号は 1234 5678 9018", "my-number"), [Confidence::High]);
    assert_eq!(conf("My Number 123456789018", "my-number"), [Confidence::High]);
    assert_eq!(conf("控え 123456789018", "my-number"), [Confidence::Medium]);
}

#[test]
fn my_number_decoys() {
    // Wrong check digit, even with the keyword.
    assert!(found("マイナンバー：123456789012", "my-number").is_empty());
    assert!(found("1234 5678 9012", "my-number").is_empty());
    // Inside longer digit runs.
    assert!(found("1234567890185", "my-number").is_empty());
    assert!(found("9123456789018", "my-number").is_empty());
    assert!(found("4123456789018000", "my-number").is_empty());
    assert!(found("1234 5678 9018 3456", "my-number").is_empty());
    assert!(found("12-1234-5678-9018", "my-number").is_empty());
    assert!(found("A123456789018", "my-number").is_empty());
    assert!(found("0.123456789018", "my-number").is_empty());
    // Order numbers, even with a valid check digit.
    assert!(found("注文番号 123456789018", "my-number").is_empty());
    assert!(found("伝票番号：1234-5678-9018", "my-number").is_empty());
    assert!(found("Order No. 123456789018", "my-number").is_empty());
    // A time stamp that happens to pass the check: 2024-03-15 10:27 (check
    // digit 7 fits).
    assert!(check::my_number_valid(b"202403151027"));
    assert!(found("backup 202403151027 .zip", "my-number").is_empty());
    assert!(found("更新 202403151027 完了", "my-number").is_empty());
    assert_eq!(found("マイナンバー 202403151027", "my-number").len(), 1);
    // A licence number that happens to pass the check is a licence number.
    let h = hits("運転免許証番号：第123456789018号");
    assert!(h.iter().all(|(d, _, _)| d != "my-number"), "{h:?}");
}

// ---- Corporate Number --------------------------------------------------------

#[test]
fn corporate_numbers() {
    // 国税庁, トヨタ自動車, 三菱ＵＦＪ銀行: published numbers.
    assert_eq!(conf("国税庁 法人番号 7000012050002", "corporate-number"), [Confidence::High]);
    assert_eq!(found("トヨタ自動車株式会社 1180301018771", "corporate-number"), ["1180301018771"]);
    assert_eq!(found("登録番号：T5010001008846", "corporate-number"), ["5010001008846"]);
    assert_eq!(conf("T5010001008846", "corporate-number"), [Confidence::High]);
    assert_eq!(found("５８３５６７８２５６２４６", "corporate-number").len(), 1);
    assert_eq!(found("5-8356-7825-6246", "corporate-number").len(), 1);
    // Wrong check digit, inside longer numbers, JAN codes.
    assert!(found("法人番号 8000012050002", "corporate-number").is_empty());
    assert!(found("70000120500021", "corporate-number").is_empty());
    assert!(found("JANコード 4901234567894", "corporate-number").is_empty());
    assert!(found("XT7000012050002", "corporate-number").is_empty());
    let masked = scanner().scan("7000012050002")[0].masked.clone();
    assert_eq!(masked, "*********0002");
}

// ---- E-mail -----------------------------------------------------------------

#[test]
fn emails() {
    assert_eq!(found("連絡先: taro.yamada@example.co.jp まで", "email"), ["taro.yamada@example.co.jp"]);
    assert_eq!(found("メールはtaro@example.jpです。", "email"), ["taro@example.jp"]);
    assert_eq!(found("<k-suzuki+news@sub.example.com>", "email"), ["k-suzuki+news@sub.example.com"]);
    assert_eq!(found("info@日本語.jp", "email"), ["info@日本語.jp"]);
    assert_eq!(found("info@xn--wgv71a119e.jp", "email"), ["info@xn--wgv71a119e.jp"]);
    assert_eq!(found("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "email"), ["ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"]);
    assert_eq!(found("mailto:a.b@example.org?subject=x", "email"), ["a.b@example.org"]);
    assert_eq!(conf("E-mail: hanako@example.jp", "email"), [Confidence::High]);
    // A mailbox named after a mobile number is an address.
    assert_eq!(found("09012345678@docomo.ne.jp", "email").len(), 1);
    assert_eq!(scanner().scan("taro.yamada@example.jp")[0].masked, "t***@example.jp");
}

#[test]
fn email_decoys() {
    for text in [
        "@Override public void run()",
        "foo@bar",
        "ssh user@localhost",
        "<img src=\"icon@2x.png\">",
        "npm i @types/node@20.11.5",
        "git@server:repo.git",
        "@media screen",
        "a..b@example",
        "name@example.c",
        "x@example.123",
        "Message-ID: <15261.36209.358846.118674@anthem.python.org>",
        "<e85734b90505081209eaaa17b@mail.gmail.com>",
        "In-Reply-To: <F6E2D0B4-CC35-4A91-BA4C-C7C712B10C13@mac.com>",
        "<20071021093820.HSPC16667.omta05sl.mx.bigpond.com@oaamta05sl.mx.bigpond.com>",
        "Message-ID: <CAFx+abc=def@mail.gmail.com>",
        "Message-Id: <abc.def@host.example.com>",
    ] {
        assert!(found(text, "email").is_empty(), "{text}");
    }
}

// ---- Phone ------------------------------------------------------------------

#[test]
fn phones() {
    for (text, value) in [
        ("TEL 03-1234-5678", "03-1234-5678"),
        ("045-123-4567", "045-123-4567"),
        ("0466-12-3456", "0466-12-3456"),
        ("01267-2-3456", "01267-2-3456"),
        ("携帯 090-1234-5678", "090-1234-5678"),
        ("09012345678", "09012345678"),
        ("050-1234-5678", "050-1234-5678"),
        ("0120-123-456", "0120-123-456"),
        ("+81-3-1234-5678", "+81-3-1234-5678"),
        ("+81 90 1234 5678", "+81 90 1234 5678"),
        ("+81(0)3-1234-5678", "+81(0)3-1234-5678"),
        ("03(1234)5678", "03(1234)5678"),
        ("(03)1234-5678", "(03)1234-5678"),
        ("０３－１２３４－５６７８", "０３－１２３４－５６７８"),
        ("０９０ー１２３４ー５６７８", "０９０ー１２３４ー５６７８"),
        ("03‐1234‐5678", "03‐1234‐5678"),
        ("03−1234−5678", "03−1234−5678"),
        ("03–1234–5678", "03–1234–5678"),
        ("03（1234）5678", "03（1234）5678"),
        ("電話 0312345678", "0312345678"),
        ("1980/05/12,090-1234-5678,35", "090-1234-5678"),
    ] {
        assert_eq!(found(text, "phone"), [value], "{text}");
    }
    assert_eq!(scanner().scan("TEL 03-1234-5678")[0].masked, "***-****-5678");
    assert_eq!(conf("TEL 03-1234-5678", "phone"), [Confidence::High]);
    assert_eq!(conf("本社 03-1234-5678", "phone"), [Confidence::Medium]);
}

#[test]
fn phone_decoys() {
    for text in [
        "ABC-1234-5678",
        "型番 ABC-03-1234-5678",
        "03-1234-56789",
        "090-1234-567",
        "01-2345-6789",
        "045-1234-5678",
        "00-1234-5678",
        "2024-03-15",
        "0312345678",
        "123-4567",
        "03-1234-5678-9",
        "品番 090-1234-5678",
    ] {
        assert!(found(text, "phone").is_empty(), "{text}");
    }
}

// ---- Payment card -------------------------------------------------------------

#[test]
fn cards() {
    for text in [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "2223 0031 2200 3222",
        "3782 822463 10005",
        "3530 1113 3330 0000",
        "3056 930902 5904",
        "6011 1111 1111 1117",
        "４１１１　１１１１　１１１１　１１１１",
        "カード番号 4111 1111 1111 1111 有効期限 12/27",
        "Card 6011 1111 1111 1117　362,佐藤",
    ] {
        assert_eq!(found(text, "payment-card").len(), 1, "{text}");
    }
    assert_eq!(scanner().scan("4111 1111 1111 1111")[0].masked, "****-****-****-1111");
    assert_eq!(conf("VISA 4111111111111111", "payment-card"), [Confidence::High]);
    // 13-digit Visa: only when a card keyword introduces it.
    assert!(found("4222222222222", "payment-card").is_empty());
    assert_eq!(found("カード番号 4222222222222", "payment-card").len(), 1);
}

#[test]
fn card_decoys() {
    for text in [
        "4111 1111 1111 1112",
        "9111 1111 1111 1115",
        "1234 5678 9012 3456",
        "41111111111111110",
        "会員番号 4111-1111-1111-1111",
    ] {
        assert!(found(text, "payment-card").is_empty(), "{text}");
    }
}

// ---- Bank account -------------------------------------------------------------

#[test]
fn bank_accounts() {
    assert_eq!(found("みずほ銀行 新宿支店 普通 1234567", "bank-account"), ["1234567"]);
    assert_eq!(conf("支店番号：123 口座番号：1234567", "bank-account"), [Confidence::High]);
    assert_eq!(found("振込先 当座 123-1234567", "bank-account"), ["123-1234567"]);
    assert_eq!(scanner().scan("口座 1234567")[0].masked, "******7");
    // No keyword, too far, a longer number, another label in between.
    assert!(found("会員番号 1234567", "bank-account").is_empty());
    assert!(
        found("口座開設のご案内。お客様の受付は以下の通りで、担当者より折り返しご連絡します 1234567", "bank-account")
            .is_empty()
    );
    assert!(found("口座 12345678", "bank-account").is_empty());
    assert!(found("口座 1234567 と 7654321", "bank-account").len() == 1);
}

// ---- Postal address -------------------------------------------------------------

#[test]
fn postal_addresses() {
    assert_eq!(found("〒100-8914 東京都千代田区永田町1-7-1", "postal-address"), ["〒100-8914 東京都千代田区"]);
    assert_eq!(found("住所 530-0001 大阪市北区梅田", "postal-address"), ["530-0001 大阪市"]);
    assert_eq!(found("〒１００－８９１４　東京都", "postal-address"), ["〒１００－８９１４　東京都"]);
    assert_eq!(conf("〒100-8914", "postal-address"), [Confidence::Low]);
    assert_eq!(conf("〒100-8914 東京都千代田区", "postal-address"), [Confidence::High]);
    assert_eq!(scanner().scan("〒100-8914 東京都千代田区")[0].masked, "〒***-**14");
    assert!(found("製品コード 123-4567", "postal-address").is_empty());
    assert!(found("123-4567から市役所へ", "postal-address").is_empty());
    assert!(found("03-123-4567 東京都", "postal-address").is_empty());
}

// ---- Driver's licence, passport -------------------------------------------------

#[test]
fn licences_and_passports() {
    assert_eq!(found("運転免許証番号：第301234567890号", "drivers-licence"), ["301234567890"]);
    assert_eq!(found("Driver's License No. 451234567890", "drivers-licence"), ["451234567890"]);
    assert_eq!(scanner().scan("免許証番号 301234567890")[0].masked, "*********890");
    // No keyword; an impossible issuer code (00).
    assert!(found("301234567890", "drivers-licence").is_empty());
    assert!(found("免許証番号 001234567890", "drivers-licence").is_empty());

    assert_eq!(found("旅券番号：TK1234567", "passport"), ["TK1234567"]);
    assert_eq!(found("Passport No. MZ7654321", "passport"), ["MZ7654321"]);
    assert_eq!(scanner().scan("パスポート TK1234567")[0].masked, "*******67");
    assert!(found("型番 TK1234567", "passport").is_empty());
    assert!(found("旅券番号 TK12345678", "passport").is_empty());
}

// ---- Date of birth ---------------------------------------------------------------

#[test]
fn dates_of_birth() {
    assert_eq!(found("生年月日：1980年5月12日", "date-of-birth"), ["1980年5月12日"]);
    assert_eq!(found("生年月日 昭和55年5月12日", "date-of-birth"), ["昭和55年5月12日"]);
    assert_eq!(found("DOB: 1980/05/12", "date-of-birth"), ["1980/05/12"]);
    assert_eq!(found("平成3年4月1日生まれ", "date-of-birth"), ["平成3年4月1日"]);
    assert_eq!(found("Date of birth 12/31/1975", "date-of-birth"), ["12/31/1975"]);
    assert_eq!(scanner().scan("誕生日 1980/05/12")[0].masked, "****/**/12");
    // Not a birth date: no keyword, another date after the birth date, an
    // impossible date.
    assert!(found("作成日：2024年3月15日", "date-of-birth").is_empty());
    assert_eq!(found("生年月日 1980/05/12 契約日 2024/03/15", "date-of-birth"), ["1980/05/12"]);
    assert!(found("生年月日 1980/13/12", "date-of-birth").is_empty());
    assert!(found("1980年5月12日生まれ\n作成日 2024年3月15日", "date-of-birth").len() == 1);
}

// ---- Custom rules ------------------------------------------------------------------

fn rule(name: &str, pattern: Option<&str>, words: &[&str], confidence: Confidence, keywords: &[&str]) -> CustomRule {
    CustomRule {
        name: name.into(),
        pattern: pattern.map(str::to_string),
        words: words.iter().map(|w| w.to_string()).collect(),
        confidence,
        keywords: keywords.iter().map(|w| w.to_string()).collect(),
    }
}

#[test]
fn custom_rules() {
    let s = Scanner::new(&[
        rule("employee-id", Some(r"E[0-9]{6}"), &[], Confidence::Medium, &["社員番号"]),
        rule("secret", None, &["極秘", "Confidential", ""], Confidence::Low, &[]),
    ])
    .unwrap();
    let text = "社員番号 Ｅ１２３４５６ と E654321、これは極秘です。confidential / Confidentiality";
    let hits = s.scan(text);
    let got: Vec<(&str, &str, Confidence)> =
        hits.iter().map(|h| (h.detector.as_str(), &text[h.start..h.end], h.confidence)).collect();
    assert_eq!(
        got,
        [
            ("employee-id", "Ｅ１２３４５６", Confidence::High),
            ("employee-id", "E654321", Confidence::High),
            ("secret", "極秘", Confidence::Low),
            ("secret", "confidential", Confidence::Low),
        ]
    );
    assert_eq!(hits[0].masked, "******6");
    assert_eq!(hits[2].masked, "**");
}

#[test]
fn custom_rule_errors() {
    let err = Scanner::new(&[rule("bad", Some("(unclosed"), &[], Confidence::High, &[])]).unwrap_err();
    assert!(matches!(&err, Error::InvalidPattern { rule, .. } if rule == "bad"), "{err}");
    assert!(err.to_string().contains("bad"));
    // Backreferences and look-around are not linear-time: refused.
    assert!(matches!(
        Scanner::new(&[rule("backref", Some(r"(a)\1"), &[], Confidence::High, &[])]),
        Err(Error::InvalidPattern { .. })
    ));
    assert!(matches!(
        Scanner::new(&[rule("look", Some(r"a(?=b)"), &[], Confidence::High, &[])]),
        Err(Error::InvalidPattern { .. })
    ));
    assert!(matches!(
        Scanner::new(&[rule("empty", Some("x*"), &[], Confidence::High, &[])]),
        Err(Error::InvalidPattern { .. })
    ));
    assert!(matches!(
        Scanner::new(&[rule("huge", Some(r"\w{1000}\w{1000}\w{1000}"), &[], Confidence::High, &[])]),
        Err(Error::InvalidPattern { .. })
    ));
    for bad in [
        vec![rule("email", Some("x"), &[], Confidence::High, &[])],
        vec![rule("", Some("x"), &[], Confidence::High, &[])],
        vec![rule("nothing", None, &[" "], Confidence::High, &[])],
        vec![
            rule("twice", Some("x"), &[], Confidence::High, &[]),
            rule("twice", Some("y"), &[], Confidence::High, &[]),
        ],
    ] {
        assert!(matches!(Scanner::new(&bad), Err(Error::InvalidRule { .. })));
    }
}

// ---- Whole-scanner properties ---------------------------------------------------------

#[test]
fn hits_in_text_order_and_spans_map_to_the_original() {
    let text = "山田　ＴＥＬ：０３－１２３４－５６７８、マイナンバー　１２３４　５６７８　９０１８、メール ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ";
    let hits = scanner().scan(text);
    let names: Vec<&str> = hits.iter().map(|h| h.detector.as_str()).collect();
    assert_eq!(names, ["phone", "my-number", "email"]);
    assert_eq!(&text[hits[0].start..hits[0].end], "０３－１２３４－５６７８");
    assert_eq!(&text[hits[1].start..hits[1].end], "１２３４　５６７８　９０１８");
    assert_eq!(&text[hits[2].start..hits[2].end], "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ");
    assert!(hits.windows(2).all(|w| w[0].start <= w[1].start));
}

#[test]
fn no_value_in_hits_or_debug() {
    let text =
        "マイナンバー 123456789018 TEL 090-1234-5678 taro.yamada@example.jp カード 4111111111111111 口座 1234567";
    let hits = scanner().scan(text);
    assert_eq!(hits.len(), 5);
    let dump = format!("{hits:?} {}", hits.iter().map(|h| h.masked.clone()).collect::<Vec<_>>().join(" "));
    for value in ["123456789018", "09012345678", "090-1234-5678", "taro.yamada", "4111111111111111", "1234567"] {
        assert!(!dump.contains(value), "{value} in {dump}");
    }
}

#[test]
fn nothing_in_plain_prose() {
    assert!(scanner().scan("いつもお世話になっております。会議は来週月曜日に行います。").is_empty());
    assert!(scanner().scan("").is_empty());
    assert!(scanner().scan("売上は1,234,567円、前年比12.5%増。第3四半期。").is_empty());
}

#[test]
fn large_adversarial_inputs_stay_linear() {
    // Long digit runs, long runs of local-part characters with @, many
    // keywords: each scan must finish quickly (no backtracking).
    let digits = "1".repeat(200_000);
    let at = format!("{}@{}", "a.".repeat(50_000), "b-".repeat(50_000));
    let keywords = "マイナンバー 123456789018 口座 1234567 生年月日 1980/01/01 注文番号 ".repeat(20_000);
    let mixed = "0-".repeat(100_000);
    let s = scanner();
    for text in [digits, at, keywords, mixed] {
        let t = std::time::Instant::now();
        let _ = s.scan(&text);
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    }
}
