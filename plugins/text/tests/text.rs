//! The text plugin, natively: charsets, binary refusal, formula neutralization.

use sekisho_plugin_sdk::{Action, CollectText, ContentClass, Disposition, FailureKind, Policy, Rebuilt, RefuseAll};
use sekisho_testkit::text_pairs as pairs;

fn run(format: &str, input: &[u8], policy: &Policy) -> Result<(String, Rebuilt), sekisho_plugin_sdk::Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_text::sanitize(format, input, &mut out, policy, &mut RefuseAll)?;
    Ok((String::from_utf8(out).expect("output is UTF-8"), rebuilt))
}

/// The (location, text) pairs the plugin hands the host.
fn texts(format: &str, input: &[u8]) -> Vec<(String, String)> {
    let mut host = CollectText::default();
    sekisho_text::sanitize(format, input, &mut Vec::new(), &strict(), &mut host).unwrap();
    host.texts
}

#[test]
fn text_channel_gives_each_line_and_each_cell_as_the_table_holds_it() {
    let text = "氏名: 山田太郎\r\n\r\n   \n住所: 東京都千代田区\n=cmd|' /C calc'!A0\nlast line without end";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let expected = pairs(&[
        ("line 1", "氏名: 山田太郎"),
        ("line 4", "住所: 東京都千代田区"),
        ("line 5", "=cmd|' /C calc'!A0"),
        ("line 6", "last line without end"),
    ]);
    assert_eq!(texts("text", &sjis), expected, "Shift_JIS text is handed over decoded");
    assert_eq!(texts("text", text.as_bytes()), expected);

    let csv = "名前,メール,個人番号\r\n山田太郎,taro@example.jp,123456789012\r\n\"東京都千代田区, 1-1\",,=1+2\r\n";
    assert_eq!(
        texts("csv", csv.as_bytes()),
        pairs(&[
            ("row 1, column 1", "名前"),
            ("row 1, column 2", "メール"),
            ("row 1, column 3", "個人番号"),
            ("row 2, column 1", "山田太郎"),
            ("row 2, column 2", "taro@example.jp"),
            ("row 2, column 3", "123456789012"),
            ("row 3, column 1", "東京都千代田区, 1-1"),
            ("row 3, column 3", "=1+2"),
        ])
    );
    let (out, _) = run("csv", csv.as_bytes(), &strict()).unwrap();
    assert!(out.contains(",,'=1+2"), "the output neutralizes what the text channel shows as data: {out}");
    let tsv = "山田太郎\t090-1234-5678\n";
    assert_eq!(
        texts("tsv", tsv.as_bytes()),
        pairs(&[("row 1, column 1", "山田太郎"), ("row 1, column 2", "090-1234-5678")])
    );
}

fn strict() -> Policy {
    Policy::uniform(Action::Sanitize)
}

#[test]
fn legacy_japanese_charsets_become_utf8_with_a_bom_for_tables() {
    let text = "品名,数量\nりんご,3\n";
    for encoding in [encoding_rs::SHIFT_JIS, encoding_rs::EUC_JP, encoding_rs::ISO_2022_JP] {
        let (bytes, _, _) = encoding.encode(text);
        let (out, rebuilt) = run("csv", &bytes, &strict()).unwrap();
        assert_eq!(out, format!("\u{feff}{text}"), "{}", encoding.name());
        assert!(rebuilt.findings.is_empty());
        let (plain, _) = run("text", &bytes, &strict()).unwrap();
        assert_eq!(plain, text, "plain text gets no BOM ({})", encoding.name());
    }
}

#[test]
fn utf16_with_and_without_bom() {
    let text = "hello, world\r\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut le_bom = vec![0xFF, 0xFE];
    le_bom.extend(&le);
    assert_eq!(run("text", &le_bom, &strict()).unwrap().0, format!("\u{feff}{text}"));
    assert_eq!(run("text", &le, &strict()).unwrap().0, text);
    assert_eq!(run("text", &be, &strict()).unwrap().0, text);
}

#[test]
fn utf8_bom_is_kept_and_output_is_idempotent() {
    let input = "\u{feff}a,b\n1,2\n".as_bytes();
    let (out, _) = run("csv", input, &strict()).unwrap();
    assert_eq!(out.as_bytes(), input);
    let (again, _) = run("csv", out.as_bytes(), &strict()).unwrap();
    assert_eq!(again, out);
}

#[test]
fn binary_garbage_is_refused() {
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
    let failure = run("text", elf, &strict()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::InvalidStructure);
    let noisy: Vec<u8> = (0..400u32).map(|i| if i % 10 == 0 { 0x07 } else { b'a' }).collect();
    assert_eq!(run("text", &noisy, &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
}

#[test]
fn terminal_escapes_are_removed_and_reported() {
    let (out, rebuilt) = run("text", "ok\x1b]0;pwned\x07 done\n".as_bytes(), &strict()).unwrap();
    assert_eq!(out, "ok]0;pwned done\n");
    assert_eq!(rebuilt.findings[0].class, ContentClass::MalformedStructure);
    assert_eq!(rebuilt.findings[0].disposition, Disposition::Removed);
}

#[test]
fn formula_cells_are_quoted_and_listed_one_by_one() {
    let input = "name,value\n=cmd|' /C calc'!A0,-5\n@SUM(A1),\"=1+2\"\n+81-3-1234,text\n";
    let (out, rebuilt) = run("csv", input.as_bytes(), &strict()).unwrap();
    assert_eq!(out, "name,value\n'=cmd|' /C calc'!A0,-5\n'@SUM(A1),'=1+2\n'+81-3-1234,text\n");
    let locations: Vec<&str> = rebuilt.findings.iter().map(|f| f.location.as_str()).collect();
    assert_eq!(locations, ["row 2, column 1", "row 3, column 1", "row 3, column 2", "row 4, column 1"]);
    assert!(rebuilt.findings.iter().all(|f| f.class == ContentClass::Dde && f.disposition == Disposition::Neutralized));
}

#[test]
fn tsv_uses_tabs_and_keeps_crlf() {
    let (out, rebuilt) = run("tsv", b"a\tb\r\n=1\tx\r\n", &strict()).unwrap();
    assert_eq!(out, "a\tb\r\n'=1\tx\r\n");
    assert_eq!(rebuilt.findings.len(), 1);
}

#[test]
fn policy_allow_keeps_formulas_and_block_refuses() {
    let input = b"=1+2\n";
    let allow = strict().with(ContentClass::Dde, Action::Allow);
    let (out, rebuilt) = run("csv", input, &allow).unwrap();
    assert_eq!(out, "=1+2\n");
    assert_eq!(rebuilt.findings[0].disposition, Disposition::Kept);
    let block = strict().with(ContentClass::Dde, Action::Block);
    assert_eq!(run("csv", input, &block).unwrap_err().kind, FailureKind::Blocked(ContentClass::Dde));
}

#[test]
fn plain_text_neutralizes_lines_a_spreadsheet_import_evaluates() {
    // A `.txt` opened in Excel goes through its import, which evaluates `=`.
    let (out, rebuilt) = run("text", b"=not a table\n- a list item\n", &strict()).unwrap();
    assert_eq!(out, "'=not a table\n- a list item\n");
    assert_eq!(rebuilt.findings.len(), 1);
    assert_eq!(rebuilt.findings[0].location, "line 1");
}
