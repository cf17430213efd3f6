//! Hand-written documents of the kinds an outbound audit sees (a mail
//! signature, an application form, an invoice, a roster, an English form):
//! the exact findings, and nothing else.

use sekisho_pii::{Hit, Scanner};

fn counts(hits: &[Hit]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for h in hits {
        match out.iter_mut().find(|(d, _)| *d == h.detector) {
            Some((_, n)) => *n += 1,
            None => out.push((h.detector.clone(), 1)),
        }
    }
    out.sort();
    out
}

fn check(text: &str, expected: &[(&str, usize)]) {
    let hits = Scanner::new(&[]).unwrap().scan(text);
    let mut want: Vec<(String, usize)> = expected.iter().map(|(d, n)| (d.to_string(), *n)).collect();
    want.sort();
    let shown: Vec<(&str, &str)> = hits.iter().map(|h| (h.detector.as_str(), &text[h.start..h.end])).collect();
    assert_eq!(counts(&hits), want, "{shown:#?}");
}

#[test]
fn mail_signature() {
    check(
        "いつもお世話になっております。\n\
         --\n\
         株式会社サンプル 総務部\n\
         山田 太郎（Taro Yamada）\n\
         〒100-0005 東京都千代田区丸の内1-1-1 サンプルビル5F\n\
         TEL：03-1234-5678（代表）／FAX：03-1234-5679\n\
         携帯：090-1234-5678\n\
         E-mail：taro.yamada@sample.co.jp\n\
         URL：https://www.sample.co.jp/\n",
        &[("postal-address", 1), ("phone", 3), ("email", 1)],
    );
}

#[test]
fn application_form() {
    check(
        "申請者情報\n\
         氏名：佐藤 花子（サトウ ハナコ）\n\
         生年月日：昭和60年4月1日\n\
         住所：〒530-0001 大阪府大阪市北区梅田1丁目2番3号\n\
         電話番号：06-1234-5678\n\
         個人番号（マイナンバー）：1234 5678 9018\n\
         運転免許証番号：第 301234567890 号\n\
         振込先口座：みずほ銀行 梅田支店 普通預金 口座番号 1234567\n\
         受付番号：202403150001　受付日：令和6年3月15日\n",
        &[
            ("date-of-birth", 1),
            ("postal-address", 1),
            ("phone", 1),
            ("my-number", 1),
            ("drivers-licence", 1),
            ("bank-account", 1),
        ],
    );
}

#[test]
fn invoice() {
    check(
        "請求書番号：INV-2024-000123\n\
         発行日：2024年3月15日\n\
         株式会社テスト 御中\n\
         適格請求書発行事業者 登録番号：T7000012050002\n\
         品名 A4コピー用紙 500枚×10 JAN 4901234567894\n\
         合計金額：¥1,234,567（税込）\n\
         お振込先：三井住友銀行 本店営業部 当座 7654321\n\
         お問い合わせ：billing@example.co.jp\n",
        &[("corporate-number", 1), ("bank-account", 1), ("email", 1)],
    );
}

#[test]
fn roster() {
    // Values in the rows of a table are found by their own validation; a
    // date in a row is not a date of birth, as the header keyword is far
    // from it and other labels stand between (a known limit).
    check(
        "社員番号,氏名,生年月日,電話番号,メールアドレス,個人番号\n\
         E0001,山田太郎,1980/05/12,090-1111-2222,yamada@example.jp,123456789018\n\
         E0002,佐藤花子,1985/11/30,080-3333-4444,sato@example.jp,987654321001\n",
        &[("phone", 2), ("email", 2), ("my-number", 1)],
    );
}

#[test]
fn english_form() {
    check(
        "Name: John Smith\n\
         DOB: 12/05/1980\n\
         Passport No.: TK1234567\n\
         Credit card: 4111 1111 1111 1111 exp 12/27\n\
         Phone: +81-90-1234-5678\n\
         Order #: 123456789018\n\
         Version 2.4.1, build 20240315\n",
        &[("date-of-birth", 1), ("passport", 1), ("payment-card", 1), ("phone", 1)],
    );
}

#[test]
fn source_code_and_logs() {
    check(
        "@Override\n\
         public String toString() { return user@localhost; }\n\
         <img src=\"logo@2x.png\" srcset=\"logo@3x.png 3x\">\n\
         2024-03-15T10:30:00.123Z INFO request_id=123456789018 took 1234567 us\n\
         build 202403151027 sha 1a2b3c4d5e6f\n\
         0x7fffffffffff 1234-5678-90AB\n",
        &[],
    );
}
