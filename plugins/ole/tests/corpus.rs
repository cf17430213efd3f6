//! The compound-file plugin, natively, on the shared corpus.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sekisho_plugin_sdk::{
    Action, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure,
    FailureKind, HyperlinkMode, Policy, Rebuilt,
};

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ole");
    assert!(dir.is_dir(), "the shared corpus is missing at {}", dir.display());
    dir
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
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

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join(name)).unwrap()
}

fn has(rebuilt: &Rebuilt, class: ContentClass) -> bool {
    rebuilt.findings.iter().any(|f| f.class == class)
}

#[test]
fn every_corpus_file_is_rebuilt_or_refused_with_a_reason() {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ole-strict");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (mut rebuilt_count, mut refused) = (0, Vec::new());
    for path in corpus_files() {
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
    for path in corpus_files() {
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

#[test]
fn word_macros_and_properties_go() {
    let (out, rebuilt) = run(&read("poi__SimpleMacro.doc"), &strict()).unwrap();
    assert!(rebuilt.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Removed));
    assert!(has(&rebuilt, ContentClass::Metadata));
    let (_, again) = run(&out, &strict()).unwrap();
    assert!(again.findings.is_empty(), "{:#?}", again.findings);
    let keep = strict().with(ContentClass::Macros, Action::Allow);
    let (_, kept) = run(&read("poi__SimpleMacro.doc"), &keep).unwrap();
    assert!(kept.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Kept));
}

#[test]
fn word_dde_fields_are_blanked_in_place() {
    let input = read("oletools__dde-test-from-office2016.doc");
    let (out, rebuilt) = run(&input, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Dde), "{:#?}", rebuilt.findings);
    let (_, again) = run(&out, &strict()).unwrap();
    assert!(!has(&again, ContentClass::Dde));
}

#[test]
fn packaged_files_are_removed_and_excel_macros_are_refused() {
    let (_, rebuilt) = run(&read("oletools__embedded-simple-2007.doc"), &strict()).unwrap();
    assert!(
        rebuilt.findings.iter().any(|f| f.class == ContentClass::ActiveObjects && f.detail.contains("Ole10Native"))
    );
    let failure = run(&read("oletools__excel4_sample_macro.xls"), &strict()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Macros));
    assert!(failure.detail.contains("Excel 4 macro sheets"), "{}", failure.detail);
    let keep = strict().with(ContentClass::Macros, Action::Allow);
    assert!(run(&read("oletools__excel4_sample_macro.xls"), &keep).is_ok());
}

#[test]
fn encrypted_documents_fail_as_encrypted() {
    for file in ["poi__PasswordProtected.doc", "poi__Password_Protected-hello.ppt"] {
        assert_eq!(run(&read(file), &strict()).unwrap_err().kind, FailureKind::Encrypted, "{file}");
    }
}

#[test]
fn hostile_inputs_are_refused() {
    assert_eq!(
        run(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 truncated", &strict()).unwrap_err().kind,
        FailureKind::InvalidStructure
    );
    assert_eq!(run(b"not a compound file", &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
    let mut truncated = read("textract__raw_text.doc");
    truncated.truncate(truncated.len() / 2);
    assert!(run(&truncated, &strict()).is_err());
}
