//! The audit log: one JSON line per file decision, appended, never the file
//! content. Each line is written with a single `write` on a file opened for
//! appending, so a crash cannot leave half a line in the middle; a
//! background flusher calls `fsync` at most every [`SYNC_INTERVAL`] when
//! something was written (batching), and [`AuditLog::sync`] forces it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::report::{Outcome, Report};

/// How long a written line may wait for its `fsync`.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// Where a file came from.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    /// `cli`, `http` or `icap`.
    pub interface: &'static str,
    /// The client address, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The authenticated user (the token's name), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// One audit line.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// When the file was decided: RFC 3339, UTC, with milliseconds.
    pub time: String,
    /// Where the file came from (flattened into the line).
    #[serde(flatten)]
    pub origin: &'a Origin,
    /// The file's name.
    pub name: &'a str,
    /// Size of the input in bytes.
    pub size_in: u64,
    /// SHA-256 of the input, hex.
    pub sha256_in: &'a str,
    /// Size of the rebuilt file, when one was produced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_out: Option<u64>,
    /// SHA-256 of the rebuilt file, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_out: Option<&'a str>,
    /// The detected format id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'a str>,
    /// What was decided.
    pub outcome: Outcome,
    /// Why the file was refused, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// Items by class, over the file and its embedded files.
    pub items: BTreeMap<String, u32>,
    /// What was decrypted, and where its password came from (never the
    /// password): `report.zip: decrypted (password from: request)`, one per
    /// file or member of the tree that a password opened.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decrypted: Vec<String>,
    /// What the scanners said, over the file and its embedded files: one
    /// `engine version: location: match` per match, one `engine version:
    /// location: not scanned (why)` per scan not done. Absent when nothing
    /// was scanned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scans: Vec<String>,
    /// How many scans were done over the tree, clean or not.
    #[serde(skip_serializing_if = "is_zero")]
    pub scanned: u32,
    /// `name@version` of every plugin used.
    pub plugins: Vec<String>,
    /// Name of the policy applied.
    pub policy: &'a str,
    /// SHA-256 of the policy applied, as the report records it.
    pub policy_sha256: &'a str,
}

impl<'a> Entry<'a> {
    /// The line for one decided file; the policy's name and hash are the
    /// ones the report records.
    pub fn new(origin: &'a Origin, report: &'a Report) -> Entry<'a> {
        let mut items = BTreeMap::new();
        count_items(report, &mut items);
        let mut decrypted = Vec::new();
        decrypted_items(report, &report.input.name, &mut decrypted);
        let (mut scans, mut scanned) = (Vec::new(), 0);
        scan_verdicts(report, &mut scans, &mut scanned);
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        Entry {
            time,
            origin,
            name: &report.input.name,
            size_in: report.input.size,
            sha256_in: &report.input.sha256,
            size_out: report.output.as_ref().map(|o| o.size),
            sha256_out: report.output.as_ref().map(|o| o.sha256.as_str()),
            format: report.input.format.as_deref(),
            outcome: report.outcome,
            reason: report.reason.as_ref().map(|r| r.detail.as_str()),
            items,
            decrypted,
            scans,
            scanned,
            plugins: report.plugins().iter().map(|p| format!("{}@{}", p.name, p.version)).collect(),
            policy: &report.policy.name,
            policy_sha256: &report.policy.sha256,
        }
    }
}

/// One step of the approval workflow of a held file: `hold` (with the
/// masked findings), `approve`, `reject` (who, when, comment), `download`,
/// `expire`, or `spool-full` (a held file the spool had no room for).
#[derive(Debug, Serialize)]
pub struct HoldEvent<'a> {
    /// When: RFC 3339, UTC, with milliseconds.
    pub time: String,
    /// The step.
    pub event: &'a str,
    /// The hold's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<&'a str>,
    /// Who acted, and from where (none for the expiry).
    #[serde(flatten)]
    pub origin: Option<&'a Origin>,
    /// The user who sent the file.
    pub submitter: &'a str,
    /// To whom it is going, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<&'a str>,
    /// The file's name.
    pub name: &'a str,
    /// SHA-256 of the rebuilt file, hex.
    pub sha256_out: &'a str,
    /// The status after this step.
    pub status: &'a str,
    /// The personal information found (masked values only; on `hold`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub findings: &'a [crate::pii::Finding],
    /// The decider's comment (approve/reject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<&'a str>,
}

impl HoldEvent<'_> {
    /// The time stamp for a new line.
    pub fn now() -> String {
        humantime::format_rfc3339_millis(SystemTime::now()).to_string()
    }
}

/// The `encryption` findings that say a password opened something, with
/// the path of the file in the tree.
fn decrypted_items(report: &Report, path: &str, found: &mut Vec<String>) {
    for item in report.items.iter().filter(|i| i.class == "encryption" && i.detail.starts_with("decrypted")) {
        found.push(format!("{path}: {}", item.detail));
    }
    for child in &report.children {
        decrypted_items(child, &format!("{path}/{}", child.input.name), found);
    }
}

/// The verdicts of every scan of the tree, and how many scans there were.
fn scan_verdicts(report: &Report, verdicts: &mut Vec<String>, scanned: &mut u32) {
    for scan in &report.scans {
        *scanned += 1;
        let engine = format!("{} {}", scan.engine, scan.version);
        let engine = engine.trim();
        for name in &scan.matches {
            verdicts.push(format!("{engine}: {}: {name}", scan.location));
        }
        if let Some(why) = &scan.error {
            verdicts.push(format!("{engine}: {}: not scanned ({why})", scan.location));
        }
    }
    for child in &report.children {
        scan_verdicts(child, verdicts, scanned);
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn count_items(report: &Report, counts: &mut BTreeMap<String, u32>) {
    for item in &report.items {
        *counts.entry(item.class.clone()).or_default() += item.count;
    }
    for child in &report.children {
        count_items(child, counts);
    }
}

/// An append-only audit file shared by the threads that decide files.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    file: Mutex<File>,
    dirty: AtomicBool,
}

impl AuditLog {
    /// Opens (or creates, with its folder) the log for appending and starts
    /// its flusher.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let inner = Arc::new(Inner { file: Mutex::new(file), dirty: AtomicBool::new(false) });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new().name("sekisho-audit-sync".into()).spawn(move || {
            while let Some(inner) = weak.upgrade() {
                inner.sync();
                drop(inner);
                std::thread::sleep(SYNC_INTERVAL);
            }
        })?;
        Ok(AuditLog { inner })
    }

    /// Appends one line.
    pub fn record(&self, entry: &Entry<'_>) -> std::io::Result<()> {
        self.record_line(entry)
    }

    /// Appends one line of any shape (an approval step: [`HoldEvent`]).
    pub fn record_line<T: Serialize + ?Sized>(&self, entry: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self.inner.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&line)?;
        self.inner.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Forces written lines to disk.
    pub fn sync(&self) {
        self.inner.sync();
    }
}

impl Inner {
    fn sync(&self) {
        if self.dirty.swap(false, Ordering::AcqRel) {
            let file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Err(e) = file.sync_data() {
                tracing::warn!("audit log fsync failed: {e}");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.sync();
    }
}
