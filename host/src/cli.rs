//! The `sekisho` command line.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use sha2::{Digest, Sha256};

use crate::audit::{AuditLog, Entry as AuditEntry, Origin};
use crate::batch;
use crate::policy::Policy;
use crate::report::Report;
use crate::sandbox::SandboxConfig;
use crate::serve::{self, Config as ServeConfig, IcapRefusal};
use crate::source::Source;
use crate::{Options, Sekisho};

/// Exit status when every file came out clean or sanitized.
const EXIT_PASSED: u8 = 0;
/// Exit status when any file was blocked, unsupported or failed.
const EXIT_REFUSED: u8 = 1;
/// Exit status for usage and internal errors.
const EXIT_ERROR: u8 = 2;

/// Native stack for the thread that runs sandboxes: nested documents run in
/// nested sandboxes on the same stack.
const WORKER_STACK: usize = 64 << 20;

#[derive(Parser)]
#[command(
    name = "sekisho",
    version,
    about = "Sekisho (関所): content disarm and reconstruction — rebuild untrusted files in WebAssembly sandboxes",
    long_about = "Sekisho takes an untrusted file apart inside a WebAssembly sandbox and rebuilds a clean one. \
                  Active content (macros, scripts, auto-actions, embedded executables, external links, DDE, \
                  metadata) is removed or the file is refused, and every decision goes into a JSON report.\n\n\
                  Exit status: 0 when every file came out clean or sanitized; 1 when any was blocked, \
                  unsupported or failed; 2 for usage or internal errors."
)]
struct Cli {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct EngineArgs {
    /// Directory of vendor plugins (*.wasm); may be repeated.
    #[arg(long = "plugins-dir", env = "SEKISHO_PLUGINS_DIR", global = true, value_delimiter = ':')]
    plugins_dirs: Vec<PathBuf>,
    /// Where compiled plugins are cached [default: ~/.cache/sekisho].
    #[arg(long, env = "SEKISHO_CACHE_DIR", global = true)]
    cache_dir: Option<PathBuf>,
    /// Log more (repeat for more detail); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Args)]
struct PolicyArgs {
    /// Built-in profile: strict (default), keep-links, keep-macros.
    #[arg(long, conflicts_with = "policy")]
    profile: Option<String>,
    /// TOML policy file (see `sekisho policy show` for the format).
    #[arg(long)]
    policy: Option<PathBuf>,
}

impl PolicyArgs {
    fn load(&self) -> Result<Policy, String> {
        match (&self.profile, &self.policy) {
            (_, Some(path)) => Policy::from_file(path).map_err(|e| e.to_string()),
            (Some(name), None) => Policy::profile(name).map_err(|e| e.to_string()),
            (None, None) => Ok(Policy::default()),
        }
    }
}

#[derive(Args)]
struct BatchArgs {
    /// Files processed at once [default: number of cores].
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Append one JSON line per file decision to this audit log.
    #[arg(long)]
    audit: Option<PathBuf>,
}

impl BatchArgs {
    fn threads(&self) -> usize {
        self.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    fn audit(&self) -> Result<Option<AuditLog>, String> {
        self.audit
            .as_deref()
            .map(|p| AuditLog::open(p).map_err(|e| format!("audit log {}: {e}", p.display())))
            .transpose()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild files; write clean outputs and reports.
    #[command(after_help = "Examples:\n  sekisho sanitize in.docx -o clean.docx --report report.json\n  \
                            cat in.csv | sekisho sanitize - -o - > clean.csv\n  \
                            sekisho sanitize inbox/ more.zip --out-dir clean/ --report reports.json")]
    Sanitize {
        /// Files or directories to sanitize; `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file for a single input; `-` writes standard output.
        #[arg(short, long, conflicts_with = "out_dir")]
        output: Option<PathBuf>,
        /// Output directory: relative paths are kept and extensions corrected.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Write the JSON report here (`-` for standard output).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Skip files already done: with --out-dir, each file's report is kept
        /// beside its output (`NAME.sekisho.json`); a file whose report names
        /// the same input hash, and whose output is still there, is skipped.
        #[arg(long, requires = "out_dir")]
        resume: bool,
        #[command(flatten)]
        batch: BatchArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Analyse files and report what would be removed; writes no output.
    Scan {
        /// Files or directories to scan; `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the JSON report here instead of standard output.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        batch: BatchArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Run the gateway: HTTP API (and ICAP with --icap) until SIGINT/SIGTERM.
    #[command(
        after_help = "Examples:\n  sekisho serve --listen 127.0.0.1:8080 --icap 127.0.0.1:1344 --audit audit.jsonl\n  \
                            curl --data-binary @in.docx 'http://127.0.0.1:8080/v1/sanitize?name=in.docx' -o clean.docx\n\n\
                            The API is described in docs/openapi.json."
    )]
    Serve {
        /// Address of the HTTP API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Address of the ICAP service (RFC 3507), e.g. 127.0.0.1:1344.
        #[arg(long)]
        icap: Option<std::net::SocketAddr>,
        /// File of `user:token` lines; requests need `Authorization: Bearer TOKEN`.
        /// Required when listening on a non-loopback address.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Files in sandboxes at once [default: number of cores].
        #[arg(long)]
        workers: Option<usize>,
        /// Requests that may wait for a sandbox; more get 503 with Retry-After.
        #[arg(long, default_value_t = 64)]
        queue: usize,
        /// How long a request may wait for a sandbox, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        queue_wait_ms: u64,
        /// How long an HTTP client may take to upload its file and get the
        /// answer, in seconds (408 or 504 after that).
        #[arg(long, default_value_t = 300)]
        request_timeout_s: u64,
        /// Append one JSON line per file decision to this file.
        #[arg(long)]
        audit: Option<PathBuf>,
        /// What ICAP clients get instead of a refused file.
        #[arg(long, value_enum, default_value = "page")]
        icap_refusal: IcapRefusal,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List the loaded plugins.
    Plugins {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the effective policy as TOML.
    Show {
        #[command(flatten)]
        policy: PolicyArgs,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.engine.verbose);
    let worker = std::thread::Builder::new().stack_size(WORKER_STACK).name("sekisho".into()).spawn(move || run(cli));
    let code = match worker.map(|handle| handle.join()) {
        Ok(Ok(Ok(code))) => code,
        Ok(Ok(Err(message))) => {
            eprintln!("sekisho: {message}");
            EXIT_ERROR
        }
        _ => {
            eprintln!("sekisho: internal error");
            EXIT_ERROR
        }
    };
    ExitCode::from(code)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn engine(args: &EngineArgs) -> Result<Sekisho, String> {
    let mut sandbox = SandboxConfig::default();
    if let Some(dir) = &args.cache_dir {
        sandbox.cache_dir = Some(dir.clone());
    }
    Sekisho::new(Options { sandbox, plugin_dirs: args.plugins_dirs.clone() }).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Policy { command: PolicyCommand::Show { policy } } => {
            let policy = policy.load()?;
            print!("# sha256 {}\n{}", policy.sha256(), policy.to_toml());
            Ok(EXIT_PASSED)
        }
        Command::Serve {
            listen,
            icap,
            token_file,
            workers,
            queue,
            queue_wait_ms,
            request_timeout_s,
            audit,
            icap_refusal,
            policy,
        } => {
            let tokens = load_tokens(token_file.as_deref())?;
            let config = ServeConfig {
                http: listen,
                icap,
                tokens,
                workers: workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                queue,
                queue_wait: std::time::Duration::from_millis(queue_wait_ms),
                request_timeout: std::time::Duration::from_secs(request_timeout_s),
                policy: policy.load()?,
                audit,
                icap_refusal,
            };
            serve::run(engine(&cli.engine)?, config)?;
            Ok(EXIT_PASSED)
        }
        Command::Plugins { json } => {
            let sekisho = engine(&cli.engine)?;
            print_plugins(&sekisho, json)?;
            Ok(EXIT_PASSED)
        }
        Command::Scan { inputs, report, batch, policy } => {
            let policy = policy.load()?;
            let sekisho = engine(&cli.engine)?;
            let jobs = collect_inputs(&inputs)?;
            let audit = batch.audit()?;
            let results = batch::run(&jobs, batch.threads(), |job| {
                let result = job.open().map(|(source, name)| {
                    let report = sekisho.sanitize(source, &name, &policy).report;
                    record(audit.as_ref(), &report);
                    report
                });
                let line = result.as_ref().map_or_else(|e| format!("error: {e}"), Report::summary);
                (result, line)
            });
            let reports = finish(results, jobs.len())?;
            write_reports(&reports, Some(report.unwrap_or_else(|| PathBuf::from("-"))).as_deref(), jobs.len() == 1)?;
            Ok(exit_code(&reports))
        }
        Command::Sanitize { inputs, output, out_dir, report, resume, batch, policy } => {
            let policy = policy.load()?;
            let jobs = collect_inputs(&inputs)?;
            let target = match (output, out_dir) {
                (Some(path), None) if jobs.len() == 1 => Target::File(path),
                (Some(_), None) => return Err("-o takes a single input file; use --out-dir for several".into()),
                (None, Some(dir)) => Target::Dir(dir),
                (None, None) => return Err("say where the output goes: -o FILE (or -) or --out-dir DIR".into()),
                (Some(_), Some(_)) => unreachable!("clap rejects -o with --out-dir"),
            };
            if matches!(&target, Target::File(p) if p == Path::new("-")) && report.as_deref() == Some(Path::new("-")) {
                return Err("the output and the report cannot both go to standard output".into());
            }
            let sekisho = engine(&cli.engine)?;
            let audit = batch.audit()?;
            let results = batch::run(&jobs, batch.threads(), |job| {
                if resume && let Some(done) = target.already_done(job) {
                    let line = format!("{} (done before, skipped)", done.summary());
                    return (Ok(done), line);
                }
                let result = sanitize_one(&sekisho, &policy, &target, job, resume);
                if let Ok(report) = &result {
                    record(audit.as_ref(), report);
                }
                let line = result.as_ref().map_or_else(|e| format!("error: {e}"), Report::summary);
                (result, line)
            });
            let reports = finish(results, jobs.len())?;
            if let Some(path) = &report {
                write_reports(&reports, Some(path), jobs.len() == 1)?;
            }
            Ok(exit_code(&reports))
        }
    }
}

/// Sanitizes one job and writes its output (and, when resuming, its report).
fn sanitize_one(
    sekisho: &Sekisho,
    policy: &Policy,
    target: &Target,
    job: &InputJob,
    sidecar: bool,
) -> Result<Report, String> {
    let (source, name) = job.open()?;
    let result = sekisho.sanitize(source, &name, policy);
    if let Some(bytes) = &result.output {
        let extension = result.report.output.as_ref().map(|o| o.extension.as_str());
        let destination = target.destination(job, extension);
        job.check_not_input(&destination)?;
        write_output(&destination, bytes)?;
    }
    if sidecar {
        let text = serde_json::to_vec_pretty(&result.report).map_err(|e| e.to_string())?;
        write_output(&target.sidecar(job), &text)?;
    }
    Ok(result.report)
}

/// Appends a decision to the audit log, if there is one.
fn record(audit: Option<&AuditLog>, report: &Report) {
    let Some(audit) = audit else { return };
    let origin = Origin { interface: "cli", client: None, user: std::env::var("USER").ok() };
    if let Err(e) = audit.record(&AuditEntry::new(&origin, report)) {
        eprintln!("sekisho: audit log: {e}");
    }
}

/// The reports in input order, a summary table for folders, and the first
/// error if a file could not be processed at all.
fn finish(results: Vec<Result<Report, String>>, count: usize) -> Result<Vec<Report>, String> {
    let mut reports = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(report) => reports.push(report),
            Err(e) => errors.push(e),
        }
    }
    if count > 1 {
        eprint!("{}", batch::summary(&reports.iter().collect::<Vec<_>>()));
    }
    match errors.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(reports),
    }
}

/// Tokens from a `user:token` file, or `SEKISHO_TOKEN` (user `token`).
fn load_tokens(file: Option<&Path>) -> Result<Vec<(String, String)>, String> {
    let mut tokens = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#')) {
            let (user, token) =
                line.split_once(':').filter(|(u, t)| !u.trim().is_empty() && t.trim().len() >= 16).ok_or_else(
                    || format!("{}:{}: expected `user:token` (16 characters or more)", path.display(), number + 1),
                )?;
            tokens.push((user.trim().to_owned(), token.trim().to_owned()));
        }
    }
    if let Ok(token) = std::env::var("SEKISHO_TOKEN")
        && !token.is_empty()
    {
        tokens.push(("token".into(), token));
    }
    Ok(tokens)
}

fn exit_code(reports: &[Report]) -> u8 {
    if reports.iter().all(|r| r.outcome.passed()) { EXIT_PASSED } else { EXIT_REFUSED }
}

fn print_plugins(sekisho: &Sekisho, json: bool) -> Result<(), String> {
    let plugins = sekisho.registry().plugins();
    if json {
        let plugins: Vec<&crate::registry::Plugin> = plugins.iter().map(|p| p.as_ref()).collect();
        let text = serde_json::to_string_pretty(&plugins).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    println!("{:<10} {:<8} {:<28} {:<10} SHA256", "NAME", "VERSION", "FORMATS", "ORIGIN");
    for plugin in plugins {
        let formats: Vec<&str> = plugin.formats.iter().map(|f| f.id.as_str()).collect();
        let origin = match &plugin.origin {
            crate::registry::Origin::BuiltIn => "built-in".to_owned(),
            crate::registry::Origin::File(path) => path.display().to_string(),
        };
        println!(
            "{:<10} {:<8} {:<28} {:<10} {}",
            plugin.name,
            plugin.version,
            formats.join(","),
            origin,
            plugin.sha256
        );
    }
    Ok(())
}

/// One file to process, and where its output goes relative to `--out-dir`.
struct InputJob {
    /// `None` for standard input.
    path: Option<PathBuf>,
    /// Relative path kept under the output directory.
    relative: PathBuf,
}

impl InputJob {
    fn open(&self) -> Result<(Source, String), String> {
        match &self.path {
            None => {
                let mut data = Vec::new();
                std::io::stdin().read_to_end(&mut data).map_err(|e| format!("reading standard input: {e}"))?;
                Ok((Source::bytes(data), "stdin".into()))
            }
            Some(path) => {
                let source = Source::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                Ok((source, path.display().to_string()))
            }
        }
    }

    /// Refuses to overwrite the input with its own output.
    fn check_not_input(&self, destination: &Path) -> Result<(), String> {
        let (Some(input), Ok(out)) = (&self.path, destination.canonicalize()) else { return Ok(()) };
        if input.canonicalize().is_ok_and(|i| i == out) {
            return Err(format!("refusing to overwrite the input {}", input.display()));
        }
        Ok(())
    }
}

/// Expands directories (recursively, sorted, symlinks not followed).
fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<InputJob>, String> {
    let mut jobs = Vec::new();
    for input in inputs {
        if input == Path::new("-") {
            jobs.push(InputJob { path: None, relative: PathBuf::from("stdin") });
            continue;
        }
        let meta = std::fs::symlink_metadata(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        if meta.is_dir() {
            let base = input.parent().unwrap_or(Path::new(""));
            walk(input, base, &mut jobs)?;
        } else {
            let name = input.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("input"));
            jobs.push(InputJob { path: Some(input.clone()), relative: name });
        }
    }
    Ok(jobs)
}

fn walk(dir: &Path, base: &Path, jobs: &mut Vec<InputJob>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, base, jobs)?;
        } else if meta.is_file() {
            let relative: PathBuf = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            jobs.push(InputJob { path: Some(path), relative });
        }
    }
    Ok(())
}

enum Target {
    File(PathBuf),
    Dir(PathBuf),
}

impl Target {
    /// Where a job's output goes; under `--out-dir` the extension follows the
    /// output's real type (a `.docm` rebuilt without macros becomes `.docx`).
    fn destination(&self, job: &InputJob, extension: Option<&str>) -> PathBuf {
        match self {
            Target::File(path) => path.clone(),
            Target::Dir(dir) => {
                let mut relative = job.relative.clone();
                let current = relative.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
                if let (Some(ext), Some(current)) = (extension, current)
                    && current != ext.to_ascii_lowercase()
                {
                    relative.set_extension(ext);
                }
                dir.join(relative)
            }
        }
    }
}

impl Target {
    /// Where a job's report is kept when resuming: beside its output, named
    /// after the input (the output's extension may differ).
    fn sidecar(&self, job: &InputJob) -> PathBuf {
        let base = self.destination(job, None);
        let mut name = base.file_name().unwrap_or_default().to_os_string();
        name.push(".sekisho.json");
        base.with_file_name(name)
    }

    /// The report of a job done by an earlier run: its input hash matches and
    /// its output, if it had one, is still there unchanged.
    fn already_done(&self, job: &InputJob) -> Option<Report> {
        let path = job.path.as_ref()?;
        let report: Report = serde_json::from_slice(&std::fs::read(self.sidecar(job)).ok()?).ok()?;
        let input = std::fs::read(path).ok()?;
        if report.input.sha256 != hex::encode(Sha256::digest(&input)) {
            return None;
        }
        if let Some(output) = &report.output {
            let written = std::fs::read(self.destination(job, Some(&output.extension))).ok()?;
            if output.sha256 != hex::encode(Sha256::digest(&written)) {
                return None;
            }
        }
        Some(report)
    }
}

/// Writes to a temporary file beside the destination and renames it into
/// place, so a partial output never exists under the final name.
fn write_output(destination: &Path, bytes: &[u8]) -> Result<(), String> {
    if destination == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("writing standard output: {e}"));
    }
    let dir = match destination.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut file =
        tempfile::NamedTempFile::new_in(&dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| format!("writing {}: {e}", destination.display()))?;
    file.persist(destination).map_err(|e| format!("cannot create {}: {}", destination.display(), e.error))?;
    Ok(())
}

/// A single report is written as an object, several as an array.
fn write_reports(reports: &[Report], path: Option<&Path>, single: bool) -> Result<(), String> {
    let json = if single && reports.len() == 1 {
        serde_json::to_string_pretty(&reports[0])
    } else {
        serde_json::to_string_pretty(reports)
    }
    .map_err(|e| e.to_string())?;
    match path {
        None => Ok(()),
        Some(p) if p == Path::new("-") => {
            println!("{json}");
            Ok(())
        }
        Some(p) => write_output(p, format!("{json}\n").as_bytes()),
    }
}
