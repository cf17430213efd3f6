//! The report: what came in, what went out, the outcome, and every decision.
//!
//! The JSON field names are stable; `schema` changes when they do. The doc
//! comments of these types are the descriptions of the report schema in
//! `docs/openapi.json` (regenerated with `SEKISHO_UPDATE_OPENAPI=1`).

use serde::{Deserialize, Serialize};

/// Version of the report format.
pub const SCHEMA: &str = "sekisho.report/1";

/// The closed set of outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Rebuilt, nothing removed.
    Clean,
    /// Rebuilt, something removed or neutralized.
    Sanitized,
    /// The policy blocks a class found in the file.
    Blocked,
    /// No plugin handles the detected type.
    Unsupported,
    /// The file could not be proven clean.
    Failed,
    /// Rebuilt, but the personal-information audit holds it until someone approves it.
    Held,
}

impl Outcome {
    /// The name used in reports, headers and logs (`clean`, `sanitized`…).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Sanitized => "sanitized",
            Outcome::Blocked => "blocked",
            Outcome::Unsupported => "unsupported",
            Outcome::Failed => "failed",
            Outcome::Held => "held",
        }
    }

    /// True when an output was produced and may be used.
    pub fn passed(self) -> bool {
        matches!(self, Outcome::Clean | Outcome::Sanitized)
    }
}

/// Why a file did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ReasonKind {
    /// Outcome `blocked`: the policy blocks the class named in `reason.class`.
    Policy,
    /// Outcome `unsupported`: no plugin rebuilds this type; `reason.class` is `executables` for a program.
    NoPlugin,
    /// The file is not a valid file of its format and cannot be repaired, or it is empty.
    InvalidStructure,
    /// The file is encrypted or password-protected.
    Encrypted,
    /// The file is larger than the policy's `max-input-bytes` or than its plugin accepts.
    TooLarge,
    /// A limit of the policy or of the sandbox was reached; `reason.limit` says which when known.
    LimitExceeded,
    /// The plugin crashed, could not be loaded, or produced an output that failed verification.
    PluginFault,
    /// Outcome `held` or `blocked`: a `[[pii.rule]]` of the policy applies to the personal
    /// information found (listed in `pii`).
    PersonalInformation,
    /// Outcome `failed`: the file needed a scan that a scanner could not do, and the policy
    /// says `scanner-down = "fail-closed"` (listed in `scans`).
    ScannerUnavailable,
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The CPU budget (`fuel-base` + `fuel-per-byte`), shared by the file and its embedded files.
    Fuel,
    /// The memory of one sandbox (`memory-limit-mb`).
    Memory,
    /// The deadline for the file and its embedded files (`time-limit-ms`).
    Time,
    /// The WebAssembly stack of the sandbox.
    Stack,
    /// The nesting of embedded files (`max-depth`).
    Depth,
    /// The bytes unpacked over the whole tree of embedded files (`max-expanded-bytes`).
    Expansion,
    /// The number of entries in one container (`max-entries`).
    Entries,
    /// The size of the rebuilt output, or of the data passed between plugin and host (`max-output-bytes`).
    Output,
    /// The size of the input (`max-input-bytes`); the reason's kind is then `too-large`.
    Input,
}

/// The reason of a non-passing outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Reason {
    /// What kind of refusal this is.
    pub kind: ReasonKind,
    /// The limit that was exceeded, for `limit-exceeded` (when known) and `too-large` (`input`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<Limit>,
    /// The class that was blocked (kind `policy`), or `executables` for a program (kind `no-plugin`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub class: Option<String>,
    /// Explanation for people; `embedded NAME: …` when an embedded file caused the refusal.
    pub detail: String,
}

impl Reason {
    /// A reason of `kind`, without limit or class.
    pub fn new(kind: ReasonKind, detail: impl Into<String>) -> Reason {
        Reason { kind, limit: None, class: None, detail: detail.into() }
    }

    /// The limit that was exceeded.
    pub fn with_limit(mut self, limit: Option<Limit>) -> Reason {
        self.limit = limit;
        self
    }

    /// The class that was blocked, by name.
    pub fn with_class(mut self, class: Option<impl Into<String>>) -> Reason {
        self.class = class.map(Into::into);
        self
    }
}

/// What was done with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// Left in the output, as the policy allows.
    Kept,
    /// Taken out of the output.
    Removed,
    /// Made inert but kept in another form (e.g. a field replaced by its shown text, a file renamed).
    Neutralized,
    /// The policy blocks it: the file gets no output.
    Blocked,
}

/// One finding: a class, what was done, where and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Item {
    /// The content class: one of the shared vocabulary, `executables`, or a class a plugin declares.
    pub class: String,
    /// What was done with it.
    pub action: Disposition,
    /// Where in the file: a member path, an object number, a cell, or the file's name.
    pub location: String,
    /// What was found, for people.
    pub detail: String,
    /// How many occurrences this item stands for (at least 1).
    pub count: u32,
}

/// What one scanner made of one thing: the file itself, or an active part
/// a plugin handed over (a VBA module, a script), or the rebuilt output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Scan {
    /// `yara-x` or `clamav` (`none` when the policy required a scan and no scanner was configured).
    pub engine: String,
    /// The engine's version: the yara-x release, or what clamd says (`ClamAV 1.4.3/27000/…`).
    pub version: String,
    /// What was scanned, as a path in the tree: the file (`mail.eml/a.zip/b.pdf`), a part of it
    /// (`report.docm: word/vbaProject.bin/Module1`), or its output (`… (output)`).
    pub location: String,
    /// The YARA rules (`namespace.rule`) or ClamAV signatures that matched; empty when clean.
    pub matches: Vec<String>,
    /// Why the engine could not scan (unreachable, timeout, too large); absent when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The input as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct InputInfo {
    /// The file's name as given (for an embedded file, as its container names it).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the input, in lowercase hex.
    pub sha256: String,
    /// Format id detected from the content, `null` when unknown.
    pub format: Option<String>,
    /// Media type of the detected format, `null` when unknown.
    pub media_type: Option<String>,
}

/// The rebuilt output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OutputInfo {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the output, in lowercase hex.
    pub sha256: String,
    /// Format id of the rebuilt file, verified by detecting it again (may differ from the input's).
    pub format: String,
    /// Media type of the output's format.
    pub media_type: String,
    /// The extension the output should carry, without the dot (a `.docm` becomes `docx`).
    pub extension: String,
}

/// A plugin that took part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PluginRef {
    /// The plugin's name, as `sekisho plugins` lists it.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// SHA-256 of the plugin's WebAssembly component, in lowercase hex.
    pub sha256: String,
}

/// The policy that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PolicyRef {
    /// The policy's name; `POLICY+PROFILE` when a client chose a profile.
    pub name: String,
    /// SHA-256 of the effective policy as `sekisho policy show` prints it, in lowercase hex.
    pub sha256: String,
}

/// Resources used for this file: fuel counts the file's embedded files too
/// (one budget for the tree); memory is the peak of this file's sandbox. All 0 when no plugin ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Metrics {
    /// Fuel (CPU budget) used by this file and its embedded files.
    pub fuel_used: u64,
    /// Peak linear memory of this file's sandbox, in bytes.
    pub peak_memory_bytes: u64,
    /// Wall-clock time for this file and its embedded files, in microseconds.
    pub wall_time_us: u64,
}

/// The report of one file; embedded files have their own, in `children`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Report {
    /// Version of the report format: `sekisho.report/1`.
    pub schema: String,
    /// The file as received.
    pub input: InputInfo,
    /// The rebuilt file; `null` unless the outcome is `clean` or `sanitized`.
    pub output: Option<OutputInfo>,
    /// What was decided.
    pub outcome: Outcome,
    /// Why the file did not pass; `null` when it passed.
    pub reason: Option<Reason>,
    /// The policy that was applied.
    pub policy: PolicyRef,
    /// The plugin chosen for the detected format; `null` when none was.
    pub plugin: Option<PluginRef>,
    /// What was found in this file (not in its embedded files) and what was done with it.
    pub items: Vec<Item>,
    /// One report per embedded file (e.g. each ZIP member or mail attachment), in the order they were met.
    pub children: Vec<Report>,
    /// Resources used.
    pub metrics: Metrics,
    /// What the scanners made of this file and its active parts (not of its embedded files,
    /// which have their own). Absent when nothing was scanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scans: Vec<Scan>,
    /// Personal information the outbound audit found in this file and every embedded file
    /// (top-level report only; values masked, never whole). Absent when the audit is off or
    /// found nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pii: Vec<crate::pii::Finding>,
}

impl Report {
    /// Every plugin used for this file and its children, without repeats.
    pub fn plugins(&self) -> Vec<&PluginRef> {
        let mut all = Vec::new();
        self.collect_plugins(&mut all);
        all
    }

    fn collect_plugins<'a>(&'a self, all: &mut Vec<&'a PluginRef>) {
        if let Some(plugin) = &self.plugin
            && !all.contains(&plugin)
        {
            all.push(plugin);
        }
        for child in &self.children {
            child.collect_plugins(all);
        }
    }

    /// True when the file failed because a scanner could not scan it
    /// (`scanner-unavailable`): a gateway says "try again later" (HTTP and
    /// ICAP 503, SMTP 451), since the same file may pass once it is back.
    pub fn retry_later(&self) -> bool {
        self.reason.as_ref().is_some_and(|r| r.kind == ReasonKind::ScannerUnavailable)
    }

    /// One line for humans: `name: outcome (reason)`.
    pub fn summary(&self) -> String {
        let mut line = format!("{}: {}", self.input.name, self.outcome.name());
        if let Some(reason) = &self.reason {
            line.push_str(&format!(" ({})", reason.detail));
        } else if !self.items.is_empty() || !self.children.is_empty() {
            let (items, children) = (self.items.len(), self.children.len());
            let item_word = if items == 1 { "item" } else { "items" };
            let child_word = if children == 1 { "embedded file" } else { "embedded files" };
            line.push_str(&format!(" ({items} {item_word}, {children} {child_word})"));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_are_the_serialized_names() {
        for outcome in [Outcome::Clean, Outcome::Sanitized, Outcome::Blocked, Outcome::Unsupported, Outcome::Failed] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.name());
        }
    }
}
