//! The text plugin, natively: charsets, binary refusal, formula neutralization.

use sekisho_plugin_sdk::{Action, ContentClass, Disposition, FailureKind, Policy, Rebuilt};

fn run(format: &str, input: &[u8], policy: &Policy) -> Result<(String, Rebuilt), sekisho_plugin_sdk::Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_text::sanitize(format, input, &mut out, policy)?;
    Ok((String::from_utf8(out).expect("output is UTF-8"), rebuilt))
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
fn plain_text_keeps_formula_looking_lines() {
    let (out, rebuilt) = run("text", b"=not a table\n", &strict()).unwrap();
    assert_eq!(out, "=not a table\n");
    assert!(rebuilt.findings.is_empty());
}
