//! Gateway metrics in the Prometheus text format: files by outcome and
//! format, bytes in and out, latency, sandbox fuel and memory, queue depth.
//! Plain atomics and one small map behind a lock: no metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::report::Report;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The gateway's counters, shared by every request.
#[derive(Default)]
pub struct Metrics {
    /// (outcome, format) → files.
    files: Mutex<BTreeMap<(String, String), u64>>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    fuel: AtomicU64,
    peak_memory: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    /// Requests refused because the gateway was at capacity.
    pub rejected_busy: AtomicU64,
    /// Requests waiting for a sandbox slot.
    pub queued: AtomicU64,
    /// Files being sanitized.
    pub in_flight: AtomicU64,
    /// Requests whose client went away (or whose timeout ran out) while
    /// they waited for a sandbox.
    pub abandoned_queued: AtomicU64,
    /// The same, while their file was in a sandbox.
    pub abandoned_running: AtomicU64,
    /// Uploads refused because the upload budget (places or bytes) was spent.
    pub rejected_uploads: AtomicU64,
    /// Uploads refused as larger than the input limit, before or while reading them.
    pub rejected_too_large: AtomicU64,
    /// (interface, reason) → connections closed at accept (`address`,
    /// `client-limit`, `full`) or cut off (`header-timeout`,
    /// `idle-timeout`, `body-timeout`).
    connections: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    /// Counts one decided file.
    pub fn record(&self, report: &Report, latency: Duration) {
        let format = report.input.format.clone().unwrap_or_else(|| "unknown".into());
        let key = (report.outcome.name().to_owned(), format);
        *self.files.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default() += 1;
        self.bytes_in.fetch_add(report.input.size, Ordering::Relaxed);
        self.bytes_out.fetch_add(report.output.as_ref().map_or(0, |o| o.size), Ordering::Relaxed);
        self.fuel.fetch_add(report.metrics.fuel_used, Ordering::Relaxed);
        self.peak_memory.fetch_max(report.metrics.peak_memory_bytes, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts a connection refused at accept or cut off, by interface and reason.
    pub fn connection(&self, interface: &'static str, reason: &'static str) {
        *self.connections.lock().unwrap_or_else(|p| p.into_inner()).entry((interface, reason)).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP sekisho_files_total Files decided, by outcome and detected format.\n");
        out.push_str("# TYPE sekisho_files_total counter\n");
        for ((outcome, format), n) in self.files.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "sekisho_files_total{{outcome=\"{outcome}\",format=\"{}\"}} {n}", escape(format));
        }
        let mut single = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        single("sekisho_bytes_in_total", "counter", "Bytes received.", get(&self.bytes_in));
        single("sekisho_bytes_out_total", "counter", "Bytes of rebuilt output.", get(&self.bytes_out));
        single("sekisho_sandbox_fuel_total", "counter", "Wasm fuel consumed by plugins.", get(&self.fuel));
        single("sekisho_sandbox_peak_memory_bytes", "gauge", "Largest sandbox memory seen.", get(&self.peak_memory));
        single("sekisho_rejected_busy_total", "counter", "Requests refused at capacity.", get(&self.rejected_busy));
        single("sekisho_queue_depth", "gauge", "Requests waiting for a sandbox slot.", get(&self.queued));
        single("sekisho_in_flight", "gauge", "Files being sanitized.", get(&self.in_flight));
        single(
            "sekisho_rejected_uploads_total",
            "counter",
            "Uploads refused because the upload budget was spent.",
            get(&self.rejected_uploads),
        );
        single(
            "sekisho_rejected_too_large_total",
            "counter",
            "Uploads refused as larger than the input limit before they were buffered.",
            get(&self.rejected_too_large),
        );
        out.push_str(
            "# HELP sekisho_abandoned_total Requests dropped before their answer (client gone or timeout), by stage.\n\
             # TYPE sekisho_abandoned_total counter\n",
        );
        let _ = writeln!(out, "sekisho_abandoned_total{{stage=\"queued\"}} {}", get(&self.abandoned_queued));
        let _ = writeln!(out, "sekisho_abandoned_total{{stage=\"running\"}} {}", get(&self.abandoned_running));
        out.push_str(
            "# HELP sekisho_connections_refused_total Connections closed at accept or cut off, by interface and reason.\n\
             # TYPE sekisho_connections_refused_total counter\n",
        );
        for ((interface, reason), n) in self.connections.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ =
                writeln!(out, "sekisho_connections_refused_total{{interface=\"{interface}\",reason=\"{reason}\"}} {n}");
        }
        out.push_str(
            "# HELP sekisho_request_seconds Time to decide a file.\n# TYPE sekisho_request_seconds histogram\n",
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "sekisho_request_seconds_bucket{{le=\"{bound}\"}} {}", get(bucket));
        }
        let count = get(&self.latency_count);
        let _ = writeln!(out, "sekisho_request_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "sekisho_request_seconds_sum {}", get(&self.latency_sum_us) as f64 / 1e6);
        let _ = writeln!(out, "sekisho_request_seconds_count {count}");
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
