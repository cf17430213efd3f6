//! The approval spool: files the personal-information audit holds wait here,
//! rebuilt (never the raw input), until an approver decides.
//!
//! The folder (`--spool DIR`) is private to the user running Sekisho (mode
//! 0700; the server refuses to start on a folder that is more open or owned
//! by someone else). Each held file is `ID.bin` (mode 0600, the rebuilt
//! bytes) beside `ID.json` (mode 0600, its record: who sent it, to whom,
//! when, the masked findings and report, the decision). A rejected or expired
//! file is deleted at once; its record stays. Ids are 128 random bits, hex.
//!
//! A message held by the SMTP filter (`--smtp-refused hold`) carries its
//! envelope: approving it delivers it to the next hop first, and only a
//! delivered message counts as approved; its file is then deleted.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Role, User};
use crate::pii::Finding;
use crate::report::Report;

/// Defaults of the spool (the CLI's defaults too).
pub mod defaults {
    /// `--spool-max-mb`.
    pub const SPOOL_MAX_MB: u64 = 1024;
    /// `--hold-retention-h`.
    pub const HOLD_RETENTION_H: u64 = 72;
}

/// How the spool runs.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// The folder.
    pub dir: PathBuf,
    /// Most bytes of held files at once; a file that does not fit is refused.
    pub max_bytes: u64,
    /// How long a file is kept, from its submission; then it is deleted.
    pub retention: Duration,
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for an approver.
    Held,
    /// Approved: the submitter may download it.
    Approved,
    /// Rejected: the file is deleted.
    Rejected,
    /// Not decided within the retention period: the file is deleted.
    Expired,
}

impl Status {
    /// The name used in records and audit lines.
    pub fn name(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
        }
    }
}

/// The record of one held file (its sidecar, and the API's answer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    /// The hold's id (32 hex digits).
    pub id: String,
    /// The user who sent the file.
    pub submitter: String,
    /// The submitter's groups when it was sent.
    #[serde(default)]
    pub groups: Vec<String>,
    /// To whom the file is going (`?to=`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// When the file was held: RFC 3339, UTC.
    pub created: String,
    /// The same, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// The file's name, as sent.
    pub name: String,
    /// Size of the rebuilt file.
    pub size: u64,
    /// SHA-256 of the rebuilt file, hex.
    pub sha256: String,
    /// Where the hold stands.
    pub status: Status,
    /// Who approved or rejected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When: RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// The decider's comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether the rebuilt file is still in the spool.
    pub file_present: bool,
    /// Where a held mail message goes once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<Envelope>,
    /// The personal information found (masked values only).
    pub findings: Vec<Finding>,
    /// The file's report (masked values only).
    pub report: Report,
}

/// The SMTP envelope of a held message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `MAIL FROM` (empty: the null sender).
    pub from: String,
    /// `RCPT TO`, each one the next hop accepted when the message came.
    pub to: Vec<String>,
    /// The message asked for SMTPUTF8.
    #[serde(default)]
    pub smtputf8: bool,
}

impl Hold {
    /// Whether `user` may see this hold: its submitter, an admin, or an
    /// approver sharing a group with the submitter (every approver without
    /// groups).
    pub fn visible_to(&self, user: &User) -> bool {
        self.submitter == user.name || self.decidable_by(user) || user.role == Role::Admin
    }

    /// Whether `user`'s role and groups let them decide this hold (their own
    /// file aside).
    pub fn in_scope_of(&self, user: &User) -> bool {
        match user.role {
            Role::Admin => true,
            Role::Approver => user.groups.is_empty() || user.groups.iter().any(|g| self.groups.contains(g)),
            Role::Submitter => false,
        }
    }

    /// Whether `user` may approve or reject it: in scope, and not its submitter.
    pub fn decidable_by(&self, user: &User) -> bool {
        self.in_scope_of(user) && self.submitter != user.name
    }
}

/// Why a spool operation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum SpoolError {
    /// No such hold, or not one the caller may see.
    NotFound,
    /// The caller may see it but not do this (their own file, their role).
    Forbidden(&'static str),
    /// Not in a state that allows this (already decided, not yet approved).
    Conflict(String),
    /// The file is gone (rejected or expired).
    Gone(String),
    /// The spool's size cap would be passed.
    Full,
    /// Bad input (a comment carrying personal information).
    Invalid(String),
    /// The disk failed.
    Io(String),
}

/// The spool: its folder and an index of the records.
pub struct Spool {
    config: SpoolConfig,
    inner: Mutex<Index>,
    /// Mail holds being delivered: a second approver waits for the first.
    delivering: Mutex<std::collections::BTreeSet<String>>,
}

/// A held message claimed for delivery ([`Spool::claim_delivery`]); the
/// claim ends when it is dropped.
pub struct Delivery<'a> {
    spool: &'a Spool,
    /// The hold, as claimed.
    pub hold: Hold,
    /// Its envelope.
    pub envelope: Envelope,
    /// The message to deliver.
    pub message: Vec<u8>,
}

impl Drop for Delivery<'_> {
    fn drop(&mut self) {
        self.spool.delivering.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.hold.id);
    }
}

#[derive(Default)]
struct Index {
    holds: BTreeMap<String, Hold>,
    /// Bytes of the rebuilt files present.
    bytes: u64,
}

impl Spool {
    /// Opens the folder (created mode 0700) and reads the records in it.
    /// Refuses a folder that is not a folder, belongs to another user or is
    /// open to others.
    pub fn open(config: SpoolConfig) -> Result<Spool, String> {
        let dir = &config.dir;
        let shown = dir.display();
        let existed = std::fs::symlink_metadata(dir).is_ok();
        if !existed {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("--spool {shown}: {e}"))?;
        }
        let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("--spool {shown}: {e}"))?;
        if !meta.is_dir() {
            return Err(format!("--spool {shown}: not a folder"));
        }
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        if meta.uid() != uid {
            return Err(format!("--spool {shown}: it belongs to user {}, not to the user running Sekisho", meta.uid()));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "--spool {shown}: its mode is {:04o}, open to others: held files need a private folder (chmod 700)",
                meta.mode() & 0o7777
            ));
        }
        let mut index = Index::default();
        for entry in std::fs::read_dir(dir).map_err(|e| format!("--spool {shown}: {e}"))? {
            let path = entry.map_err(|e| format!("--spool {shown}: {e}"))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let hold: Hold = match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
            {
                Ok(hold) => hold,
                Err(e) => {
                    tracing::warn!("spool record {}: {e}; ignored", path.display());
                    continue;
                }
            };
            if !valid_id(&hold.id) {
                continue;
            }
            if hold.file_present {
                index.bytes += hold.size;
            }
            index.holds.insert(hold.id.clone(), hold);
        }
        Ok(Spool { config, inner: Mutex::new(index), delivering: Mutex::default() })
    }

    /// The configuration.
    pub fn config(&self) -> &SpoolConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn file(&self, id: &str) -> PathBuf {
        self.config.dir.join(format!("{id}.bin"))
    }

    fn sidecar(&self, id: &str) -> PathBuf {
        self.config.dir.join(format!("{id}.json"))
    }

    fn save(&self, hold: &Hold) -> Result<(), SpoolError> {
        let bytes = serde_json::to_vec_pretty(hold).map_err(|e| SpoolError::Io(e.to_string()))?;
        let temporary = self.config.dir.join(format!(".{}.json.tmp", hold.id));
        write_private(&temporary, &bytes).map_err(|e| SpoolError::Io(e.to_string()))?;
        std::fs::rename(&temporary, self.sidecar(&hold.id)).map_err(|e| SpoolError::Io(e.to_string()))
    }

    /// Stores a held file: its rebuilt bytes and its record (with the
    /// envelope of a held mail message).
    pub fn hold(
        &self,
        submitter: &User,
        recipient: Option<String>,
        report: &Report,
        output: &[u8],
        envelope: Option<Envelope>,
    ) -> Result<Hold, SpoolError> {
        let mut index = self.lock();
        let size = output.len() as u64;
        if index.bytes.saturating_add(size) > self.config.max_bytes {
            return Err(SpoolError::Full);
        }
        let id = new_id().map_err(SpoolError::Io)?;
        let now = SystemTime::now();
        let hold = Hold {
            id: id.clone(),
            submitter: submitter.name.clone(),
            groups: submitter.groups.clone(),
            recipient,
            created: humantime::format_rfc3339_seconds(now).to_string(),
            created_unix: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            name: report.input.name.clone(),
            size,
            sha256: report.output.as_ref().map(|o| o.sha256.clone()).unwrap_or_default(),
            status: Status::Held,
            decided_by: None,
            decided_at: None,
            comment: None,
            file_present: true,
            envelope,
            findings: report.pii.clone(),
            report: report.clone(),
        };
        let file = self.file(&id);
        if let Err(e) = write_private(&file, output) {
            let _ = std::fs::remove_file(&file);
            return Err(SpoolError::Io(e.to_string()));
        }
        if let Err(e) = self.save(&hold) {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
        index.bytes += size;
        index.holds.insert(id, hold.clone());
        Ok(hold)
    }

    /// The holds `user` may see: their own and those they may decide
    /// (every one for an admin), newest first.
    pub fn list(&self, user: &User) -> Vec<Hold> {
        let index = self.lock();
        let mut holds: Vec<Hold> = index.holds.values().filter(|h| h.visible_to(user)).cloned().collect();
        holds.sort_by(|a, b| b.created_unix.cmp(&a.created_unix).then_with(|| a.id.cmp(&b.id)));
        holds
    }

    /// One hold, if `user` may see it.
    pub fn get(&self, id: &str, user: &User) -> Result<Hold, SpoolError> {
        let index = self.lock();
        index.holds.get(id).filter(|h| h.visible_to(user)).cloned().ok_or(SpoolError::NotFound)
    }

    /// Approves or rejects a held file. Nobody decides their own file;
    /// only approvers in scope and admins decide. A rejected file is
    /// deleted at once, and so is an approved mail message (approved only
    /// once delivered: see [`Spool::claim_delivery`]).
    pub fn decide(&self, id: &str, user: &User, approve: bool, comment: Option<String>) -> Result<Hold, SpoolError> {
        if let Some(comment) = &comment
            && carries_personal_information(comment)
        {
            return Err(SpoolError::Invalid(
                "the comment seems to carry personal information (it would be kept in the record and the \
                 audit log): write it without"
                    .into(),
            ));
        }
        let mut index = self.lock();
        let mut hold = decidable(&index, id, user)?;
        hold.status = if approve { Status::Approved } else { Status::Rejected };
        hold.decided_by = Some(user.name.clone());
        hold.decided_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        hold.comment = comment;
        let mut freed = 0;
        if !approve || hold.envelope.is_some() {
            remove(&self.file(id)).map_err(|e| SpoolError::Io(e.to_string()))?;
            hold.file_present = false;
            freed = hold.size;
        }
        self.save(&hold)?;
        index.bytes = index.bytes.saturating_sub(freed);
        index.holds.insert(id.to_owned(), hold.clone());
        Ok(hold)
    }

    /// A held mail message `user` may approve, claimed for delivery (one
    /// approver at a time); `None` for a hold without an envelope.
    pub fn claim_delivery(&self, id: &str, user: &User) -> Result<Option<Delivery<'_>>, SpoolError> {
        let hold = decidable(&self.lock(), id, user)?;
        let Some(envelope) = hold.envelope.clone() else { return Ok(None) };
        let message = std::fs::read(self.file(id)).map_err(|e| SpoolError::Io(e.to_string()))?;
        if !self.delivering.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.to_owned()) {
            return Err(SpoolError::Conflict("the message is being delivered".into()));
        }
        Ok(Some(Delivery { spool: self, hold, envelope, message }))
    }

    /// The rebuilt bytes of an approved file, for its submitter only.
    pub fn download(&self, id: &str, user: &User) -> Result<(Hold, Vec<u8>), SpoolError> {
        let index = self.lock();
        let hold = index.holds.get(id).filter(|h| h.visible_to(user)).ok_or(SpoolError::NotFound)?;
        if hold.submitter != user.name {
            return Err(SpoolError::Forbidden("only the submitter downloads an approved file"));
        }
        match hold.status {
            Status::Held => return Err(SpoolError::Conflict("the file is waiting for approval".into())),
            Status::Rejected | Status::Expired => {
                return Err(SpoolError::Gone(format!("the file was {} and deleted", hold.status.name())));
            }
            Status::Approved if !hold.file_present => {
                return Err(SpoolError::Gone("the approved file was deleted after the retention period".into()));
            }
            Status::Approved => {}
        }
        let bytes = std::fs::read(self.file(id)).map_err(|e| SpoolError::Io(e.to_string()))?;
        Ok((hold.clone(), bytes))
    }

    /// Deletes the files older than the retention period (held ones become
    /// `expired`); answers the records changed, for the audit log.
    pub fn expire(&self) -> Vec<Hold> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut index = self.lock();
        let due: Vec<String> = index
            .holds
            .values()
            .filter(|h| {
                h.file_present && Duration::from_secs(h.created_unix).saturating_add(self.config.retention) <= now
            })
            .map(|h| h.id.clone())
            .collect();
        let mut expired = Vec::new();
        for id in due {
            let Some(mut hold) = index.holds.get(&id).cloned() else { continue };
            if let Err(e) = remove(&self.file(&id)) {
                tracing::error!("spool: deleting expired file {id}: {e}");
                continue;
            }
            hold.file_present = false;
            if hold.status == Status::Held {
                hold.status = Status::Expired;
            }
            if let Err(e) = self.save(&hold) {
                tracing::error!("spool: record of expired file {id}: {e:?}");
            }
            index.bytes = index.bytes.saturating_sub(hold.size);
            index.holds.insert(id, hold.clone());
            expired.push(hold);
        }
        expired
    }

    /// How often the expiry runs: a quarter of the retention, within 200 ms and a minute.
    pub fn sweep_interval(&self) -> Duration {
        (self.config.retention / 4).clamp(Duration::from_millis(200), Duration::from_secs(60))
    }
}

/// Whether `id` has the shape of a hold id (so it can name a file).
pub fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn new_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a hold id: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Writes a new file of mode 0600 and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The hold `id` when `user` may decide it now: they see it, it is not
/// theirs, they are in scope, and it is still held.
fn decidable(index: &Index, id: &str, user: &User) -> Result<Hold, SpoolError> {
    let hold = index.holds.get(id).filter(|h| h.visible_to(user)).ok_or(SpoolError::NotFound)?;
    if hold.submitter == user.name {
        return Err(SpoolError::Forbidden("nobody approves or rejects their own file"));
    }
    if !hold.in_scope_of(user) {
        return Err(SpoolError::Forbidden("only an approver of the submitter's group or an admin decides"));
    }
    if hold.status != Status::Held {
        return Err(SpoolError::Conflict(format!("the file is already {}", hold.status.name())));
    }
    Ok(hold.clone())
}

fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether a text (a decider's comment) carries what the outbound audit
/// would find: such a comment is refused rather than recorded.
fn carries_personal_information(text: &str) -> bool {
    static OUTBOUND: OnceLock<crate::pii::PiiPolicy> = OnceLock::new();
    let policy = OUTBOUND.get_or_init(crate::pii::PiiPolicy::outbound);
    let piece = crate::pipeline::TextPiece { file: "comment".into(), location: String::new(), text: text.to_owned() };
    !policy.audit(&[piece]).findings.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: Role, groups: &[&str]) -> User {
        User { name: name.into(), role, groups: groups.iter().map(|g| g.to_string()).collect() }
    }

    #[test]
    fn scopes_follow_roles_and_groups() {
        let report: Report = serde_json::from_value(serde_json::json!({
            "schema": "sekisho.report/1",
            "input": {"name": "a.csv", "size": 1, "sha256": "00", "format": null},
            "output": null, "outcome": "held", "reason": null,
            "policy": {"name": "p", "sha256": "00"}, "plugin": null, "items": [], "children": [],
            "metrics": {"wall_time_us": 0, "fuel_used": 0, "peak_memory_bytes": 0}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(SpoolConfig {
            dir: dir.path().join("spool"),
            max_bytes: 10,
            retention: Duration::from_secs(3600),
        })
        .unwrap();
        let alice = user("alice", Role::Submitter, &["finance"]);
        let hold = spool.hold(&alice, None, &report, b"abc", None).unwrap();
        assert!(valid_id(&hold.id));
        assert!(matches!(spool.hold(&alice, None, &report, b"0123456789", None), Err(SpoolError::Full)));
        let bob = user("bob", Role::Approver, &["finance"]);
        let carol = user("carol", Role::Approver, &["hr"]);
        let dave = user("dave", Role::Approver, &[]);
        let eve = user("eve", Role::Submitter, &["finance"]);
        assert_eq!(spool.list(&carol).len(), 0);
        assert_eq!(spool.list(&dave).len(), 1);
        assert_eq!(spool.list(&eve).len(), 0);
        assert_eq!(spool.decide(&hold.id, &carol, true, None).unwrap_err(), SpoolError::NotFound);
        assert!(matches!(spool.decide(&hold.id, &alice, true, None), Err(SpoolError::Forbidden(_))));
        assert!(matches!(spool.download(&hold.id, &alice), Err(SpoolError::Conflict(_))));
        assert!(matches!(
            spool.decide(&hold.id, &bob, true, Some("to tanaka@example.jp".into())),
            Err(SpoolError::Invalid(_))
        ));
        spool.decide(&hold.id, &bob, true, Some("ok".into())).unwrap();
        assert!(matches!(spool.decide(&hold.id, &dave, false, None), Err(SpoolError::Conflict(_))));
        assert!(matches!(spool.download(&hold.id, &bob), Err(SpoolError::Forbidden(_))));
        assert_eq!(spool.download(&hold.id, &alice).unwrap().1, b"abc");
        // The records survive a restart.
        drop(spool);
        let again =
            Spool::open(SpoolConfig { dir: dir.path().join("spool"), max_bytes: 10, retention: Duration::ZERO })
                .unwrap();
        assert_eq!(again.get(&hold.id, &alice).unwrap().status, Status::Approved);
        assert_eq!(again.expire().len(), 1);
        assert!(!dir.path().join("spool").join(format!("{}.bin", hold.id)).exists());
    }
}
