//! The zip plugin, natively: generated archives for each behaviour, and the
//! real archives of the shared corpus when `SEKISHO_CORPUS` names it.

use std::io::Cursor;

use sekisho_plugin_sdk::{
    Action, ContentClass, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, FailureKind, Policy,
};

use sekisho_testkit::fixtures;

/// Gives every member back unchanged, as the host does for a clean text file.
struct Echo;

impl Embedder for Echo {
    fn sanitize_embedded(&mut self, _name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Ok(EmbeddedRebuilt {
            outcome: EmbeddedOutcome::Clean,
            format: "text".into(),
            extension: "".into(),
            media_type: "text/plain".into(),
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
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let policy = Policy::uniform(Action::Sanitize);
    let mut rebuilt = 0;
    for path in corpus.files("zip") {
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

/// Traversal names are rewritten and each is reported.
fn assert_traversal_rewritten(label: &str, data: &[u8]) {
    let (out, findings) = rebuild(data, &Policy::uniform(Action::Sanitize)).unwrap();
    assert!(names(&out).iter().all(|n| !n.contains("..") && !n.starts_with('/')), "{label}: {:?}", names(&out));
    assert!(
        findings.iter().any(|f| f.class == ContentClass::MalformedStructure && f.detail.contains("traversal")),
        "{label}: {findings:?}"
    );
}

#[test]
fn traversal_names_are_rewritten_and_reported() {
    let data = fixtures::zip_traversal();
    assert_traversal_rewritten("generated", &data);
    let (out, findings) = rebuild(&data, &Policy::uniform(Action::Sanitize)).unwrap();
    assert_eq!(names(&out).len(), names(&data).len(), "every member stays, renamed");
    for name in fixtures::TRAVERSAL_NAMES {
        assert!(findings.iter().any(|f| f.location == name), "{name} is not reported: {findings:?}");
    }
}

#[test]
fn traversal_names_in_the_corpus_are_rewritten_and_reported() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_traversal_rewritten("rubyzip__out_evil.zip", &corpus.read("zip", "rubyzip__out_evil.zip"));
}

/// A stored archive whose member `name` has the encryption flag set in its
/// local and central headers (its data stands for ciphertext).
fn with_encrypted_member(name: &str) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buf);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (member, data) in [("plain.txt", &b"readable"[..]), (name, b"\x8e\x11\x02 ciphertext bytes")] {
        writer.start_file(member, options).unwrap();
        std::io::Write::write_all(&mut writer, data).unwrap();
    }
    writer.finish().unwrap();
    let mut data = buf.into_inner();
    // General purpose flag bit 0: offset 6 of a local header, 8 of a central one.
    for (signature, flags) in [(&b"PK\x03\x04"[..], 6), (b"PK\x01\x02", 8)] {
        let at = data
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == signature)
            .map(|(i, _)| i)
            .find(|&i| {
                let name_at = if flags == 6 { i + 30 } else { i + 46 };
                data[name_at..].starts_with(name.as_bytes())
            })
            .unwrap();
        data[at + flags] |= 1;
    }
    data
}

/// Encrypted members go under the encryption class; blocked, the archive is refused.
fn assert_encryption_followed(label: &str, data: &[u8]) {
    let (out, findings) = rebuild(data, &Policy::uniform(Action::Sanitize)).unwrap();
    assert!(findings.iter().any(|f| f.class == ContentClass::Encryption), "{label}: {findings:?}");
    let archive = zip::ZipArchive::new(Cursor::new(&out)).unwrap();
    assert!((0..archive.len()).all(|i| !archive.clone().by_index_raw(i).unwrap().encrypted()), "{label}");
    let blocked = Policy::uniform(Action::Sanitize).with(ContentClass::Encryption, Action::Block);
    let failure = rebuild(data, &blocked).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Encryption), "{label}");
}

#[test]
fn encrypted_members_follow_the_encryption_class() {
    let data = with_encrypted_member("secret.txt");
    assert!(zip::ZipArchive::new(Cursor::new(&data)).unwrap().by_name("secret.txt").is_err(), "really encrypted");
    assert_encryption_followed("generated", &data);
    let (out, _) = rebuild(&data, &Policy::uniform(Action::Sanitize)).unwrap();
    assert_eq!(names(&out), ["plain.txt"], "the readable member stays");
}

#[test]
fn encrypted_members_in_the_corpus_follow_the_encryption_class() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_encryption_followed("rubyzip__zipWithEncryption.zip", &corpus.read("zip", "rubyzip__zipWithEncryption.zip"));
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

/// A symlink and a file both named "moo", as in rubyzip's `symlink.zip`:
/// written under two names of the same length, then renamed in place.
fn symlink_and_file_with_one_name() -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buf);
    let options = zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
    writer.add_symlink("mo1", "/etc/passwd", options).unwrap();
    writer.start_file("moo", options).unwrap();
    std::io::Write::write_all(&mut writer, b"a file\n").unwrap();
    writer.finish().unwrap();
    let mut data = buf.into_inner();
    let renamed: Vec<usize> = data.windows(3).enumerate().filter(|(_, w)| *w == b"mo1").map(|(i, _)| i).collect();
    assert_eq!(renamed.len(), 2, "the name is in the local and the central header");
    for at in renamed {
        data[at + 2] = b'o';
    }
    data
}

/// Only one of the entries sharing a name survives, and that is reported.
fn assert_duplicates_reported(label: &str, data: &[u8]) {
    let (out, findings) = rebuild(data, &Policy::uniform(Action::Sanitize)).unwrap();
    assert_eq!(names(&out), vec!["moo"], "{label}");
    assert!(findings.iter().any(|f| f.detail.contains("duplicate")), "{label}: {findings:?}");
}

#[test]
fn hidden_duplicate_entries_are_reported() {
    let data = symlink_and_file_with_one_name();
    assert!(zip::ZipArchive::new(Cursor::new(&data)).unwrap().has_duplicate_names());
    assert_duplicates_reported("generated", &data);
}

#[test]
fn hidden_duplicate_entries_in_the_corpus_are_reported() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    // A symlink and a file both named "moo": only one can survive.
    assert_duplicates_reported("rubyzip__symlink.zip", &corpus.read("zip", "rubyzip__symlink.zip"));
}

/// Rebuilds members as [`Echo`] does and keeps the text handed to it.
#[derive(Default)]
struct Collect {
    texts: Vec<(String, String)>,
}

impl Embedder for Collect {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        Echo.sanitize_embedded(name, data)
    }

    fn emit_text(&mut self, location: &str, text: &str) {
        self.texts.push((location.to_owned(), text.to_owned()));
    }
}

#[test]
fn the_archive_hands_the_host_no_text_of_its_own() {
    let archive = fixtures::zip(&[
        ("山田太郎_taro@example.jp.txt", "東京都千代田区 123456789012\n".as_bytes()),
        ("名簿/090-1234-5678.csv", "山田太郎,taro@example.jp\n".as_bytes()),
    ]);
    let mut host = Collect::default();
    sekisho_zip::sanitize(Cursor::new(&archive), &mut Vec::new(), &Policy::uniform(Action::Sanitize), &mut host)
        .unwrap();
    assert!(host.texts.is_empty(), "members' text comes from their own plugins, names are not text: {:?}", host.texts);
}

/// An archive whose members are encrypted with `password`: WinZip AES-256
/// or ZipCrypto.
fn encrypted_archive(members: &[(&str, &[u8])], password: &str, aes: bool) -> Vec<u8> {
    use zip::unstable::write::FileOptionsExt;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        let plain = zip::write::SimpleFileOptions::default();
        let options = if aes {
            plain.with_aes_encryption(zip::AesMode::Aes256, password)
        } else {
            plain.with_deprecated_encryption(password.as_bytes()).unwrap()
        };
        writer.start_file(*name, options).unwrap();
        std::io::Write::write_all(&mut writer, data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn encrypted_members_open_with_a_candidate_and_fail_without_one() {
    use sekisho_plugin_sdk::{Disposition, PasswordSource};
    for aes in [true, false] {
        let data = encrypted_archive(&[("a.txt", b"first"), ("b.txt", b"second")], "open-sesame", aes);
        let policy = Policy::uniform(Action::Sanitize)
            .with_password("nope", PasswordSource::Request)
            .with_password("open-sesame", PasswordSource::List);
        let (out, findings) = rebuild(&data, &policy).unwrap();
        assert_eq!(names(&out), ["a.txt", "b.txt"], "aes {aes}");
        let decrypted: Vec<_> = findings.iter().filter(|f| f.class == ContentClass::Encryption).collect();
        assert_eq!(decrypted.len(), 2, "aes {aes}: {findings:?}");
        assert!(
            decrypted
                .iter()
                .all(|f| f.detail == "decrypted (password from: list)" && f.disposition == Disposition::Removed)
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(&out)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("b.txt").unwrap(), &mut text).unwrap();
        assert_eq!(text, "second");

        let wrong = Policy::uniform(Action::Sanitize).with_password("nope", PasswordSource::Request);
        assert_eq!(rebuild(&data, &wrong).unwrap_err().kind, FailureKind::Encrypted, "aes {aes}");
        // Allowed encrypted content that no candidate opens is kept as it is.
        let (kept, _) = rebuild(&data, &wrong.with(ContentClass::Encryption, Action::Allow)).unwrap();
        assert!(zip::ZipArchive::new(Cursor::new(&kept)).unwrap().by_index_raw(0).unwrap().encrypted());

        let reencrypt = Policy { reencrypt: true, ..policy.clone() };
        let (again, findings) = rebuild(&data, &reencrypt).unwrap();
        assert!(findings.iter().all(|f| f.class != ContentClass::Encryption || f.detail.contains("AES-256")));
        let mut archive = zip::ZipArchive::new(Cursor::new(&again)).unwrap();
        assert!(archive.by_index_raw(0).unwrap().encrypted());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_index_decrypt(1, b"open-sesame").unwrap(), &mut text).unwrap();
        assert_eq!(text, "second");
    }
}
