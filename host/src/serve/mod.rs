//! `sekisho serve`: the gateway. An HTTP API ([`http`]), an ICAP server
//! ([`icap`]) and an SMTP content filter ([`smtp`]) in front of one [`Gateway`], which owns the engine, bounds the
//! number of files in sandboxes at once, keeps metrics and writes the audit
//! log.
//!
//! Back-pressure instead of unbounded queues: a request waits at most
//! `queue-wait` for a sandbox slot, and at most `queue` requests wait; the
//! others get 503 (HTTP, with `Retry-After`; ICAP has no such header).

pub mod holds;
pub mod http;
pub mod icap;
pub mod limits;
mod media;
mod metrics;
pub(crate) mod naming;
mod page;
pub mod smtp;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::audit::{AuditLog, Entry, Origin};
use crate::policy::Policy;
use crate::report::Report;
use crate::source::Source;
use crate::{Sanitized, Sekisho};

use limits::{Cidr, ConnTable, Spent, Upload, UploadBudget};
pub use metrics::Metrics;

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address of the HTTP listener.
    pub http: SocketAddr,
    /// Address of the ICAP listener; `None`: no ICAP.
    pub icap: Option<SocketAddr>,
    /// The SMTP content filter; `None`: no SMTP.
    pub smtp: Option<smtp::SmtpConfig>,
    /// Bearer tokens; empty means no authentication (loopback only).
    pub tokens: Vec<Token>,
    /// Files in sandboxes at once.
    pub workers: usize,
    /// Requests allowed to wait for a slot.
    pub queue: usize,
    /// How long a request may wait for a slot.
    pub queue_wait: Duration,
    /// How long an HTTP client may take to send its file, and the server to
    /// answer it; also how long an ICAP body may take to arrive, whole (the
    /// sandbox has its own, shorter, time limit per file).
    pub request_timeout: Duration,
    /// The policy used when a request names no profile.
    pub policy: Policy,
    /// Profiles a client may name (`?profile=`); each can only tighten
    /// `policy`. Empty: only the policy's own name.
    pub allow_profiles: Vec<String>,
    /// Where the audit log is appended; `None`: no audit log.
    pub audit: Option<PathBuf>,
    /// What an ICAP client receives instead of a refused file.
    pub icap_refusal: IcapRefusal,
    /// Client addresses ICAP serves; empty: any (loopback listeners only).
    pub icap_allow: Vec<Cidr>,
    /// Uploads being received or decided at once, over HTTP and ICAP.
    pub max_uploads: usize,
    /// Bytes of uploads held in memory at once, over HTTP and ICAP.
    pub upload_budget: u64,
    /// How long a request head (request line and headers) may take.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Connections per listener; at the cap the longest-idle one is closed
    /// to admit a new one, and when all are busy the new one is refused.
    pub max_connections: usize,
    /// Connections per client address and listener, likewise.
    pub max_connections_per_client: usize,
    /// Where held files wait for approval; `None`: held files are refused (403).
    pub spool: Option<holds::SpoolConfig>,
}

/// One bearer token of `--token-file` (`user:token`, `user:token:ROLE` or
/// `user:token:ROLE:GROUP,GROUP`).
#[derive(Clone)]
pub struct Token {
    /// The user's name, as the audit log records it.
    pub user: String,
    /// The token the client sends as `Authorization: Bearer`.
    pub secret: String,
    /// What the user may do.
    pub role: Role,
    /// The user's groups: an approver with groups decides the files of
    /// submitters sharing one of them.
    pub groups: Vec<String>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}, {}, {:?})", self.user, self.role.name(), self.groups)
    }
}

/// A user's role in the token file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Sends files, reads their own reports and downloads their own
    /// approved files (a plain `user:token` line).
    #[default]
    Submitter,
    /// Also approves or rejects the held files of submitters sharing a
    /// group (of every submitter when the approver has no groups).
    Approver,
    /// Reads every report and decides every held file.
    Admin,
}

impl Role {
    /// The name in the token file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// The role of a name in the token file.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Submitter, Role::Approver, Role::Admin].into_iter().find(|r| r.name() == name)
    }
}

/// Shortest token accepted, from the file or `SEKISHO_TOKEN`.
pub const MIN_TOKEN_LEN: usize = 16;

/// Defaults of the gateway's limits (the CLI's defaults too).
pub mod defaults {
    /// `--header-timeout-s`.
    pub const HEADER_TIMEOUT_S: u64 = 10;
    /// `--idle-timeout-s`.
    pub const IDLE_TIMEOUT_S: u64 = 15;
    /// `--max-connections`.
    pub const MAX_CONNECTIONS: usize = 512;
    /// `--max-connections-per-client`.
    pub const MAX_CONNECTIONS_PER_CLIENT: usize = 64;
    /// `--max-uploads`.
    pub const MAX_UPLOADS: usize = 128;
    /// `--upload-budget-mb`.
    pub const UPLOAD_BUDGET_MB: u64 = 1024;
}

/// The replacement for a file the gateway refuses, on ICAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum IcapRefusal {
    /// An HTTP 403 response with a short HTML page saying why.
    Page,
    /// An HTTP 200 response whose body is a short text file saying why
    /// (for clients that save whatever they get).
    TextFile,
}

/// Why a request was not processed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot is taken and the queue is full: retry later.
    Busy,
    /// The request named a profile that does not exist.
    UnknownProfile(String),
    /// The request named a profile the operator does not allow.
    ProfileNotAllowed(String),
    /// The upload budget (places or bytes) is spent: retry later.
    Uploads(Spent),
}

impl Refusal {
    /// Whether retrying later may succeed.
    pub fn transient(&self) -> bool {
        matches!(self, Refusal::Busy | Refusal::Uploads(_))
    }
}

/// The user a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Empty when the gateway has no tokens.
    pub name: String,
    /// What the user may do (every user is an admin, without tokens).
    pub role: Role,
    /// The user's groups.
    pub groups: Vec<String>,
}

impl User {
    /// Whether the user reads every report and decides every held file.
    pub fn admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Reports kept for `GET /v1/reports/{id}`.
const KEPT_REPORTS: usize = 4096;

/// A kept report: its id, the user who sent the file (none for ICAP), the report.
type Kept = (String, Option<String>, Arc<Report>);

/// The shared state of the gateway.
pub struct Gateway {
    sekisho: Sekisho,
    config: Config,
    /// The effective policy of each profile a client may name.
    profiles: Vec<(String, Policy)>,
    slots: Arc<Semaphore>,
    /// Counters served at `/metrics`.
    pub metrics: Metrics,
    audit: Option<AuditLog>,
    reports: Mutex<VecDeque<Kept>>,
    /// Where held files wait for approval (`--spool`).
    pub spool: Option<holds::Spool>,
    /// Browsers signed in to the approval page.
    sessions: page::Sessions,
    /// ICAP service tag: changes when plugins or the policy change.
    pub istag: String,
    /// Upload places and bytes, shared by HTTP and ICAP.
    pub uploads: UploadBudget,
    /// Open connections of the HTTP listener.
    pub http_connections: Arc<ConnTable>,
    /// Open connections of the ICAP listener.
    pub icap_connections: Arc<ConnTable>,
}

/// Counts a request in a gauge while it lives (a queue place), within a bound.
struct Place<'a>(&'a AtomicU64);

impl<'a> Place<'a> {
    fn take(gauge: &'a AtomicU64, bound: usize) -> Option<Place<'a>> {
        let before = gauge.fetch_add(1, Ordering::Relaxed);
        let place = Place(gauge);
        (before < bound as u64).then_some(place)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a request as abandoned unless it got to the end of its stage
/// (its client went away, or its timeout dropped it).
struct Stage<'a> {
    abandoned: &'a AtomicU64,
    done: bool,
}

impl Drop for Stage<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A file in a sandbox: counted in `in_flight` until its work ends, even
/// when the request that asked for it is gone.
struct InFlight(Arc<Gateway>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gateway {
    /// The gateway over `sekisho`: opens the audit log and derives the policy of
    /// each allowed profile; an error says which failed.
    pub fn new(sekisho: Sekisho, config: Config) -> Result<Gateway, String> {
        let audit = match &config.audit {
            Some(path) => Some(AuditLog::open(path).map_err(|e| format!("audit log {}: {e}", path.display()))?),
            None => None,
        };
        let mut profiles = Vec::new();
        for name in &config.allow_profiles {
            let profile = Policy::profile(name).map_err(|e| format!("--allow-profile {name}: {e}"))?;
            profiles.push((name.clone(), config.policy.tightened_by(&profile)));
        }
        let mut tag = Sha256::new();
        for plugin in sekisho.registry().plugins() {
            tag.update(plugin.sha256.as_bytes());
        }
        tag.update(config.policy.sha256().as_bytes());
        for (_, policy) in &profiles {
            tag.update(policy.sha256().as_bytes());
        }
        let istag = hex::encode(&tag.finalize()[..8]);
        let spool = config.spool.clone().map(holds::Spool::open).transpose()?;
        let slots = Arc::new(Semaphore::new(config.workers.max(1)));
        let uploads = UploadBudget::new(config.max_uploads, config.upload_budget);
        let connections = || Arc::new(ConnTable::new(config.max_connections, config.max_connections_per_client));
        Ok(Gateway {
            sekisho,
            profiles,
            slots,
            metrics: Metrics::default(),
            audit,
            reports: Mutex::new(VecDeque::new()),
            spool,
            sessions: page::Sessions::default(),
            istag,
            uploads,
            http_connections: connections(),
            icap_connections: connections(),
            config,
        })
    }

    /// The engine files are sanitized with.
    pub fn engine(&self) -> &Sekisho {
        &self.sekisho
    }

    /// The effective policy for a request: the operator's, or the
    /// operator's tightened by a profile the operator allows.
    pub fn policy(&self, profile: Option<&str>) -> Result<Policy, Refusal> {
        let own = &self.config.policy;
        match profile {
            None | Some("") => Ok(own.clone()),
            Some(name) if name == own.name => Ok(own.clone()),
            Some(name) => match self.profiles.iter().find(|(allowed, _)| allowed == name) {
                Some((_, policy)) => Ok(policy.clone()),
                None if Policy::profile(name).is_ok() => Err(Refusal::ProfileNotAllowed(name.to_owned())),
                None => Err(Refusal::UnknownProfile(name.to_owned())),
            },
        }
    }

    /// The profiles a client may name, the server policy's own first.
    pub fn allowed_profiles(&self) -> Vec<&str> {
        std::iter::once(self.config.policy.name.as_str()).chain(self.profiles.iter().map(|(n, _)| n.as_str())).collect()
    }

    /// Why a refused profile was refused, in words a client can act on.
    pub fn explain(&self, refusal: &Refusal) -> String {
        let allowed = self.allowed_profiles().join(", ");
        match refusal {
            Refusal::Busy => "all sandboxes are busy; retry later".into(),
            Refusal::UnknownProfile(name) => {
                format!("unknown profile {name:?}: not allowed on this server (allowed: {allowed})")
            }
            Refusal::ProfileNotAllowed(name) => format!(
                "profile {name:?} is not allowed on this server: a client may only name a profile the \
                 operator allows, and it can only tighten the server's policy (allowed: {allowed})"
            ),
            Refusal::Uploads(Spent::Uploads) => "too many uploads at once; retry later".into(),
            Refusal::Uploads(Spent::Bytes) => "the gateway's upload memory is spent; retry later".into(),
        }
    }

    /// The user a bearer token belongs to; an admin with no name when no
    /// token is configured.
    pub fn authenticate(&self, bearer: Option<&str>) -> Option<User> {
        if self.config.tokens.is_empty() {
            return Some(User { name: String::new(), role: Role::Admin, groups: Vec::new() });
        }
        let bearer = bearer?;
        // Every token is compared, so the time taken does not tell which matched.
        let mut found = None;
        for token in &self.config.tokens {
            if constant_time_eq(token.secret.as_bytes(), bearer.as_bytes()) && found.is_none() {
                found = Some(User { name: token.user.clone(), role: token.role, groups: token.groups.clone() });
            }
        }
        found
    }

    /// Takes an upload place (HTTP and ICAP share them), without waiting.
    pub fn start_upload(&self) -> Result<Upload, Refusal> {
        self.uploads.start().map_err(|spent| {
            self.metrics.rejected_uploads.fetch_add(1, Ordering::Relaxed);
            Refusal::Uploads(spent)
        })
    }

    /// Counts an upload refused because the budget's bytes are spent.
    pub fn budget_spent(&self) -> Refusal {
        self.metrics.rejected_uploads.fetch_add(1, Ordering::Relaxed);
        Refusal::Uploads(Spent::Bytes)
    }

    /// Whether a new file would be taken now: a sandbox slot or a queue
    /// place, and an upload place with some bytes.
    pub fn ready(&self) -> Result<(), &'static str> {
        let queued = self.metrics.queued.load(Ordering::Relaxed) as usize;
        if self.slots.available_permits() == 0 && queued >= self.config.queue {
            return Err("every sandbox is busy and the queue is full");
        }
        if !self.uploads.available() {
            return Err("the upload budget is spent");
        }
        Ok(())
    }

    /// Sanitizes one file in a sandbox slot, off the async threads; records
    /// metrics, the audit line and the report. `upload` (the memory the
    /// file holds) is given back when the work ends.
    ///
    /// Every count is held by a guard: a request dropped while it waits
    /// (its client went away, its timeout ran out) leaves the queue; one
    /// dropped while its file is in a sandbox is counted in flight until
    /// the sandbox is done, and its file is still recorded.
    pub async fn sanitize(
        self: &Arc<Self>,
        name: String,
        data: Vec<u8>,
        policy: Policy,
        origin: Origin,
        upload: Option<Upload>,
    ) -> Result<(String, Sanitized), Refusal> {
        self.decide(name, data, policy, origin, upload, false).await
    }

    /// [`Gateway::sanitize`], keeping the visible text the plugins hand
    /// over ([`Sanitized::text`]), e.g. to read a password mail.
    pub async fn extract(
        self: &Arc<Self>,
        name: String,
        data: Vec<u8>,
        policy: Policy,
        origin: Origin,
        upload: Option<Upload>,
    ) -> Result<(String, Sanitized), Refusal> {
        self.decide(name, data, policy, origin, upload, true).await
    }

    async fn decide(
        self: &Arc<Self>,
        name: String,
        data: Vec<u8>,
        policy: Policy,
        origin: Origin,
        upload: Option<Upload>,
        text: bool,
    ) -> Result<(String, Sanitized), Refusal> {
        let started = Instant::now();
        let metrics = &self.metrics;
        let Some(place) = Place::take(&metrics.queued, self.config.queue) else {
            metrics.rejected_busy.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        };
        let mut waiting = Stage { abandoned: &metrics.abandoned_queued, done: false };
        let permit = tokio::time::timeout(self.config.queue_wait, Arc::clone(&self.slots).acquire_owned()).await;
        drop(place);
        waiting.done = true;
        let Ok(Ok(permit)) = permit else {
            metrics.rejected_busy.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        };
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = InFlight(Arc::clone(self));
        let mut running = Stage { abandoned: &metrics.abandoned_running, done: false };
        let gateway = Arc::clone(self);
        let done = tokio::task::spawn_blocking(move || {
            let (_permit, _in_flight, _upload) = (permit, in_flight, upload);
            let source = Source::bytes(data);
            let result = if text {
                gateway.sekisho.extract(source, &name, &policy)
            } else {
                gateway.sekisho.sanitize(source, &name, &policy)
            };
            if let Some(audit) = &gateway.audit
                && let Err(e) = audit.record(&Entry::new(&origin, &result.report))
            {
                tracing::error!("audit log: {e}");
            }
            gateway.metrics.record(&result.report, started.elapsed());
            let id = gateway.keep_report(&result.report, origin.user.clone());
            (id, result)
        })
        .await;
        running.done = true;
        match done {
            Ok(decided) => Ok(decided),
            // The engine catches plugin faults; a panic here is a host bug:
            // answer it as a refusal to process rather than crash the server.
            Err(e) => {
                tracing::error!("sanitize task failed: {e}");
                Err(Refusal::Busy)
            }
        }
    }

    fn keep_report(&self, report: &Report, owner: Option<String>) -> String {
        let id = format!("{}-{:x}", &report.input.sha256[..16.min(report.input.sha256.len())], rand_suffix());
        let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        if reports.len() >= KEPT_REPORTS {
            reports.pop_front();
        }
        reports.push_back((id.clone(), owner, Arc::new(report.clone())));
        id
    }

    /// A recent report by id, if `viewer` may read it: its own user's, or
    /// any for an admin. Reports of ICAP files belong to no user.
    pub fn report(&self, id: &str, viewer: &User) -> Option<Arc<Report>> {
        let reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        reports
            .iter()
            .find(|(i, owner, _)| i == id && (viewer.admin() || owner.as_deref() == Some(viewer.name.as_str())))
            .map(|(_, _, r)| Arc::clone(r))
    }

    /// The metrics, with the connection and upload gauges.
    pub fn render_metrics(&self) -> String {
        let mut out = self.metrics.render();
        let mut gauge = |name: &str, kind: &str, help: &str, values: &[(&str, u64)]| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in values {
                out.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        gauge(
            "sekisho_connections",
            "gauge",
            "Open connections.",
            &[
                ("{interface=\"http\"}", self.http_connections.len() as u64),
                ("{interface=\"icap\"}", self.icap_connections.len() as u64),
            ],
        );
        gauge(
            "sekisho_connections_evicted_total",
            "counter",
            "Idle connections closed to admit new ones at a connection limit.",
            &[
                ("{interface=\"http\"}", self.http_connections.evicted.load(Ordering::Relaxed)),
                ("{interface=\"icap\"}", self.icap_connections.evicted.load(Ordering::Relaxed)),
            ],
        );
        gauge(
            "sekisho_upload_budget_free_bytes",
            "gauge",
            "Upload bytes that may still be buffered.",
            &[("", self.uploads.free_bytes())],
        );
        out.push_str(&scan_metrics(&self.sekisho.scanners().counts()));
        out
    }

    /// Appends one step of the approval workflow to the audit log.
    pub fn audit_hold(&self, event: &str, hold: &holds::Hold, origin: Option<&Origin>) {
        let Some(audit) = &self.audit else { return };
        let line = crate::audit::HoldEvent {
            time: crate::audit::HoldEvent::now(),
            event,
            hold: Some(&hold.id),
            origin,
            submitter: &hold.submitter,
            recipient: hold.recipient.as_deref(),
            name: &hold.name,
            sha256_out: &hold.sha256,
            status: hold.status.name(),
            findings: if event == "hold" { &hold.findings } else { &[] },
            comment: if matches!(event, "approve" | "reject") { hold.comment.as_deref() } else { None },
        };
        if let Err(e) = audit.record_line(&line) {
            tracing::error!("audit log: {e}");
        }
    }

    /// Approves or rejects a held file for `user`, with one audit line. A
    /// held mail message is delivered to the SMTP next hop before its
    /// approval is recorded: if the next hop does not take it, nothing is
    /// decided and the approver may try again.
    pub async fn decide_hold(
        &self,
        id: &str,
        user: &User,
        approve: bool,
        comment: Option<String>,
        origin: &Origin,
    ) -> Result<holds::Hold, HoldDecisionError> {
        let spool = self.spool.as_ref().ok_or(HoldDecisionError::Spool(holds::SpoolError::NotFound))?;
        let delivery = if approve { spool.claim_delivery(id, user)? } else { None };
        if let Some(delivery) = &delivery {
            let smtp = self.config.smtp.as_ref().ok_or_else(|| {
                HoldDecisionError::Delivery("a held mail message needs the SMTP filter's next hop (--smtp-next)".into())
            })?;
            let reply = smtp::deliver(smtp, &delivery.envelope, &delivery.message, self.config.request_timeout)
                .await
                .map_err(HoldDecisionError::Delivery)?;
            tracing::info!("held message {id} delivered to {} recipients: {reply}", delivery.envelope.to.len());
        }
        let hold = spool.decide(id, user, approve, comment)?;
        drop(delivery);
        self.audit_hold(if approve { "approve" } else { "reject" }, &hold, Some(origin));
        Ok(hold)
    }

    /// Deletes the spool's expired files, one audit line each.
    pub fn expire_holds(&self) {
        let Some(spool) = &self.spool else { return };
        for hold in spool.expire() {
            self.audit_hold("expire", &hold, None);
        }
    }

    /// Forces the audit log to disk (at shutdown).
    pub fn sync_audit(&self) {
        if let Some(audit) = &self.audit {
            audit.sync();
        }
    }
}

/// Why a hold was not decided.
#[derive(Debug)]
pub enum HoldDecisionError {
    /// The spool refused (not found, not the caller's to decide, already decided…).
    Spool(holds::SpoolError),
    /// The held mail message could not be delivered.
    Delivery(String),
}

impl From<holds::SpoolError> for HoldDecisionError {
    fn from(e: holds::SpoolError) -> HoldDecisionError {
        HoldDecisionError::Spool(e)
    }
}

/// Returns when `stop` turns true, or when its sender is gone (a future
/// that holds no borrow of the flag, so a listener's task stays `Send`).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A per-process counter mixed with the time, so report ids are not guessable
/// from the input hash alone.
fn rand_suffix() -> u64 {
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    (u64::from(nanos) << 20) ^ n
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs the gateway until SIGINT or SIGTERM, then finishes the files in
/// flight and returns.
pub fn run(sekisho: Sekisho, config: Config) -> Result<(), String> {
    if !config.http.ip().is_loopback() && config.tokens.is_empty() {
        return Err(format!(
            "listening on {} (not loopback) needs authentication: give --token-file or SEKISHO_TOKEN",
            config.http
        ));
    }
    if let Some(icap) = config.icap
        && !icap.ip().is_loopback()
        && config.icap_allow.is_empty()
    {
        return Err(format!(
            "ICAP on {icap} (not loopback) needs a client allow-list, as ICAP has no authentication: \
             give --icap-allow CIDR for each proxy's address (e.g. --icap-allow 10.0.0.5/32)"
        ));
    }
    if config.smtp.as_ref().is_some_and(|smtp| smtp.refused == smtp::MailRefusal::Hold) && config.spool.is_none() {
        return Err("--smtp-refused hold keeps held messages in the approval spool: give --spool DIR".into());
    }
    if let Some(smtp) = &config.smtp
        && !smtp.listen.ip().is_loopback()
        && smtp.allow.is_empty()
    {
        return Err(format!(
            "SMTP on {} (not loopback) needs a client allow-list, as the filter has no authentication: \
             give --smtp-allow CIDR for the MTA's address",
            smtp.listen
        ));
    }
    if config.smtp.as_ref().is_some_and(|smtp| smtp.ppap.is_some())
        && config.policy.encrypted != crate::policy::EncryptedMode::TryPasswords
    {
        return Err("--ppap-window-m needs `encrypted = \"try-passwords\"` in the policy: without it no \
                    password mail could open the attachment it waits for"
            .into());
    }
    if config.upload_budget < config.policy.limits.max_input_bytes {
        tracing::warn!(
            "--upload-budget-mb ({} bytes) is below the policy's max-input-bytes ({}): larger files get 503",
            config.upload_budget,
            config.policy.limits.max_input_bytes
        );
    }
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sekisho-serve")
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        let mut signals = StopSignals::listen()?;
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| format!("listening for signals: {e}"))?;
        let gateway = Arc::new(Gateway::new(sekisho, config.clone())?);
        // SIGHUP compiles the YARA rules again; on error the old ones stay.
        #[cfg(unix)]
        {
            let reloader = Arc::clone(&gateway);
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    let gateway = Arc::clone(&reloader);
                    match tokio::task::spawn_blocking(move || gateway.sekisho.scanners().reload_rules()).await {
                        Ok(Some(Ok(rules))) => eprintln!("sekisho: SIGHUP: {rules} YARA rules compiled and in use"),
                        Ok(Some(Err(e))) => eprintln!("sekisho: SIGHUP: the rules in use stay: {e}"),
                        Ok(None) => eprintln!("sekisho: SIGHUP: no --rules to reload"),
                        Err(e) => eprintln!("sekisho: SIGHUP: {e}"),
                    }
                }
            });
        }
        let http = tokio::net::TcpListener::bind(config.http).await.map_err(|e| format!("{}: {e}", config.http))?;
        eprintln!("sekisho: HTTP API on http://{}", http.local_addr().map_err(|e| e.to_string())?);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let icap = match config.icap {
            Some(address) => {
                let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| format!("{address}: {e}"))?;
                eprintln!("sekisho: ICAP on icap://{}", listener.local_addr().map_err(|e| e.to_string())?);
                Some(tokio::spawn(icap::serve(listener, Arc::clone(&gateway), stopped.clone())))
            }
            None => None,
        };
        let smtp = match config.smtp.clone() {
            Some(smtp) => {
                let listener =
                    tokio::net::TcpListener::bind(smtp.listen).await.map_err(|e| format!("{}: {e}", smtp.listen))?;
                eprintln!(
                    "sekisho: SMTP filter on smtp://{}, reinjecting to {}",
                    listener.local_addr().map_err(|e| e.to_string())?,
                    smtp.next_hop
                );
                Some(tokio::spawn(smtp::serve(listener, Arc::clone(&gateway), smtp, stopped.clone())))
            }
            None => None,
        };
        let api = tokio::spawn(http::serve(http, Arc::clone(&gateway), stopped.clone()));
        if let Some(spool) = &gateway.spool {
            let every = spool.sweep_interval();
            let sweeper = Arc::clone(&gateway);
            let mut stopping = stopped.clone();
            tokio::spawn(async move {
                loop {
                    let gateway = Arc::clone(&sweeper);
                    let _ = tokio::task::spawn_blocking(move || gateway.expire_holds()).await;
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        _ = stopping.wait_for(|stop| *stop) => break,
                    }
                }
            });
        }
        signals.received().await;
        eprintln!("sekisho: shutting down, finishing files in flight");
        let _ = stop.send(true);
        let _ = api.await;
        if let Some(icap) = icap {
            let _ = icap.await;
        }
        if let Some(smtp) = smtp {
            let _ = smtp.await;
        }
        gateway.sync_audit();
        Ok::<(), String>(())
    })
}

/// Scans, hits, errors and time per scanner engine, in the Prometheus
/// text format (nothing without scanners).
fn scan_metrics(counts: &[(&'static str, crate::scan::EngineCounts)]) -> String {
    let mut out = String::new();
    if counts.is_empty() {
        return out;
    }
    let families: [(&str, &str, fn(&crate::scan::EngineCounts) -> f64); 4] = [
        ("sekisho_scans_total", "Scans asked of each engine.", |c| c.scans as f64),
        ("sekisho_scan_hits_total", "Scans where the engine recognised something.", |c| c.hits as f64),
        ("sekisho_scan_errors_total", "Scans the engine could not do.", |c| c.errors as f64),
        ("sekisho_scan_seconds_total", "Time spent in each engine.", |c| c.micros as f64 / 1e6),
    ];
    for (name, help, value) in families {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (engine, c) in counts {
            out.push_str(&format!("{name}{{engine=\"{engine}\"}} {}\n", value(c)));
        }
    }
    out
}

/// Each connection takes a descriptor: the soft limit (often 1024) is
/// raised to the hard one, so the connection caps are what bound them.
fn raise_open_files_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// SIGINT and SIGTERM, listened for from the start: a stop that comes as
/// soon as the addresses are printed is a graceful one too.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Registers the handlers (inside the runtime).
    fn listen() -> Result<StopSignals, String> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let register = |kind| signal(kind).map_err(|e| format!("listening for signals: {e}"));
            Ok(StopSignals {
                interrupt: register(SignalKind::interrupt())?,
                terminate: register(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn received(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
