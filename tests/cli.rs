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
    let input = dir.path().join("evil.zip");
    std::fs::write(&input, kit::fixtures::zip_traversal()).unwrap();
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
    for unsafe_name in kit::fixtures::TRAVERSAL_NAMES {
        assert!(
            report["items"].as_array().unwrap().iter().any(|i| i["location"] == unsafe_name),
            "{unsafe_name} is not reported: {report:#}"
        );
    }
    // Extract with a real unzip: nothing lands outside the folder.
    if tool_with("unzip", "-v") {
        let extract = dir.path().join("x").join("inside");
        std::fs::create_dir_all(&extract).unwrap();
        let status = Command::new("unzip").arg("-qo").arg(&out).arg("-d").arg(&extract).status().unwrap();
        assert!(status.success());
        let outside: Vec<_> =
            std::fs::read_dir(dir.path().join("x")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(outside, vec!["inside"], "something was extracted outside the target folder");
        assert!(std::fs::read_dir(&extract).unwrap().count() > 0, "unzip extracted nothing");
    }
    let names = zip_names(&std::fs::read(&out).unwrap());
    assert_eq!(names.len(), 4, "every member is kept under a safe name: {names:?}");
    for name in names {
        assert!(!name.starts_with('/') && !name.contains('\\') && !name.split('/').any(|p| p == ".."), "{name}");
    }
}

#[test]
fn failed_file_exits_1_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let input = inputs.path().join("broken.zip");
    std::fs::write(&input, kit::fixtures::zip_with_broken_central_directory()).unwrap();
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
fn a_corpus_archive_that_fails_exits_1_and_leaves_no_output() {
    let Some(corpus) = corpus!() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = corpus.file("zip", "rubyzip__zipWithTooBigCDirSizeField.zip");
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
    assert_eq!(output.status.code(), Some(1), "tool.exe is refused: {}", stderr(&output));
    assert_eq!(std::fs::read_to_string(out.join("inbox/sub/table.csv")).unwrap(), "a,'=1+1\n");
    assert!(out.join("inbox/fake.txt").exists(), "the lying extension is corrected");
    assert!(!out.join("inbox/fake.pdf").exists());
    assert!(!out.join("inbox/tool.exe").exists());
    let reports: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&reports).unwrap()).unwrap();
    let outcomes: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    // tool.exe is blocked by its name (the executables class).
    assert_eq!(outcomes, vec!["sanitized", "sanitized", "blocked"]);
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
    let inputs = tempfile::tempdir().unwrap();
    let input = inputs.path().join("dde.csv");
    std::fs::write(&input, kit::fixtures::csv_dde()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .current_dir(dir.path())
        .args(["scan", input.to_str().unwrap()])
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), kit::fixtures::CSV_DDE_FORMULAS, "{report:#}");
    assert!(items.iter().all(|i| i["class"] == "dde"), "{report:#}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read(&input).unwrap(), kit::fixtures::csv_dde(), "scan leaves the input as it was");
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

/// A folder of generated documents: a macro-enabled Word document, a
/// workbook with macros, CSV with formulas, an archive with traversal names.
fn inbox(dir: &Path) -> Vec<&'static str> {
    let files: [(&str, Vec<u8>); 5] = [
        ("report.docm", kit::office::docm("Quarterly report")),
        ("book.xlsm", kit::office::workbook(&["total", "42"], true)),
        ("plain.xlsx", kit::office::workbook(&["plain"], false)),
        ("table.csv", kit::fixtures::csv_dde()),
        ("archive.zip", kit::fixtures::zip_traversal()),
    ];
    std::fs::create_dir_all(dir).unwrap();
    for (name, data) in &files {
        std::fs::write(dir.join(name), data).unwrap();
    }
    files.iter().map(|(name, _)| *name).collect()
}

/// Runs a folder twice with `--resume`: the first run writes every output
/// and one audit line per file; the second skips all but a tampered output.
fn run_folder_with_resume(dir: &Path, files: usize, tampered: &Path) {
    let out = tempfile::tempdir().unwrap();
    let audit = out.path().join("audit.jsonl");
    let out_dir = out.path().join("clean");
    let (dir, audit_path) = (dir.to_str().unwrap(), audit.to_str().unwrap());
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
    assert!(log.contains(&format!("{files} files: ")), "no summary: {log}");
    assert!(log.lines().any(|l| l.starts_with("OUTCOME") && l.contains("FORMAT")), "{log}");
    // One complete JSON line per file, never the content.
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), files);
    assert!(lines.iter().all(|l| l["interface"] == "cli" && l["sha256_in"].as_str().unwrap().len() == 64));
    assert!(lines.iter().any(|l| l["items"]["macros"].as_u64().unwrap_or(0) > 0));
    // A second run skips everything; a changed output is redone.
    let docx = out_dir.join(tampered);
    assert!(docx.is_file(), "{} was not written", docx.display());
    std::fs::write(&docx, b"tampered").unwrap();
    let second = sekisho(&["sanitize", dir, "--out-dir", out_dir.to_str().unwrap(), "--resume"]);
    let log = stderr(&second);
    assert_eq!(log.matches("skipped").count(), files - 1, "{log}");
    assert!(std::fs::read(&docx).unwrap().starts_with(b"PK"), "the tampered output is rebuilt");
}

#[test]
fn folders_run_in_parallel_resume_and_audit() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("inbox");
    let files = inbox(&dir);
    run_folder_with_resume(&dir, files.len(), Path::new("inbox/report.docx"));
}

#[test]
fn the_corpus_folder_runs_in_parallel_resumes_and_audits() {
    let Some(corpus) = corpus!() else { return };
    let files = corpus.files("ooxml").len();
    run_folder_with_resume(&corpus.folder("ooxml"), files, Path::new("ooxml/poi__SimpleMacro.docx"));
}

#[test]
fn formats_lists_every_handled_extension_with_its_plugin() {
    let listed = sekisho(&["formats", "--json"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let plugins = sekisho(&["plugins", "--json"]);
    let plugins: Vec<serde_json::Value> = serde_json::from_slice(&plugins.stdout).unwrap();
    // One row per extension of each format of each plugin, nothing more.
    let mut declared = std::collections::BTreeSet::new();
    for plugin in &plugins {
        for format in plugin["formats"].as_array().unwrap() {
            for extension in format["extensions"].as_array().unwrap() {
                declared.insert((extension.as_str().unwrap().to_owned(), format["id"].as_str().unwrap().to_owned()));
            }
        }
    }
    let listed: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .map(|row| {
            assert!(row["plugin"].as_str().is_some_and(|p| !p.is_empty()), "{row}");
            (row["extension"].as_str().unwrap().to_owned(), row["format"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(listed, declared);
    assert_eq!(rows.len(), declared.len(), "no row twice");
    let extension = |e: &str| rows.iter().find(|row| row["extension"] == e).unwrap_or_else(|| panic!("no .{e}"));
    for (e, plugin) in
        [("docx", "ooxml"), ("ppt", "ole"), ("pdf", "pdf"), ("eml", "mail"), ("csv", "text"), ("png", "image")]
    {
        assert_eq!(extension(e)["plugin"], plugin, "{e}");
    }
    assert!(extension("docm")["classes"].as_array().unwrap().iter().any(|c| c == "macros"));
    // The table ends with the count of distinct extensions.
    let table = sekisho(&["formats"]);
    let text = String::from_utf8_lossy(&table.stdout);
    let extensions: std::collections::BTreeSet<&String> = declared.iter().map(|(e, _)| e).collect();
    let formats: std::collections::BTreeSet<&String> = declared.iter().map(|(_, f)| f).collect();
    let count = format!("{} extensions, {} formats", extensions.len(), formats.len());
    assert!(text.starts_with("EXTENSION") && text.trim_end().ends_with(&count), "{text}");
}
