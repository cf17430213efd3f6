//! Encrypted input (issue #16): password candidates from each source (the
//! library's `Policy::with_passwords`, the policy's `password-list`, the
//! CLI's `--password-file`, the HTTP `X-Sekisho-Password` header) open ZIP
//! (WinZip AES, ZipCrypto), PDF and Office (agile) files inside the
//! sandbox; the rebuilt file is sanitized, the report and the audit line
//! name the source, and no password ever appears in an output, a report, an
//! audit line or a log. Wrong candidates fail as `encrypted`; a huge list
//! ends at the fuel limit; `encrypted = "block"` refuses as before.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use common::*;
use sekisho::policy::{Password, PasswordSource, Policy};
use sekisho::report::{Item, Outcome, Report};

/// The password the fixtures are encrypted with.
const RIGHT: &str = "Kc9#vT2-zip-pass";
/// Candidates that open nothing.
const WRONG: &str = "wrong-guess-5531";
const ALSO_WRONG: &str = "not-it-either-0072";
/// Every secret of these tests: none may leak anywhere.
const SECRETS: [&str; 3] = [RIGHT, WRONG, ALSO_WRONG];

fn try_passwords() -> Policy {
    Policy::from_toml("encrypted = \"try-passwords\"\n", "try.toml").unwrap()
}

fn candidates(secrets: &[&str], source: PasswordSource) -> Vec<Password> {
    secrets.iter().map(|s| Password::new(*s, source)).collect()
}

/// A ZIP whose members are WinZip AES-256 encrypted with `password`.
fn aes_zip(members: &[(&str, &[u8])], password: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        let options = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, password);
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A ZIP whose members are ZipCrypto encrypted with `password`.
fn zipcrypto_zip(members: &[(&str, &[u8])], password: &str) -> Vec<u8> {
    use zip::unstable::write::FileOptionsExt;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        let options = zip::write::SimpleFileOptions::default().with_deprecated_encryption(password.as_bytes()).unwrap();
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A macro-enabled Word document and workbook, the usual payload.
fn office_members() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("report.docm", sekisho_testkit::office::docm("quarterly figures")),
        ("sheet.xlsm", sekisho_testkit::office::workbook(&["total"], true)),
    ]
}

fn as_refs<'a>(members: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    members.iter().map(|(n, d)| (*n, d.as_slice())).collect()
}

/// Every item of a report and of its children.
fn all_items(report: &Report) -> Vec<&Item> {
    let mut items: Vec<&Item> = report.items.iter().collect();
    for child in &report.children {
        items.extend(all_items(child));
    }
    items
}

fn decrypted(report: &Report) -> Vec<String> {
    all_items(report)
        .into_iter()
        .filter(|i| i.class == "encryption" && i.detail.starts_with("decrypted"))
        .map(|i| i.detail.clone())
        .collect()
}

/// No secret in `bytes` (an output, a report, a log).
fn assert_no_secret(bytes: &[u8], what: &str) {
    for secret in SECRETS {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "a password appears in {what}");
    }
}

fn assert_sanitized_office_zip(output: &[u8]) {
    let names = zip_names(output);
    assert!(names.contains(&"report.docx".to_owned()) && names.contains(&"sheet.xlsx".to_owned()), "{names:?}");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(output)).unwrap();
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).expect("the output is not encrypted");
        let mut data = Vec::new();
        member.read_to_end(&mut data).unwrap();
        let inner = zip_names(&data);
        assert!(!inner.iter().any(|n| n.contains("vbaProject")), "macros left in {:?}: {inner:?}", member.name());
    }
}

#[test]
fn aes_and_zipcrypto_archives_open_with_candidates_attached_by_the_caller() {
    let members = office_members();
    for (kind, archive) in
        [("aes", aes_zip(&as_refs(&members), RIGHT)), ("zipcrypto", zipcrypto_zip(&as_refs(&members), RIGHT))]
    {
        let policy = try_passwords().with_passwords(candidates(&[WRONG, RIGHT], PasswordSource::Mail));
        let result = sanitize_bytes(engine(), "bundle.zip", &archive, &policy);
        assert_eq!(result.report.outcome, Outcome::Sanitized, "{kind}: {:#?}", result.report);
        assert_eq!(decrypted(&result.report), ["decrypted (password from: mail)"; 2], "{kind}");
        let macros = all_items(&result.report).into_iter().filter(|i| i.class == "macros").count();
        assert!(macros >= 2, "{kind}: the macros of both members are reported: {:#?}", result.report);
        let output = result.output.expect("output");
        assert_sanitized_office_zip(&output);
        assert_no_secret(&output, "the output");
        assert_no_secret(serde_json::to_string(&result.report).unwrap().as_bytes(), "the report");
        assert_no_secret(format!("{policy:?}").as_bytes(), "the policy's Debug");
    }
}

#[test]
fn wrong_candidates_fail_as_encrypted_and_block_refuses_as_before() {
    let archive = aes_zip(&[("a.csv", b"a,b\n")], RIGHT);
    let wrong = try_passwords().with_passwords(candidates(&[WRONG, ALSO_WRONG], PasswordSource::Request));
    let failed = sanitize_bytes(engine(), "a.zip", &archive, &wrong);
    assert_eq!(failed.report.outcome, Outcome::Failed, "{:#?}", failed.report);
    assert_eq!(reason(&failed.report).0, "encrypted");
    assert!(failed.output.is_none());
    assert_no_secret(serde_json::to_string(&failed.report).unwrap().as_bytes(), "the report");

    // `encrypted = "block"` (the default): the candidates are not used; an
    // encrypted member falls under the `encryption` class, removed as before.
    let block = Policy::default().with_passwords(candidates(&[RIGHT], PasswordSource::Request));
    let refused = sanitize_bytes(engine(), "a.zip", &archive, &block);
    assert!(decrypted(&refused.report).is_empty(), "{:#?}", refused.report);
    assert!(refused.report.items.iter().any(|i| i.class == "encryption" && i.detail.contains("cannot be inspected")));
    assert!(refused.output.as_deref().is_none_or(|o| zip_names(o).is_empty()), "nothing encrypted is kept");
    // A policy that blocks the class refuses the file, candidates or not.
    let blocked_class = Policy::from_toml("encrypted = \"try-passwords\"\n[classes]\nencryption = \"block\"\n", "t")
        .unwrap()
        .with_passwords(candidates(&[RIGHT], PasswordSource::Request));
    let blocked = sanitize_bytes(engine(), "a.zip", &archive, &blocked_class);
    assert_eq!(blocked.report.outcome, Outcome::Blocked, "{:#?}", blocked.report);
}

#[test]
fn reencrypt_writes_the_rebuilt_members_aes_256_with_the_same_password() {
    let members = office_members();
    let archive = zipcrypto_zip(&as_refs(&members), RIGHT);
    let policy = Policy::from_toml("encrypted = \"try-passwords\"\nreencrypt = true\n", "t")
        .unwrap()
        .with_passwords(candidates(&[RIGHT], PasswordSource::Request));
    let result = sanitize_bytes(engine(), "bundle.zip", &archive, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    let details = decrypted(&result.report);
    assert!(details.iter().all(|d| d.contains("AES-256") && d.ends_with("(password from: request)")), "{details:?}");
    let output = result.output.unwrap();
    let mut reader = zip::ZipArchive::new(std::io::Cursor::new(&output)).unwrap();
    for index in 0..reader.len() {
        assert!(reader.by_index_raw(index).unwrap().encrypted(), "member {index} is encrypted again");
        let mut data = Vec::new();
        reader.by_index_decrypt(index, RIGHT.as_bytes()).unwrap().read_to_end(&mut data).unwrap();
        assert!(!zip_names(&data).iter().any(|n| n.contains("vbaProject")));
    }
    // The output goes through again with the same password: idempotent in outcome.
    let again = sanitize_bytes(engine(), "bundle.zip", &output, &policy);
    assert!(again.report.outcome.passed(), "{:#?}", again.report);
}

#[test]
fn an_encrypted_archive_inside_an_encrypted_archive_opens_level_by_level() {
    let members = office_members();
    let inner = aes_zip(&as_refs(&members), RIGHT);
    let outer = zipcrypto_zip(&[("inner.zip", &inner), ("note.txt", b"see inner.zip\n")], RIGHT);
    let policy = try_passwords().with_passwords(candidates(&[ALSO_WRONG, RIGHT], PasswordSource::List));
    let result = sanitize_bytes(engine(), "outer.zip", &outer, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(decrypted(&result.report).len(), 4, "two outer members and two inner ones: {:#?}", result.report);
    let output = result.output.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&output)).unwrap();
    let mut inner_out = Vec::new();
    archive.by_name("inner.zip").unwrap().read_to_end(&mut inner_out).unwrap();
    assert_sanitized_office_zip(&inner_out);
}

#[test]
fn a_million_candidates_end_at_the_fuel_limit() {
    let archive = aes_zip(&[("a.csv", b"a,b\n")], RIGHT);
    let many: Vec<Password> =
        (0..1_000_000).map(|i| Password::new(format!("guess-{i:07}"), PasswordSource::List)).collect();
    let policy = try_passwords().with_passwords(many);
    let result = sanitize_bytes(engine(), "a.zip", &archive, &policy);
    assert_eq!(result.report.outcome, Outcome::Failed, "{:#?}", result.report.reason);
    let (kind, limit) = reason(&result.report);
    assert_eq!(kind, "limit-exceeded", "{:?}", result.report.reason);
    assert!(matches!(limit.as_deref(), Some("fuel" | "time")), "{limit:?}");
}

/// A policy file trying passwords, with a list beside it.
fn policy_with_list(dir: &Path, list: &[&str], extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("passwords.txt"), list.join("\n") + "\n").unwrap();
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        format!("name = \"gw\"\nencrypted = \"try-passwords\"\npassword-list = \"passwords.txt\"\n{extra}"),
    )
    .unwrap();
    path
}

#[test]
fn the_policy_list_is_tried_after_what_the_request_sent() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::from_file(&policy_with_list(dir.path(), &[WRONG, RIGHT], "")).unwrap();
    assert_eq!(policy.passwords().len(), 2);
    assert_no_secret(policy.to_toml().as_bytes(), "policy show");
    assert_no_secret(format!("{policy:?}").as_bytes(), "the policy's Debug");
    let archive = aes_zip(&[("a.csv", b"a,=1+1\n")], RIGHT);
    let from_list = sanitize_bytes(engine(), "a.zip", &archive, &policy);
    assert_eq!(decrypted(&from_list.report), ["decrypted (password from: list)"], "{:#?}", from_list.report);
    // What the request sent comes first, whatever order it was attached in.
    let both = policy.clone().with_passwords(candidates(&[RIGHT], PasswordSource::Request));
    assert_eq!(both.passwords()[0].source(), PasswordSource::Request);
    let from_request = sanitize_bytes(engine(), "a.zip", &archive, &both);
    assert_eq!(decrypted(&from_request.report), ["decrypted (password from: request)"]);
    // The hash of the policy does not depend on the candidates.
    assert_eq!(both.sha256(), policy.sha256());
}

fn sekisho(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(args)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .output()
        .expect("run sekisho")
}

#[test]
fn cli_password_file_opens_the_archive_and_the_audit_line_names_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_with_list(dir.path(), &[ALSO_WRONG], "");
    let input = dir.path().join("bundle.zip");
    std::fs::write(&input, aes_zip(&as_refs(&office_members()), RIGHT)).unwrap();
    let passwords = dir.path().join("mine.txt");
    std::fs::write(&passwords, format!("{WRONG}\r\n\n{RIGHT}\n")).unwrap();
    let (out, report, audit) = (dir.path().join("clean.zip"), dir.path().join("r.json"), dir.path().join("a.jsonl"));
    let run = sekisho(&[
        "-vv",
        "sanitize",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--audit",
        audit.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--password-file",
        passwords.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report_text = std::fs::read(&report).unwrap();
    let report_json: serde_json::Value = serde_json::from_slice(&report_text).unwrap();
    assert_eq!(report_json["outcome"], "sanitized");
    assert!(String::from_utf8_lossy(&report_text).contains("decrypted (password from: request)"));
    let audit_text = std::fs::read_to_string(&audit).unwrap();
    assert!(audit_text.contains("bundle.zip: decrypted (password from: request)"), "{audit_text}");
    let output = std::fs::read(&out).unwrap();
    assert_sanitized_office_zip(&output);
    for (bytes, what) in [
        (&output, "the output"),
        (&report_text, "the report"),
        (&audit_text.as_bytes().to_vec(), "the audit line"),
        (&run.stderr, "stderr"),
        (&run.stdout, "stdout"),
    ] {
        assert_no_secret(bytes, what);
    }

    // A password file over the limit is refused, without quoting it.
    let huge = dir.path().join("huge.txt");
    let line = format!("{WRONG}\n");
    std::fs::write(&huge, line.repeat((17 << 20) / line.len())).unwrap();
    let refused = sekisho(&[
        "sanitize",
        input.to_str().unwrap(),
        "-o",
        dir.path().join("x.zip").to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--password-file",
        huge.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("at most"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_no_secret(&refused.stderr, "stderr");
}

#[test]
fn http_password_headers_open_the_archive_and_never_reach_a_log() {
    if !tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_with_list(dir.path(), &[], "");
    let audit = dir.path().join("audit.jsonl");
    let input = dir.path().join("bundle.zip");
    std::fs::write(&input, zipcrypto_zip(&as_refs(&office_members()), RIGHT)).unwrap();
    let (mut child, address, log) = spawn_server_logged(
        Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .args(["-vv", "serve", "--listen", "127.0.0.1:0", "--policy", policy.to_str().unwrap()])
            .args(["--audit", audit.to_str().unwrap()])
            .env("SEKISHO_CACHE_DIR", cache_dir())
            .env_remove("SEKISHO_TOKEN"),
    );
    let curl = |path: &str, out: &Path| {
        Command::new("curl")
            .args(["-s", "--max-time", "120", "-o", out.to_str().unwrap(), "-w", "%{http_code}"])
            .args(["-H", &format!("X-Sekisho-Password: {WRONG}"), "-H", &format!("X-Sekisho-Password: {RIGHT}")])
            .args(["--data-binary", &format!("@{}", input.display())])
            .arg(format!("http://{address}{path}?name=bundle.zip"))
            .output()
            .unwrap()
    };
    let scanned = dir.path().join("scan.json");
    let scan = curl("/v1/scan", &scanned);
    let cleaned = dir.path().join("clean.zip");
    let sanitize = curl("/v1/sanitize", &cleaned);
    let emptied = dir.path().join("emptied.zip");
    let without = Command::new("curl")
        .args(["-s", "--max-time", "120", "-o", emptied.to_str().unwrap(), "-w", "%{http_code}"])
        .args(["--data-binary", &format!("@{}", input.display())])
        .arg(format!("http://{address}/v1/sanitize?name=bundle.zip"))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(String::from_utf8_lossy(&scan.stdout), "200", "scan");
    let report = std::fs::read(&scanned).unwrap();
    assert!(String::from_utf8_lossy(&report).contains("decrypted (password from: request)"));
    assert_eq!(String::from_utf8_lossy(&sanitize.stdout), "200", "sanitize");
    let output = std::fs::read(&cleaned).unwrap();
    assert_sanitized_office_zip(&output);
    // Without a candidate, the encrypted members are removed as before.
    if String::from_utf8_lossy(&without.stdout) == "200" {
        assert!(zip_names(&std::fs::read(&emptied).unwrap()).is_empty());
    }
    let audit_text = std::fs::read(&audit).unwrap();
    assert!(String::from_utf8_lossy(&audit_text).contains("decrypted (password from: request)"));
    let log = log.lock().unwrap().clone();
    for (bytes, what) in
        [(&output, "the output"), (&report, "the report"), (&audit_text, "the audit log"), (&log, "the log")]
    {
        assert_no_secret(bytes, what);
    }
}

/// `qpdf --encrypt`: a PDF with a user password, or `None` without qpdf.
fn qpdf_encrypted(dir: &Path, pdf: &[u8], user: &str) -> Option<Vec<u8>> {
    if !tool("qpdf") {
        return None;
    }
    let (plain, locked) = (dir.join("plain.pdf"), dir.join("locked.pdf"));
    std::fs::write(&plain, pdf).unwrap();
    let status = Command::new("qpdf")
        .args(["--encrypt", user, "owner-secret-x", "256", "--"])
        .args([plain.as_os_str(), locked.as_os_str()])
        .status()
        .unwrap();
    assert!(status.success());
    Some(std::fs::read(&locked).unwrap())
}

fn qpdf_check(dir: &Path, pdf: &[u8]) {
    let path = dir.join("out.pdf");
    std::fs::write(&path, pdf).unwrap();
    let check = Command::new("qpdf").arg("--check").arg(&path).output().unwrap();
    assert!(check.status.success(), "qpdf --check: {}", String::from_utf8_lossy(&check.stdout));
    let shown = Command::new("qpdf").arg("--show-encryption").arg(&path).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("File is not encrypted"));
}

#[test]
fn a_pdf_with_a_user_password_opens_and_comes_out_decrypted_and_sanitized() {
    let dir = tempfile::tempdir().unwrap();
    let Some(locked) = qpdf_encrypted(dir.path(), &sekisho_testkit::pdf::with_javascript(), RIGHT) else { return };
    let refused = sanitize_bytes(engine(), "locked.pdf", &locked, &try_passwords());
    assert_eq!(reason(&refused.report).0, "encrypted", "{:#?}", refused.report);
    let wrong = try_passwords().with_passwords(candidates(&[WRONG], PasswordSource::Request));
    assert_eq!(reason(&sanitize_bytes(engine(), "locked.pdf", &locked, &wrong).report).0, "encrypted");

    let policy = try_passwords().with_passwords(candidates(&[WRONG, RIGHT], PasswordSource::Request));
    let result = sanitize_bytes(engine(), "locked.pdf", &locked, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(decrypted(&result.report), ["decrypted (password from: request)"]);
    assert!(result.report.items.iter().any(|i| i.class == "scripts"), "the JavaScript is found once decrypted");
    let output = result.output.unwrap();
    assert_no_secret(&output, "the output");
    qpdf_check(dir.path(), &output);
}

#[test]
fn reencrypt_writes_a_rebuilt_pdf_aes_256_with_the_same_password() {
    let dir = tempfile::tempdir().unwrap();
    let Some(locked) = qpdf_encrypted(dir.path(), &sekisho_testkit::pdf::with_javascript(), RIGHT) else { return };
    let policy = Policy::from_toml("encrypted = \"try-passwords\"\nreencrypt = true\n", "t")
        .unwrap()
        .with_passwords(candidates(&[RIGHT], PasswordSource::List));
    let result = sanitize_bytes(engine(), "locked.pdf", &locked, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(
        decrypted(&result.report),
        ["decrypted and encrypted again with the same password, AES-256 (password from: list)"]
    );
    assert!(result.report.items.iter().any(|i| i.class == "scripts"), "sanitized before it was locked again");
    let output = result.output.unwrap();
    assert_no_secret(&output, "the output");
    let path = dir.path().join("relocked.pdf");
    std::fs::write(&path, &output).unwrap();
    let qpdf = |args: &[&str]| Command::new("qpdf").args(args).arg(&path).output().unwrap();
    let shown = qpdf(&["--show-encryption", &format!("--password={RIGHT}")]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("R = 6") && shown.contains("AESv3"), "AES-256 (revision 6): {shown}");
    assert!(qpdf(&["--check", &format!("--password={RIGHT}")]).status.success(), "opens with the password");
    let without = qpdf(&["--check", "--password=not-it"]);
    assert!(!without.status.success(), "and not without it");
    // Through again with the same password: it opens, and is locked again.
    let again = sanitize_bytes(engine(), "relocked.pdf", &output, &policy);
    assert!(again.report.outcome.passed(), "{:#?}", again.report);
}

#[test]
fn an_agile_encrypted_docm_opens_and_comes_out_a_docx_without_macros() {
    if !tool("msoffcrypto-tool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (plain, locked) = (dir.path().join("plain.docm"), dir.path().join("locked.docm"));
    // Text that does not compress: msoffcrypto-tool writes packages under
    // 4096 bytes (the compound file's mini stream) that nothing can read.
    let mut seed = 0x2545_f491_u32;
    let noise: String = (0..6000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            char::from(b'a' + (seed >> 16) as u8 % 26)
        })
        .collect();
    std::fs::write(&plain, sekisho_testkit::office::docm(&format!("budget 2027 {noise}"))).unwrap();
    let status = Command::new("msoffcrypto-tool")
        .args(["-e", "-p", RIGHT])
        .args([plain.as_os_str(), locked.as_os_str()])
        .status()
        .unwrap();
    assert!(status.success());
    let locked = std::fs::read(&locked).unwrap();
    let without = sanitize_bytes(engine(), "locked.docm", &locked, &try_passwords());
    assert_eq!(without.report.outcome, Outcome::Failed, "{:#?}", without.report);
    assert_eq!(reason(&without.report).0, "encrypted");

    let policy = try_passwords().with_passwords(candidates(&[WRONG, RIGHT], PasswordSource::Mail));
    let result = sanitize_bytes(engine(), "locked.docm", &locked, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(result.report.input.format.as_deref(), Some("ooxml-encrypted"));
    let info = result.report.output.as_ref().unwrap();
    assert_eq!((info.format.as_str(), info.extension.as_str()), ("docx", "docx"));
    assert_eq!(decrypted(&result.report), ["decrypted (password from: mail)"]);
    assert!(result.report.items.iter().any(|i| i.class == "macros"));
    let output = result.output.unwrap();
    assert!(!zip_names(&output).iter().any(|n| n.contains("vbaProject")));
    assert_no_secret(&output, "the output");
    assert_no_secret(serde_json::to_string(&result.report).unwrap().as_bytes(), "the report");
    // The decrypted, rebuilt document opens in LibreOffice with its text.
    if tool("soffice") {
        let docx = dir.path().join("clean.docx");
        std::fs::write(&docx, &output).unwrap();
        let converted = Command::new("soffice")
            .arg(format!("-env:UserInstallation=file://{}", dir.path().join("profile").display()))
            .args(["--headless", "--convert-to", "txt:Text", "--outdir"])
            .arg(dir.path())
            .arg(&docx)
            .output()
            .unwrap();
        assert!(converted.status.success(), "soffice: {}", String::from_utf8_lossy(&converted.stderr));
        let text = std::fs::read_to_string(dir.path().join("clean.txt")).unwrap();
        assert!(text.contains("budget 2027"), "{text}");
    }
}

#[test]
fn a_standard_encrypted_docm_opens_and_comes_out_a_docx_without_macros() {
    let docm = sekisho_testkit::office::docm("budget 2027, standard encryption");
    let locked = sekisho_testkit::office::standard_encrypted(&docm, RIGHT);
    // msoffcrypto-tool, an independent reader, opens the fixture to the
    // same package: the fixture is what Office 2007 would write.
    if tool("msoffcrypto-tool") {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("locked.docm"), dir.path().join("plain.docm"));
        std::fs::write(&input, &locked).unwrap();
        let status = Command::new("msoffcrypto-tool").args(["-p", RIGHT]).arg(&input).arg(&output).status().unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read(&output).unwrap(), docm, "msoffcrypto-tool reads the same package");
    }
    let without = sanitize_bytes(engine(), "locked.docm", &locked, &try_passwords());
    assert_eq!(reason(&without.report).0, "encrypted", "{:#?}", without.report);
    let policy = try_passwords().with_passwords(candidates(&[WRONG, RIGHT], PasswordSource::Request));
    let result = sanitize_bytes(engine(), "locked.docm", &locked, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(decrypted(&result.report), ["decrypted (password from: request)"]);
    let output = result.output.unwrap();
    assert!(!zip_names(&output).iter().any(|n| n.contains("vbaProject")), "{:?}", zip_names(&output));
    assert_no_secret(&output, "the output");
    assert_no_secret(serde_json::to_string(&result.report).unwrap().as_bytes(), "the report");
}

/// The slide text of a presentation, as LibreOffice renders it (to PDF,
/// read back with pdftotext); `None` without those tools.
fn presentation_text(dir: &Path, ppt: &[u8]) -> Option<String> {
    if !tool("soffice") || !tool("pdftotext") {
        return None;
    }
    let file = dir.join("clean.ppt");
    std::fs::write(&file, ppt).unwrap();
    let converted = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", dir.join("profile").display()))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir)
        .arg(&file)
        .output()
        .unwrap();
    assert!(converted.status.success(), "soffice: {}", String::from_utf8_lossy(&converted.stderr));
    let text = Command::new("pdftotext").arg(dir.join("clean.pdf")).arg("-").output().unwrap();
    assert!(text.status.success(), "LibreOffice made no PDF: {}", String::from_utf8_lossy(&converted.stderr));
    Some(String::from_utf8_lossy(&text.stdout).into_owned())
}

#[test]
fn an_rc4_encrypted_presentation_opens_and_comes_out_unencrypted() {
    let png = sekisho_testkit::fixtures::png(4, 4);
    let locked = sekisho_testkit::ppt::Presentation::new("budget 2027", &png, Some(RIGHT)).file();
    let without = sanitize_bytes(engine(), "locked.ppt", &locked, &try_passwords());
    assert_eq!(reason(&without.report).0, "encrypted", "{:#?}", without.report);
    let policy = try_passwords().with_passwords(candidates(&[WRONG, RIGHT], PasswordSource::Request));
    let result = sanitize_bytes(engine(), "locked.ppt", &locked, &policy);
    assert!(result.report.outcome.passed(), "{:#?}", result.report);
    assert_eq!(decrypted(&result.report), ["decrypted (password from: request)"]);
    let output = result.output.unwrap();
    let text: Vec<u8> = "budget 2027".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(output.windows(text.len()).any(|w| w == text), "the text is readable in the output");
    assert_no_secret(&output, "the output");
    assert_no_secret(serde_json::to_string(&result.report).unwrap().as_bytes(), "the report");
    // Rebuilt again with no password: nothing is encrypted any more.
    let again = sanitize_bytes(engine(), "clean.ppt", &output, &try_passwords());
    assert!(again.report.outcome.passed(), "{:#?}", again.report);
    assert!(decrypted(&again.report).is_empty());
}

/// The corpus's encrypted files, with the passwords their projects' tests
/// use: pdf.js (`test/unit/api_spec.js`: "000000"), py-pdf/sample-files
/// (the user password "openpassword"), rubyzip (`test/encryption_test.rb`:
/// "password", and "swordfish" for `aes-keka.zip`), Apache POI's
/// `Password_Protected-hello.ppt` ("hello", its name). POI's
/// `PasswordProtected.doc` has no published password (POI only checks that
/// it is refused): it stays refused as encrypted.
#[test]
fn corpus_encrypted_files_open_with_their_known_passwords() {
    let Some(corpus) = corpus!() else { return };
    let policy = try_passwords().with_passwords(candidates(
        &["000000", "openpassword", "password", "swordfish", "hello"],
        PasswordSource::List,
    ));
    let dir = tempfile::tempdir().unwrap();
    let qpdf = tool("qpdf");
    for name in ["pdfjs__encrypted-attachment.pdf", "pypdf-sample-files__libreoffice-writer-password.pdf"] {
        let result = sanitize_file(engine(), &corpus.file("pdf", name), &policy);
        assert!(result.report.outcome.passed(), "{name}: {:#?}", result.report);
        assert_eq!(decrypted(&result.report), ["decrypted (password from: list)"], "{name}");
        if qpdf {
            qpdf_check(dir.path(), &result.output.unwrap());
        }
    }
    let result = sanitize_file(engine(), &corpus.file("zip", "rubyzip__zipWithEncryption.zip"), &policy);
    assert!(result.report.outcome.passed(), "{:#?}", result.report);
    assert_eq!(decrypted(&result.report).len(), 2, "{:#?}", result.report);
    // aes-keka.zip holds a `mimetype` member saying application/epub+zip:
    // decrypted, the rebuilt archive reads as an EPUB, which no plugin
    // rebuilds, so it is refused (fail closed) after both members opened.
    let keka = sanitize_file(engine(), &corpus.file("zip", "rubyzip__aes-keka.zip"), &policy);
    assert_eq!(decrypted(&keka.report).len(), 2, "{:#?}", keka.report);
    assert_eq!(keka.report.outcome, Outcome::Failed);
    assert!(keka.report.reason.as_ref().unwrap().detail.contains("epub"), "{:#?}", keka.report.reason);
    let hello = sanitize_file(engine(), &corpus.file("ole", "poi__Password_Protected-hello.ppt"), &policy);
    assert!(hello.report.outcome.passed(), "{:#?}", hello.report);
    assert_eq!(decrypted(&hello.report), ["decrypted (password from: list)"]);
    if let Some(text) = presentation_text(dir.path(), &hello.output.unwrap()) {
        assert!(text.contains("It only has the one slide"), "LibreOffice reads the decrypted slide: {text}");
    }
    let doc = sanitize_file(engine(), &corpus.file("ole", "poi__PasswordProtected.doc"), &policy);
    assert_eq!(doc.report.outcome, Outcome::Failed);
    assert_eq!(reason(&doc.report).0, "encrypted");
}
