//! The routes an attacker picks through the engine, each reproduced against
//! the built binary: names that Windows runs, markup that hides from
//! detection, limits hit by a child, budgets spread over a tree, a busy
//! sandbox pool, a tampered compile cache, plugins that claim too much or
//! wait forever. (The gateway's routes are in `adversarial_gateway.rs`.)
//!
//! `SEKISHO_TEST_BIN` runs these tests against another build of `sekisho`
//! (to show that a route was open before a fix).

mod common;

use std::io::{Cursor, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use sekisho_testkit::{fixtures, office};

fn binary() -> PathBuf {
    std::env::var_os("SEKISHO_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sekisho")), PathBuf::from)
}

/// `sekisho ARGS` in `dir`, with the shared test cache unless `env` says otherwise.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command.args(args).current_dir(dir).env("SEKISHO_CACHE_DIR", cache_dir()).env_remove("SEKISHO_PLUGINS_DIR");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run sekisho")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `files` into a new folder.
fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    dir
}

/// Sanitizes `input` in `dir` to `output` and answers the exit code and
/// the report.
fn sanitize(dir: &Path, input: &str, output: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut args = vec!["sanitize", input, "-o", output, "--report", "-"];
    args.extend_from_slice(extra);
    let out = run(dir, &args, &[]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code(), report, stderr(&out))
}

fn names_in_zip(data: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    archive.file_names().map(|n| n.unwrap().into_owned()).collect()
}

fn policy_file(dir: &Path, name: &str, toml: &str) -> String {
    std::fs::write(dir.join(name), toml).unwrap();
    name.to_owned()
}

// 1. Names that Windows or a script host runs.

#[test]
fn runnable_names_are_blocked_alone_and_removed_from_archives_and_mail() {
    let script = b"var shell = new ActiveXObject('WScript.Shell'); shell.Run('calc');\n";
    let archive = fixtures::zip(&[("invoice.js", script), ("notes.txt", b"hello\n"), ("run.VBS.", b"MsgBox 1\n")]);
    let mail = fixtures::eml_with_attachment("Invoice", "See attached.", "invoice.hta", "application/hta", script);
    let dir = folder(&[("invoice.js", script), ("bundle.zip", &archive), ("mail.eml", &mail)]);

    let (code, report, _) = sanitize(dir.path(), "invoice.js", "out.js", &[]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        (report["outcome"].as_str(), report["reason"]["class"].as_str()),
        (Some("blocked"), Some("executables"))
    );
    assert!(!dir.path().join("out.js").exists());

    let (code, report, _) = sanitize(dir.path(), "bundle.zip", "out.zip", &[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(names_in_zip(&std::fs::read(dir.path().join("out.zip")).unwrap()), ["notes.txt"]);

    let (code, report, _) = sanitize(dir.path(), "mail.eml", "out.eml", &[]);
    assert_eq!(code, Some(0), "{report:#}");
    let out = std::fs::read_to_string(dir.path().join("out.eml")).unwrap();
    let lower = out.to_ascii_lowercase();
    assert!(!lower.contains("filename=\"invoice.hta\"") && !lower.contains("attachment;"), "{out}");
    assert!(!out.contains("ActiveXObject") && out.contains("invoice.hta"), "the note names what went: {out}");

    // Neutralized: rebuilt as text under a name nothing runs.
    let neutralize = policy_file(dir.path(), "n.toml", "executables-mode = \"neutralize\"\n");
    let (code, report, _) = sanitize(dir.path(), "bundle.zip", "n.zip", &["--policy", &neutralize]);
    assert_eq!(code, Some(0), "{report:#}");
    let mut names = names_in_zip(&std::fs::read(dir.path().join("n.zip")).unwrap());
    names.sort();
    assert_eq!(names, ["invoice.txt", "notes.txt", "run.VBS.txt"]);
    let out = run(dir.path(), &["sanitize", "invoice.js", "--out-dir", "clean", "--policy", &neutralize], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("clean/invoice.txt").exists() && !dir.path().join("clean/invoice.js").exists());

    // A policy that keeps refused parts cannot keep a removed executable.
    let keep = policy_file(dir.path(), "k.toml", "[classes]\nunknown-parts = \"allow\"\n");
    let (code, report, _) = sanitize(dir.path(), "bundle.zip", "k.zip", &["--policy", &keep]);
    assert_eq!((code, report["outcome"].as_str()), (Some(1), Some("blocked")), "{report:#}");
}

#[test]
fn programs_stay_unsupported_and_say_why() {
    let dir = folder(&[("photo.jpg", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0"), ("tool", b"\x7fELF\x02\x01\x01\0")]);
    for name in ["photo.jpg", "tool"] {
        let (code, report, _) = sanitize(dir.path(), name, "out", &[]);
        assert_eq!(code, Some(1));
        assert_eq!(report["outcome"], "unsupported", "{report:#}");
        assert_eq!(report["reason"]["class"], "executables", "{report:#}");
    }
}

// 2. Markup that a browser renders but detection missed.

#[test]
fn markup_is_detected_as_a_browser_detects_it() {
    let comment_first = b"<!-- saved page --><p>Hello</p><script>alert(document.cookie)</script>";
    let prose_then_tags = b"Dear customer,\n<script>alert(1)</script><img src=x onerror=alert(2)>\n";
    let svg = b"<?xml version=\"1.0\"?>\n<!-- drawn by hand -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script><rect width=\"1\" height=\"1\"/></svg>";
    let dir = folder(&[
        ("a.html", comment_first),
        ("a.txt", comment_first),
        ("b.html", prose_then_tags),
        ("c.svg", svg),
        ("d.xml", prose_then_tags),
    ]);
    for (input, format) in [("a.html", "html"), ("a.txt", "html"), ("b.html", "html"), ("c.svg", "svg")] {
        let (code, report, _) = sanitize(dir.path(), input, "out", &[]);
        assert_eq!(code, Some(0), "{input}: {report:#}");
        assert_eq!(report["input"]["format"], format, "{input}: {report:#}");
        let out = std::fs::read_to_string(dir.path().join("out")).unwrap().to_ascii_lowercase();
        assert!(!out.contains("<script") && !out.contains("onerror"), "{input}: {out}");
    }
    let (code, report, _) = sanitize(dir.path(), "d.xml", "out.xml", &[]);
    assert_eq!((code, report["outcome"].as_str()), (Some(1), Some("unsupported")), "{report:#}");
}

#[test]
fn html_text_and_attributes_lose_control_characters() {
    // ISO-2022-JP escapes in an attribute: a browser told another charset
    // would decode them into markup. The rebuilt page carries none.
    let page =
        b"<html><head><meta charset=\"utf-8\"></head><body><p title=\"a\x1b$B\x1b(Bb\">x\x1b$@y\x07</p></body></html>";
    let dir = folder(&[("p.html", page)]);
    let (code, report, _) = sanitize(dir.path(), "p.html", "out.html", &[]);
    assert_eq!(code, Some(0), "{report:#}");
    let out = std::fs::read(dir.path().join("out.html")).unwrap();
    assert!(
        out.iter().all(|&b| b >= 0x20 || b == b'\n' || b == b'\t' || b == b'\r'),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

// 4. A limit hit by a child, and a busy pool.

/// A macro-enabled Word document padded (stored, not compressed) to
/// about `size` bytes.
fn padded_docm(size: usize) -> Vec<u8> {
    let docm = office::docm("Padded");
    let mut archive = zip::ZipArchive::new(Cursor::new(docm)).unwrap();
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        writer.raw_copy_file(archive.by_index_raw(i).unwrap()).unwrap();
    }
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("word/media/padding.bin", stored).unwrap();
    writer.write_all(&vec![0u8; size]).unwrap();
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_child_over_a_limit_refuses_its_parent_whatever_unknown_parts_says() {
    let docm = padded_docm(300 << 10);
    let archive = fixtures::zip(&[("report.docm", &docm), ("notes.txt", b"hello\n")]);
    assert!(archive.len() < 200 << 10, "the archive itself is under the limit");
    let dir = folder(&[("bundle.zip", &archive)]);
    let policy =
        policy_file(dir.path(), "p.toml", "[classes]\nunknown-parts = \"allow\"\n[limits]\nmax-input-bytes = 204800\n");
    let (code, report, _) = sanitize(dir.path(), "bundle.zip", "out.zip", &["--policy", &policy]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["outcome"], "failed", "{report:#}");
    assert!(!dir.path().join("out.zip").exists());
}

/// `levels` ZIPs inside each other around one text file.
fn nested_zip(levels: usize) -> Vec<u8> {
    let mut data = b"innermost\n".to_vec();
    let mut name = "inner.txt".to_owned();
    for level in 0..levels {
        data = fixtures::zip(&[(&name, &data), ("side.txt", b"x\n")]);
        name = format!("level{level}.zip");
    }
    data
}

#[test]
fn a_busy_sandbox_pool_is_a_wait_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let nested = nested_zip(5);
    for i in 0..48 {
        std::fs::write(inbox.join(format!("n{i:02}.zip")), &nested).unwrap();
    }
    // 48 files in sandboxes at once, each nesting six: more than a
    // default pool of 64 instances holds.
    let out = run(dir.path(), &["sanitize", "inbox", "--out-dir", "clean", "-j", "48", "--report", "r.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reports: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(reports.len(), 48);
    let first = std::fs::read(dir.path().join("clean/inbox/n00.zip")).unwrap();
    for i in 0..48 {
        let output = std::fs::read(dir.path().join(format!("clean/inbox/n{i:02}.zip"))).unwrap();
        assert_eq!(output, first, "n{i:02}.zip differs: a member was dropped");
    }
    assert_eq!(names_in_zip(&first), ["level3.zip", "side.txt"]);
}

#[test]
fn an_embedding_program_with_a_small_pool_waits_for_instances() {
    // Twelve instances: two trees of depth five at once, eight threads.
    let mut options = options(sekisho::sandbox::Allocator::Pooling, vec![]);
    options.sandbox.pool_size = 12;
    let engine = sekisho::Sekisho::new(options).expect("engine");
    let nested = nested_zip(5);
    let outputs: Vec<Option<Vec<u8>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let builder = std::thread::Builder::new().stack_size(64 << 20);
                builder
                    .spawn_scoped(scope, || {
                        let policy = sekisho::policy::Policy::default();
                        let result = sanitize_bytes(&engine, "n.zip", &nested, &policy);
                        assert!(result.report.outcome.passed(), "{:#?}", result.report);
                        result.output
                    })
                    .unwrap()
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(outputs.windows(2).all(|w| w[0] == w[1]), "every tree comes out the same");
}

// 5. Budgets belong to the tree.

#[test]
fn fuel_is_one_budget_for_the_whole_tree() {
    let plugins = plugin_dir(&[&test_plugin("sekisho_test_misbehave.wasm")]);
    let dir = folder(&[("one.bad", b"MISBEHAVE:spin\n"), ("tree.bad", b"MISBEHAVE:embed-spin\n")]);
    let plugins = plugins.path().to_str().unwrap();
    // One spinning file fits the budget; eight spinning children of one
    // file share that budget and do not.
    let budget = policy_file(dir.path(), "p.toml", "[limits]\nfuel-base = 1500000000\nfuel-per-byte = 0\n");
    let args = ["--policy", budget.as_str(), "--plugins-dir", plugins];
    let (code, report, _) = sanitize(dir.path(), "one.bad", "one.out", &args);
    assert_eq!(code, Some(0), "{report:#}");
    let one = report["metrics"]["fuel_used"].as_u64().unwrap();
    assert!(one * 8 > 1_500_000_000 && one < 1_500_000_000, "a spin costs {one}: adjust the fixture");
    let (code, report, _) = sanitize(dir.path(), "tree.bad", "tree.out", &args);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        (report["reason"]["kind"].as_str(), report["reason"]["limit"].as_str()),
        (Some("limit-exceeded"), Some("fuel"))
    );
}

#[test]
fn bytes_inflated_inside_plugins_count_against_the_tree() {
    // Twelve documents of 1.5 MB of text each, a few KB compressed: each
    // one alone is within 4 MB, the twelve together are not.
    let text = "あいうえお".repeat(100_000);
    let docx = office::docx(&office::paragraph(&text), &[], &[], &[]);
    assert!(docx.len() < 64 << 10, "{}", docx.len());
    let members: Vec<(String, &[u8])> = (0..12).map(|i| (format!("report{i:02}.docx"), docx.as_slice())).collect();
    let members: Vec<(&str, &[u8])> = members.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let dir = folder(&[("one.docx", &docx), ("twelve.zip", &fixtures::zip(&members))]);
    let budget = policy_file(dir.path(), "p.toml", "[limits]\nmax-expanded-bytes = 4194304\n");
    let (code, report, _) = sanitize(dir.path(), "one.docx", "one.out.docx", &["--policy", &budget]);
    assert_eq!(code, Some(0), "one document fits: {report:#}");
    let (code, report, _) = sanitize(dir.path(), "twelve.zip", "out.zip", &["--policy", &budget]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["reason"]["kind"], "limit-exceeded", "{report:#}");
    assert!(!dir.path().join("out.zip").exists());
}

// 6. The compile cache.

fn artifacts(cache: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(cache).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(artifacts(&path));
        } else if path.extension().is_some_and(|e| e == "artifact") {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn a_tampered_compile_cache_is_caught_and_rebuilt() {
    let dir = folder(&[("t.csv", b"a,=1+1\n")]);
    let cache = dir.path().join("cache");
    let env = [("SEKISHO_CACHE_DIR", cache.to_str().unwrap())];
    let first = run(dir.path(), &["sanitize", "t.csv", "-o", "a.csv"], &env);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let files = artifacts(&cache);
    assert!(files.len() >= 11, "{files:?}");
    // 0xCC (int3) over the middle of every artifact.
    for file in &files {
        let mut bytes = std::fs::read(file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 4096].fill(0xCC);
        std::fs::write(file, bytes).unwrap();
    }
    let tampered = run(dir.path(), &["sanitize", "t.csv", "-o", "b.csv"], &env);
    assert_eq!(tampered.status.code(), Some(0), "{}", stderr(&tampered));
    assert!(stderr(&tampered).contains("failed its check"), "{}", stderr(&tampered));
    assert_eq!(std::fs::read(dir.path().join("b.csv")).unwrap(), b"a,'=1+1\n");
    // Two artifacts swapped: each is refused, and reports name the right plugin.
    let files = artifacts(&cache);
    let (a, b) = (&files[0], &files[1]);
    let swap = a.with_extension("swap");
    std::fs::rename(a, &swap).unwrap();
    std::fs::rename(b, a).unwrap();
    std::fs::rename(&swap, b).unwrap();
    let listed = run(dir.path(), &["plugins", "--json"], &env);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let plugins: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let text_sha = plugins.as_array().unwrap().iter().find(|p| p["name"] == "text").unwrap()["sha256"].clone();
    let swapped = run(dir.path(), &["sanitize", "t.csv", "-o", "c.csv", "--report", "-"], &env);
    assert_eq!(swapped.status.code(), Some(0), "{}", stderr(&swapped));
    let report: serde_json::Value = serde_json::from_slice(&swapped.stdout).unwrap();
    assert_eq!(report["plugin"]["sha256"], text_sha);
    // Folder modes: an open folder of ours is closed.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let again = run(dir.path(), &["sanitize", "t.csv", "-o", "d.csv"], &env);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
}

#[test]
fn a_cache_folder_of_another_user_is_not_used() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: only root can give a folder to another user");
        return;
    }
    let dir = folder(&[("t.csv", b"a,b\n")]);
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let out =
        run(dir.path(), &["sanitize", "t.csv", "-o", "o.csv"], &[("SEKISHO_CACHE_DIR", theirs.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("belongs to user 65534"), "{}", stderr(&out));
    assert!(artifacts(&theirs).is_empty(), "nothing was written into another user's folder");
}

// 11. Vendor plugins cannot claim what the host knows.

#[test]
fn a_plugin_cannot_take_over_known_formats_or_names() {
    let impostor = plugin_dir(&[&test_plugin("sekisho_test_impostor.wasm")]);
    let page = b"<!DOCTYPE html><p>hi</p><script>alert(1)</script>";
    let mail = fixtures::eml_with_attachment("x", "body", "a.txt", "text/plain", b"hello");
    let dir = folder(&[("p.html", page), ("m.eml", &mail), ("i.imp", b"IMPOSTOR file")]);
    let plugins = ["--plugins-dir", impostor.path().to_str().unwrap()];
    for (input, plugin) in [("p.html", "html"), ("m.eml", "mail"), ("i.imp", "impostor")] {
        let (code, report, log) = sanitize(dir.path(), input, "out", &plugins);
        assert_eq!(code, Some(0), "{input}: {log}");
        assert_eq!(report["plugin"]["name"], plugin, "{input}: {report:#}");
    }
    let liar = plugin_dir(&[&test_plugin("sekisho_test_liar.wasm")]);
    let out = run(dir.path(), &["plugins", "--plugins-dir", liar.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("text/html"), "{}", stderr(&out));
}

// 12. A plugin cannot wait on a clock the deadline cannot interrupt.

#[test]
fn a_plugin_that_waits_on_a_clock_is_stopped_at_once() {
    let plugins = plugin_dir(&[&test_plugin("sekisho_test_misbehave.wasm")]);
    let dir = folder(&[("s.bad", b"MISBEHAVE:sleep\n")]);
    let mut child = Command::new(binary())
        .args(["sanitize", "s.bad", "-o", "out", "--report", "-", "--plugins-dir"])
        .arg(plugins.path())
        .current_dir(dir.path())
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the plugin held its sandbox for more than 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "failed", "{report:#}");
    assert!(report["reason"]["detail"].as_str().unwrap().contains("clock"), "{report:#}");
}
