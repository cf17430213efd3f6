//! The zip plugin, natively, on the real archives of the shared corpus.

use std::io::Cursor;
use std::path::PathBuf;

use sekisho_plugin_sdk::{
    Action, ContentClass, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, FailureKind, Policy,
};

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/zip").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Gives every member back unchanged, as the host does for a clean text file.
struct Echo;

impl Embedder for Echo {
    fn sanitize_embedded(&mut self, _name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Ok(EmbeddedRebuilt {
            outcome: EmbeddedOutcome::Clean,
            format: "text".into(),
            extension: "".into(),
            data: data.to_vec(),
        })
    }
}

fn rebuild(
    data: &[u8],
    policy: &Policy,
) -> Result<(Vec<u8>, Vec<sekisho_plugin_sdk::Finding>), sekisho_plugin_sdk::Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_zip::sanitize(Cursor::new(data), &mut out, policy, &mut Echo)?;
    Ok((out, rebuilt.findings))
}

fn names(zip: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    archive.file_names().map(|n| n.unwrap().into_owned()).collect()
}

#[test]
fn every_corpus_archive_rebuilds_or_fails_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/zip");
    let policy = Policy::uniform(Action::Sanitize);
    let mut rebuilt = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        match rebuild(&data, &policy) {
            Ok((out, _)) => {
                rebuilt += 1;
                for name in names(&out) {
                    assert!(
                        !name.starts_with('/') && !name.split('/').any(|p| p == ".."),
                        "{}: {name}",
                        path.display()
                    );
                }
                // Idempotent: a second pass gives the same bytes.
                let (again, _) = rebuild(&out, &policy).unwrap();
                assert_eq!(again, out, "{} is not idempotent", path.display());
            }
            Err(failure) => assert!(!failure.detail.is_empty(), "{}", path.display()),
        }
    }
    assert!(rebuilt >= 12, "only {rebuilt} archives rebuilt");
}

#[test]
fn traversal_names_are_rewritten_and_reported() {
    let (out, findings) = rebuild(&corpus("rubyzip__out_evil.zip"), &Policy::uniform(Action::Sanitize)).unwrap();
    assert!(names(&out).iter().all(|n| !n.contains("..")));
    assert!(findings.iter().any(|f| f.class == ContentClass::MalformedStructure && f.detail.contains("traversal")));
}

#[test]
fn encrypted_members_follow_the_encryption_class() {
    let data = corpus("rubyzip__zipWithEncryption.zip");
    let (out, findings) = rebuild(&data, &Policy::uniform(Action::Sanitize)).unwrap();
    assert!(findings.iter().any(|f| f.class == ContentClass::Encryption));
    let archive = zip::ZipArchive::new(Cursor::new(&out)).unwrap();
    assert!((0..archive.len()).all(|i| !archive.clone().by_index_raw(i).unwrap().encrypted()));
    let blocked = Policy::uniform(Action::Sanitize).with(ContentClass::Encryption, Action::Block);
    let failure = rebuild(&data, &blocked).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Encryption));
}

#[test]
fn inflation_is_limited_by_bytes_actually_produced() {
    // 50 MB of zeros deflates to ~50 KB: a ratio near 1000.
    let mut buf = Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buf);
    writer.start_file("zeros.txt", zip::write::SimpleFileOptions::default()).unwrap();
    std::io::Write::write_all(&mut writer, &vec![0u8; 50 << 20]).unwrap();
    writer.finish().unwrap();
    let failure = rebuild(buf.get_ref(), &Policy::uniform(Action::Sanitize)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::LimitExceeded, "{}", failure.detail);
}

#[test]
fn hidden_duplicate_entries_are_reported() {
    // A symlink and a file both named "moo": only one can survive.
    let (out, findings) = rebuild(&corpus("rubyzip__symlink.zip"), &Policy::uniform(Action::Sanitize)).unwrap();
    assert_eq!(names(&out), vec!["moo"]);
    assert!(findings.iter().any(|f| f.detail.contains("duplicate")), "{findings:?}");
}
