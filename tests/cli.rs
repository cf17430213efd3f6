//! The `sekisho` binary as a user runs it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn sekisho(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(args)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env_remove("SEKISHO_PLUGINS_DIR")
        .output()
        .expect("run sekisho")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn plugins_lists_the_built_in_plugins() {
    let output = sekisho(&["plugins"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).unwrap();
    for name in ["text", "zip"] {
        assert!(table.lines().any(|l| l.starts_with(name) && l.contains("built-in")), "{table}");
    }
    let json = sekisho(&["plugins", "--json"]);
    let plugins: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(plugins.as_array().unwrap().iter().all(|p| p["sha256"].as_str().unwrap().len() == 64));
}

#[test]
fn sanitize_traversal_archive_writes_safe_output_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus("zip").join("rubyzip__out_evil.zip");
    let before = sha256(&input);
    let out = dir.path().join("out.zip");
    let report_path = dir.path().join("r.json");
    let output = sekisho(&[
        "sanitize",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(sha256(&input), before, "the input must never change");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["outcome"], "sanitized");
    assert_eq!(report["schema"], "sekisho.report/1");
    assert!(report["items"].as_array().unwrap().iter().any(|i| i["location"].as_str().unwrap().contains("..")));
    // Extract with a real unzip when there is one: nothing lands outside the folder.
    let extract = dir.path().join("x").join("inside");
    std::fs::create_dir_all(&extract).unwrap();
    if let Ok(status) = Command::new("unzip").arg("-qo").arg(&out).arg("-d").arg(&extract).status() {
        assert!(status.success());
        let outside: Vec<_> =
            std::fs::read_dir(dir.path().join("x")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(outside, vec!["inside"], "something was extracted outside the target folder");
    }
    for name in zip_names(&std::fs::read(&out).unwrap()) {
        assert!(!name.starts_with('/') && !name.split('/').any(|p| p == ".."), "{name}");
    }
}

#[test]
fn failed_file_exits_1_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus("zip").join("rubyzip__zipWithTooBigCDirSizeField.zip");
    let out = dir.path().join("out.zip");
    let output = sekisho(&["sanitize", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--report", "-"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file may be left behind");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["reason"]["kind"], "invalid-structure");
}

#[test]
fn out_dir_keeps_relative_paths_and_corrects_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("sub")).unwrap();
    std::fs::write(inbox.join("sub/table.csv"), "a,=1+1\n").unwrap();
    std::fs::write(inbox.join("fake.pdf"), "plain text pretending\n").unwrap();
    std::fs::write(inbox.join("tool.exe"), b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff").unwrap();
    let out = dir.path().join("clean");
    let reports = dir.path().join("reports.json");
    let output = sekisho(&[
        "sanitize",
        inbox.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--report",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "tool.exe is unsupported: {}", stderr(&output));
    assert_eq!(std::fs::read_to_string(out.join("inbox/sub/table.csv")).unwrap(), "a,'=1+1\n");
    assert!(out.join("inbox/fake.txt").exists(), "the lying extension is corrected");
    assert!(!out.join("inbox/fake.pdf").exists());
    assert!(!out.join("inbox/tool.exe").exists());
    let reports: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&reports).unwrap()).unwrap();
    let outcomes: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["sanitized", "sanitized", "unsupported"]);
}

#[test]
fn stdin_to_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["sanitize", "-", "-o", "-"])
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all("テスト\x1b[31m赤\n".as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "テスト[31m赤\n");
}

#[test]
fn scan_reports_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus("text").join("oletools__dde-in-csv.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .current_dir(dir.path())
        .args(["scan", input.to_str().unwrap()])
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["items"][0]["class"], "dde");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn policy_show_and_errors() {
    let output = sekisho(&["policy", "show", "--profile", "keep-macros"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("macros = \"allow\""), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, &text).unwrap();
    let reparsed = sekisho(&["policy", "show", "--policy", file.to_str().unwrap()]);
    assert!(reparsed.status.success(), "{}", stderr(&reparsed));
    assert!(String::from_utf8(reparsed.stdout).unwrap().contains("macros = \"allow\""));

    let bad = sekisho(&["policy", "show", "--profile", "lenient"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unknown profile"), "{}", stderr(&bad));
    let usage = sekisho(&["sanitize", "a", "b", "-o", "x"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn refuses_to_overwrite_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    std::fs::write(&file, "=1+1\n").unwrap();
    let output = sekisho(&["sanitize", file.to_str().unwrap(), "-o", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "=1+1\n");
}

#[test]
fn filesystem_plugin_is_refused_with_a_clear_message() {
    let dir = plugin_dir(&[&test_plugin("sekisho_test_fs_import.wasm")]);
    let output = sekisho(&["plugins", "--plugins-dir", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("imports wasi:filesystem"), "{}", stderr(&output));
}

/// The vendor example builds out of tree against the SDK and the WIT, loads
/// from --plugins-dir and sanitizes its format.
#[test]
fn vendor_plugin_builds_loads_and_sanitizes() {
    let example = root().join("examples/vendor-plugin");
    let target = root().join("target/plugins");
    let build = Command::new(env!("CARGO"))
        .current_dir(&example)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", stderr(&build));
    let plugins = plugin_dir(&[&target.join("wasm32-wasip2/release/sekisho_farbfeld.wasm")]);
    let dir_arg = plugins.path().to_str().unwrap();

    let listed = sekisho(&["plugins", "--plugins-dir", dir_arg]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("farbfeld"));

    // A 2×1 image followed by a smuggled payload.
    let mut image = b"farbfeld\0\0\0\x02\0\0\0\x01".to_vec();
    image.extend_from_slice(&[0xff; 16]);
    let clean_len = image.len();
    image.extend_from_slice(b"PK\x03\x04 hidden archive");
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("pic.ff");
    std::fs::write(&input, &image).unwrap();
    let out = work.path().join("clean.ff");
    let output = sekisho(&[
        "sanitize",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--plugins-dir",
        dir_arg,
        "--report",
        "-",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read(&out).unwrap(), image[..clean_len]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "sanitized");
    assert_eq!(report["plugin"]["name"], "farbfeld");
}

#[test]
fn folders_run_in_parallel_resume_and_audit() {
    let out = tempfile::tempdir().unwrap();
    let audit = out.path().join("audit.jsonl");
    let dir = corpus("ooxml");
    let (dir, out_dir, audit_path) = (dir.to_str().unwrap(), out.path().join("clean"), audit.to_str().unwrap());
    let first = sekisho(&[
        "sanitize",
        dir,
        "--out-dir",
        out_dir.to_str().unwrap(),
        "--resume",
        "-j",
        "2",
        "--audit",
        audit_path,
    ]);
    assert!(first.status.code() == Some(0), "{}", stderr(&first));
    let log = stderr(&first);
    let files = corpus_files("ooxml").len();
    assert!(log.contains(&format!("{files} files: ")), "no summary: {log}");
    assert!(log.lines().any(|l| l.starts_with("OUTCOME") && l.contains("FORMAT")), "{log}");
    // One complete JSON line per file, never the content.
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), files);
    assert!(lines.iter().all(|l| l["interface"] == "cli" && l["sha256_in"].as_str().unwrap().len() == 64));
    assert!(lines.iter().any(|l| l["items"]["macros"].as_u64().unwrap_or(0) > 0));
    // A second run skips everything; a changed output is redone.
    let docx = out_dir.join("ooxml/poi__SimpleMacro.docx");
    std::fs::write(&docx, b"tampered").unwrap();
    let second = sekisho(&["sanitize", dir, "--out-dir", out_dir.to_str().unwrap(), "--resume"]);
    let log = stderr(&second);
    assert_eq!(log.matches("skipped").count(), files - 1, "{log}");
    assert!(std::fs::read(&docx).unwrap().starts_with(b"PK"), "the tampered output is rebuilt");
}
