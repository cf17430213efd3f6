//! The `sekisho` command line: argument parsing and the commands. Inputs and
//! outputs are in [`jobs`] and [`files`], logging in [`logging`].

mod files;
mod jobs;
mod logging;
#[cfg(feature = "serve")]
mod serve;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::audit::{AuditLog, Entry as AuditEntry, Origin};
use crate::batch;
use crate::policy::Policy;
use crate::report::{Outcome, Report};
use crate::sandbox::{Allocator, SandboxConfig};
use crate::scan::Scanners;
use crate::scan::clamd::Clamd;
use crate::scan::yara::YaraRules;
use crate::vendor::check::{self, CheckOptions};
use crate::vendor::signature::TrustedKeys;
use crate::vendor::template;
use crate::{Options, Sekisho};

use files::{Durability, write_output};
use jobs::{InputJob, ResumeFailed, Target, collect_inputs};
pub use logging::LogFormat;

/// Exit status when every file came out clean or sanitized.
const EXIT_PASSED: u8 = 0;
/// Exit status when any file was blocked, unsupported or failed.
const EXIT_REFUSED: u8 = 1;
/// Exit status for usage and internal errors, and inputs that cannot be read.
const EXIT_ERROR: u8 = 2;
/// Exit status when no file was refused but one or more were held by the
/// personal-information audit (rebuilt, not written: approval is needed).
const EXIT_HELD: u8 = 3;

/// Native stack for the thread that runs sandboxes: nested documents run in
/// nested sandboxes on the same stack.
const WORKER_STACK: usize = 64 << 20;

/// The contract version(s) the binary loads, as `--version` prints them (a
/// unit test keeps this in step with `sandbox::SUPPORTED_CONTRACTS`).
macro_rules! contracts {
    () => {
        "sekisho:plugin@0.1.0, sekisho:plugin@0.2.0, sekisho:plugin@0.3.0"
    };
}

/// `sekisho --version`: the package version, the git revision it was built
/// from, and the plugin contract it speaks.
const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("SEKISHO_GIT_REVISION"), ", contracts ", contracts!(), ")");

#[derive(Parser)]
#[command(
    name = "sekisho",
    version = VERSION,
    about = "Sekisho (関所): content disarm and reconstruction — rebuild untrusted files in WebAssembly sandboxes",
    long_about = "Sekisho takes an untrusted file apart inside a WebAssembly sandbox and rebuilds a clean one. \
                  Active content (macros, scripts, auto-actions, embedded executables, external links, DDE, \
                  metadata) is removed or the file is refused, and every decision goes into a JSON report.\n\n\
                  Exit status: 0 when every file came out clean or sanitized; 1 when any was blocked, \
                  unsupported or failed; 2 for usage or internal errors, or when an input could not be read \
                  (the other inputs are still processed); 3 when none was refused but one or more were held \
                  by the personal-information audit (`--profile outbound`, `scan --pii`): rebuilt, not \
                  written, waiting for approval."
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
    /// Where compiled plugins are cached [default: ~/.cache/sekisho]. It must
    /// belong to you (mode 0700); otherwise a per-user folder under the
    /// system's temporary folder is used.
    #[arg(long, env = "SEKISHO_CACHE_DIR", global = true)]
    cache_dir: Option<PathBuf>,
    /// -v: one line per file or request; -vv: details and plugin logs;
    /// -vvv: everything, wasmtime included. RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines as text, or as one JSON object per line.
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    /// Load a vendor plugin X.wasm only when X.wasm.minisig beside it is a
    /// minisign signature by a key in --trusted-keys (built-in plugins are
    /// exempt).
    #[arg(
        long,
        env = "SEKISHO_REQUIRE_SIGNED",
        global = true,
        requires = "trusted_keys",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    require_signed: bool,
    /// Minisign public keys trusted to sign vendor plugins: one per line,
    /// as the second line of a minisign.pub (`#` comments allowed).
    #[arg(long, env = "SEKISHO_TRUSTED_KEYS", global = true, value_name = "FILE")]
    trusted_keys: Option<PathBuf>,
    /// Scan with the YARA rules of this folder (*.yar, *.yara; one
    /// namespace per file), compiled once at start; `serve` compiles them
    /// again on SIGHUP. Where scans happen is the policy's `[scan]`.
    #[arg(long, env = "SEKISHO_RULES", global = true, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Scan with ClamAV through clamd: HOST:PORT, or the path of its Unix
    /// socket (unix:PATH).
    #[arg(long, env = "SEKISHO_CLAMD", global = true, value_name = "ADDRESS")]
    clamd: Option<String>,
    /// Deadline for connecting to clamd and for each read and write.
    #[arg(long, global = true, default_value_t = 30_000, value_name = "MS")]
    clamd_timeout_ms: u64,
    /// Largest file sent to clamd (its StreamMaxLength); larger files are
    /// not scanned, which `[scan] scanner-down` decides.
    #[arg(long, global = true, default_value_t = crate::scan::clamd::DEFAULT_MAX_BYTES, value_name = "BYTES")]
    clamd_max_bytes: u64,
}

impl EngineArgs {
    /// The scanners asked for (none without `--rules` and `--clamd`).
    fn scanners(&self) -> Result<Arc<Scanners>, String> {
        let mut scanners = Scanners::none();
        if let Some(dir) = &self.rules {
            scanners = scanners.with_yara(YaraRules::load(dir)?);
        }
        if let Some(address) = &self.clamd {
            let address = address.parse().map_err(|e| format!("--clamd: {e}"))?;
            let clamd = Clamd::new(address)
                .timeout(std::time::Duration::from_millis(self.clamd_timeout_ms.max(1)))
                .max_bytes(self.clamd_max_bytes);
            scanners = scanners.with_clamd(clamd);
        }
        Ok(Arc::new(scanners))
    }

    /// The trusted keys, when given.
    fn trusted_keys(&self) -> Result<Option<Arc<TrustedKeys>>, String> {
        self.trusted_keys.as_deref().map(|path| TrustedKeys::load(path).map(Arc::new)).transpose()
    }
}

#[derive(Args)]
struct PolicyArgs {
    /// Built-in profile: strict (default), keep-links, keep-macros, inbound (strict), outbound
    /// (strict, and the personal-information audit).
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

/// Passwords sent with the files (`sanitize`, `scan`, `text`).
#[derive(Args)]
struct PasswordArgs {
    /// Password candidates for encrypted input, one a line, tried before the
    /// policy's list; used when the policy says `encrypted = "try-passwords"`.
    /// Never logged or reported: reports name only where a password came from.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

impl PasswordArgs {
    /// The policy with the file's passwords attached as sent with the request.
    fn attach(&self, policy: Policy) -> Result<Policy, String> {
        let Some(path) = &self.password_file else { return Ok(policy) };
        let passwords = crate::policy::read_password_file(path, crate::policy::PasswordSource::Request)
            .map_err(|e| format!("--password-file: {e}"))?;
        Ok(policy.with_passwords(passwords))
    }
}

#[derive(Args)]
struct BatchArgs {
    /// Files processed at once [default: number of cores].
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Append one JSON line per file decision to this audit log (its folder
    /// is created).
    #[arg(long)]
    audit: Option<PathBuf>,
    /// The name of the file read from standard input (`-`): its extension
    /// picks the text dialect (CSV, TSV) and the output's type is checked
    /// against it [default: stdin].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

impl BatchArgs {
    /// Workers for this many inputs: `--jobs` or one per core, never more
    /// than there are inputs.
    fn workers(&self, inputs: usize) -> usize {
        self.jobs.unwrap_or_else(cores).min(inputs).max(1)
    }

    fn audit(&self) -> Result<Option<AuditLog>, String> {
        self.audit
            .as_deref()
            .map(|p| AuditLog::open(p).map_err(|e| format!("audit log {}: {e}", p.display())))
            .transpose()
    }

    fn stdin_name(&self) -> &str {
        self.name.as_deref().unwrap_or("stdin")
    }
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild files; write clean outputs and reports.
    #[command(after_help = "Examples:\n  sekisho sanitize in.docx -o clean.docx --report report.json\n  \
                            cat in.csv | sekisho sanitize - --name in.csv -o - > clean.csv\n  \
                            sekisho sanitize inbox/ more.zip --out-dir clean/ --report reports.json")]
    Sanitize {
        /// Files or directories to sanitize; `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output file for a single input; `-` writes standard output.
        #[arg(short, long, conflicts_with = "out_dir")]
        output: Option<PathBuf>,
        /// Output directory: relative paths are kept and extensions corrected.
        /// When it lies inside an input folder, it is not read as input.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Write the JSON report here (`-` for standard output).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Skip files already done: with --out-dir, each file's report is kept
        /// beside its output (`NAME.sekisho.json`); a file is skipped when
        /// that report names the same input hash and the same policy hash,
        /// and its output is still there unchanged.
        #[arg(long, requires = "out_dir")]
        resume: bool,
        /// With --resume: what to do with files whose last outcome was
        /// blocked, unsupported or failed.
        #[arg(long, value_enum, default_value = "retry", requires = "resume")]
        resume_failed: ResumeFailed,
        /// Flush each output and report to disk before renaming it into
        /// place, so it survives a power cut (slower: one disk flush per file).
        #[arg(long)]
        sync: bool,
        #[command(flatten)]
        batch: BatchArgs,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        passwords: PasswordArgs,
    },
    /// Analyse files and report what would be removed; writes no output.
    Scan {
        /// Files or directories to scan; `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Write the JSON report here instead of standard output.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Audit for personal information too (My Number, e-mail, phone, card…), with the
        /// policy's `[pii]` rules, or the `outbound` profile's when it has none.
        #[arg(long)]
        pii: bool,
        #[command(flatten)]
        batch: BatchArgs,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        passwords: PasswordArgs,
    },
    #[cfg(feature = "serve")]
    /// Run the gateway: HTTP API (and ICAP with --icap) until SIGINT/SIGTERM.
    #[command(
        after_help = "Examples:\n  sekisho serve --listen 127.0.0.1:8080 --icap 127.0.0.1:1344 --audit audit.jsonl\n  \
                            curl --fail-with-body --data-binary @in.docx \
                            'http://127.0.0.1:8080/v1/sanitize?name=in.docx' -o clean.docx\n  \
                            sekisho serve --listen 0.0.0.0:8080 --token-file /etc/sekisho/tokens \
                            --icap 0.0.0.0:1344 --icap-allow 10.0.0.5/32 --allow-profile keep-links\n\n\
                            The API is described in docs/openapi.json."
    )]
    Serve(serve::ServeArgs),
    /// Print the visible text of files, extracted inside the sandbox: what
    /// each plugin keeps, with where it is (page, Sheet!A1, paragraph…),
    /// for the file and every embedded file.
    #[command(after_help = "Examples:\n  sekisho text report.docx\n  sekisho text --json mail.eml > text.json")]
    Text {
        /// Files to read; `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Print a JSON array of {file, location, text} instead of lines.
        #[arg(long)]
        json: bool,
        /// The name of the file read from standard input [default: stdin].
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        passwords: PasswordArgs,
    },
    /// List the loaded plugins and the formats they rebuild.
    Plugins {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List every file extension Sekisho rebuilds: its format, the plugin
    /// that rebuilds it and the content classes it removes or neutralizes
    /// (from the loaded plugins' descriptions, vendor plugins included).
    Formats {
        /// Print a JSON array of {extension, format, description, plugin,
        /// media_type, classes} instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Tools for plugin authors: check a plugin, start a new one.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Example:\n  sekisho completions bash > ~/.local/share/bash-completion/completions/sekisho")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output.
    #[command(after_help = "Example:\n  sekisho man > sekisho.1 && man ./sekisho.1")]
    Man,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Check that a plugin conforms: its description, each sample rebuilt
    /// (deterministic, idempotent, re-detected, within limits) and
    /// mutations of each sample (no trap, no timeout). Prints a table
    /// (check, result, detail); exits 1 when a check fails. The plugin is
    /// loaded beside the built-in plugins only (not --plugins-dir).
    #[command(
        after_help = "Examples:\n  sekisho plugin check target/wasm32-wasip2/release/sekisho_jtd.wasm samples/*.jtd\n  \
                      sekisho plugin check plugin.wasm a.jtd --mutations 1000 --seed 7 --json"
    )]
    Check {
        /// The plugin's .wasm component.
        plugin: PathBuf,
        /// Files of the plugin's formats (at least one).
        samples: Vec<PathBuf>,
        /// Mutations of each sample (bit flips, truncations, insertions,
        /// deletions, repeated chunks); 0 skips the robustness check.
        #[arg(long, default_value_t = check::DEFAULT_MUTATIONS)]
        mutations: u32,
        /// Seed of the mutations: the same seed gives the same mutations.
        #[arg(long, default_value_t = check::DEFAULT_SEED)]
        seed: u64,
        /// Time limit of one mutation, in milliseconds (a sample that takes
        /// long gets four times its own time).
        #[arg(long, default_value_t = check::DEFAULT_MUTATION_TIME.as_millis() as u64)]
        mutation_time_ms: u64,
        /// Mutations run at once [default: number of cores, at most 4].
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Write each failing mutation into this folder, to reproduce it.
        #[arg(long, value_name = "DIR")]
        save_failures: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Write a new plugin crate that builds for wasm32-wasip2 and passes
    /// `plugin check` on the sample it comes with.
    #[command(after_help = "Example:\n  sekisho plugin new jw-cad && cd jw-cad && \
                            cargo build --release --target wasm32-wasip2")]
    New {
        /// The plugin's name, also its format id: lowercase words joined by
        /// '-' (e.g. ichitaro, jw-cad).
        name: String,
        /// Where to write the crate [default: ./NAME].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The format's extension [default: the name's letters and digits].
        #[arg(long)]
        extension: Option<String>,
        /// plugins/sdk of a Sekisho checkout [default: the one this binary
        /// was built from].
        #[arg(long, value_name = "DIR")]
        sdk: Option<PathBuf>,
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
    logging::init(cli.engine.verbose, cli.engine.log_format);
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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Tells a person at a terminal why the first run takes a while.
fn announce(message: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("sekisho: {message}");
    }
}

/// The engine, with a sandbox pool large enough for `files` files in
/// sandboxes at once, each nesting up to the policy's depth; and the policy
/// checked against what the loaded plugins declare, their options at their
/// values (what reports and `policy show` name by its sha256).
fn engine(args: &EngineArgs, files: usize, policy: &Policy) -> Result<(Sekisho, Policy), String> {
    let mut sandbox = SandboxConfig::default();
    if files == 1 {
        // One file at a time makes a few instances: reserving and releasing
        // a pool would cost more than it saves (a one-file command's start).
        sandbox.allocator = Allocator::OnDemand;
    }
    let per_file = policy.limits.max_depth.saturating_add(1);
    let wanted = u32::try_from(files).unwrap_or(u32::MAX).saturating_mul(per_file);
    sandbox.pool_size = sandbox.pool_size.max(wanted);
    if let Some(dir) = &args.cache_dir {
        sandbox.cache_dir = Some(dir.clone());
    }
    let trusted_keys = if args.require_signed { args.trusted_keys()? } else { None };
    let options = Options {
        sandbox,
        plugin_dirs: args.plugins_dirs.clone(),
        notice: Some(announce),
        trusted_keys,
        scanners: args.scanners()?,
    };
    let sekisho = Sekisho::new(options).map_err(|e| e.to_string())?;
    let policy = sekisho.admit(policy.clone()).map_err(|e| e.to_string())?;
    Ok((sekisho, policy))
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Policy { command: PolicyCommand::Show { policy } } => {
            let policy = policy.load()?;
            let (_, policy) = engine(&cli.engine, 1, &policy)?;
            print!("# sha256 {}\n{}", policy.sha256(), policy.to_toml());
            Ok(EXIT_PASSED)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "sekisho", &mut std::io::stdout());
            Ok(EXIT_PASSED)
        }
        Command::Man => {
            let page = clap_mangen::Man::new(Cli::command());
            page.render(&mut std::io::stdout()).map_err(|e| format!("writing the manual page: {e}"))?;
            Ok(EXIT_PASSED)
        }
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(&cli.engine, args),
        Command::Text { inputs, json, name, policy, passwords } => {
            let policy = passwords.attach(policy.load()?)?;
            let jobs = collect_inputs(&inputs, name.as_deref().unwrap_or("stdin"), None);
            let (sekisho, policy) = engine(&cli.engine, 1, &policy)?;
            let (mut pieces, mut code) = (Vec::new(), EXIT_PASSED);
            for job in &jobs {
                let result = match job.open() {
                    Ok(source) => sekisho.extract(source, &job.name, &policy),
                    Err(e) => {
                        eprintln!("sekisho: {e}");
                        code = EXIT_ERROR;
                        continue;
                    }
                };
                if !result.report.outcome.passed() {
                    eprintln!("{}", result.report.summary());
                    code = code.max(EXIT_REFUSED);
                    continue;
                }
                pieces.extend(result.text);
            }
            print_text(&pieces, json)?;
            Ok(code)
        }
        Command::Plugin { command } => plugin_command(&cli.engine, command),
        Command::Plugins { json } => {
            let (sekisho, _) = engine(&cli.engine, 1, &Policy::default())?;
            print_plugins(&sekisho, json)?;
            Ok(EXIT_PASSED)
        }
        Command::Formats { json } => {
            let (sekisho, _) = engine(&cli.engine, 1, &Policy::default())?;
            print_formats(&sekisho, json)?;
            Ok(EXIT_PASSED)
        }
        Command::Scan { inputs, report, pii, batch, policy, passwords } => {
            let mut policy = passwords.attach(policy.load()?)?;
            if pii && !policy.pii.enabled() {
                policy.pii = policy.pii.turned_on();
                policy.name = format!("{}+pii", policy.name);
            }
            let jobs = collect_inputs(&inputs, batch.stdin_name(), None);
            let workers = batch.workers(jobs.len());
            let (sekisho, policy) = engine(&cli.engine, workers, &policy)?;
            let audit = batch.audit()?;
            let results = batch::run(&jobs, workers, |job| {
                let result = job.open().map(|source| {
                    let report = sekisho.sanitize(source, &job.name, &policy).report;
                    record(audit.as_ref(), &report);
                    report
                });
                line(job, result)
            });
            let (reports, errors) = finish(results, jobs.len());
            let destination = report.unwrap_or_else(|| PathBuf::from("-"));
            write_reports(&reports, &destination, jobs.len() == 1, Durability::Atomic)?;
            Ok(exit_code(&reports, errors))
        }
        Command::Sanitize {
            inputs,
            output,
            out_dir,
            report,
            resume,
            resume_failed,
            sync,
            batch,
            policy,
            passwords,
        } => {
            let durability = if sync { Durability::Synced } else { Durability::Atomic };
            let policy = passwords.attach(policy.load()?)?;
            let jobs = collect_inputs(&inputs, batch.stdin_name(), out_dir.as_deref());
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
            let workers = batch.workers(jobs.len());
            let (sekisho, policy) = engine(&cli.engine, workers, &policy)?;
            let audit = batch.audit()?;
            let results = batch::run(&jobs, workers, |job| {
                if resume && let Some(done) = target.already_done(job, &policy, resume_failed) {
                    let line = format!("{} (done before, skipped)", done.summary());
                    return (Ok(done), line);
                }
                let result = sanitize_one(&sekisho, &policy, &target, job, resume, durability);
                if let Ok(report) = &result {
                    record(audit.as_ref(), report);
                }
                line(job, result)
            });
            let (reports, errors) = finish(results, jobs.len());
            if let Some(path) = &report {
                write_reports(&reports, path, jobs.len() == 1, durability)?;
            }
            Ok(exit_code(&reports, errors))
        }
    }
}

/// `sekisho plugin check` and `sekisho plugin new`.
fn plugin_command(args: &EngineArgs, command: PluginCommand) -> Result<u8, String> {
    match command {
        PluginCommand::Check {
            plugin,
            samples,
            mutations,
            seed,
            mutation_time_ms,
            jobs,
            save_failures,
            json,
            policy,
        } => {
            let mut options = CheckOptions::new(plugin, samples);
            options.policy = policy.load()?;
            if let Some(dir) = &args.cache_dir {
                options.sandbox.cache_dir = Some(dir.clone());
            }
            options.notice = Some(announce);
            options.mutations = mutations;
            options.seed = seed;
            options.mutation_time_limit = std::time::Duration::from_millis(mutation_time_ms.max(1));
            options.jobs = jobs.unwrap_or(options.jobs).max(1);
            options.save_failures = save_failures;
            options.trusted_keys = args.trusted_keys()?;
            options.require_signed = args.require_signed;
            let report = check::check(options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            } else {
                print!("{}", check_table(&report));
            }
            Ok(if report.passed { EXIT_PASSED } else { EXIT_REFUSED })
        }
        PluginCommand::New { name, dir, extension, sdk } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let generated = template::generate(&name, &dir, sdk.as_deref(), extension.as_deref())?;
            let shown = generated.dir.display();
            println!("wrote the plugin crate {name} in {shown}:");
            for file in &generated.files {
                println!("  {}", file.display());
            }
            match &generated.sdk {
                Some(sdk) => println!("SDK: {}", sdk.display()),
                None => eprintln!(
                    "sekisho: the SDK of the checkout this binary was built from is gone: set the \
                     sekisho-plugin-sdk path in {shown}/Cargo.toml (or run again with --sdk DIR)"
                ),
            }
            let sample = generated.sample.strip_prefix(&generated.dir).unwrap_or(&generated.sample);
            println!(
                "next:\n  cd {shown}\n  cargo test\n  cargo build --release --target wasm32-wasip2\n  \
                 sekisho plugin check target/{} {}",
                generated.wasm,
                sample.display()
            );
            Ok(EXIT_PASSED)
        }
    }
}

/// The check's table: a heading naming the plugin, a row per check, and
/// the verdict.
fn check_table(report: &check::CheckReport) -> String {
    let mut out = match (&report.name, &report.version, &report.contract) {
        (Some(name), Some(version), Some(contract)) => {
            format!("plugin {name} {version} (contract {contract}) from {}\n", report.plugin)
        }
        _ => format!("plugin {}\n", report.plugin),
    };
    out.push_str(&format!("sha256 {}; policy {}\n\n", report.sha256, report.policy));
    let rows: Vec<[String; 3]> = report
        .checks
        .iter()
        .map(|row| [row.check.clone(), row.result.label().to_owned(), row.detail.clone()])
        .collect();
    out.push_str(&table(&["CHECK", "RESULT", "DETAIL"], &rows));
    let failed = report.failures().count();
    let seconds = report.wall_time_ms as f64 / 1000.0;
    out.push_str(&match failed {
        0 => format!("\npassed: {} checks in {seconds:.1} s\n", report.checks.len()),
        n => format!("\nFAILED: {n} of {} checks in {seconds:.1} s\n", report.checks.len()),
    });
    out
}

/// The line shown for a processed job.
fn line(job: &InputJob, result: Result<Report, String>) -> (Result<Report, String>, String) {
    let line = match &result {
        Ok(report) => report.summary(),
        Err(e) if e.contains(&job.name) => format!("sekisho: {e}"),
        Err(e) => format!("sekisho: {}: {e}", job.name),
    };
    (result, line)
}

/// Sanitizes one job and writes its output (and, when resuming, its report).
fn sanitize_one(
    sekisho: &Sekisho,
    policy: &Policy,
    target: &Target,
    job: &InputJob,
    sidecar: bool,
    durability: Durability,
) -> Result<Report, String> {
    let source = job.open()?;
    let result = sekisho.sanitize(source, &job.name, policy);
    // A held file waits for approval, which only the gateway gives: not written.
    if let Some(bytes) = result.output.as_ref().filter(|_| result.report.outcome.passed()) {
        let extension = result.report.output.as_ref().map(|o| o.extension.as_str());
        let destination = target.destination(job, extension);
        job.check_not_input(&destination)?;
        write_output(&destination, bytes, durability)?;
    }
    if sidecar {
        let text = serde_json::to_vec_pretty(&result.report).map_err(|e| e.to_string())?;
        write_output(&target.sidecar(job), &text, durability)?;
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

/// The reports in input order and the number of inputs that could not be
/// processed; for several inputs, a summary table on standard error.
fn finish(results: Vec<Result<Report, String>>, count: usize) -> (Vec<Report>, usize) {
    let mut reports = Vec::with_capacity(results.len());
    let mut errors = 0;
    for result in results {
        match result {
            Ok(report) => reports.push(report),
            Err(_) => errors += 1,
        }
    }
    if count > 1 {
        eprint!("{}", batch::summary(&reports.iter().collect::<Vec<_>>(), errors));
    }
    (reports, errors)
}

fn exit_code(reports: &[Report], errors: usize) -> u8 {
    if errors > 0 {
        EXIT_ERROR
    } else if reports.iter().all(|r| r.outcome.passed()) {
        EXIT_PASSED
    } else if reports.iter().all(|r| r.outcome.passed() || r.outcome == Outcome::Held) {
        EXIT_HELD
    } else {
        EXIT_REFUSED
    }
}

/// The text of files: a heading per file, a line per piece (line breaks
/// inside a piece shown as `⏎`), or JSON.
fn print_text(pieces: &[crate::pipeline::TextPiece], json: bool) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut write = |text: String| out.write_all(text.as_bytes()).map_err(|e| format!("writing standard output: {e}"));
    if json {
        return write(serde_json::to_string_pretty(pieces).map_err(|e| e.to_string())? + "\n");
    }
    let mut file = None;
    for piece in pieces {
        if file != Some(&piece.file) {
            write(format!("== {}\n", piece.file))?;
            file = Some(&piece.file);
        }
        write(format!("[{}] {}\n", piece.location, piece.text.replace('\n', "⏎")))?;
    }
    Ok(())
}

fn print_plugins(sekisho: &Sekisho, json: bool) -> Result<(), String> {
    let plugins = sekisho.registry().plugins();
    if json {
        let plugins: Vec<&crate::registry::Plugin> = plugins.iter().map(|p| p.as_ref()).collect();
        let text = serde_json::to_string_pretty(&plugins).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    let rows: Vec<[String; 5]> = plugins
        .iter()
        .map(|plugin| {
            let formats: Vec<&str> = plugin.formats.iter().map(|f| f.id.as_str()).collect();
            let origin = match &plugin.origin {
                crate::registry::Origin::BuiltIn => "built-in".to_owned(),
                crate::registry::Origin::File(path) => path.display().to_string(),
            };
            [plugin.name.clone(), plugin.version.clone(), formats.join(","), origin, plugin.sha256.clone()]
        })
        .collect();
    print!("{}", table(&["NAME", "VERSION", "FORMATS", "ORIGIN", "SHA256"], &rows));
    Ok(())
}

/// One handled extension, as `sekisho formats` lists it.
#[derive(serde::Serialize)]
struct Handled<'a> {
    extension: &'a str,
    format: &'a str,
    description: &'a str,
    plugin: &'a str,
    media_type: &'a str,
    /// The content classes the format may report (what the plugin removes
    /// or neutralizes, per policy).
    classes: &'a [String],
}

fn print_formats(sekisho: &Sekisho, json: bool) -> Result<(), String> {
    let plugins = sekisho.registry().plugins();
    let mut handled: Vec<Handled> = plugins
        .iter()
        .flat_map(|plugin| {
            plugin.formats.iter().flat_map(move |format| {
                format.extensions.iter().map(move |extension| Handled {
                    extension,
                    format: &format.id,
                    description: &format.description,
                    plugin: &plugin.name,
                    media_type: format.media_type(),
                    classes: &format.classes,
                })
            })
        })
        .collect();
    handled.sort_by(|a, b| a.extension.cmp(b.extension).then_with(|| a.format.cmp(b.format)));
    if json {
        println!("{}", serde_json::to_string_pretty(&handled).map_err(|e| e.to_string())?);
        return Ok(());
    }
    let rows: Vec<[String; 4]> = handled
        .iter()
        .map(|h| [format!(".{}", h.extension), h.format.to_owned(), h.plugin.to_owned(), h.classes.join(", ")])
        .collect();
    print!("{}", table(&["EXTENSION", "FORMAT", "PLUGIN", "REMOVES OR NEUTRALIZES"], &rows));
    let extensions: std::collections::BTreeSet<&str> = handled.iter().map(|h| h.extension).collect();
    let formats: std::collections::BTreeSet<&str> = handled.iter().map(|h| h.format).collect();
    println!("{} extensions, {} formats", extensions.len(), formats.len());
    Ok(())
}

/// Left-aligned columns as wide as their widest cell (in characters).
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 < N {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&mut header.iter().copied());
    for row in rows {
        push_row(&mut row.iter().map(String::as_str));
    }
    out
}

/// A single report is written as an object, several as an array.
fn write_reports(reports: &[Report], path: &Path, single: bool, durability: Durability) -> Result<(), String> {
    let json = if single && reports.len() == 1 {
        serde_json::to_string_pretty(&reports[0])
    } else {
        serde_json::to_string_pretty(reports)
    }
    .map_err(|e| e.to_string())?;
    if path == Path::new("-") {
        println!("{json}");
        return Ok(());
    }
    write_output(path, format!("{json}\n").as_bytes(), durability)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_supported_contracts() {
        let supported: Vec<String> = crate::contract::SUPPORTED.iter().map(|v| format!("sekisho:plugin@{v}")).collect();
        assert_eq!(contracts!(), supported.join(", "));
        assert!(VERSION.contains(contracts!()), "{VERSION}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn require_signed_needs_trusted_keys() {
        assert!(Cli::try_parse_from(["sekisho", "--require-signed", "plugins"]).is_err());
        let cli = Cli::try_parse_from(["sekisho", "plugins", "--require-signed", "--trusted-keys", "keys"]).unwrap();
        assert!(cli.engine.require_signed);
        let cli = Cli::try_parse_from(["sekisho", "plugin", "check", "p.wasm", "a.csv", "--mutations", "5"]).unwrap();
        assert!(matches!(cli.command, Command::Plugin { command: PluginCommand::Check { mutations: 5, .. } }));
    }

    #[test]
    fn tables_align_on_the_widest_cell() {
        let rows = [["a".to_owned(), "longer".to_owned()], ["wider".to_owned(), "x".to_owned()]];
        assert_eq!(table(&["H1", "H2"], &rows), "H1     H2\na      longer\nwider  x\n");
    }
}
