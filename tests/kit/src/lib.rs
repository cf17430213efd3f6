//! What every Sekisho test binary needs, written once: where the shared
//! corpus and the oracles are, the gate that lets the corpus suites skip on
//! a clone without the corpus (and fail when the corpus was asked for but
//! is not there), the checks for the independent oracle tools, and
//! fixtures generated in memory so that each behaviour is tested on every
//! clone.
//!
//! Environment:
//! - `SEKISHO_CORPUS`: the corpus folder. Relative paths are resolved
//!   against the workspace root. Unset: the corpus suites skip with one
//!   line. Set to a folder that is not there: they fail.
//! - `SEKISHO_ORACLES`: the oracles folder (`check_active.py`,
//!   `baseline.jsonl`); by default the `oracles` folder beside the corpus.
//! - `SEKISHO_REQUIRE_ORACLES`: set (as `.ci/run` does), a missing oracle
//!   tool or Python module fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod clamd;
pub mod fixtures;
pub mod office;
pub mod ovba;
pub mod pdf;
pub mod ppt;

/// Owned (location, text) pairs, to compare with what a plugin hands the
/// host (`sekisho_plugin_sdk::CollectText::texts`).
pub fn text_pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(location, text)| (location.to_string(), text.to_string())).collect()
}

/// The workspace root, from this crate's own location (`tests/kit`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root exists")
}

/// A path from the environment: relative paths are taken from the workspace root.
fn env_path(name: &str) -> Option<PathBuf> {
    let value = std::env::var_os(name).filter(|v| !v.is_empty())?;
    let path = PathBuf::from(value);
    Some(if path.is_absolute() { path } else { workspace_root().join(path) })
}

/// The corpus folder `SEKISHO_CORPUS` names, resolved; `None` when unset.
pub fn corpus_root() -> Option<PathBuf> {
    env_path("SEKISHO_CORPUS")
}

/// The oracles folder: `SEKISHO_ORACLES`, or `oracles` beside the corpus
/// folder; `None` when neither variable is set.
pub fn oracles_root() -> Option<PathBuf> {
    env_path("SEKISHO_ORACLES").or_else(|| Some(corpus_root()?.join("../oracles")))
}

/// The line a corpus suite prints when it skips.
pub fn skip_line(suite: &str) -> String {
    format!(
        "skipping {suite}: the corpus suites run when SEKISHO_CORPUS names the corpus folder \
         (e.g. SEKISHO_CORPUS=../shared/corpus)"
    )
}

/// The gate of a corpus suite: the corpus when `SEKISHO_CORPUS` is set
/// (failing when the folder is missing), `None` after one line saying why
/// the suite skips when it is not.
pub fn corpus_for(suite: &str) -> Option<Corpus> {
    let Some(root) = corpus_root() else {
        eprintln!("{}", skip_line(suite));
        return None;
    };
    assert!(
        root.is_dir(),
        "SEKISHO_CORPUS names {}, which is not a folder: the corpus suites cannot run",
        root.display()
    );
    Some(Corpus { root })
}

/// The gate of a corpus suite, named after the test function it is called
/// in: `let Some(corpus) = sekisho_testkit::corpus!() else { return };`.
#[macro_export]
macro_rules! corpus {
    () => {
        $crate::corpus_for($crate::suite!())
    };
}

/// The path of the function this is called in (`pdf::every_corpus_pdf`).
#[macro_export]
macro_rules! suite {
    () => {{
        fn here() {}
        let name = ::std::any::type_name_of_val(&here);
        name.strip_suffix("::here").unwrap_or(name)
    }};
}

/// The shared corpus, as the gate found it.
#[derive(Clone, Debug)]
pub struct Corpus {
    root: PathBuf,
}

impl Corpus {
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A folder of the corpus (`pdf`, `ooxml`…); it must be there.
    pub fn folder(&self, name: &str) -> PathBuf {
        let folder = self.root.join(name);
        assert!(folder.is_dir(), "the corpus has no folder {name} ({} is missing)", folder.display());
        folder
    }

    /// One file of a corpus folder; it must be there.
    pub fn file(&self, folder: &str, name: &str) -> PathBuf {
        let path = self.folder(folder).join(name);
        assert!(path.is_file(), "the corpus has no {folder}/{name} ({} is missing)", path.display());
        path
    }

    /// The bytes of one corpus file.
    pub fn read(&self, folder: &str, name: &str) -> Vec<u8> {
        let path = self.file(folder, name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every file of a corpus folder, sorted; the folder must not be empty.
    pub fn files(&self, folder: &str) -> Vec<PathBuf> {
        let dir = self.folder(folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "corpus/{folder} is empty");
        files
    }

    /// The oracles folder that goes with this corpus (`SEKISHO_ORACLES`, or
    /// `oracles` beside the corpus); it must be there.
    pub fn oracles(&self) -> PathBuf {
        let dir = oracles_root().expect("the corpus is set, so the oracles folder is known");
        assert!(dir.is_dir(), "the oracles folder {} is missing (set SEKISHO_ORACLES)", dir.display());
        dir
    }

    /// One file of the oracles folder (`check_active.py`, `baseline.jsonl`).
    pub fn oracle(&self, name: &str) -> PathBuf {
        let path = self.oracles().join(name);
        assert!(path.is_file(), "the oracle {} is missing", path.display());
        path
    }
}

/// True when `SEKISHO_REQUIRE_ORACLES` is set: a missing oracle fails.
pub fn oracles_required() -> bool {
    std::env::var_os("SEKISHO_REQUIRE_ORACLES").is_some()
}

/// Answers `false` for a missing oracle, after one line saying so; fails
/// the test instead when the oracles are required.
pub fn missing_oracle(what: &str) -> bool {
    assert!(!oracles_required(), "{what} is required (SEKISHO_REQUIRE_ORACLES is set) but is not installed");
    eprintln!("skipping: {what} is not installed");
    false
}

/// True when the external tool `name` runs (`name --version`).
pub fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    found || missing_oracle(name)
}

/// True when `program flag` succeeds: for tools whose version flag is not
/// `--version` (`c-icap-client -V`, `unzip -v`).
pub fn tool_with(program: &str, flag: &str) -> bool {
    let found = Command::new(program).arg(flag).output().is_ok_and(|o| o.status.success());
    found || missing_oracle(program)
}

/// True when python3 imports every module of `modules` (`"magic, PIL"`).
pub fn python_modules(modules: &str) -> bool {
    let found =
        Command::new("python3").args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success());
    found || missing_oracle(&format!("python3 with {modules}"))
}

/// An oracle script (`check_active.py`) when the oracles folder is known
/// and holds it; otherwise `None`, or a failure when oracles are required.
pub fn oracle_script(name: &str) -> Option<PathBuf> {
    let path = oracles_root().map(|dir| dir.join(name)).filter(|p| p.is_file());
    if path.is_none() {
        missing_oracle(&format!("{name} (SEKISHO_ORACLES or SEKISHO_CORPUS names where the oracles are)"));
    }
    path
}
