//! The plugin contract as the host sees it: its own types, whatever version
//! a plugin speaks. Each released version of the WIT is frozen in its own
//! folder (`wit/sekisho-plugin@X.Y.Z/`) and bound in its own module
//! (`sandbox::v0_1`, `sandbox::v0_2`), which converts into these types; the
//! rest of the host knows nothing else.

use serde::{Deserialize, Serialize};

/// Contract versions this host loads, oldest first; the last is the one the
/// SDK builds against.
pub const SUPPORTED: &[&str] = &["0.1.0", "0.2.0"];

/// What the policy says to do with a content class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Keep and record.
    Allow,
    /// Remove or neutralize and record.
    Sanitize,
    /// Refuse the whole file.
    Block,
}

/// How hyperlinks are sanitized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HyperlinkMode {
    Keep,
    Remove,
    KeepAsText,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub formats: Vec<FormatDecl>,
    /// Classes beyond the shared vocabulary.
    pub classes: Vec<ClassDecl>,
    pub options: Vec<OptionDecl>,
}

/// A format as a plugin declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatDecl {
    pub id: String,
    pub description: String,
    pub media_types: Vec<String>,
    pub extensions: Vec<String>,
    pub signatures: Vec<Signature>,
    /// Classes the format may report, by name.
    pub classes: Vec<String>,
}

impl FormatDecl {
    /// The canonical media type.
    pub fn media_type(&self) -> &str {
        self.media_types.first().map_or("application/octet-stream", String::as_str)
    }

    /// The canonical extension.
    pub fn extension(&self) -> &str {
        self.extensions.first().map_or("bin", String::as_str)
    }
}

/// How a format may be recognized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signature {
    /// Bytes at an offset.
    Magic { offset: u64, bytes: Vec<u8> },
    /// A ZIP archive holding a member of this name.
    ZipMember(String),
    /// An XML document with this root element (namespace empty for any).
    XmlRoot { namespace: String, local_name: String },
}

/// A content class beyond the shared vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassDecl {
    pub name: String,
    /// The shared class whose action applies when a policy does not name it.
    pub fallback: String,
    pub doc: String,
}

/// An option a plugin takes in the policy's `[options]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionDecl {
    pub name: String,
    pub values: Vec<String>,
    pub default: String,
    pub doc: String,
}

/// What was done with a finding.
pub use crate::report::Disposition;

/// One thing a plugin found and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub class: String,
    pub disposition: Disposition,
    pub location: String,
    pub detail: String,
    pub count: u32,
}

/// Why a plugin produced no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    InvalidStructure,
    Encrypted,
    TooLarge,
    LimitExceeded,
    /// The policy blocks this class.
    Blocked(String),
    Unsupported,
}

/// A plugin's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub detail: String,
    pub findings: Vec<Finding>,
}

/// A plugin's rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub format: String,
    pub findings: Vec<Finding>,
}

/// How an embedded document came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedOutcome {
    Clean,
    Sanitized,
}

/// An embedded document rebuilt by its own plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedRebuilt {
    pub outcome: EmbeddedOutcome,
    pub format: String,
    pub extension: String,
    pub media_type: String,
    pub data: Vec<u8>,
}

/// Why an embedded document was not rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddedRefusal {
    Unsupported(String),
    Blocked(String),
    Failed(String),
    LimitExceeded(String),
}

/// The policy as one plugin receives it: an action for every class it may
/// meet (the shared vocabulary and its own classes), the options it
/// declared with their values, and what is left of the tree's budgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyView {
    pub name: String,
    pub rules: Vec<(String, Action)>,
    pub hyperlink_mode: HyperlinkMode,
    pub max_expanded_bytes: u64,
    pub max_entries: u32,
    pub max_expansion_ratio: u32,
    pub options: Vec<(String, String)>,
}
