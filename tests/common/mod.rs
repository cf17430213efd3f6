//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

pub mod mail;

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

// The corpus gate, the oracle checks and the generated fixtures live in
// the test kit (tests/kit), shared with the plugins' own tests.
#[allow(unused_imports)] // each test binary uses its own subset
pub use sekisho_testkit::{self as kit, Corpus, corpus, python_modules, tool, tool_with};

/// Compiled plugins are cached here, shared by every test binary.
pub fn cache_dir() -> PathBuf {
    root().join("target").join("sekisho-test-cache")
}

/// The wasm files of the test plugins (and of the built-in ones).
pub fn test_plugin(file: &str) -> PathBuf {
    sekisho_test_plugins::plugin_wasm(file)
}

pub fn options(allocator: Allocator, plugin_dirs: Vec<PathBuf>) -> Options {
    Options {
        sandbox: SandboxConfig { allocator, cache_dir: Some(cache_dir()), ..SandboxConfig::default() },
        plugin_dirs,
        ..Options::default()
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

/// The active-content tags `check_active.py` found in each corpus file
/// (`baseline.jsonl` of the oracles), by path relative to the corpus.
pub fn baseline(corpus: &Corpus) -> BTreeMap<String, Vec<String>> {
    std::fs::read_to_string(corpus.oracle("baseline.jsonl"))
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
pub fn assert_idempotent_and_deterministic(corpus: &Corpus, folder: &str, policy: &Policy, clean_again: bool) {
    for path in corpus.files(folder) {
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

/// The tags the oracle `check_active.py` (at `oracle`) finds in each file,
/// by path. Every file must have its line.
pub fn check_active(oracle: &Path, files: &[&Path], dir: &Path) -> BTreeMap<PathBuf, Vec<String>> {
    let jsonl = dir.join("check_active.jsonl");
    let status = Command::new("python3").arg(oracle).arg(&jsonl).args(files).output().unwrap();
    assert!(status.status.success(), "check_active.py: {}", String::from_utf8_lossy(&status.stderr));
    let found: BTreeMap<PathBuf, Vec<String>> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| {
            let tags = r["active"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
            (PathBuf::from(r["file"].as_str().unwrap()), tags)
        })
        .collect();
    for file in files {
        assert!(found.contains_key(*file), "check_active.py said nothing about {}", file.display());
    }
    found
}

/// Spawns `sekisho serve` as `command` sets it up (its stderr is taken
/// here) and waits for the line naming the HTTP API's address; the first
/// start may compile the plugins, so up to two minutes. A server that does
/// not start is killed before the test fails.
pub fn spawn_server(command: &mut Command) -> (std::process::Child, std::net::SocketAddr) {
    let (child, address, _) = spawn_server_logged(command);
    (child, address)
}

/// Everything a server wrote to stderr so far.
pub type ServerLog = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

/// [`spawn_server`], keeping every line the server writes to stderr (to
/// check that no secret reaches the log).
pub fn spawn_server_logged(command: &mut Command) -> (std::process::Child, std::net::SocketAddr, ServerLog) {
    use std::io::{BufRead, BufReader};
    let mut child = command.stderr(std::process::Stdio::piped()).spawn().expect("start sekisho serve");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let log = ServerLog::default();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("sekisho: HTTP API on http://") {
                let _ = sender.send(address.parse::<std::net::SocketAddr>().unwrap());
            }
            kept.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(format!("{line}\n").as_bytes());
        }
    });
    match receiver.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(address) => (child, address, log),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start");
        }
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls until `done` or the deadline; returns the time it took, if done.
pub fn within(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    loop {
        if done() {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `sekisho -vv serve` with the SMTP filter on loopback `port`, reinjecting
/// to `next`, and `extra` arguments; killed when dropped.
pub struct SmtpFilter {
    child: std::process::Child,
    /// The filter's address.
    pub smtp: std::net::SocketAddr,
    /// The gateway's HTTP address (its API and approval page).
    pub http: std::net::SocketAddr,
    /// What it wrote to stderr.
    pub log: ServerLog,
}

impl SmtpFilter {
    /// Starts it and waits until the SMTP port takes connections.
    pub fn start(port: u16, next: std::net::SocketAddr, extra: &[&str]) -> SmtpFilter {
        let (child, http, log) = spawn_server_logged(
            Command::new(env!("CARGO_BIN_EXE_sekisho"))
                .args(["-vv", "serve", "--listen", "127.0.0.1:0", "--smtp", &format!("127.0.0.1:{port}")])
                .args(["--smtp-next", &next.to_string()])
                .args(extra),
        );
        let smtp = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let filter = SmtpFilter { child, smtp, http, log };
        let listening = within(std::time::Duration::from_secs(10), || std::net::TcpStream::connect(smtp).is_ok());
        assert!(listening.is_some(), "the SMTP filter does not listen");
        filter
    }
}

impl Drop for SmtpFilter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tags exiftool reports for the metadata a picture must lose: XMP,
/// IPTC, EXIF and GPS, comments, PNG text chunks and time stamps.
pub fn picture_metadata(tags: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    const TEXT_KEYS: [&str; 13] = [
        "Comment",
        "Title",
        "Author",
        "Description",
        "Copyright",
        "Software",
        "Source",
        "Disclaimer",
        "Warning",
        "ModifyDate",
        "CreateDate",
        "CreationTime",
        "DateTimeOriginal",
    ];
    tags.keys()
        .filter(|key| {
            let (group, name) = key.split_once(':').unwrap_or(("", key));
            ["XMP", "IPTC", "GPS", "IFD0", "IFD1", "ExifIFD", "InteropIFD", "MakerNotes", "Photoshop"]
                .iter()
                .any(|g| group.starts_with(g))
                || TEXT_KEYS.contains(&name)
        })
        .cloned()
        .collect()
}

/// What exiftool says of each file (`-j -G1 -a`), in the order given.
pub fn exiftool_tags(files: &[&Path]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let out = Command::new("exiftool").args(["-j", "-G1", "-a"]).args(files).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool -j");
    listed.as_array().unwrap().iter().map(|t| t.as_object().unwrap().clone()).collect()
}
