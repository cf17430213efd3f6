//! The report: what came in, what went out, the outcome, and every decision.
//!
//! The JSON field names are stable; `schema` changes when they do.

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
    /// `blocked`: the class named in `Reason::class`.
    Policy,
    /// `unsupported`: no plugin for the type.
    NoPlugin,
    InvalidStructure,
    Encrypted,
    TooLarge,
    LimitExceeded,
    PluginFault,
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    Fuel,
    Memory,
    Time,
    Stack,
    Depth,
    Expansion,
    Entries,
    Output,
    Input,
}

/// The reason of a non-passing outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Reason {
    pub kind: ReasonKind,
    /// For `limit-exceeded`, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<Limit>,
    /// For `blocked`: the class that was blocked.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub class: Option<String>,
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
    Kept,
    Removed,
    Neutralized,
    Blocked,
}

/// One finding: a class, what was done, where and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Item {
    /// The content class, by name (the shared vocabulary, the host's
    /// `executables`, or a class a plugin declares).
    pub class: String,
    pub action: Disposition,
    pub location: String,
    pub detail: String,
    pub count: u32,
}

/// The input as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct InputInfo {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Format id detected from the content, `null` when unknown.
    pub format: Option<String>,
    pub media_type: Option<String>,
}

/// The rebuilt output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OutputInfo {
    pub size: u64,
    pub sha256: String,
    pub format: String,
    pub media_type: String,
    /// The extension the output should carry (a `.docm` becomes `.docx`).
    pub extension: String,
}

/// A plugin that took part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PluginRef {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// The policy that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PolicyRef {
    pub name: String,
    pub sha256: String,
}

/// Resources used for this file: fuel counts the file's embedded files too
/// (one budget for the tree); memory is the peak of this file's sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Metrics {
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    pub wall_time_us: u64,
}

/// The report of one file; embedded files have their own, in `children`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Report {
    pub schema: String,
    pub input: InputInfo,
    pub output: Option<OutputInfo>,
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub policy: PolicyRef,
    pub plugin: Option<PluginRef>,
    pub items: Vec<Item>,
    pub children: Vec<Report>,
    pub metrics: Metrics,
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
