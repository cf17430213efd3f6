//! The flow of one file: detect → route → sandbox → verify → report, with
//! embedded documents sent back through the same flow by `sanitize-embedded`.
//!
//! Fail closed: anything that is not a verified rebuild (a trap, a limit, an
//! unknown type, an output that does not re-detect as what the plugin said)
//! leaves no output. A child that is blocked or exceeds a limit refuses its
//! parent, whatever the parent's plugin does with the refusal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::contract::{self, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, FailureKind};
use crate::detect;
use crate::detect::executables;
use crate::policy::{Action, Class, ExecutablesMode, Policy, ScanWhat, ScannerDown, UnsupportedMode};
use crate::registry::{Plugin, Registry};
use crate::report::{
    Disposition, InputInfo, Item, Limit, Metrics, Outcome, OutputInfo, PluginRef, PolicyRef, Reason, ReasonKind,
    Report, SCHEMA,
};
use crate::sandbox::{FileHost, Job, RunFailure, RunLimits, Sandbox, SandboxConfig};
use crate::scan::Scanners;
use crate::source::Source;

/// How to set up an engine.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How the sandbox is set up (allocator, pool size).
    pub sandbox: SandboxConfig,
    /// Directories of vendor plugins (`*.wasm`).
    pub plugin_dirs: Vec<PathBuf>,
    /// Called with a one-line message before something slow that a person
    /// may wonder about (compiling the plugins on a first run).
    pub notice: Option<fn(&str)>,
    /// With keys, vendor plugins load only when signed by one of them
    /// (`--require-signed`); built-in plugins are exempt.
    pub trusted_keys: Option<Arc<crate::vendor::signature::TrustedKeys>>,
    /// The scanners beside the rebuild (`--rules`, `--clamd`); none by default.
    pub scanners: Arc<Scanners>,
}

/// The result of sanitizing one file: the report, the rebuilt bytes when
/// the outcome is `clean` or `sanitized`, and the text of what was kept
/// when it was asked for ([`Sekisho::extract`]).
#[derive(Debug)]
pub struct Sanitized {
    /// What was decided, and why.
    pub report: Report,
    /// The rebuilt file; `None` unless the outcome passed.
    pub output: Option<Vec<u8>>,
    /// The visible text of what the output keeps; empty unless asked for.
    pub text: Vec<TextPiece>,
}

/// A piece of visible text a plugin handed over: in which file of the tree
/// (`mail.eml/bundle.zip/report.docx`), where in it, and the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TextPiece {
    /// The file of the tree, as a path of names from the top.
    pub file: String,
    /// Where in that file, as the plugin says (`page 3`, `Sheet1!B2`).
    pub location: String,
    /// The text.
    pub text: String,
}

/// Most text kept for one tree; what plugins hand over beyond it is dropped.
pub const MAX_TEXT_BYTES: usize = 64 << 20;

/// The engine: a sandbox and the plugins loaded into it. Cheap to clone and
/// safe to share between threads.
#[derive(Clone)]
pub struct Sekisho {
    inner: Arc<Inner>,
}

struct Inner {
    sandbox: Sandbox,
    registry: Registry,
    /// With the pooling allocator, the instances of the pool.
    instances: Option<InstanceBudget>,
    scanners: Arc<Scanners>,
}

impl Sekisho {
    /// Creates the sandbox and loads the built-in and vendor plugins.
    pub fn new(options: Options) -> Result<Sekisho, crate::Error> {
        let sandbox = Sandbox::new(&options.sandbox)?;
        let registry = Registry::load(&sandbox, &options.plugin_dirs, options.notice, options.trusted_keys.as_deref())?;
        let instances = sandbox.pooling().then(|| InstanceBudget::new(options.sandbox.pool_size));
        let scanners = options.scanners;
        Ok(Sekisho { inner: Arc::new(Inner { sandbox, registry, instances, scanners }) })
    }

    /// The loaded plugins.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The scanners beside the rebuild.
    pub fn scanners(&self) -> &Scanners {
        &self.inner.scanners
    }

    /// The sandbox (for benchmarks and diagnostics).
    pub fn sandbox(&self) -> &Sandbox {
        &self.inner.sandbox
    }

    /// Sanitizes one file. `name` is the file's name (for the report, the
    /// text dialect and the extension check); the source is never modified.
    ///
    /// Nested documents run in nested sandboxes on this thread's stack: give
    /// it about `(max-depth + 1) × 1 MiB` plus a few MiB (the `sekisho`
    /// binary runs files on a thread with a large stack).
    ///
    /// With the pooling allocator, a file first reserves the instances its
    /// tree may nest (`max-depth + 1`), waiting while the pool is busy.
    pub fn sanitize(&self, source: Source, name: &str, policy: &Policy) -> Sanitized {
        self.run_tree(source, name, policy, false)
    }

    /// Sanitizes one file like [`Sekisho::sanitize`] and keeps the visible
    /// text that the plugins of the file and of every embedded file hand
    /// over for what they keep (`sekisho text`, the personal-information
    /// audit). Plugins built against contract 0.1 hand over none.
    pub fn extract(&self, source: Source, name: &str, policy: &Policy) -> Sanitized {
        self.run_tree(source, name, policy, true)
    }

    fn run_tree(&self, source: Source, name: &str, policy: &Policy, collect_text: bool) -> Sanitized {
        let _instances = self.inner.instances.as_ref().map(|budget| budget.reserve(policy.limits.max_depth + 1));
        let tree = Arc::new(Tree {
            policy: Arc::new(policy.clone()),
            policy_ref: PolicyRef { name: policy.name.clone(), sha256: policy.sha256() },
            expanded: AtomicU64::new(0),
            deadline: Instant::now() + Duration::from_millis(policy.limits.time_limit_ms),
            text: (collect_text || policy.pii.enabled()).then(|| Mutex::new(Texts::default())),
        });
        if source.is_empty() {
            let report = new_report(&tree, name, &source);
            let reason = Reason::new(ReasonKind::InvalidStructure, "the file is empty");
            return log_decision(refuse(report, Outcome::Failed, reason));
        }
        let limits = &policy.limits;
        let mut fuel = limits.fuel_base.saturating_add(limits.fuel_per_byte.saturating_mul(source.len()));
        if policy.tries_passwords() {
            fuel = fuel.saturating_add(limits.fuel_for_passwords);
        }
        let mut result = process(&self.inner, &tree, source, name, name, 0, fuel);
        // The text of a file that does not pass is not what any output keeps.
        if let Some(text) = &tree.text
            && result.report.outcome.passed()
        {
            let texts = std::mem::take(&mut *text.lock().unwrap_or_else(|e| e.into_inner()));
            if policy.pii.enabled() {
                audit(&mut result, &policy.pii, &texts);
            }
            if collect_text {
                result.text = texts.pieces;
            }
        }
        log_decision(result)
    }
}

/// The instances of a fixed pool, reserved a tree at a time. A tree nests
/// at most `max-depth + 1` sandboxes (children run inside their parent's
/// call), so a tree that holds its reservation never finds the pool empty:
/// a busy pool makes files wait, it never decides them.
struct InstanceBudget {
    free: Mutex<u32>,
    freed: std::sync::Condvar,
    total: u32,
}

/// Instances held by one tree, given back when dropped.
struct Reservation<'a> {
    budget: &'a InstanceBudget,
    count: u32,
}

impl InstanceBudget {
    fn new(total: u32) -> InstanceBudget {
        InstanceBudget { free: Mutex::new(total), freed: std::sync::Condvar::new(), total }
    }

    /// Waits for `count` instances (at most the whole pool).
    fn reserve(&self, count: u32) -> Reservation<'_> {
        let count = count.clamp(1, self.total.max(1));
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free < count {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= count;
        Reservation { budget: self, count }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        *self.budget.free.lock().unwrap_or_else(|e| e.into_inner()) += self.count;
        self.budget.freed.notify_all();
    }
}

/// One log line per decided file (shown with `-v`).
fn log_decision(result: Sanitized) -> Sanitized {
    let report = &result.report;
    tracing::info!(
        name = %report.input.name,
        outcome = report.outcome.name(),
        format = report.input.format.as_deref().unwrap_or("unknown"),
        ms = report.metrics.wall_time_us as f64 / 1000.0,
        reason = report.reason.as_ref().map_or("", |r| r.detail.as_str()),
        "decided"
    );
    result
}

/// What a file and all its embedded documents share.
struct Tree {
    policy: Arc<Policy>,
    policy_ref: PolicyRef,
    /// Bytes handed to `sanitize-embedded` so far, over the whole tree.
    expanded: AtomicU64,
    /// One wall-clock deadline for the whole tree.
    deadline: Instant,
    /// The text plugins hand over, when it is asked for.
    text: Option<Mutex<Texts>>,
}

/// Text kept for a tree, bounded.
#[derive(Default)]
struct Texts {
    pieces: Vec<TextPiece>,
    bytes: usize,
    /// Text was dropped at the bound.
    truncated: bool,
    /// Files whose plugin hands over no text (contract 0.1).
    silent: Vec<String>,
}

/// The personal-information audit of a tree that passed: findings into the
/// report; a rule's `block` refuses the file and `hold` holds it (rebuilt,
/// output kept for whoever approves it). Text the audit could not see (over
/// the bound, or from a plugin without a text channel) holds the file: it
/// cannot be shown free of personal information.
fn audit(result: &mut Sanitized, pii: &crate::pii::PiiPolicy, texts: &Texts) {
    use crate::pii::RuleAction;
    let audit = pii.audit(&texts.pieces);
    result.report.pii = audit.findings;
    let unseen = if texts.truncated {
        Some(format!("text beyond {MAX_TEXT_BYTES} bytes could not be audited"))
    } else {
        texts.silent.first().map(|file| format!("{file}: its plugin hands over no text to audit (contract 0.1)"))
    };
    let (outcome, detail) = match (audit.decision, unseen) {
        (Some(decision), _) if decision.action == RuleAction::Block => (Outcome::Blocked, decision.detail),
        (Some(decision), _) if decision.action == RuleAction::Hold => (Outcome::Held, decision.detail),
        (_, Some(unseen)) => (Outcome::Held, unseen),
        _ => return,
    };
    result.report.outcome = outcome;
    result.report.reason = Some(Reason::new(ReasonKind::PersonalInformation, detail));
    if outcome == Outcome::Blocked {
        result.output = None;
    }
}

impl Tree {
    fn expanded_left(&self) -> u64 {
        self.policy.limits.max_expanded_bytes.saturating_sub(self.expanded.load(Ordering::Relaxed))
    }
}

fn sha256_of(source: &Source) -> String {
    if let Source::Bytes(data) = source {
        return hex::encode(Sha256::digest(data.as_slice()));
    }
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while let Ok(chunk) = source.read_at(offset, 1 << 20) {
        if chunk.is_empty() {
            break;
        }
        offset += chunk.len() as u64;
        hasher.update(&chunk);
    }
    hex::encode(hasher.finalize())
}

fn new_report(tree: &Tree, name: &str, source: &Source) -> Report {
    Report {
        schema: SCHEMA.into(),
        input: InputInfo {
            name: name.into(),
            size: source.len(),
            sha256: sha256_of(source),
            format: None,
            media_type: None,
        },
        output: None,
        outcome: Outcome::Failed,
        reason: None,
        policy: tree.policy_ref.clone(),
        plugin: None,
        items: Vec::new(),
        children: Vec::new(),
        metrics: Metrics::default(),
        scans: Vec::new(),
        pii: Vec::new(),
    }
}

fn refuse(mut report: Report, outcome: Outcome, reason: Reason) -> Sanitized {
    report.outcome = outcome;
    report.reason = Some(reason);
    Sanitized { report, output: None, text: Vec::new() }
}

/// Sanitizes one file of the tree, named `name` and found at `path` (the
/// names of its parents and its own, joined with `/`), at `depth` (0 for the
/// file itself), with at most `fuel`: the tree's budget, or what the parent
/// has left.
fn process(
    inner: &Arc<Inner>,
    tree: &Arc<Tree>,
    source: Source,
    name: &str,
    path: &str,
    depth: u32,
    fuel: u64,
) -> Sanitized {
    let started = Instant::now();
    let policy = &tree.policy;
    let mut report = new_report(tree, name, &source);
    if source.len() > policy.limits.max_input_bytes {
        let detail = format!("{} bytes, more than the limit of {}", source.len(), policy.limits.max_input_bytes);
        return refuse(
            report,
            Outcome::Failed,
            Reason::new(ReasonKind::TooLarge, detail).with_limit(Some(Limit::Input)),
        );
    }
    // Scanned before anything decides the file, so that every verdict is in
    // the report of a file the policy wants scanned.
    let scanned = scans_input(policy, depth) && inner.scanning(policy);
    if scanned {
        let data = whole(&source);
        if let Some((outcome, reason)) = inner.scan(&mut report, policy, &data, path, depth) {
            return refuse(report, outcome, reason);
        }
    }
    // The name first: what an operating system runs by its name is the
    // executables class, whatever the content.
    let runnable = detect::extension(name).filter(|ext| executables::is_runnable_extension(ext));
    let mut rename_runnable = false;
    if let Some(ext) = &runnable {
        let detail = format!("a .{ext} file is run by Windows or a script host when it is opened");
        match (policy.action(Class::Executables), policy.executables_mode) {
            (Action::Allow, _) => report.items.push(item(Class::Executables, Disposition::Kept, name, &detail)),
            (Action::Sanitize, ExecutablesMode::Neutralize) => {
                rename_runnable = true;
                let detail = format!("{detail}; rebuilt under a name nothing runs");
                report.items.push(item(Class::Executables, Disposition::Neutralized, name, &detail));
            }
            (action, _) => {
                let (disposition, detail) = match (action, depth) {
                    (Action::Sanitize, 1..) => (Disposition::Removed, format!("{detail}; removed")),
                    _ => (Disposition::Blocked, detail),
                };
                report.items.push(item(Class::Executables, disposition, name, &detail));
                let reason = Reason::new(ReasonKind::Policy, detail).with_class(Some(Class::Executables.name()));
                return refuse(report, Outcome::Blocked, reason);
            }
        }
    }
    let registry = &inner.registry;
    let Some(format) = detect::detect(&source, Some(name), registry.declared()) else {
        let head = source.head(8192).unwrap_or_default();
        let reason = match executables::binary_program(&head, &source) {
            Some(program) => Reason::new(ReasonKind::NoPlugin, format!("{program}: programs never pass"))
                .with_class(Some(Class::Executables.name())),
            None => Reason::new(ReasonKind::NoPlugin, "file type not recognized"),
        };
        return unsupported(inner, policy, report, &source, path, depth, reason, scanned);
    };
    let format_info = registry.format_info(&format);
    report.input.format = Some(format.clone());
    report.input.media_type = format_info.as_ref().map(|f| f.media_type().to_owned());
    // Text under a name a browser renders as markup no plugin rebuilds.
    if let Some(ext) = detect::extension(name).filter(|_| detect::same_text_family(&format, "txt"))
        && let Some(detect::MarkupName::Refused(what)) = detect::markup_name(&ext)
    {
        let detail = format!("named .{ext}, so opened as {what}; no plugin rebuilds that markup");
        return refuse(report, Outcome::Unsupported, Reason::new(ReasonKind::NoPlugin, detail));
    }
    let mismatch =
        |ext: &String| registry.extension_belongs_elsewhere(&format, ext) && !detect::same_text_family(&format, ext);
    if let Some(ext) = detect::extension(name).filter(mismatch) {
        let detail =
            format!("the extension .{ext} does not match the content ({format}); the output gets the right one");
        match policy.action(Class::MalformedStructure) {
            Action::Block => {
                report.items.push(item(Class::MalformedStructure, Disposition::Blocked, name, &detail));
                let reason = Reason::new(ReasonKind::Policy, detail).with_class(Some(Class::MalformedStructure.name()));
                return refuse(report, Outcome::Blocked, reason);
            }
            Action::Allow => report.items.push(item(Class::MalformedStructure, Disposition::Kept, name, &detail)),
            Action::Sanitize => {
                report.items.push(item(Class::MalformedStructure, Disposition::Neutralized, name, &detail))
            }
        }
    }
    let Some(plugin) = registry.plugin_for(&format).cloned() else {
        let detail = format!("no plugin rebuilds {format} files");
        let reason = Reason::new(ReasonKind::NoPlugin, detail);
        return unsupported(inner, policy, report, &source, path, depth, reason, scanned);
    };
    report.plugin =
        Some(PluginRef { name: plugin.name.clone(), version: plugin.version.clone(), sha256: plugin.sha256.clone() });

    let children = Arc::new(Mutex::new(Vec::new()));
    let active = Arc::new(Mutex::new(ActiveParts::default()));
    let inspect_active = policy.scan.what >= ScanWhat::KeptActive && inner.scanning(policy);
    let host = ChildRunner {
        inner: inner.clone(),
        tree: tree.clone(),
        path: path.to_owned(),
        depth: depth + 1,
        children: children.clone(),
        active: active.clone(),
    };
    let limits = &policy.limits;
    let compiled = match plugin.compiled(&inner.sandbox) {
        Ok(compiled) => compiled,
        Err(e) => {
            let detail = format!("plugin {} cannot be loaded: {e}", plugin.name);
            return refuse(report, Outcome::Failed, Reason::new(ReasonKind::PluginFault, detail));
        }
    };
    let run = inner.sandbox.run(
        compiled,
        Job {
            format: format.clone(),
            input: source.clone(),
            // An embedded file's own bytes were charged to the tree when it
            // was handed over: reading them again is not new expansion.
            policy: {
                let mut view = policy.view(
                    &plugin.classes,
                    &plugin.options,
                    if depth > 0 { tree.expanded_left().saturating_add(source.len()) } else { tree.expanded_left() },
                );
                // Plugins skip extracting text nobody keeps, and decoding
                // active parts nobody scans.
                view.collect_text = tree.text.is_some();
                view.inspect_active = inspect_active;
                view
            },
            limits: RunLimits {
                fuel,
                deadline: tree.deadline,
                memory_bytes: usize::try_from(limits.memory_limit_mb << 20).unwrap_or(usize::MAX),
                max_output_bytes: limits.max_output_bytes,
            },
            host: Some(Box::new(host)),
        },
    );
    report.children = std::mem::take(&mut *children.lock().unwrap_or_else(|e| e.into_inner()));
    let active = std::mem::take(&mut active.lock().unwrap_or_else(|e| e.into_inner()).parts);
    let active_refusal = judge_active(&mut report, policy, active, depth);
    report.metrics = Metrics {
        fuel_used: run.metrics.fuel_used,
        peak_memory_bytes: run.metrics.peak_memory_bytes,
        wall_time_us: started.elapsed().as_micros() as u64,
    };

    let rebuilt = match run.result {
        Ok(rebuilt) => rebuilt,
        Err(failure) => return failed_run(report, failure, policy),
    };
    if compiled.contract == crate::sandbox::CONTRACT_WITHOUT_TEXT
        && let Some(texts) = &tree.text
    {
        texts.lock().unwrap_or_else(|e| e.into_inner()).silent.push(path.to_owned());
    }
    report.items.extend(rebuilt.findings.iter().map(Item::from));
    if let Some((outcome, reason)) = active_refusal {
        return refuse(report, outcome, reason);
    }
    if let Some((outcome, reason)) = refusing_child(&report, &tree.policy) {
        return refuse(report, outcome, reason);
    }
    let output = Source::bytes(run.output);
    let keep_runnable = runnable.is_some() && !rename_runnable;
    match verify_output(registry, &plugin, &format, &rebuilt.format, name, &output, keep_runnable) {
        Ok(output_info) => {
            let changed =
                report.items.iter().any(|i| matches!(i.action, Disposition::Removed | Disposition::Neutralized))
                    || report.children.iter().any(|c| c.outcome == Outcome::Sanitized);
            if policy.scan.what == ScanWhat::All
                && policy.scan.scan_outputs
                && inner.scanning(policy)
                && let Some((outcome, reason)) =
                    inner.scan(&mut report, policy, &whole(&output), &format!("{path} (output)"), depth)
            {
                return refuse(report, outcome, reason);
            }
            report.outcome = if changed { Outcome::Sanitized } else { Outcome::Clean };
            report.output = Some(output_info);
            Sanitized { report, output: output.into_bytes(), text: Vec::new() }
        }
        Err(detail) => refuse(report, Outcome::Failed, Reason::new(ReasonKind::PluginFault, detail)),
    }
}

/// True when `policy` has the file at `depth` scanned before its rebuild:
/// everything under `what = "all"`; embedded files the policy keeps under
/// `"kept-active"`.
fn scans_input(policy: &Policy, depth: u32) -> bool {
    match policy.scan.what {
        ScanWhat::All => true,
        ScanWhat::KeptActive => depth > 0 && policy.action(Class::EmbeddedFiles) == Action::Allow,
        ScanWhat::Unsupported => false,
    }
}

/// The whole of a source, for a scanner (files are read; bytes borrowed).
fn whole(source: &Source) -> std::borrow::Cow<'_, [u8]> {
    match source {
        Source::Bytes(data) => std::borrow::Cow::Borrowed(data.as_slice()),
        Source::File { .. } => std::borrow::Cow::Owned(
            source.read_at(0, usize::try_from(source.len()).unwrap_or(usize::MAX)).unwrap_or_default(),
        ),
    }
}

impl Inner {
    /// True when files need scans under `policy`: scanners are configured,
    /// or the policy writes `[scan]` (and gets `scanner-down` without one).
    fn scanning(&self, policy: &Policy) -> bool {
        !self.scanners.is_empty() || policy.scan.required
    }

    /// Scans `data`, found at `location`, into `report`, and decides: a
    /// match is the `malware` class, a scan not done is `scanner-down`.
    /// `Some` is the refusal; `None` lets the file go on.
    fn scan(
        &self,
        report: &mut Report,
        policy: &Policy,
        data: &[u8],
        location: &str,
        depth: u32,
    ) -> Option<(Outcome, Reason)> {
        let (hits, down) = record(report, self.scanners.scan(data, location));
        if !hits.is_empty() {
            return malware(report, policy, location, &hits, depth);
        }
        if down.is_empty() {
            return None;
        }
        let why = down.join("; ");
        match policy.scan.scanner_down {
            ScannerDown::FailClosed => {
                let detail = format!("{location} could not be scanned: {why}");
                Some((Outcome::Failed, Reason::new(ReasonKind::ScannerUnavailable, detail)))
            }
            ScannerDown::Skip => {
                let detail = format!("not scanned ({why}); passed on as the policy says scanner-down = \"skip\"");
                report.items.push(item(Class::Malware, Disposition::Kept, location, &detail));
                None
            }
        }
    }
}

/// Most active parts one file may hand over for scanning, and most bytes
/// over them; parts beyond count as not scanned.
const MAX_ACTIVE_PARTS: usize = 4096;
const MAX_ACTIVE_BYTES: usize = 256 << 20;

/// The active parts one file's plugin handed over, scanned as they came.
#[derive(Default)]
struct ActiveParts {
    parts: Vec<ActivePart>,
    bytes: usize,
}

/// An active part (`host.inspect-active`) and what the scanners said.
struct ActivePart {
    class: String,
    kept: bool,
    location: String,
    scans: Vec<crate::report::Scan>,
}

/// Decides the active parts of a file: a match in a part the output keeps
/// is the `malware` class (blocked by default, whatever the part's own
/// class allows); one in a removed part is reported as removed. A kept part
/// that could not be scanned is `scanner-down`.
fn judge_active(report: &mut Report, policy: &Policy, parts: Vec<ActivePart>, depth: u32) -> Option<(Outcome, Reason)> {
    let mut refusal = None;
    for part in parts {
        let (hits, down) = record(report, part.scans);
        let location = &part.location;
        match (hits.is_empty(), part.kept) {
            (false, true) => {
                let decided = malware(report, policy, location, &hits, depth);
                refusal = refusal.or(decided);
            }
            (false, false) => {
                let detail = format!("recognised by {} in the removed {}", hits.join(", "), part.class);
                report.items.push(item(Class::Malware, Disposition::Removed, location, &detail));
            }
            (true, true) if !down.is_empty() => match policy.scan.scanner_down {
                ScannerDown::FailClosed => {
                    let detail = format!("{location} ({}) could not be scanned: {}", part.class, down.join("; "));
                    refusal = refusal.or(Some((Outcome::Failed, Reason::new(ReasonKind::ScannerUnavailable, detail))));
                }
                ScannerDown::Skip => {
                    let detail = format!(
                        "kept {} not scanned ({}); passed on as the policy says scanner-down = \"skip\"",
                        part.class,
                        down.join("; ")
                    );
                    report.items.push(item(Class::Malware, Disposition::Kept, location, &detail));
                }
            },
            (true, _) => {}
        }
    }
    refusal
}

/// Puts scans into the report: what matched (`engine name`) and why an
/// engine could not scan (`engine: why`).
fn record(report: &mut Report, scans: Vec<crate::report::Scan>) -> (Vec<String>, Vec<String>) {
    let hits = scans.iter().flat_map(|s| s.matches.iter().map(move |m| format!("{} {m}", s.engine))).collect();
    let down = scans.iter().filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.engine))).collect();
    report.scans.extend(scans);
    (hits, down)
}

/// A scanner recognised something at `location`: the `malware` class
/// decides (blocked by default; `sanitize` removes an embedded file from
/// its parent; `allow` only reports it).
fn malware(
    report: &mut Report,
    policy: &Policy,
    location: &str,
    hits: &[String],
    depth: u32,
) -> Option<(Outcome, Reason)> {
    let detail = format!("recognised by {}", hits.join(", "));
    let disposition = match (policy.action(Class::Malware), depth) {
        (Action::Allow, _) => {
            report.items.push(item(Class::Malware, Disposition::Kept, location, &detail));
            return None;
        }
        (Action::Sanitize, 1..) => Disposition::Removed,
        _ => Disposition::Blocked,
    };
    report.items.push(item(Class::Malware, disposition, location, &detail));
    let reason =
        Reason::new(ReasonKind::Policy, format!("{location}: {detail}")).with_class(Some(Class::Malware.name()));
    Some((Outcome::Blocked, reason))
}

/// A file no plugin handles: scanned when scanners are configured (unless
/// it was already), then refused as `unsupported`, or passed unchanged
/// when the policy says `unsupported = "pass-if-clean"` and no scanner
/// recognised anything (nor failed, unless `scanner-down = "skip"`). A
/// program never passes.
#[allow(clippy::too_many_arguments)]
fn unsupported(
    inner: &Inner,
    policy: &Policy,
    mut report: Report,
    source: &Source,
    path: &str,
    depth: u32,
    reason: Reason,
    scanned: bool,
) -> Sanitized {
    if !inner.scanning(policy) {
        return refuse(report, Outcome::Unsupported, reason);
    }
    if !scanned {
        let (hits, _) = record(&mut report, inner.scanners.scan(&whole(source), path));
        if !hits.is_empty()
            && let Some((outcome, why)) = malware(&mut report, policy, path, &hits, depth)
        {
            return refuse(report, outcome, why);
        }
    }
    let recognised = report.scans.iter().any(|s| !s.matches.is_empty());
    let unscanned = report.scans.iter().any(|s| s.error.is_some());
    let program = reason.class.as_deref() == Some(Class::Executables.name());
    let passes = policy.scan.unsupported == UnsupportedMode::PassIfClean
        && !program
        && !recognised
        && (!unscanned || policy.scan.scanner_down == ScannerDown::Skip);
    if !passes {
        return refuse(report, Outcome::Unsupported, reason);
    }
    let detail = if unscanned {
        format!("{}; passed unchanged, not scanned, as the policy says scanner-down = \"skip\"", reason.detail)
    } else {
        let engines: Vec<&str> = report.scans.iter().map(|s| s.engine.as_str()).collect();
        format!("{}; passed unchanged: {} found nothing", reason.detail, engines.join(" and "))
    };
    report.items.push(item(Class::UnknownParts, Disposition::Kept, path, &detail));
    report.output = Some(OutputInfo {
        size: source.len(),
        sha256: report.input.sha256.clone(),
        format: report.input.format.clone().unwrap_or_else(|| "unknown".into()),
        media_type: report.input.media_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
        extension: detect::extension(&report.input.name).unwrap_or_else(|| "bin".into()),
    });
    report.outcome = Outcome::Clean;
    Sanitized { report, output: Some(whole(source).into_owned()), text: Vec::new() }
}

fn item(class: Class, action: Disposition, location: &str, detail: &str) -> Item {
    Item { class: class.name().into(), action, location: location.into(), detail: detail.into(), count: 1 }
}

impl From<&contract::Finding> for Item {
    fn from(f: &contract::Finding) -> Item {
        Item {
            class: f.class.clone(),
            action: f.disposition,
            location: f.location.clone(),
            detail: f.detail.clone(),
            count: f.count.max(1),
        }
    }
}

/// The report of a run that produced no usable output.
fn failed_run(mut report: Report, failure: RunFailure, policy: &Policy) -> Sanitized {
    match failure {
        RunFailure::Plugin(failure) => {
            report.items.extend(failure.findings.iter().map(Item::from));
            if let Some((outcome, reason)) = refusing_child(&report, policy) {
                return refuse(report, outcome, reason);
            }
            let (outcome, kind, class) = match failure.kind {
                FailureKind::InvalidStructure => (Outcome::Failed, ReasonKind::InvalidStructure, None),
                FailureKind::Encrypted => (Outcome::Failed, ReasonKind::Encrypted, None),
                FailureKind::TooLarge => (Outcome::Failed, ReasonKind::TooLarge, None),
                FailureKind::LimitExceeded => (Outcome::Failed, ReasonKind::LimitExceeded, None),
                FailureKind::Blocked(class) => (Outcome::Blocked, ReasonKind::Policy, Some(class)),
                FailureKind::Unsupported => (Outcome::Unsupported, ReasonKind::NoPlugin, None),
            };
            refuse(report, outcome, Reason::new(kind, failure.detail).with_class(class))
        }
        RunFailure::Limit(limit, detail) => {
            refuse(report, Outcome::Failed, Reason::new(ReasonKind::LimitExceeded, detail).with_limit(Some(limit)))
        }
        RunFailure::Fault(detail) => refuse(report, Outcome::Failed, Reason::new(ReasonKind::PluginFault, detail)),
    }
}

/// A blocked child blocks its parent; a child over a limit fails it: the
/// outcome and reason the parent gets, if any child refuses it.
///
/// Every limit and every fault refuses the parent (a child over the input
/// limit is not an "unknown part" to keep); only an unsupported or invalid
/// child is left to the parent's plugin and the `unknown-parts` class. A
/// child that needed a scan nobody could do fails its parent too. A child
/// removed as an executable or as malware refuses its parent only when the
/// policy would let the parent's plugin keep refused parts (`unknown-parts
/// = "allow"`), since it must go.
fn refusing_child(report: &Report, policy: &Policy) -> Option<(Outcome, Reason)> {
    report.children.iter().find_map(|c| {
        let reason = c.reason.as_ref()?;
        let refuses = match c.outcome {
            Outcome::Blocked => {
                let removed = [Class::Executables, Class::Malware].into_iter().any(|class| {
                    reason.class.as_deref() == Some(class.name()) && policy.action(class) == Action::Sanitize
                }) && policy.action(Class::UnknownParts) != Action::Allow;
                !removed
            }
            Outcome::Failed => {
                matches!(
                    reason.kind,
                    ReasonKind::LimitExceeded
                        | ReasonKind::TooLarge
                        | ReasonKind::PluginFault
                        | ReasonKind::ScannerUnavailable
                )
            }
            _ => false,
        };
        refuses.then(|| {
            let detail = format!("embedded {}: {}", c.input.name, reason.detail);
            (c.outcome, Reason { detail, ..reason.clone() })
        })
    })
}

/// Never trust a plugin's output: the format must be one it declared and the
/// bytes must re-detect as that format. The output is named with a
/// runnable extension only when the policy allows executables
/// (`keep_runnable`): otherwise it gets its format's own extension (text
/// becomes `.txt`).
fn verify_output(
    registry: &Registry,
    plugin: &Plugin,
    input_format: &str,
    format: &str,
    name: &str,
    output: &Source,
    keep_runnable: bool,
) -> Result<OutputInfo, String> {
    let declared = plugin
        .format(format)
        .ok_or_else(|| format!("plugin {} returned format {format:?}, which it does not declare", plugin.name))?;
    // Keep the input's extension unless it belongs to another format (a
    // `.docm` rebuilt as docx, a PNG named `.jpg`). Extensions of related
    // formats correspond by position: a `.dotm` template rebuilt as docx
    // becomes `.dotx`, a `.ppsm` slide show `.ppsx`.
    let same_position = |ext: &str| {
        let position = plugin.format(input_format)?.extensions.iter().position(|e| e.eq_ignore_ascii_case(ext))?;
        declared.extensions.get(position).cloned()
    };
    let named = detect::extension(name).filter(|ext| keep_runnable || !executables::is_runnable_extension(ext));
    let extension = match named {
        Some(ext) if declared.extensions.iter().any(|e| e.eq_ignore_ascii_case(&ext)) => ext,
        Some(ext) if input_format == format && !registry.extension_belongs_elsewhere(format, &ext) => ext,
        Some(ext) if input_format == format && detect::same_text_family(format, &ext) => ext,
        Some(ext) => same_position(&ext).unwrap_or_else(|| declared.extension().to_owned()),
        None => declared.extension().to_owned(),
    };
    let detected = detect::detect(output, Some(&format!("output.{extension}")), registry.declared());
    if detected.as_deref() != Some(format) {
        return Err(format!(
            "plugin {} produced output that is not a valid {format} (detected: {})",
            plugin.name,
            detected.as_deref().unwrap_or("unknown")
        ));
    }
    Ok(OutputInfo {
        size: output.len(),
        sha256: sha256_of(output),
        format: format.into(),
        media_type: declared.media_type().into(),
        extension,
    })
}

/// Runs embedded documents for one parent sandbox.
struct ChildRunner {
    inner: Arc<Inner>,
    tree: Arc<Tree>,
    /// Where the file whose plugin calls in is, inside the tree.
    path: String,
    /// Depth of the children this runner creates.
    depth: u32,
    children: Arc<Mutex<Vec<Report>>>,
    /// The active parts the plugin hands over, scanned as they come.
    active: Arc<Mutex<ActiveParts>>,
}

impl ChildRunner {
    fn record(&self, report: Report) {
        self.children.lock().unwrap_or_else(|e| e.into_inner()).push(report);
    }

    /// Records a child refused before it ran, for exceeding a tree budget.
    fn refuse_over_limit(&self, name: &str, source: &Source, limit: Limit, detail: String) -> EmbeddedRefusal {
        let reason = Reason::new(ReasonKind::LimitExceeded, detail.clone()).with_limit(Some(limit));
        self.record(refuse(new_report(&self.tree, name, source), Outcome::Failed, reason).report);
        EmbeddedRefusal::LimitExceeded(detail)
    }
}

impl FileHost for ChildRunner {
    fn sanitize_embedded(
        &mut self,
        name: String,
        data: Vec<u8>,
        fuel: u64,
    ) -> (Result<EmbeddedRebuilt, EmbeddedRefusal>, u64) {
        let limits = &self.tree.policy.limits;
        let source = Source::bytes(data);
        if self.depth > limits.max_depth {
            let detail = format!("nested deeper than the limit of {}", limits.max_depth);
            return (Err(self.refuse_over_limit(&name, &source, Limit::Depth, detail)), 0);
        }
        let total = self.tree.expanded.fetch_add(source.len(), Ordering::Relaxed) + source.len();
        if total > limits.max_expanded_bytes {
            let detail = format!("embedded documents exceed {} expanded bytes in total", limits.max_expanded_bytes);
            return (Err(self.refuse_over_limit(&name, &source, Limit::Expansion, detail)), 0);
        }
        let path = format!("{}/{name}", self.path);
        let child = process(&self.inner, &self.tree, source, &name, &path, self.depth, fuel);
        if !child.report.outcome.passed()
            && let Some(texts) = &self.tree.text
        {
            // A child that was refused is not in the parent's output: nor is its text.
            let inside = format!("{path}/");
            let mut texts = texts.lock().unwrap_or_else(|e| e.into_inner());
            texts.pieces.retain(|p| p.file != path && !p.file.starts_with(&inside));
            texts.silent.retain(|file| *file != path && !file.starts_with(&inside));
        }
        let report = child.report;
        let used = report.metrics.fuel_used;
        let answer = match (report.outcome, child.output, &report.output) {
            (Outcome::Clean | Outcome::Sanitized, Some(data), Some(info)) => Ok(EmbeddedRebuilt {
                outcome: if report.outcome == Outcome::Clean {
                    EmbeddedOutcome::Clean
                } else {
                    EmbeddedOutcome::Sanitized
                },
                format: info.format.clone(),
                extension: info.extension.clone(),
                media_type: info.media_type.clone(),
                data,
            }),
            _ => {
                let detail = report.reason.as_ref().map_or_else(String::new, |r| r.detail.clone());
                Err(match (report.outcome, report.reason.as_ref().map(|r| r.kind)) {
                    // An executable or malware that the policy removes: the parent drops it.
                    (Outcome::Blocked, _)
                        if report.items.iter().any(|i| {
                            (i.class == Class::Executables.name() || i.class == Class::Malware.name())
                                && i.action == Disposition::Removed
                        }) =>
                    {
                        EmbeddedRefusal::Unsupported(detail)
                    }
                    (Outcome::Blocked, _) => EmbeddedRefusal::Blocked(detail),
                    (Outcome::Unsupported, _) => EmbeddedRefusal::Unsupported(
                        report.input.format.clone().unwrap_or_else(|| "unknown type".into()),
                    ),
                    (_, Some(ReasonKind::LimitExceeded | ReasonKind::TooLarge)) => {
                        EmbeddedRefusal::LimitExceeded(detail)
                    }
                    _ => EmbeddedRefusal::Failed(detail),
                })
            }
        };
        self.record(report);
        (answer, used)
    }

    fn emit_text(&mut self, location: String, text: String) {
        let Some(texts) = &self.tree.text else { return };
        let mut texts = texts.lock().unwrap_or_else(|e| e.into_inner());
        let size = location.len() + text.len();
        if texts.bytes + size > MAX_TEXT_BYTES {
            texts.truncated = true;
            return;
        }
        texts.bytes += size;
        texts.pieces.push(TextPiece { file: self.path.clone(), location, text });
    }

    fn inspect_active(&mut self, class: String, kept: bool, location: String, content: Vec<u8>) {
        let location = format!("{}: {location}", self.path);
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let scans = if active.parts.len() >= MAX_ACTIVE_PARTS || active.bytes + content.len() > MAX_ACTIVE_BYTES {
            let why =
                format!("more than {MAX_ACTIVE_PARTS} active parts or {MAX_ACTIVE_BYTES} bytes of them in one file");
            vec![crate::report::Scan::not_done(&location, &why)]
        } else {
            active.bytes += content.len();
            self.inner.scanners.scan(&content, &location)
        };
        active.parts.push(ActivePart { class, kept, location, scans });
    }

    fn charge_expansion(&mut self, bytes: u64) -> Result<(), String> {
        let limit = self.tree.policy.limits.max_expanded_bytes;
        let total = self.tree.expanded.fetch_add(bytes, Ordering::Relaxed).saturating_add(bytes);
        if total > limit {
            return Err(format!("the files of this tree inflate to more than {limit} bytes"));
        }
        Ok(())
    }
}
