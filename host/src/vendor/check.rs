//! `sekisho plugin check PLUGIN.wasm [SAMPLES…]`: the conformance kit a
//! vendor runs before shipping a plugin, and CI runs on every built-in one.
//!
//! The plugin is loaded the way `--plugins-dir` loads it, beside the
//! built-in plugins (so every admission rule applies: imports, contract
//! version, declarations, signatures with `--require-signed`). Then:
//!
//! - **description**: name and semver version; per format a media type,
//!   an extension, classes that are shared or declared, and for a format
//!   the host does not detect itself a magic signature the host's own
//!   detection does not shadow; declared classes and options well formed;
//! - **each sample**: detected as one of the plugin's formats and routed to
//!   it; rebuilt; re-detected as a declared format (the pipeline's verdict);
//!   within half of every budget (fuel, memory, time); deterministic (same
//!   bytes twice); idempotent (its output sanitizes to the same bytes and
//!   the second pass finds nothing to remove); rebuilt under every value of
//!   every option the plugin declares; the text it hands the host;
//! - **robustness**: mutations of each sample (bit flips, truncations,
//!   insertions, deletions, repeated chunks, boundary integers; for a ZIP
//!   package half of them inside one member, past the CRCs) from a seeded
//!   generator, each under a tight time limit. Any refusal is fine
//!   (`failed`, `blocked`, `unsupported`, a memory or stack limit, the fuel
//!   budget running out within the time limit); a trap, an output the host
//!   refuses (`plugin-fault`) or the time limit (`limit-exceeded: time`) in
//!   the checked plugin is a failure, reported with the seed and the
//!   mutation so it can be reproduced.
//!
//! Every check is a row (check, result, detail); the plugin passes when no
//! row fails.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::contract::Signature;
use crate::detect;
use crate::pipeline::{Options, Sekisho};
use crate::policy::{Class, Policy};
use crate::registry::{BUILTIN_PLUGINS, Origin, Plugin, Registry};
use crate::report::{Disposition, Limit, Outcome, ReasonKind, Report};
use crate::sandbox::SandboxConfig;
use crate::source::Source;
use crate::vendor::signature::{self, TrustedKeys};

/// Mutations of each sample by default.
pub const DEFAULT_MUTATIONS: u32 = 200;
/// The generator's seed by default (any seed reproduces its own run).
pub const DEFAULT_SEED: u64 = 14;
/// The time limit of one mutation by default (a sample that takes long
/// gets four times its own time instead).
pub const DEFAULT_MUTATION_TIME: Duration = Duration::from_secs(2);
/// A sample may use at most this share of a budget (fuel, memory, time).
const BUDGET_SHARE: f64 = 0.5;
/// Native stack of the threads that run sandboxes: nested documents run
/// in nested sandboxes on one stack.
const WORKER_STACK: usize = 64 << 20;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The plugin's `.wasm` component.
    pub plugin: PathBuf,
    /// Files of the plugin's formats.
    pub samples: Vec<PathBuf>,
    /// The policy the samples are rebuilt under (its options at their
    /// defaults unless it sets them).
    pub policy: Policy,
    /// Engine settings (cache folder, allocator).
    pub sandbox: SandboxConfig,
    /// Told about a first run that compiles the plugins.
    pub notice: Option<fn(&str)>,
    /// Mutations of each sample.
    pub mutations: u32,
    /// Seed of the mutation generator; the same seed gives the same mutations.
    pub seed: u64,
    /// Time limit of one mutation.
    pub mutation_time_limit: Duration,
    /// Mutations run at once.
    pub jobs: usize,
    /// Keys that may have signed the plugin; the signature is checked when
    /// given.
    pub trusted_keys: Option<Arc<TrustedKeys>>,
    /// Load the plugin only when signed by one of `trusted_keys`, as
    /// `--require-signed` does.
    pub require_signed: bool,
    /// Where to write the mutated inputs that fail, to reproduce them.
    pub save_failures: Option<PathBuf>,
}

impl CheckOptions {
    /// The defaults: strict policy, 200 mutations, seed 14, 2 s per
    /// mutation, on all cores (at most 4).
    pub fn new(plugin: impl Into<PathBuf>, samples: Vec<PathBuf>) -> CheckOptions {
        CheckOptions {
            plugin: plugin.into(),
            samples,
            policy: Policy::default(),
            sandbox: SandboxConfig::default(),
            notice: None,
            mutations: DEFAULT_MUTATIONS,
            seed: DEFAULT_SEED,
            mutation_time_limit: DEFAULT_MUTATION_TIME,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()).min(4),
            trusted_keys: None,
            require_signed: false,
            save_failures: None,
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Checked and fine.
    Pass,
    /// Checked and wrong: the plugin does not pass.
    Fail,
    /// Not checked (not applicable, or nothing to check); never a failure.
    Skip,
}

impl Verdict {
    /// `pass`, `FAIL` or `skip`, as the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRow {
    /// What was checked: `load`, `format docx`, `sample.csv: idempotent`…
    pub check: String,
    /// How it came out.
    pub result: Verdict,
    /// What was found, one line.
    pub detail: String,
}

/// Everything `plugin check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The `.wasm` file, as given.
    pub plugin: String,
    /// sha256 of the `.wasm` file.
    pub sha256: String,
    /// Name, version and contract as the plugin describes itself (absent
    /// when it was not admitted).
    pub name: Option<String>,
    /// Its version, likewise.
    pub version: Option<String>,
    /// The contract version it was built against, likewise.
    pub contract: Option<String>,
    /// True when these are the bytes of a plugin built into this binary.
    pub built_in: bool,
    /// Name and sha256 of the policy the samples were rebuilt under.
    pub policy: String,
    /// sha256 of that policy.
    pub policy_sha256: String,
    /// Seed of the mutations.
    pub seed: u64,
    /// Mutations of each sample.
    pub mutations: u32,
    /// True when no check failed.
    pub passed: bool,
    /// Every check, in the order run.
    pub checks: Vec<CheckRow>,
    /// How long the whole check took, in milliseconds.
    pub wall_time_ms: u64,
}

impl CheckReport {
    /// The rows that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckRow> {
        self.checks.iter().filter(|row| row.result == Verdict::Fail)
    }

    /// The row named `check`, if any.
    pub fn row(&self, check: &str) -> Option<&CheckRow> {
        self.checks.iter().find(|row| row.check == check)
    }
}

/// Runs every check on the plugin. `Err` is for what stops the check
/// before it starts: an unreadable plugin or sample, an invalid policy.
/// A plugin that is refused at load is a failed check, not an error.
pub fn check(options: CheckOptions) -> Result<CheckReport, String> {
    let worker = std::thread::Builder::new().name("sekisho-check".into()).stack_size(WORKER_STACK);
    let handle = worker.spawn(move || run(&options)).map_err(|e| format!("cannot start the check: {e}"))?;
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A sample: its file name and bytes.
struct Sample {
    name: String,
    data: Vec<u8>,
}

#[derive(Default)]
struct Rows(Vec<CheckRow>);

impl Rows {
    fn push(&mut self, check: impl Into<String>, result: Verdict, detail: impl Into<String>) {
        self.0.push(CheckRow { check: check.into(), result, detail: detail.into() });
    }
    fn pass(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Verdict::Pass, detail);
    }
    fn fail(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Verdict::Fail, detail);
    }
    fn skip(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(check, Verdict::Skip, detail);
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn run(options: &CheckOptions) -> Result<CheckReport, String> {
    let started = Instant::now();
    let shown = options.plugin.display().to_string();
    let wasm = std::fs::read(&options.plugin).map_err(|e| format!("{shown}: {e}"))?;
    let samples = options
        .samples
        .iter()
        .map(|path| {
            let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
            Ok(Sample { name, data })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let sha256 = sha256_hex(&wasm);
    let built_in = BUILTIN_PLUGINS.iter().any(|(_, bytes)| sha256_hex(bytes) == sha256);
    let mut report = CheckReport {
        plugin: shown.clone(),
        sha256: sha256.clone(),
        name: None,
        version: None,
        contract: None,
        built_in,
        policy: options.policy.name.clone(),
        policy_sha256: String::new(),
        seed: options.seed,
        mutations: options.mutations,
        passed: false,
        checks: Vec::new(),
        wall_time_ms: 0,
    };
    let mut rows = Rows::default();
    check_signature(options, &wasm, built_in, &mut rows);

    // Load it as --plugins-dir does: from a folder of its own, beside the
    // built-in plugins (a built-in one is already there).
    let folder = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
    let loaded = load(options, &wasm, built_in, folder.path());
    let (sekisho, plugin) = match loaded {
        Ok(loaded) => loaded,
        Err(message) => {
            rows.fail("load", message.replace(&folder.path().display().to_string(), &parent_of(&options.plugin)));
            return Ok(finish(report, rows, started));
        }
    };
    report.name = Some(plugin.name.clone());
    report.version = Some(plugin.version.clone());
    report.contract = Some(plugin.contract.to_owned());
    let formats: Vec<&str> = plugin.formats.iter().map(|f| f.id.as_str()).collect();
    let origin = if built_in { "built into this binary" } else { "admitted beside the built-in plugins" };
    rows.pass(
        "load",
        format!(
            "{} {}, contract {}, {origin}; formats: {}",
            plugin.name,
            plugin.version,
            plugin.contract,
            formats.join(", ")
        ),
    );

    let vocabulary = sekisho.registry().vocabulary();
    options.policy.check(&vocabulary).map_err(|e| e.to_string())?;
    let policy = options.policy.with_defaults(&vocabulary);
    report.policy_sha256 = policy.sha256();

    check_description(sekisho.registry(), &plugin, &mut rows);
    check_coverage(&sekisho, &plugin, &samples, &mut rows);
    for sample in &samples {
        check_sample(options, &sekisho, &plugin, &policy, sample, &mut rows);
    }
    Ok(finish(report, rows, started))
}

fn finish(mut report: CheckReport, rows: Rows, started: Instant) -> CheckReport {
    report.checks = rows.0;
    let passed = report.failures().next().is_none();
    report.passed = passed;
    report.wall_time_ms = started.elapsed().as_millis() as u64;
    report
}

/// The folder of `path`, as messages name it.
fn parent_of(path: &Path) -> String {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => parent.display().to_string(),
        None => ".".into(),
    }
}

fn check_signature(options: &CheckOptions, wasm: &[u8], built_in: bool, rows: &mut Rows) {
    if built_in {
        rows.skip("signature", "built-in plugin: part of the binary, exempt from --require-signed");
        return;
    }
    let Some(keys) = &options.trusted_keys else {
        let detail = match signature::signature_path(&options.plugin).exists() {
            true => "not verified: give --trusted-keys FILE to check the .minisig beside it",
            false => "unsigned; hosts running with --require-signed refuse it (see `minisign -Sm`)",
        };
        rows.skip("signature", detail);
        return;
    };
    match signature::verify(&options.plugin, wasm, keys) {
        Ok(verified) => rows.pass(
            "signature",
            format!(
                "signed by trusted key {} (trusted comment: {})",
                verified.key_id,
                verified.trusted_comment.replace('\t', " ")
            ),
        ),
        Err(e) => rows.fail("signature", e.to_string()),
    }
}

/// The engine with the plugin (`wasm`, the bytes read from its file) loaded,
/// and the plugin.
fn load(options: &CheckOptions, wasm: &[u8], built_in: bool, folder: &Path) -> Result<(Sekisho, Arc<Plugin>), String> {
    let mut plugin_dirs = Vec::new();
    let file_name = options.plugin.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file_name = if file_name.ends_with(".wasm") { file_name } else { format!("{file_name}.wasm") };
    let copy = folder.join(&file_name);
    if !built_in {
        // The bytes already read (and checked against their signature), not the file again.
        std::fs::write(&copy, wasm).map_err(|e| format!("{}: {e}", copy.display()))?;
        if let Ok(signature) = std::fs::read(signature::signature_path(&options.plugin)) {
            std::fs::write(signature::signature_path(&copy), signature)
                .map_err(|e| format!("{}: {e}", copy.display()))?;
        }
        plugin_dirs.push(folder.to_path_buf());
    }
    let mut sandbox = options.sandbox.clone();
    let per_file = options.policy.limits.max_depth.saturating_add(1);
    let jobs = u32::try_from(options.jobs.max(1)).unwrap_or(u32::MAX);
    sandbox.pool_size = sandbox.pool_size.max(jobs.saturating_mul(per_file));
    let trusted_keys = options.trusted_keys.clone().filter(|_| options.require_signed);
    let engine = Options { sandbox, plugin_dirs, notice: options.notice, trusted_keys, ..Options::default() };
    let sekisho = Sekisho::new(engine).map_err(|e| e.to_string())?;
    let sha256 = sha256_hex(wasm);
    let plugin = sekisho
        .registry()
        .plugins()
        .iter()
        .find(|p| match &p.origin {
            Origin::File(path) => path == &copy,
            Origin::BuiltIn => built_in && p.sha256 == sha256,
        })
        .cloned()
        .ok_or_else(|| "the plugin was not loaded (is it a .wasm component?)".to_owned())?;
    Ok((sekisho, plugin))
}

/// `MAJOR.MINOR.PATCH`, with an optional pre-release and build.
fn is_semver(version: &str) -> bool {
    let (version, build) = version.split_once('+').unwrap_or((version, ""));
    let (core, pre) = version.split_once('-').unwrap_or((version, ""));
    let identifiers =
        |s: &str| s.split('.').all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0')))
        && (pre.is_empty() || identifiers(pre))
        && (build.is_empty() || identifiers(build))
        && !version.ends_with('-')
}

/// `kebab-case`: lowercase letters and digits in words joined by `-`.
fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn check_description(registry: &Registry, plugin: &Plugin, rows: &mut Rows) {
    let name_ok =
        !plugin.name.is_empty() && plugin.name.len() <= 64 && plugin.name.bytes().all(|b| b.is_ascii_graphic());
    match (name_ok, is_semver(&plugin.version)) {
        (true, true) => rows.pass("describe", format!("name {:?}, version {}", plugin.name, plugin.version)),
        (false, _) => rows.fail("describe", format!("name {:?} is not 1 to 64 printable characters", plugin.name)),
        (true, false) => {
            rows.fail("describe", format!("version {:?} is not semver (MAJOR.MINOR.PATCH)", plugin.version))
        }
    }
    for format in &plugin.formats {
        let check = format!("format {}", format.id);
        match check_format(registry, plugin, format) {
            Ok(detail) => rows.pass(check, detail),
            Err(problems) => rows.fail(check, problems.join("; ")),
        }
    }
    let mut problems = Vec::new();
    for class in &plugin.classes {
        if !is_kebab(&class.name) {
            problems.push(format!("class {:?} is not kebab-case", class.name));
        }
        if class.doc.trim().is_empty() {
            problems.push(format!("class {:?} has no doc line (policy authors read it)", class.name));
        }
    }
    let names: Vec<String> =
        plugin.classes.iter().map(|c| format!("{} (falls back on {})", c.name, c.fallback)).collect();
    match (problems.is_empty(), names.is_empty()) {
        (false, _) => rows.fail("classes", problems.join("; ")),
        (true, true) => rows.pass("classes", "only the shared vocabulary"),
        (true, false) => rows.pass("classes", names.join(", ")),
    }
    let mut problems = Vec::new();
    for option in &plugin.options {
        if !is_kebab(&option.name) {
            problems.push(format!("option {:?} is not kebab-case", option.name));
        }
        if option.values.is_empty() {
            problems.push(format!("option {:?} takes no value", option.name));
        }
        for (i, value) in option.values.iter().enumerate() {
            if !is_kebab(value) {
                problems.push(format!("option {}: value {value:?} is not kebab-case", option.name));
            }
            if option.values[..i].contains(value) {
                problems.push(format!("option {}: value {value:?} is listed twice", option.name));
            }
        }
        if !option.values.contains(&option.default) {
            problems.push(format!("option {}: the default {:?} is not one of its values", option.name, option.default));
        }
        if option.doc.trim().is_empty() {
            problems.push(format!("option {:?} has no doc line (policy authors read it)", option.name));
        }
    }
    let names: Vec<String> =
        plugin.options.iter().map(|o| format!("{} = {} (default {})", o.name, o.values.join("|"), o.default)).collect();
    match (problems.is_empty(), names.is_empty()) {
        (false, _) => rows.fail("options", problems.join("; ")),
        (true, true) => rows.pass("options", "none declared"),
        (true, false) => rows.pass("options", names.join(", ")),
    }
}

/// What is wrong with a format's declaration beyond what the registry
/// refuses at load (ids, media types, extensions, conflicts).
fn check_format(
    registry: &Registry,
    plugin: &Plugin,
    format: &crate::contract::FormatDecl,
) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    if format.media_types.is_empty() {
        problems.push("no media type: its outputs would be served as application/octet-stream".to_owned());
    }
    if format.extensions.is_empty() {
        problems.push("no extension: its outputs would be named .bin".to_owned());
    }
    if format.description.trim().is_empty() {
        problems.push("no description".to_owned());
    }
    for class in &format.classes {
        if Class::named(class).is_none() && !plugin.classes.iter().any(|c| &c.name == class) {
            problems.push(format!("reports class {class:?}, neither shared nor declared by the plugin"));
        }
    }
    let mut detection = String::new();
    if detect::known_format(&format.id).is_some() {
        detection.push_str("detected by the host itself");
    } else {
        let magic: Vec<(u64, &Vec<u8>)> = format
            .signatures
            .iter()
            .filter_map(|s| match s {
                Signature::Magic { offset, bytes } => Some((*offset, bytes)),
                _ => None,
            })
            .collect();
        if magic.iter().all(|(_, bytes)| bytes.is_empty()) {
            problems.push(
                "no magic signature: the host detects formats it does not know by their magic bytes only".to_owned(),
            );
        }
        for (offset, bytes) in magic.iter().filter(|(_, bytes)| !bytes.is_empty()) {
            // The magic alone, after zeros up to its offset.
            let mut probe = vec![0u8; usize::try_from(*offset).unwrap_or(0).min(1 << 20)];
            probe.extend_from_slice(bytes);
            probe.extend_from_slice(&[0; 16]);
            let detected = detect::detect(&Source::bytes(probe), None, registry.declared());
            if detected.as_deref() != Some(format.id.as_str()) {
                problems.push(format!(
                    "magic {} at offset {offset} is detected as {}: the host's own detection (and plugins loaded \
                     before) come first",
                    show_bytes(bytes),
                    detected.as_deref().unwrap_or("nothing")
                ));
            }
        }
        let shown: Vec<String> =
            magic.iter().map(|(offset, bytes)| format!("{} at {offset}", show_bytes(bytes))).collect();
        detection = format!("magic {}", shown.join(", "));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let extensions: Vec<String> = format.extensions.iter().map(|e| format!(".{e}")).collect();
    Ok(format!("{}; {}; {}; {detection}", format.description, format.media_types.join(", "), extensions.join(" ")))
}

/// Bytes as a Rust byte string, for messages.
fn show_bytes(bytes: &[u8]) -> String {
    let text: String = bytes.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    format!("b\"{text}\"")
}

/// Which formats the samples cover.
fn check_coverage(sekisho: &Sekisho, plugin: &Plugin, samples: &[Sample], rows: &mut Rows) {
    if samples.is_empty() {
        rows.fail("samples", "none given: a plugin passes only on files of its formats that it rebuilds");
        return;
    }
    let registry = sekisho.registry();
    let covered: Vec<String> = samples
        .iter()
        .filter_map(|s| detect::detect(&Source::bytes(s.data.clone()), Some(&s.name), registry.declared()))
        .filter(|f| plugin.format(f).is_some())
        .collect();
    let missing: Vec<&str> =
        plugin.formats.iter().map(|f| f.id.as_str()).filter(|id| !covered.iter().any(|c| c == id)).collect();
    let count = samples.len();
    let noun = if count == 1 { "sample" } else { "samples" };
    if missing.is_empty() {
        rows.pass("samples", format!("{count} {noun}, every format covered"));
    } else {
        rows.skip("samples", format!("{count} {noun}; no sample of: {}", missing.join(", ")));
    }
}

/// The output's name for a second pass: the sample's stem and the
/// extension the pipeline gave the output.
fn output_name(sample: &str, report: &Report) -> String {
    let stem = sample.rsplit_once('.').map_or(sample, |(stem, _)| stem);
    let ext = report.output.as_ref().map_or("bin", |o| o.extension.as_str());
    format!("{stem}.{ext}")
}

/// `outcome (kind, limit): detail`.
fn refusal(report: &Report) -> String {
    let Some(reason) = &report.reason else { return report.outcome.name().to_owned() };
    let kind = serde_json::to_value(reason.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let limit =
        reason.limit.and_then(|l| serde_json::to_value(l).ok()).and_then(|v| v.as_str().map(|s| format!(": {s}")));
    format!("{} ({kind}{}): {}", report.outcome.name(), limit.unwrap_or_default(), one_line(&reason.detail))
}

/// A detail on one line: a trap's message without its wasm backtrace.
fn one_line(detail: &str) -> String {
    if let Some(at) = detail.rfind("wasm trap: ") {
        let trap = detail[at..].lines().next().unwrap_or_default();
        let hint = if trap.contains("unreachable") { " (a panic or an abort in the plugin)" } else { "" };
        return format!("{trap}{hint}");
    }
    detail.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

/// True when the pipeline refused the plugin's output (not a declared
/// format, or not re-detected as the format it claims).
fn output_refused(report: &Report) -> bool {
    report.reason.as_ref().is_some_and(|r| {
        r.kind == ReasonKind::PluginFault
            && (r.detail.contains("produced output that is not a valid")
                || r.detail.contains("which it does not declare"))
    })
}

/// Items of a report that something was removed or neutralized.
fn changes(report: &Report) -> Vec<String> {
    let mut found: Vec<String> = report
        .items
        .iter()
        .filter(|i| matches!(i.action, Disposition::Removed | Disposition::Neutralized))
        .map(|i| {
            let action = if i.action == Disposition::Removed { "removed" } else { "neutralized" };
            format!("{} {action} at {} ({})", i.class, i.location, i.detail)
        })
        .collect();
    for child in report.children.iter().filter(|c| c.outcome == Outcome::Sanitized) {
        found.push(format!("embedded {} sanitized", child.input.name));
    }
    found
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    format!("{} bytes then {} bytes, first difference at offset {at}", a.len(), b.len())
}

fn percent(used: u64, budget: u64) -> f64 {
    if budget == 0 { 0.0 } else { used as f64 / budget as f64 }
}

fn check_sample(
    options: &CheckOptions,
    sekisho: &Sekisho,
    plugin: &Plugin,
    policy: &Policy,
    sample: &Sample,
    rows: &mut Rows,
) {
    let label = |what: &str| format!("{}: {what}", sample.name);
    let first = sekisho.extract(Source::bytes(sample.data.clone()), &sample.name, policy);
    let report = &first.report;

    // Detected as one of the plugin's formats, and routed to it.
    let formats: Vec<&str> = plugin.formats.iter().map(|f| f.id.as_str()).collect();
    match &report.input.format {
        None => {
            let why = report.reason.as_ref().map_or(String::new(), |r| format!(": {}", r.detail));
            rows.fail(
                label("detect"),
                format!("not detected as any format{why}; this plugin declares {}", formats.join(", ")),
            );
            return;
        }
        Some(format) if plugin.format(format).is_none() => {
            let owner = sekisho
                .registry()
                .plugin_for(format)
                .map_or(String::new(), |p| format!(", rebuilt by plugin {}", p.name));
            let why = match carries_magic(plugin, &sample.data) {
                true => "the host's own detection comes before declared signatures",
                false => "it carries none of the plugin's magic signatures",
            };
            rows.fail(
                label("detect"),
                format!(
                    "detected as {format}{owner}, not as one of this plugin's formats ({}): {why}",
                    formats.join(", ")
                ),
            );
            return;
        }
        Some(format) => match &report.plugin {
            Some(used) if used.sha256 == plugin.sha256 => rows.pass(label("detect"), format!("detected as {format}")),
            used => {
                let name = used.as_ref().map_or("no plugin", |p| p.name.as_str());
                rows.fail(label("detect"), format!("detected as {format} but routed to {name}"));
                return;
            }
        },
    }

    let later = ["deterministic", "idempotent", "robustness"];
    if !report.outcome.passed() {
        rows.fail(label("rebuild"), refusal(report));
        if output_refused(report) {
            rows.fail(label("re-detect"), report.reason.as_ref().map_or(String::new(), |r| one_line(&r.detail)));
        } else {
            rows.skip(label("re-detect"), "no output");
        }
        for check in later {
            rows.skip(label(check), "the sample itself is not rebuilt");
        }
        return;
    }
    let output = first.output.clone().unwrap_or_default();
    let info = report.output.as_ref();
    let out_format = info.map_or("?", |o| o.format.as_str());
    let items = report.items.len();
    rows.pass(
        label("rebuild"),
        format!(
            "{}, {items} item{}, {} bytes in, {} bytes out",
            report.outcome.name(),
            plural(items),
            sample.data.len(),
            output.len()
        ),
    );
    rows.pass(label("re-detect"), format!("output re-detected as {out_format}, a format the plugin declares"));

    // Within half of every budget.
    let limits = &policy.limits;
    let fuel_budget = limits.fuel_base.saturating_add(limits.fuel_per_byte.saturating_mul(sample.data.len() as u64));
    let metrics = &report.metrics;
    let shares = [
        ("fuel", percent(metrics.fuel_used, fuel_budget)),
        ("memory", percent(metrics.peak_memory_bytes, limits.memory_limit_mb << 20)),
        ("time", percent(metrics.wall_time_us, limits.time_limit_ms.saturating_mul(1000))),
    ];
    let used = format!(
        "fuel {} of {}, memory {} MiB of {}, {} ms of {}",
        metrics.fuel_used,
        fuel_budget,
        metrics.peak_memory_bytes >> 20,
        limits.memory_limit_mb,
        metrics.wall_time_us / 1000,
        limits.time_limit_ms
    );
    match shares.iter().find(|(_, share)| *share > BUDGET_SHARE) {
        Some((what, share)) => rows.fail(
            label("limits"),
            format!("uses {:.0}% of its {what} budget on a sample, larger files will not pass: {used}", share * 100.0),
        ),
        None => rows.pass(label("limits"), used),
    }

    // Deterministic: the same bytes twice.
    let again = sekisho.sanitize(Source::bytes(sample.data.clone()), &sample.name, policy);
    match &again.output {
        Some(bytes) if *bytes == output => rows.pass(label("deterministic"), "the same bytes twice"),
        Some(bytes) => {
            rows.fail(label("deterministic"), format!("different output: {}", first_difference(&output, bytes)))
        }
        None => rows.fail(label("deterministic"), format!("refused the second time: {}", refusal(&again.report))),
    }

    // Idempotent: the output rebuilds to itself, with nothing to remove.
    let name = output_name(&sample.name, report);
    let second = sekisho.sanitize(Source::bytes(output.clone()), &name, policy);
    match &second.output {
        None => rows.fail(label("idempotent"), format!("its output ({name}) is refused: {}", refusal(&second.report))),
        Some(bytes) if *bytes != output => rows.fail(
            label("idempotent"),
            format!("its output changes when rebuilt: {}", first_difference(&output, bytes)),
        ),
        Some(_) => {
            let found = changes(&second.report);
            if found.is_empty() {
                rows.pass(
                    label("idempotent"),
                    format!("its output ({name}) rebuilds to the same bytes, nothing found"),
                );
            } else {
                let shown: Vec<&str> = found.iter().take(3).map(String::as_str).collect();
                let more = if found.len() > 3 { format!(" and {} more", found.len() - 3) } else { String::new() };
                rows.fail(
                    label("idempotent"),
                    format!("the same bytes, but a second pass still finds: {}{more}", shown.join("; ")),
                );
            }
        }
    }

    // Every value of every option.
    for option in &plugin.options {
        for value in option.values.iter().filter(|v| **v != option.default) {
            let mut with = policy.clone();
            with.options.insert(option.name.clone(), value.clone());
            let result = sekisho.sanitize(Source::bytes(sample.data.clone()), &sample.name, &with);
            let check = label(&format!("option {} = {value}", option.name));
            match &result.report.output {
                Some(out) => rows.pass(check, format!("{}, output {}", result.report.outcome.name(), out.format)),
                None => rows.fail(check, refusal(&result.report)),
            }
        }
    }

    // The text it hands the host.
    let pieces = first.text.iter().filter(|p| p.file == sample.name).count();
    match first.text.first() {
        Some(piece) => {
            let preview: String = piece.text.chars().take(40).collect();
            rows.pass(
                label("text"),
                format!("{pieces} piece{} of text, first at {}: {preview:?}", plural(pieces), piece.location),
            )
        }
        None if plugin.contract == crate::sandbox::CONTRACT_WITHOUT_TEXT => {
            rows.skip(label("text"), "none: contract 0.1 has no text channel")
        }
        None => rows.skip(label("text"), "none handed to the host (Host::emit_text)"),
    }

    robustness(options, sekisho, plugin, policy, sample, report.metrics.wall_time_us, rows);
}

/// True when `data` has one of the plugin's magic signatures.
fn carries_magic(plugin: &Plugin, data: &[u8]) -> bool {
    plugin.formats.iter().flat_map(|f| &f.signatures).any(|signature| match signature {
        Signature::Magic { offset, bytes } => usize::try_from(*offset)
            .ok()
            .and_then(|at| data.get(at..at.checked_add(bytes.len())?))
            .is_some_and(|at| !bytes.is_empty() && at == bytes.as_slice()),
        _ => false,
    })
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// What one mutation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Rebuilt,
    /// Refused: blocked, unsupported or failed, by kind.
    Refused(String),
    /// The fuel budget ran out before the time limit.
    Fuel,
    /// A trap, an output the host refused, or the time limit, in the
    /// checked plugin.
    Failure(String),
    /// A trap or the time limit in another plugin (an embedded file, or a
    /// mutation detected as another format).
    Elsewhere(String),
}

fn kind_name(report: &Report) -> String {
    let Some(reason) = &report.reason else { return report.outcome.name().to_owned() };
    let value = match reason.limit {
        Some(limit) => serde_json::to_value(limit),
        None => serde_json::to_value(reason.kind),
    };
    value.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Where in the tree a failure of `kind` (and `limit`) started, and
/// whether the checked plugin ran on the way there.
fn origin<'a>(
    report: &'a Report,
    kind: ReasonKind,
    limit: Option<Limit>,
    sha256: &str,
    on_path: bool,
) -> (&'a Report, bool) {
    let here = on_path || report.plugin.as_ref().is_some_and(|p| p.sha256 == sha256);
    for child in &report.children {
        if child.outcome == Outcome::Failed && child.reason.as_ref().is_some_and(|r| r.kind == kind && r.limit == limit)
        {
            return origin(child, kind, limit, sha256, here);
        }
    }
    (report, here)
}

fn fate(report: &Report, sha256: &str) -> Fate {
    if report.outcome.passed() {
        return Fate::Rebuilt;
    }
    let Some(reason) = report.reason.as_ref().filter(|_| report.outcome == Outcome::Failed) else {
        return Fate::Refused(report.outcome.name().to_owned());
    };
    match (reason.kind, reason.limit) {
        (ReasonKind::LimitExceeded, Some(Limit::Fuel)) => Fate::Fuel,
        (ReasonKind::PluginFault, _) => {
            let (node, _) = origin(report, reason.kind, reason.limit, sha256, false);
            let detail = node.reason.as_ref().map_or(String::new(), |r| one_line(&r.detail));
            let ours = node.plugin.as_ref().is_some_and(|p| p.sha256 == sha256);
            let text = format!("plugin-fault: {detail}");
            if ours {
                Fate::Failure(text)
            } else {
                Fate::Elsewhere(format!("{} in plugin {}", text, plugin_name(node)))
            }
        }
        (ReasonKind::LimitExceeded, Some(Limit::Time)) => {
            let (node, ours) = origin(report, reason.kind, reason.limit, sha256, false);
            let text = format!("limit-exceeded: time ({})", node.reason.as_ref().map_or("", |r| r.detail.as_str()));
            if ours { Fate::Failure(text) } else { Fate::Elsewhere(format!("{text} in plugin {}", plugin_name(node))) }
        }
        _ => Fate::Refused(kind_name(report)),
    }
}

fn plugin_name(report: &Report) -> &str {
    report.plugin.as_ref().map_or("?", |p| p.name.as_str())
}

/// What the mutations of one sample came to.
#[derive(Default)]
struct Tally {
    done: u32,
    rebuilt: u32,
    refused: std::collections::BTreeMap<String, u32>,
    fuel: u32,
    elsewhere: Vec<(u32, String)>,
    slowest: (u64, u32),
    /// The first failing mutation: index, what it was, what happened, its bytes.
    failure: Option<(u32, String, String, Vec<u8>)>,
}

fn robustness(
    options: &CheckOptions,
    sekisho: &Sekisho,
    plugin: &Plugin,
    policy: &Policy,
    sample: &Sample,
    sample_wall_us: u64,
    rows: &mut Rows,
) {
    let check = format!("{}: robustness", sample.name);
    let count = options.mutations;
    if count == 0 {
        rows.skip(check, "no mutations asked for (--mutations 0)");
        return;
    }
    let limit = options.mutation_time_limit.max(Duration::from_micros(sample_wall_us.saturating_mul(4)));
    let mut tight = policy.clone();
    tight.limits.time_limit_ms = limit.as_millis().max(1) as u64;
    let next = AtomicU32::new(0);
    // Mutations after the first failure are not run: the lowest failing
    // index is reported, whatever the threads' timing.
    let first_failure = AtomicU32::new(u32::MAX);
    let tally = Mutex::new(Tally::default());
    let jobs = options.jobs.clamp(1, count as usize);
    std::thread::scope(|scope| {
        let worker = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count || i > first_failure.load(Ordering::Relaxed) {
                break;
            }
            let (data, what) = mutate(&sample.data, options.seed, i);
            let started = Instant::now();
            let result = sekisho.sanitize(Source::bytes(data.clone()), &sample.name, &tight);
            let ms = started.elapsed().as_millis() as u64;
            let fate = fate(&result.report, &plugin.sha256);
            let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
            tally.done += 1;
            if ms >= tally.slowest.0 {
                tally.slowest = (ms, i);
            }
            match fate {
                Fate::Rebuilt => tally.rebuilt += 1,
                Fate::Refused(kind) => *tally.refused.entry(kind).or_default() += 1,
                Fate::Fuel => tally.fuel += 1,
                Fate::Elsewhere(detail) => tally.elsewhere.push((i, detail)),
                Fate::Failure(detail) => {
                    first_failure.fetch_min(i, Ordering::Relaxed);
                    if tally.failure.as_ref().is_none_or(|(j, ..)| i < *j) {
                        tally.failure = Some((i, what, detail, data));
                    }
                }
            }
        };
        let workers: Vec<_> = (0..jobs)
            .map(|n| {
                std::thread::Builder::new()
                    .name(format!("sekisho-mutation-{n}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, worker)
                    .expect("spawn a mutation worker")
            })
            .collect();
        for worker in workers {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    let seed = options.seed;
    if let Some((i, what, detail, data)) = tally.failure {
        let mut saved = String::new();
        if let Some(dir) = &options.save_failures {
            let path = dir.join(format!("{}.mutation-{i}", sample.name));
            match std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &data)) {
                Ok(()) => saved = format!("; saved as {}", path.display()),
                Err(e) => saved = format!("; could not save it to {}: {e}", path.display()),
            }
        }
        rows.fail(
            check,
            format!(
                "mutation #{i} of {count} (seed {seed}: {what}) ends in {detail}; reproduce with --seed {seed} \
                 --mutations {}{saved}",
                i + 1
            ),
        );
        return;
    }
    let refused: u32 = tally.refused.values().sum();
    let kinds: Vec<String> = tally.refused.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    let kinds = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
    let mut detail = format!(
        "{} mutations (seed {seed}): {} rebuilt, {refused} refused{kinds}, {} stopped by the fuel budget; slowest {} \
         ms (#{}, limit {} ms)",
        tally.done, tally.rebuilt, tally.fuel, tally.slowest.0, tally.slowest.1, tight.limits.time_limit_ms
    );
    if let Some((i, what)) = tally.elsewhere.iter().min_by_key(|(i, _)| *i) {
        detail.push_str(&format!(
            "; not this plugin's: {} fault{} in other plugins (first: #{i}, {what})",
            tally.elsewhere.len(),
            plural(tally.elsewhere.len())
        ));
    }
    rows.pass(check, detail);
}

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Mutation `i` of `sample` under `seed`: the bytes and what was done.
/// The same arguments give the same mutation on any machine, whatever the
/// other samples of the run.
pub fn mutate(sample: &[u8], seed: u64, i: u32) -> (Vec<u8>, String) {
    // FNV-1a of the sample: each sample gets its own mutations.
    let hash = sample.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3));
    let mut rng = Rng::new(seed ^ hash ^ u64::from(i).wrapping_mul(0xA24B_AED4_963E_E407));
    // Half the mutations of a ZIP package (OOXML, ODF, EPUB, archives) go
    // past its CRCs, into one member.
    if sample.starts_with(b"PK\x03\x04")
        && rng.below(2) == 0
        && let Some(mutated) = mutate_member(sample, &mut rng)
    {
        return mutated;
    }
    // One mutation in most cases, two or three stacked in a quarter.
    let rounds = if rng.below(4) == 0 { 2 + rng.below(2) } else { 1 };
    let mut data = sample.to_vec();
    let done: Vec<String> = (0..rounds).map(|_| mutate_once(&mut data, &mut rng)).collect();
    (data, done.join(", then "))
}

/// Largest ZIP member mutated in place.
const MEMBER_LIMIT: u64 = 4 << 20;

/// Mutates the uncompressed bytes of one member of a ZIP sample and writes
/// the archive again (the other members copied as they are, the mutated
/// one with its name, method and time and a right CRC): what the parser
/// behind the archive sees. `None` when the sample is not a ZIP archive the
/// `zip` crate reads and writes back, or has no member to mutate.
fn mutate_member(sample: &[u8], rng: &mut Rng) -> Option<(Vec<u8>, String)> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(sample)).ok()?;
    let members: Vec<usize> = (0..archive.len())
        .filter(|&i| archive.by_index_raw(i).is_ok_and(|f| !f.is_dir() && f.size() <= MEMBER_LIMIT))
        .collect();
    if members.is_empty() {
        return None;
    }
    let target = members[rng.below(members.len())];
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut what = String::new();
    for i in 0..archive.len() {
        if i != target {
            writer.raw_copy_file(archive.by_index_raw(i).ok()?).ok()?;
            continue;
        }
        let mut file = archive.by_index(i).ok()?;
        let name = file.name().ok()?.into_owned();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(file.compression())
            .last_modified_time(file.last_modified().unwrap_or_default());
        let mut data = Vec::new();
        file.read_to_end(&mut data).ok()?;
        what = format!("member {name}: {}", mutate_once(&mut data, rng));
        writer.start_file(name, options).ok()?;
        writer.write_all(&data).ok()?;
    }
    Some((writer.finish().ok()?.into_inner(), what))
}

/// Values that break length fields and counters.
const BOUNDARIES: [u64; 8] = [0, 1, 0x7f, 0x80, 0xff, 0x7fff_ffff, 0xffff_ffff, u64::MAX];

fn mutate_once(data: &mut Vec<u8>, rng: &mut Rng) -> String {
    let len = data.len();
    let kind = if len == 0 { 2 } else { rng.below(6) };
    match kind {
        0 => {
            let flips = 1 + rng.below(4);
            let (at, bit) = (rng.below(len), rng.below(8));
            data[at] ^= 1 << bit;
            for _ in 1..flips {
                let (at, bit) = (rng.below(len), rng.below(8));
                data[at] ^= 1 << bit;
            }
            let more = if flips > 1 { format!(" and {} more", flips - 1) } else { String::new() };
            format!("bit flip at 0x{at:x} (bit {bit}){more}")
        }
        1 => {
            let at = rng.below(len);
            data.truncate(at);
            format!("truncated to {at} bytes")
        }
        2 => {
            let at = rng.below(len + 1);
            let count = 1 + rng.below(16);
            let bytes: Vec<u8> = match rng.below(3) {
                0 => vec![0; count],
                1 => vec![0xff; count],
                _ => (0..count).map(|_| rng.next() as u8).collect(),
            };
            data.splice(at..at, bytes);
            format!("{count} bytes inserted at 0x{at:x}")
        }
        3 => {
            let at = rng.below(len);
            let count = (1 + rng.below(16)).min(len - at);
            data.drain(at..at + count);
            format!("{count} bytes deleted at 0x{at:x}")
        }
        4 => {
            let at = rng.below(len);
            let count = (1 + rng.below(256)).min(len - at);
            let times = 2 + rng.below(15);
            let chunk = data[at..at + count].to_vec();
            let repeated: Vec<u8> = chunk.iter().copied().cycle().take(count * times).collect();
            data.splice(at + count..at + count, repeated);
            format!("{count} bytes at 0x{at:x} repeated {times} more times")
        }
        _ => {
            let width = [1, 2, 4, 8][rng.below(4)];
            let at = rng.below(len);
            let value = BOUNDARIES[rng.below(BOUNDARIES.len())];
            let big_endian = rng.below(2) == 0;
            let bytes = if big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
            let bytes = if big_endian { &bytes[8 - width..] } else { &bytes[..width] };
            let end = (at + width).min(len);
            data[at..end].copy_from_slice(&bytes[..end - at]);
            let order = if big_endian { "big" } else { "little" };
            format!("{}-byte {order}-endian 0x{value:x} written at 0x{at:x}", width)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_varied() {
        let sample = b"PLUGIN-TEMPLATE 1\ntext: hello\nrun: calc.exe\n".to_vec();
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..400 {
            let (a, what) = mutate(&sample, 7, i);
            let (b, again) = mutate(&sample, 7, i);
            assert_eq!((a, &what), (b, &again), "mutation {i}");
            kinds.insert(what.split(' ').nth(1).unwrap_or_default().to_owned());
        }
        assert!(kinds.len() >= 5, "{kinds:?}");
        assert_ne!(mutate(&sample, 7, 1).0, mutate(&sample, 8, 1).0, "the seed matters");
        let other = b"PLUGIN-TEMPLATE 1\ntext: hullo\nrun: calc.exe\n";
        assert!((0..20).any(|i| mutate(&sample, 7, i).1 != mutate(other, 7, i).1), "the sample matters");
        // An empty sample still mutates.
        assert!(!mutate(&[], 7, 0).0.is_empty());
    }

    #[test]
    fn half_the_mutations_of_a_zip_change_one_member() {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in [("a.xml", &b"<a>first member</a>"[..]), ("b.xml", b"<b>second member</b>")] {
            writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut writer, data).unwrap();
        }
        let sample = writer.finish().unwrap().into_inner();
        let inside: Vec<(Vec<u8>, String)> =
            (0..100).map(|i| mutate(&sample, 3, i)).filter(|(_, what)| what.starts_with("member ")).collect();
        assert!((30..=70).contains(&inside.len()), "{}", inside.len());
        for (data, what) in &inside {
            // A readable archive whose CRCs hold: the change is past them.
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
            for i in 0..archive.len() {
                let mut member = archive.by_index(i).unwrap();
                let read = std::io::Read::read_to_end(&mut member, &mut Vec::new());
                assert!(read.is_ok(), "{what}: {read:?}");
            }
        }
    }

    #[test]
    fn versions_and_names() {
        for ok in ["0.1.0", "1.2.3", "10.0.0-beta.1", "1.0.0+build.5", "1.0.0-rc-1+x"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-", "v1.2.3"] {
            assert!(!is_semver(bad), "{bad}");
        }
        assert!(is_kebab("image-mode") && is_kebab("re-encode") && is_kebab("x2"));
        assert!(!is_kebab("Image") && !is_kebab("a--b") && !is_kebab("-a") && !is_kebab("a_b") && !is_kebab(""));
    }
}
