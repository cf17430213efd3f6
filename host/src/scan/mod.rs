//! Multi-scan beside the rebuild: YARA-X rules and ClamAV's `clamd`.
//!
//! A rebuild removes what its plugin knows; a scanner recognises what
//! others have seen. Scanners look at what the rebuild cannot vouch for:
//! files no plugin handles, the active parts a policy keeps (the VBA source
//! a plugin hands over), or everything (`[scan] what`, see
//! [`crate::policy::ScanPolicy`]). A match is a finding of the `malware`
//! class, blocked by default.
//!
//! Both engines are existing ones: the [`yara`] rules are compiled once
//! per process by the `yara-x` crate (reloaded on SIGHUP by `serve`) and
//! run without YARA modules, whose parsers would read untrusted files
//! outside the sandbox; [`clamd`] is reached over its socket with
//! `INSTREAM`.

pub mod clamd;
#[cfg(feature = "scan")]
pub mod yara;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::report::Scan;

/// Names of the engines, as reports, metrics and audit lines write them.
pub const ENGINES: [&str; 2] = ["yara-x", "clamav"];

/// The configured scanners of an engine.
#[derive(Default)]
pub struct Scanners {
    #[cfg(feature = "scan")]
    yara: Option<yara::YaraRules>,
    clamd: Option<clamd::Clamd>,
    stats: [EngineStats; 2],
}

impl std::fmt::Debug for Scanners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanners").field("engines", &self.engines()).finish()
    }
}

/// Counters of one engine, for `/metrics`.
#[derive(Default)]
struct EngineStats {
    scans: AtomicU64,
    hits: AtomicU64,
    errors: AtomicU64,
    micros: AtomicU64,
}

/// What one engine did, as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineCounts {
    /// Scans asked of the engine.
    pub scans: u64,
    /// Scans that matched a rule or signature.
    pub hits: u64,
    /// Scans the engine could not do (unreachable, timeout, too large).
    pub errors: u64,
    /// Time spent in the engine, in microseconds.
    pub micros: u64,
}

impl Scanners {
    /// No scanner: nothing is scanned unless a policy requires it, and then
    /// every scan is `scanner-down`.
    pub fn none() -> Scanners {
        Scanners::default()
    }

    /// YARA rules compiled from the `.yar` files of a folder.
    #[cfg(feature = "scan")]
    pub fn with_yara(mut self, rules: yara::YaraRules) -> Scanners {
        self.yara = Some(rules);
        self
    }

    /// ClamAV through `clamd`.
    pub fn with_clamd(mut self, clamd: clamd::Clamd) -> Scanners {
        self.clamd = Some(clamd);
        self
    }

    /// Which engines of [`ENGINES`] are configured, in that order.
    fn configured(&self) -> [bool; 2] {
        #[cfg(feature = "scan")]
        let yara = self.yara.is_some();
        #[cfg(not(feature = "scan"))]
        let yara = false;
        [yara, self.clamd.is_some()]
    }

    /// The names of the configured engines.
    pub fn engines(&self) -> Vec<&'static str> {
        ENGINES.iter().zip(self.configured()).filter(|(_, on)| *on).map(|(name, _)| *name).collect()
    }

    /// True when no engine is configured (asked for every file: no allocation).
    pub fn is_empty(&self) -> bool {
        self.configured() == [false, false]
    }

    /// Compiles the YARA rules again from their folder (SIGHUP in `serve`):
    /// the number of rules, or why the old rules stay.
    #[cfg(feature = "scan")]
    pub fn reload_rules(&self) -> Option<Result<usize, String>> {
        self.yara.as_ref().map(yara::YaraRules::reload)
    }

    /// Scans `data`, found at `location` in the tree, with every engine:
    /// one record per engine, with what matched or why it could not scan.
    /// Without engines, one record saying so (`engine` = `none`).
    pub fn scan(&self, data: &[u8], location: &str) -> Vec<Scan> {
        let mut scans = Vec::new();
        #[cfg(feature = "scan")]
        if let Some(yara) = &self.yara {
            let started = Instant::now();
            let result = yara.scan(data);
            scans.push(self.count(0, started, Scan::new(ENGINES[0], yara::VERSION, location, result)));
        }
        if let Some(clamd) = &self.clamd {
            let started = Instant::now();
            let (version, result) = clamd.scan(data);
            scans.push(self.count(1, started, Scan::new(ENGINES[1], &version, location, result)));
        }
        if scans.is_empty() {
            let why = "the policy requires a scan and no scanner is configured (--rules, --clamd)";
            scans.push(Scan::not_done(location, why));
        }
        scans
    }

    fn count(&self, engine: usize, started: Instant, scan: Scan) -> Scan {
        let stats = &self.stats[engine];
        stats.scans.fetch_add(1, Ordering::Relaxed);
        stats.micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if scan.error.is_some() {
            stats.errors.fetch_add(1, Ordering::Relaxed);
        } else if !scan.matches.is_empty() {
            stats.hits.fetch_add(1, Ordering::Relaxed);
        }
        scan
    }

    /// Counters per configured engine, by name.
    pub fn counts(&self) -> Vec<(&'static str, EngineCounts)> {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ENGINES
            .iter()
            .zip(&self.stats)
            .zip(self.configured())
            .filter(|(_, on)| *on)
            .map(|((&name, stats), _)| {
                let counts = EngineCounts {
                    scans: load(&stats.scans),
                    hits: load(&stats.hits),
                    errors: load(&stats.errors),
                    micros: load(&stats.micros),
                };
                (name, counts)
            })
            .collect()
    }
}

impl Scan {
    /// A scan that was not done, and why (engine `none`).
    pub fn not_done(location: &str, why: &str) -> Scan {
        Scan::new("none", "", location, Err(why.into()))
    }

    fn new(engine: &str, version: &str, location: &str, result: Result<Vec<String>, String>) -> Scan {
        let (matches, error) = match result {
            Ok(matches) => (matches, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        Scan { engine: engine.into(), version: version.into(), location: location.into(), matches, error }
    }
}
