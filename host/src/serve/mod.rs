//! `sekisho serve`: the gateway. An HTTP API ([`http`]) and an ICAP server
//! ([`icap`]) in front of one [`Gateway`], which owns the engine, bounds the
//! number of files in sandboxes at once, keeps metrics and writes the audit
//! log.
//!
//! Back-pressure instead of unbounded queues: a request waits at most
//! `queue-wait` for a sandbox slot, and at most `queue` requests wait; the
//! others get 503 (HTTP, with `Retry-After`; ICAP has no such header).

pub mod http;
pub mod icap;
mod metrics;
mod naming;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::audit::{AuditLog, Entry, Origin};
use crate::policy::Policy;
use crate::report::Report;
use crate::source::Source;
use crate::{Sanitized, Sekisho};

pub use metrics::Metrics;

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub http: SocketAddr,
    pub icap: Option<SocketAddr>,
    /// (user, token) pairs; empty means no authentication (loopback only).
    pub tokens: Vec<(String, String)>,
    /// Files in sandboxes at once.
    pub workers: usize,
    /// Requests allowed to wait for a slot.
    pub queue: usize,
    /// How long a request may wait for a slot.
    pub queue_wait: Duration,
    /// How long an HTTP client may take to send its file, and the server to
    /// answer it (the sandbox has its own, shorter, time limit per file).
    pub request_timeout: Duration,
    /// The policy used when a request names no profile.
    pub policy: Policy,
    pub audit: Option<PathBuf>,
    /// What an ICAP client receives instead of a refused file.
    pub icap_refusal: IcapRefusal,
}

/// The replacement for a file the gateway refuses, on ICAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
}

/// Reports kept for `GET /v1/reports/{id}`.
const KEPT_REPORTS: usize = 4096;

/// The shared state of the gateway.
pub struct Gateway {
    sekisho: Sekisho,
    config: Config,
    slots: Arc<Semaphore>,
    pub metrics: Metrics,
    audit: Option<AuditLog>,
    reports: Mutex<VecDeque<(String, Arc<Report>)>>,
    /// ICAP service tag: changes when plugins or the policy change.
    pub istag: String,
}

impl Gateway {
    pub fn new(sekisho: Sekisho, config: Config) -> Result<Gateway, String> {
        let audit = match &config.audit {
            Some(path) => Some(AuditLog::open(path).map_err(|e| format!("audit log {}: {e}", path.display()))?),
            None => None,
        };
        let mut tag = Sha256::new();
        for plugin in sekisho.registry().plugins() {
            tag.update(plugin.sha256.as_bytes());
        }
        tag.update(config.policy.sha256().as_bytes());
        let istag = hex::encode(&tag.finalize()[..8]);
        let slots = Arc::new(Semaphore::new(config.workers.max(1)));
        Ok(Gateway {
            sekisho,
            config,
            slots,
            metrics: Metrics::default(),
            audit,
            reports: Mutex::new(VecDeque::new()),
            istag,
        })
    }

    pub fn engine(&self) -> &Sekisho {
        &self.sekisho
    }

    /// The policy for a request: a built-in profile by name, or the default.
    pub fn policy(&self, profile: Option<&str>) -> Result<Policy, Refusal> {
        match profile {
            None | Some("") => Ok(self.config.policy.clone()),
            Some(name) if name == self.config.policy.name => Ok(self.config.policy.clone()),
            Some(name) => Policy::profile(name).map_err(|_| Refusal::UnknownProfile(name.to_owned())),
        }
    }

    /// The user a bearer token belongs to; `Some("")` when no token is configured.
    pub fn authenticate(&self, bearer: Option<&str>) -> Option<String> {
        if self.config.tokens.is_empty() {
            return Some(String::new());
        }
        let bearer = bearer?;
        self.config
            .tokens
            .iter()
            .find(|(_, token)| constant_time_eq(token.as_bytes(), bearer.as_bytes()))
            .map(|(u, _)| u.clone())
    }

    /// Sanitizes one file in a sandbox slot, off the async threads; records
    /// metrics, the audit line and the report.
    pub async fn sanitize(
        self: &Arc<Self>,
        name: String,
        data: Vec<u8>,
        policy: Policy,
        origin: Origin,
    ) -> Result<(String, Sanitized), Refusal> {
        let started = Instant::now();
        let metrics = &self.metrics;
        if metrics.queued.load(Ordering::Relaxed) as usize >= self.config.queue {
            metrics.rejected_busy.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        }
        metrics.queued.fetch_add(1, Ordering::Relaxed);
        let permit = tokio::time::timeout(self.config.queue_wait, self.slots.clone().acquire_owned()).await;
        metrics.queued.fetch_sub(1, Ordering::Relaxed);
        let Ok(Ok(permit)) = permit else {
            metrics.rejected_busy.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        };
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let gateway = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let result = gateway.sekisho.sanitize(Source::bytes(data), &name, &policy);
            if let Some(audit) = &gateway.audit
                && let Err(e) = audit.record(&Entry::new(&origin, &result.report))
            {
                tracing::error!("audit log: {e}");
            }
            result
        })
        .await;
        metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        let result = match result {
            Ok(result) => result,
            // The engine catches plugin faults; a panic here is a host bug:
            // answer it as a refusal to process rather than crash the server.
            Err(e) => {
                tracing::error!("sanitize task failed: {e}");
                return Err(Refusal::Busy);
            }
        };
        metrics.record(&result.report, started.elapsed());
        let id = self.keep_report(&result.report);
        Ok((id, result))
    }

    fn keep_report(&self, report: &Report) -> String {
        let id = format!("{}-{:x}", &report.input.sha256[..16.min(report.input.sha256.len())], rand_suffix());
        let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        if reports.len() >= KEPT_REPORTS {
            reports.pop_front();
        }
        reports.push_back((id.clone(), Arc::new(report.clone())));
        id
    }

    /// A recent report by id.
    pub fn report(&self, id: &str) -> Option<Arc<Report>> {
        let reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        reports.iter().find(|(i, _)| i == id).map(|(_, r)| Arc::clone(r))
    }

    /// Forces the audit log to disk (at shutdown).
    pub fn sync_audit(&self) {
        if let Some(audit) = &self.audit {
            audit.sync();
        }
    }
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sekisho-serve")
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        let gateway = Arc::new(Gateway::new(sekisho, config.clone())?);
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
        let mut on_stop = stopped.clone();
        let api =
            axum::serve(http, http::router(Arc::clone(&gateway)).into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = on_stop.wait_for(|stop| *stop).await;
                });
        let api = tokio::spawn(async move { api.await });
        shutdown_signal().await;
        eprintln!("sekisho: shutting down, finishing files in flight");
        let _ = stop.send(true);
        let _ = api.await;
        if let Some(icap) = icap {
            let _ = icap.await;
        }
        gateway.sync_audit();
        Ok::<(), String>(())
    })
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
