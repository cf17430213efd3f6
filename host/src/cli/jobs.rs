//! The files a command works on and where their outputs go: inputs expanded
//! from folders, destinations under `--out-dir` with corrected extensions,
//! and the per-file reports that `--resume` reads back.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::policy::Policy;
use crate::report::Report;
use crate::source::Source;

/// One file to process, and where its output goes relative to `--out-dir`.
pub struct InputJob {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
    /// Relative path kept under the output directory.
    pub relative: PathBuf,
    /// The name the file is known by (in reports, and for the text dialect).
    pub name: String,
    /// Why the input cannot be processed, found while listing it.
    pub unreadable: Option<String>,
}

impl InputJob {
    /// Opens the input read-only (standard input is read into memory).
    pub fn open(&self) -> Result<Source, String> {
        if let Some(reason) = &self.unreadable {
            return Err(reason.clone());
        }
        match &self.path {
            None => {
                let mut data = Vec::new();
                std::io::stdin().read_to_end(&mut data).map_err(|e| format!("reading standard input: {e}"))?;
                Ok(Source::bytes(data))
            }
            Some(path) => Source::open(path).map_err(|e| format!("cannot open {}: {e}", path.display())),
        }
    }

    /// Refuses to overwrite the input with its own output.
    pub fn check_not_input(&self, destination: &Path) -> Result<(), String> {
        let (Some(input), Ok(out)) = (&self.path, destination.canonicalize()) else { return Ok(()) };
        if input.canonicalize().is_ok_and(|i| i == out) {
            return Err(format!("refusing to overwrite the input {}", input.display()));
        }
        Ok(())
    }
}

/// Expands the command line's inputs: directories recursively (sorted,
/// symlinks not followed), `-` as standard input named `stdin_name`. A
/// missing input becomes a job that reports why, so the others still run.
/// `skip` is a folder never read as input (the output folder).
pub fn collect_inputs(inputs: &[PathBuf], stdin_name: &str, skip: Option<&Path>) -> Vec<InputJob> {
    let skip = skip.and_then(|dir| dir.canonicalize().ok());
    let mut jobs = Vec::new();
    for input in inputs {
        if input == Path::new("-") {
            jobs.push(InputJob {
                path: None,
                relative: PathBuf::from(stdin_name),
                name: stdin_name.to_owned(),
                unreadable: None,
            });
            continue;
        }
        let name = input.display().to_string();
        match std::fs::symlink_metadata(input) {
            Ok(meta) if meta.is_dir() => {
                let base = input.parent().unwrap_or(Path::new(""));
                walk(input, base, skip.as_deref(), &mut jobs);
            }
            Ok(_) => {
                let relative = input.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("input"));
                jobs.push(InputJob { path: Some(input.clone()), relative, name, unreadable: None });
            }
            Err(e) => {
                let unreadable = Some(format!("cannot read {name}: {e}"));
                jobs.push(InputJob { path: Some(input.clone()), relative: PathBuf::new(), name, unreadable });
            }
        }
    }
    jobs
}

fn walk(dir: &Path, base: &Path, skip: Option<&Path>, jobs: &mut Vec<InputJob>) {
    if skip.is_some_and(|skip| dir.canonicalize().is_ok_and(|d| d == skip)) {
        eprintln!("sekisho: not reading {}: it is the output folder", dir.display());
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let name = dir.display().to_string();
            let unreadable = Some(format!("cannot list {name}: {e}"));
            jobs.push(InputJob { path: Some(dir.to_path_buf()), relative: PathBuf::new(), name, unreadable });
            return;
        }
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, base, skip, jobs);
        } else if meta.is_file() {
            let relative: PathBuf = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            let name = path.display().to_string();
            jobs.push(InputJob { path: Some(path), relative, name, unreadable: None });
        }
    }
}

/// Where outputs go.
pub enum Target {
    /// `-o FILE` (or `-o -`): one input.
    File(PathBuf),
    /// `--out-dir DIR`: relative paths kept.
    Dir(PathBuf),
}

/// Whether `--resume` skips files whose last outcome did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ResumeFailed {
    /// Process them again (the policy, a plugin or the file may have changed).
    #[default]
    Retry,
    /// Skip them too, keeping their earlier report.
    Skip,
}

impl Target {
    /// Where a job's output goes; under `--out-dir` the extension follows the
    /// output's real type (a `.docm` rebuilt without macros becomes `.docx`).
    pub fn destination(&self, job: &InputJob, extension: Option<&str>) -> PathBuf {
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

    /// Where a job's report is kept when resuming: beside its output, named
    /// after the input (the output's extension may differ).
    pub fn sidecar(&self, job: &InputJob) -> PathBuf {
        let base = self.destination(job, None);
        let mut name = base.file_name().unwrap_or_default().to_os_string();
        name.push(".sekisho.json");
        base.with_file_name(name)
    }

    /// The report of a job done by an earlier run, if it may be skipped: the
    /// same input bytes under the same policy, its output (if any) still
    /// there unchanged, and an outcome that passed unless `failed` says to
    /// skip refusals too.
    pub fn already_done(&self, job: &InputJob, policy: &Policy, failed: ResumeFailed) -> Option<Report> {
        let path = job.path.as_ref()?;
        let report: Report = serde_json::from_slice(&std::fs::read(self.sidecar(job)).ok()?).ok()?;
        if report.policy.sha256 != policy.sha256() {
            return None;
        }
        if !report.outcome.passed() && failed == ResumeFailed::Retry {
            return None;
        }
        if report.input.sha256 != sha256_file(path)? {
            return None;
        }
        if let Some(output) = &report.output {
            let written = self.destination(job, Some(&output.extension));
            if output.sha256 != sha256_file(&written)? {
                return None;
            }
        }
        Some(report)
    }
}

fn sha256_file(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(hex::encode(hasher.finalize()))
}
