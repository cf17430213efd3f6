//! YARA rules, compiled once by `yara-x` and shared by every scan.
//!
//! Each `.yar`/`.yara` file of the folder is its own namespace (its file
//! name without the extension), so two files may use the same rule name;
//! a match is reported as `namespace.rule`. Rules that import a module
//! fail to compile: the engine is built without YARA modules.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The version of `yara-x` built in.
pub const VERSION: &str = yara_x::VERSION;

/// Most time one scan may take before it counts as not done.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// Compiled rules and the folder they came from.
pub struct YaraRules {
    dir: PathBuf,
    rules: RwLock<Arc<yara_x::Rules>>,
}

impl YaraRules {
    /// Compiles every `.yar`/`.yara` file of `dir`. An unreadable folder,
    /// a folder without rules, or a rule that does not compile is an error
    /// naming the file and line.
    pub fn load(dir: &Path) -> Result<YaraRules, String> {
        let rules = compile(dir)?;
        Ok(YaraRules { dir: dir.to_owned(), rules: RwLock::new(Arc::new(rules)) })
    }

    /// Compiles the folder again; on error the rules in use stay.
    pub fn reload(&self) -> Result<usize, String> {
        let rules = compile(&self.dir)?;
        let count = rules.iter().len();
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
        Ok(count)
    }

    /// The number of rules in use.
    pub fn len(&self) -> usize {
        self.current().iter().len()
    }

    /// False: a folder without rules is refused by [`YaraRules::load`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn current(&self) -> Arc<yara_x::Rules> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The rules that match `data`, as `namespace.rule`.
    pub fn scan(&self, data: &[u8]) -> Result<Vec<String>, String> {
        let rules = self.current();
        let mut scanner = yara_x::Scanner::new(&rules);
        scanner.set_timeout(SCAN_TIMEOUT);
        let results = scanner.scan(data).map_err(|e| match e {
            yara_x::ScanError::Timeout => format!("timed out after {} s", SCAN_TIMEOUT.as_secs()),
            other => other.to_string(),
        })?;
        Ok(results.matching_rules().map(|rule| format!("{}.{}", rule.namespace(), rule.identifier())).collect())
    }
}

/// Compiles the rule files of `dir`, in name order.
fn compile(dir: &Path) -> Result<yara_x::Rules, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read rules folder {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yar" || ext == "yara") && path.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no .yar or .yara files in {}", dir.display()));
    }
    let mut compiler = yara_x::Compiler::new();
    for file in &files {
        let source = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let namespace = file.file_stem().and_then(|s| s.to_str()).unwrap_or("rules");
        compiler.new_namespace(namespace);
        let origin = file.display().to_string();
        compiler
            .add_source(yara_x::SourceCode::from(source.as_str()).with_origin(origin.as_str()))
            .map_err(|e| format!("rule file {origin} does not compile:\n{e}"))?;
    }
    let rules = compiler.build();
    if rules.iter().len() == 0 {
        return Err(format!("the rule files of {} hold no rule", dir.display()));
    }
    Ok(rules)
}
