//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sekisho::pipeline::Options;
use sekisho::policy::Policy;
use sekisho::report::{Outcome, Report};
use sekisho::sandbox::{Allocator, SandboxConfig};
use sekisho::source::Source;
use sekisho::{Sanitized, Sekisho};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A folder of the shared corpus, e.g. `corpus("zip")`.
pub fn corpus(folder: &str) -> PathBuf {
    root().join("../shared/corpus").join(folder)
}

/// Every file of a corpus folder, sorted.
pub fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(folder))
        .unwrap_or_else(|e| panic!("corpus/{folder}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus/{folder} is empty");
    files
}

/// Compiled plugins are cached here, shared by every test binary.
pub fn cache_dir() -> PathBuf {
    root().join("target").join("sekisho-test-cache")
}

/// The wasm files of the test plugins, built by the host's build script.
pub fn test_plugin(file: &str) -> PathBuf {
    Path::new(env!("SEKISHO_TEST_PLUGINS_DIR")).join(file)
}

pub fn options(allocator: Allocator, plugin_dirs: Vec<PathBuf>) -> Options {
    Options {
        sandbox: SandboxConfig { allocator, cache_dir: Some(cache_dir()), ..SandboxConfig::default() },
        plugin_dirs,
        notice: None,
        trusted_keys: None,
    }
}

/// The engine with the first-party plugins, shared within a test binary.
pub fn engine() -> &'static Sekisho {
    static ENGINE: OnceLock<Sekisho> = OnceLock::new();
    ENGINE.get_or_init(|| Sekisho::new(options(Allocator::Auto, vec![])).expect("engine"))
}

/// A directory holding copies of the given wasm files, for `--plugins-dir`.
pub fn plugin_dir(files: &[&Path]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        std::fs::copy(file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    dir
}

pub fn sanitize_file(engine: &Sekisho, path: &Path, policy: &Policy) -> Sanitized {
    engine.sanitize(Source::open(path).unwrap(), &path.display().to_string(), policy)
}

pub fn sanitize_bytes(engine: &Sekisho, name: &str, data: &[u8], policy: &Policy) -> Sanitized {
    engine.sanitize(Source::bytes(data.to_vec()), name, policy)
}

/// The reason kind and limit of a report, as JSON strings, for assertions.
pub fn reason(report: &Report) -> (String, Option<String>) {
    let reason = report.reason.as_ref().unwrap_or_else(|| panic!("no reason in {report:#?}"));
    let kind = serde_json::to_value(reason.kind).unwrap().as_str().unwrap().to_owned();
    let limit = reason.limit.map(|l| serde_json::to_value(l).unwrap().as_str().unwrap().to_owned());
    (kind, limit)
}

/// Builds a ZIP archive in memory from (name, bytes) pairs.
pub fn make_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buf);
    for (name, data) in members {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut writer, data).unwrap();
    }
    writer.finish().unwrap();
    buf.into_inner()
}

/// Names of the members of a ZIP archive.
pub fn zip_names(data: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
    archive.file_names().map(|n| n.unwrap().into_owned()).collect()
}

/// True when the external tool `name` runs. Where the oracles must be
/// present (`SEKISHO_REQUIRE_ORACLES`, set by `.ci/run`) a missing tool fails
/// the test instead of skipping it.
pub fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    if !found {
        assert!(std::env::var_os("SEKISHO_REQUIRE_ORACLES").is_none(), "{name} is required");
        eprintln!("skipping: {name} is not installed");
    }
    found
}

/// The active-content tags `check_active.py` found in each corpus file
/// (`../shared/oracles/baseline.jsonl`), by path relative to the corpus.
pub fn baseline() -> BTreeMap<String, Vec<String>> {
    std::fs::read_to_string(root().join("../shared/oracles/baseline.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| {
            let active = r["active"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            (r["file"].as_str().unwrap().to_owned(), active)
        })
        .collect()
}

/// Sanitizes every file of a corpus folder twice and its output once more:
/// the same input gives the same bytes, and an output sanitizes to itself.
/// `clean_again` also requires the second pass to find nothing at all.
pub fn assert_idempotent_and_deterministic(folder: &str, policy: &Policy, clean_again: bool) {
    for path in corpus_files(folder) {
        let first = sanitize_file(engine(), &path, policy);
        let Some(output) = first.output else { continue };
        let again = sanitize_file(engine(), &path, policy);
        assert_eq!(again.output.as_ref(), Some(&output), "{} is not deterministic", path.display());
        let name = format!("out.{}", first.report.output.as_ref().map_or("bin", |o| o.extension.as_str()));
        let second = sanitize_bytes(engine(), &name, &output, policy);
        assert!(second.report.outcome.passed(), "{}: {:#?}", path.display(), second.report);
        if clean_again {
            assert_eq!(second.report.outcome, Outcome::Clean, "{}: {:#?}", path.display(), second.report.items);
        }
        assert_eq!(second.output.as_ref(), Some(&output), "{} is not idempotent", path.display());
    }
}

/// The tags `../shared/oracles/check_active.py` finds in each file, by path.
pub fn check_active(files: &[&Path], dir: &Path) -> BTreeMap<PathBuf, Vec<String>> {
    let jsonl = dir.join("check_active.jsonl");
    let oracle = root().join("../shared/oracles/check_active.py");
    let status = Command::new("python3").arg(oracle).arg(&jsonl).args(files).output().unwrap();
    assert!(status.status.success(), "check_active.py: {}", String::from_utf8_lossy(&status.stderr));
    std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| {
            let tags = r["active"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
            (PathBuf::from(r["file"].as_str().unwrap()), tags)
        })
        .collect()
}
