//! The compound-file plugin, natively: generated Word 97 documents and
//! Excel workbooks for each behaviour, and the shared corpus when
//! `SEKISHO_CORPUS` names it.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sekisho_testkit::Corpus;
use sekisho_testkit::office::{self, WordOptions};
use sekisho_testkit::ppt::Presentation;

use sekisho_plugin_sdk::{
    Action, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure,
    FailureKind, HyperlinkMode, PasswordSource, Policy, Rebuilt,
};

fn corpus_files(corpus: &Corpus) -> Vec<PathBuf> {
    let files = corpus.files("ole");
    assert!(files.len() >= 20, "expected the OLE corpus, found {} files", files.len());
    files
}

/// Rebuilds nested compound documents with this plugin, as the host would;
/// refuses everything else.
struct Recurse(Policy);

impl Embedder for Recurse {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        if !data.starts_with(b"\xD0\xCF\x11\xE0") {
            return Err(EmbeddedRefusal::Unsupported(format!("{name}: not a compound file")));
        }
        let mut out = Vec::new();
        let policy = self.0.clone();
        match sekisho_ole::sanitize(Cursor::new(data), &mut out, &policy, self) {
            Ok(rebuilt) => Ok(EmbeddedRebuilt {
                outcome: if rebuilt.findings.is_empty() { EmbeddedOutcome::Clean } else { EmbeddedOutcome::Sanitized },
                format: "ole2".into(),
                extension: "doc".into(),
                media_type: "application/x-ole-storage".into(),
                data: out,
            }),
            Err(failure) => Err(EmbeddedRefusal::Failed(failure.detail)),
        }
    }
}

fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

fn run(data: &[u8], policy: &Policy) -> Result<(Vec<u8>, Rebuilt), Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_ole::sanitize(Cursor::new(data), &mut out, policy, &mut Recurse(policy.clone()))?;
    Ok((out, rebuilt))
}

fn has(rebuilt: &Rebuilt, class: ContentClass) -> bool {
    rebuilt.findings.iter().any(|f| f.class == class)
}

#[test]
fn every_corpus_file_is_rebuilt_or_refused_with_a_reason() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ole-strict");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (mut rebuilt_count, mut refused) = (0, Vec::new());
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        match run(&std::fs::read(&path).unwrap(), &strict()) {
            Ok((out, _)) => {
                rebuilt_count += 1;
                assert!(out.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), "{label}");
                std::fs::write(out_dir.join(&label), &out).unwrap();
            }
            Err(failure) => {
                assert!(!failure.detail.is_empty(), "{label}");
                assert!(
                    matches!(
                        failure.kind,
                        FailureKind::Blocked(_) | FailureKind::Encrypted | FailureKind::InvalidStructure
                    ),
                    "{label}: {:?} {}",
                    failure.kind,
                    failure.detail
                );
                refused.push(format!("{label}: {:?} {}", failure.kind, failure.detail));
            }
        }
    }
    eprintln!("refused:\n{}", refused.join("\n"));
    assert!(rebuilt_count >= 12, "only {rebuilt_count} rebuilt");
}

#[test]
fn rebuilding_is_idempotent_and_deterministic() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok((first, _)) = run(&std::fs::read(&path).unwrap(), &strict()) else { continue };
        let (again, _) = run(&std::fs::read(&path).unwrap(), &strict()).unwrap();
        assert_eq!(first, again, "{label}: not deterministic");
        let (second, rebuilt) = run(&first, &strict()).unwrap();
        assert!(
            rebuilt.findings.iter().all(|f| f.class == ContentClass::EmbeddedFiles),
            "{label}: second pass found {:#?}",
            rebuilt.findings
        );
        assert_eq!(first, second, "{label}: not idempotent");
    }
}

/// Macros and document properties go; a second pass finds nothing; macros
/// stay, reported, when allowed.
fn assert_word_macros_go(label: &str, data: &[u8]) {
    let (out, rebuilt) = run(data, &strict()).unwrap();
    assert!(
        rebuilt.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Removed),
        "{label}: {:#?}",
        rebuilt.findings
    );
    assert!(has(&rebuilt, ContentClass::Metadata), "{label}");
    let (_, again) = run(&out, &strict()).unwrap();
    assert!(again.findings.is_empty(), "{label}: {:#?}", again.findings);
    let keep = strict().with(ContentClass::Macros, Action::Allow);
    let (_, kept) = run(data, &keep).unwrap();
    assert!(kept.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Kept));
}

/// The streams of a compound file.
fn streams(data: &[u8]) -> Vec<String> {
    let cfb = cfb::CompoundFile::open(Cursor::new(data)).unwrap();
    cfb.walk().map(|e| e.path().display().to_string()).collect()
}

#[test]
fn word_macros_and_properties_go() {
    let data = office::word97("Hello\r", WordOptions { macros: true, properties: true, ..WordOptions::default() });
    assert_word_macros_go("generated", &data);
    let (out, _) = run(&data, &strict()).unwrap();
    let left = streams(&out);
    assert!(!left.iter().any(|s| s.starts_with("/Macros") || s.contains("SummaryInformation")), "{left:?}");
    assert!(left.contains(&"/WordDocument".to_owned()) && left.contains(&"/1Table".to_owned()), "{left:?}");
}

#[test]
fn word_macros_in_the_corpus_go() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_word_macros_go("poi__SimpleMacro.doc", &corpus.read("ole", "poi__SimpleMacro.doc"));
}

/// DDE fields are found and gone after one pass.
fn assert_dde_blanked(label: &str, data: &[u8]) -> Vec<u8> {
    let (out, rebuilt) = run(data, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Dde), "{label}: {:#?}", rebuilt.findings);
    let (_, again) = run(&out, &strict()).unwrap();
    assert!(!has(&again, ContentClass::Dde), "{label}");
    out
}

/// The `WordDocument` stream of a compound file.
fn word_document(data: &[u8]) -> Vec<u8> {
    let mut cfb = cfb::CompoundFile::open(Cursor::new(data)).unwrap();
    let mut stream = Vec::new();
    std::io::Read::read_to_end(&mut cfb.open_stream("/WordDocument").unwrap(), &mut stream).unwrap();
    stream
}

#[test]
fn word_dde_fields_are_blanked_in_place() {
    let text = office::word_text_with_dde();
    let data = office::word97(&text, WordOptions::default());
    let out = assert_dde_blanked("generated", &data);
    // Blanked in place: the stream keeps its length, the field its markers
    // and its shown result, the instruction is spaces.
    let (before, after) = (word_document(&data), word_document(&out));
    assert_eq!(before.len(), after.len());
    let shown = |d: &[u8]| String::from_utf8_lossy(&d[0x800..]).into_owned();
    let after_text = shown(&after);
    assert!(!after_text.contains("DDE") && !after_text.contains("calc.exe"), "{after_text:?}");
    assert!(after_text.contains("\u{14}shown result\u{15} After."), "{after_text:?}");
    let blank = after_text.split('\u{13}').nth(1).unwrap().split('\u{14}').next().unwrap();
    assert!(!blank.is_empty() && blank.chars().all(|c| c == ' '), "{blank:?}");
}

#[test]
fn word_dde_fields_in_the_corpus_are_blanked() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_dde_blanked(
        "oletools__dde-test-from-office2016.doc",
        &corpus.read("ole", "oletools__dde-test-from-office2016.doc"),
    );
}

/// The packaged file goes, reported as `Ole10Native`.
fn assert_package_removed(label: &str, data: &[u8]) {
    let (_, rebuilt) = run(data, &strict()).unwrap();
    assert!(
        rebuilt.findings.iter().any(|f| f.class == ContentClass::ActiveObjects && f.detail.contains("Ole10Native")),
        "{label}: {:#?}",
        rebuilt.findings
    );
}

/// An Excel 4 macro sheet cannot be cut from the record stream: refused,
/// unless macros are allowed.
fn assert_excel_macros_refused(label: &str, data: &[u8]) {
    let failure = run(data, &strict()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Macros), "{label}");
    assert!(failure.detail.contains("Excel 4 macro sheets"), "{label}: {}", failure.detail);
    let keep = strict().with(ContentClass::Macros, Action::Allow);
    assert!(run(data, &keep).is_ok(), "{label}");
}

#[test]
fn packaged_files_are_removed_and_excel_macros_are_refused() {
    let doc = office::word97("Hello\r", WordOptions { packaged_file: true, ..WordOptions::default() });
    assert_package_removed("generated", &doc);
    let (out, _) = run(&doc, &strict()).unwrap();
    assert!(!streams(&out).iter().any(|s| s.contains("Ole10Native")), "{:?}", streams(&out));
    let xls = office::xls_with_excel4_macro_sheet();
    assert_excel_macros_refused("generated", &xls);
    let failure = run(&xls, &strict()).unwrap_err();
    assert!(failure.detail.contains("\"Macro1\"") && failure.detail.contains("Auto_Open"), "{}", failure.detail);
}

#[test]
fn packaged_files_and_excel_macros_in_the_corpus() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_package_removed(
        "oletools__embedded-simple-2007.doc",
        &corpus.read("ole", "oletools__embedded-simple-2007.doc"),
    );
    assert_excel_macros_refused(
        "oletools__excel4_sample_macro.xls",
        &corpus.read("ole", "oletools__excel4_sample_macro.xls"),
    );
}

/// A PowerPoint 97 presentation whose record stream holds an encryption
/// header (`CryptSession10Container`), as password-protected files have.
fn encrypted_ppt() -> Vec<u8> {
    let mut record = Vec::new();
    record.extend(0x000Fu16.to_le_bytes()); // a container
    record.extend(0x2F14u16.to_le_bytes()); // CryptSession10Container
    record.extend(8u32.to_le_bytes());
    record.extend([0u8; 8]);
    office::compound_file(&[("/PowerPoint Document", &record), ("/Current User", &[0u8; 20])], &[], None)
}

#[test]
fn encrypted_documents_fail_as_encrypted() {
    let doc = office::word97("secret\r", WordOptions { encrypted: true, ..WordOptions::default() });
    assert_eq!(run(&doc, &strict()).unwrap_err().kind, FailureKind::Encrypted, "doc");
    assert_eq!(run(&encrypted_ppt(), &strict()).unwrap_err().kind, FailureKind::Encrypted, "ppt");
}

#[test]
fn an_encrypted_presentation_opens_with_its_password_and_comes_out_plain() {
    let png = sekisho_testkit::fixtures::png(4, 3);
    let plain = Presentation::new("見積書 v2", &png, None);
    let locked = Presentation::new("見積書 v2", &png, Some("Tk9#xq2"));
    assert_ne!(locked.document[..plain.container_len], plain.document[..plain.container_len], "encrypted");

    let policy =
        strict().with_password("wrong", PasswordSource::Request).with_password("Tk9#xq2", PasswordSource::Mail);
    let (out, rebuilt) = run(&locked.file(), &policy).expect("the second candidate opens it");
    let finding = rebuilt.findings.iter().find(|f| f.class == ContentClass::Encryption).expect("a finding");
    assert_eq!(
        (finding.disposition, finding.detail.as_str()),
        (Disposition::Removed, "decrypted (password from: mail)")
    );
    assert!(!format!("{rebuilt:?}").contains("Tk9#xq2"), "no password in the report");

    let mut file = cfb::CompoundFile::open(Cursor::new(out)).unwrap();
    let mut read = |name: &str| {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file.open_stream(name).unwrap(), &mut data).unwrap();
        data
    };
    let document = read("/PowerPoint Document");
    assert_eq!(document[..plain.container_len], plain.document[..plain.container_len], "the text is back");
    assert_eq!(read("/Pictures"), plain.pictures, "the picture is back");
    assert_eq!(read("/Current User")[12..16], 0xE391_C05Fu32.to_le_bytes(), "the unencrypted token");
    // The edit points at no encryption header, and the header is an inert
    // record of the same size: read again, the file is not encrypted.
    let edit = document.len() - 40;
    assert_eq!(document[edit + 8 + 28..edit + 8 + 32], [0; 4]);
    let (_, reread) = run(&rebuilt_file(&document, &read("/Current User"), &read("/Pictures")), &strict())
        .expect("the output opens without a password");
    assert!(!has(&reread, ContentClass::Encryption), "{:?}", reread.findings);
}

fn rebuilt_file(document: &[u8], current_user: &[u8], pictures: &[u8]) -> Vec<u8> {
    office::compound_file(
        &[("/PowerPoint Document", document), ("/Current User", current_user), ("/Pictures", pictures)],
        &[],
        None,
    )
}

#[test]
fn an_encrypted_presentation_without_the_password_fails_as_encrypted() {
    let locked = Presentation::new("secret", &sekisho_testkit::fixtures::png(2, 2), Some("Tk9#xq2")).file();
    assert_eq!(run(&locked, &strict()).unwrap_err().kind, FailureKind::Encrypted, "no candidates");
    let wrong = strict().with_password("Tk9#xq3", PasswordSource::Request);
    let failure = run(&locked, &wrong).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Encrypted);
    assert!(failure.detail.ends_with("the password candidate does not open it"), "{}", failure.detail);
    let blocked =
        strict().with(ContentClass::Encryption, Action::Block).with_password("Tk9#xq2", PasswordSource::Request);
    assert_eq!(run(&locked, &blocked).unwrap_err().kind, FailureKind::Blocked(ContentClass::Encryption));
}

#[test]
fn encrypted_documents_in_the_corpus() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    // POI's test presentation, password "hello" (its file name): it opens,
    // and the slide text is readable in the output.
    let hello = corpus.read("ole", "poi__Password_Protected-hello.ppt");
    assert_eq!(run(&hello, &strict()).unwrap_err().kind, FailureKind::Encrypted, "no candidates");
    let (out, rebuilt) = run(&hello, &strict().with_password("hello", PasswordSource::Request)).unwrap();
    assert!(has(&rebuilt, ContentClass::Encryption));
    let utf16 = |text: &str| text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let mut file = cfb::CompoundFile::open(Cursor::new(&out)).unwrap();
    assert!(!file.exists("/EncryptedSummary"), "the encrypted properties are left out");
    let mut document = Vec::new();
    std::io::Read::read_to_end(&mut file.open_stream("/PowerPoint Document").unwrap(), &mut document).unwrap();
    assert!(document.windows(28).any(|w| w == b"This is a protected document"), "the slide text");
    assert!(
        document.windows(utf16("It only has the one slide").len()).any(|w| w == utf16("It only has the one slide"))
    );
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("hello-decrypted.ppt"), &out).unwrap();
    // POI's test document has no published password: it stays refused.
    let doc = corpus.read("ole", "poi__PasswordProtected.doc");
    let policy = strict().with_password("hello", PasswordSource::Request);
    assert_eq!(run(&doc, &policy).unwrap_err().kind, FailureKind::Encrypted, "doc");
}

#[test]
fn a_record_hidden_inside_another_is_found_through_the_persist_directory() {
    // An embedded OLE object (ExOleObjStg) inside a text atom's declared
    // length: a walk from the first record skips it, PowerPoint loads it.
    let hidden = sekisho_testkit::ppt::hiding(0x1011, b"an embedded storage");
    let (out, rebuilt) = run(&hidden, &strict()).unwrap();
    let removed = rebuilt.findings.iter().find(|f| f.class == ContentClass::EmbeddedFiles).expect("found");
    assert_eq!(removed.disposition, Disposition::Removed, "{removed:?}");
    assert!(!contains(&out, b"an embedded storage"), "the storage is not in the rebuilt file");
    let blocked = strict().with(ContentClass::EmbeddedFiles, Action::Block);
    assert_eq!(run(&hidden, &blocked).unwrap_err().kind, FailureKind::Blocked(ContentClass::EmbeddedFiles));
    let allowed = strict().with(ContentClass::EmbeddedFiles, Action::Allow);
    let (_, rebuilt) = run(&hidden, &allowed).unwrap();
    let kept: Vec<_> = rebuilt.findings.iter().filter(|f| f.class == ContentClass::EmbeddedFiles).collect();
    assert_eq!(kept.len(), 1, "counted once: {kept:?}");
    assert!(kept[0].detail.starts_with("1 embedded OLE objects"), "{}", kept[0].detail);
}

#[test]
fn a_presentation_loses_its_vba_project_and_macro_actions_in_a_new_record_stream() {
    let deck = sekisho_testkit::ppt::with_macros();
    let (out, rebuilt) = run(&deck, &strict()).unwrap();
    let of = |class: ContentClass| rebuilt.findings.iter().filter(move |f| f.class == class);
    assert!(of(ContentClass::Macros).any(|f| f.disposition == Disposition::Removed), "{:?}", rebuilt.findings);
    assert!(of(ContentClass::Macros).any(|f| f.disposition == Disposition::Neutralized), "{:?}", rebuilt.findings);
    assert!(!contains(&out, b"Sub AutoOpen"), "the project is not in the rebuilt file");
    let text: Vec<u8> = "macro deck".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(contains(&out, &text), "the slide text stays");
    let (_, again) = run(&out, &strict()).unwrap();
    assert!(!has(&again, ContentClass::Macros), "read again, nothing is left: {:?}", again.findings);
    // Macros allowed: nothing is rewritten, and the project stays.
    let (kept, _) = run(&deck, &strict().with(ContentClass::Macros, Action::Allow)).unwrap();
    assert!(contains(&kept, b"Sub AutoOpen"));
    let blocked = strict().with(ContentClass::Macros, Action::Block);
    assert_eq!(run(&deck, &blocked).unwrap_err().kind, FailureKind::Blocked(ContentClass::Macros));
}

#[test]
fn presentations_with_vba_or_ole_objects_in_the_corpus_are_rebuilt() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let files = [
        "oletools__embedded-simple-2007.ppt",
        "oletools__sample_with_vba.ppt",
        "poi__SimpleMacro.ppt",
        "poi__WithMacros.ppt",
        "poi__ole2-embedding-2003.ppt",
    ];
    for name in files {
        let (out, rebuilt) = run(&corpus.read("ole", name), &strict()).unwrap_or_else(|f| panic!("{name}: {f:?}"));
        assert!(has(&rebuilt, ContentClass::Macros) || has(&rebuilt, ContentClass::EmbeddedFiles), "{name}");
        let (_, again) = run(&out, &strict()).unwrap();
        assert!(!has(&again, ContentClass::Macros) && !has(&again, ContentClass::EmbeddedFiles), "{name}: {again:?}");
    }
}

#[test]
fn hostile_inputs_are_refused() {
    assert_eq!(
        run(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 truncated", &strict()).unwrap_err().kind,
        FailureKind::InvalidStructure
    );
    assert_eq!(run(b"not a compound file", &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
    let mut truncated = office::word97(&"Some text. ".repeat(400), WordOptions::default());
    assert!(run(&truncated, &strict()).is_ok(), "whole, the document is fine");
    truncated.truncate(truncated.len() / 2);
    assert!(run(&truncated, &strict()).is_err());
}

#[test]
fn word_text_channel_gives_paragraphs_with_field_results_only() {
    let text = concat!(
        "氏名：山田太郎\r\r住所：東京都千代田区\u{b}メール taro@example.jp\r",
        "番号 \u{13}DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc 999988887777\" \u{14}123456789012\u{15}\r",
        "A\u{7}B\u{7}\u{7}C\u{7}D\u{7}\u{7}最後",
    );
    let doc = office::word97(text, WordOptions { macros: true, properties: true, ..WordOptions::default() });
    let mut host = sekisho_plugin_sdk::CollectText::default();
    sekisho_ole::sanitize(Cursor::new(&doc), &mut Vec::new(), &strict(), &mut host).unwrap();
    let expected = [
        ("paragraph 1", "氏名：山田太郎"),
        ("paragraph 3", "住所：東京都千代田区\nメール taro@example.jp"),
        ("paragraph 4", "番号 123456789012"),
        ("paragraph 5", "A\tB"),
        ("paragraph 6", "C\tD"),
        ("paragraph 7", "最後"),
    ];
    let expected = sekisho_testkit::text_pairs(&expected);
    assert_eq!(host.texts, expected);
    // A cp1252 document: compressed characters decoded.
    let western = office::word97("Caf\u{e9} \u{93}quoted\u{94}\r", WordOptions::default());
    let mut host = sekisho_plugin_sdk::CollectText::default();
    sekisho_ole::sanitize(Cursor::new(&western), &mut Vec::new(), &strict(), &mut host).unwrap();
    assert_eq!(host.texts, [("paragraph 1".to_string(), "Café “quoted”".to_string())]);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
