//! The plugin contract as the host sees it: its own types, whatever version
//! a plugin speaks. Each released version of the WIT is frozen in its own
//! folder (`wit/sekisho-plugin@X.Y.Z/`) and bound in its own module
//! (`sandbox::v0_1`, `sandbox::v0_2`, `sandbox::v0_3`), which converts into these types; the
//! rest of the host knows nothing else.

use serde::{Deserialize, Serialize};

/// Contract versions this host loads, oldest first; the last is the one the
/// SDK builds against.
pub const SUPPORTED: &[&str] = &["0.1.0", "0.2.0", "0.3.0"];

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
    /// Keep the link working.
    Keep,
    /// Remove the link and its target.
    Remove,
    /// Remove the link but keep its visible text.
    KeepAsText,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Plugin name, e.g. "zip".
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// The formats it rebuilds.
    pub formats: Vec<FormatDecl>,
    /// Classes beyond the shared vocabulary.
    pub classes: Vec<ClassDecl>,
    /// Options it takes in the policy's `[options]`.
    pub options: Vec<OptionDecl>,
}

/// A format as a plugin declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatDecl {
    /// Short stable identifier, e.g. "zip", "csv"; unique across plugins.
    pub id: String,
    /// One line for people, e.g. "Word document (Office Open XML)".
    pub description: String,
    /// Media types, the first one canonical.
    pub media_types: Vec<String>,
    /// Extensions without the dot, lowercase, the first one canonical.
    pub extensions: Vec<String>,
    /// How the host may recognize it.
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
    Magic {
        /// Offset from the start of the file.
        offset: u64,
        /// The bytes expected there.
        bytes: Vec<u8>,
    },
    /// A ZIP archive holding a member of this name.
    ZipMember(String),
    /// An XML document with this root element (namespace empty for any).
    XmlRoot {
        /// Namespace URI; empty matches any namespace.
        namespace: String,
        /// The root element's local name.
        local_name: String,
    },
}

/// A content class beyond the shared vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassDecl {
    /// Kebab-case name, e.g. "ichitaro-macros".
    pub name: String,
    /// The shared class whose action applies when a policy does not name it.
    pub fallback: String,
    /// One line for people.
    pub doc: String,
}

/// An option a plugin takes in the policy's `[options]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionDecl {
    /// Kebab-case name, e.g. "image-mode".
    pub name: String,
    /// The values it may take.
    pub values: Vec<String>,
    /// The value when the policy says nothing; one of `values`.
    pub default: String,
    /// One line for people.
    pub doc: String,
}

/// What was done with a finding.
pub use crate::report::Disposition;

/// One thing a plugin found and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The content class, by name.
    pub class: String,
    /// What the plugin did with it.
    pub disposition: Disposition,
    /// Where in the file: a member path, an object number, a cell.
    pub location: String,
    /// Human-readable detail.
    pub detail: String,
    /// How many occurrences this finding stands for (at least 1).
    pub count: u32,
}

/// Why a plugin produced no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// Not a valid file of the format, beyond repair.
    InvalidStructure,
    /// Encrypted or password-protected.
    Encrypted,
    /// Larger than the plugin accepts.
    TooLarge,
    /// A limit of the policy was hit (entries, expansion, ratio, depth).
    LimitExceeded,
    /// The policy blocks this class.
    Blocked(String),
    /// A variant of the format the plugin does not handle.
    Unsupported,
}

/// A plugin's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why it failed.
    pub kind: FailureKind,
    /// Human-readable detail.
    pub detail: String,
    /// What the plugin had found before it stopped, for the report.
    pub findings: Vec<Finding>,
}

/// A plugin's rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// The format written: usually the input's, another when the rebuild
    /// converts (a .docm becomes a .docx).
    pub format: String,
    /// What the plugin found and did.
    pub findings: Vec<Finding>,
}

/// How an embedded document came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedOutcome {
    /// Rebuilt, nothing removed.
    Clean,
    /// Rebuilt, something removed or neutralized.
    Sanitized,
}

/// An embedded document rebuilt by its own plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedRebuilt {
    /// Whether anything was removed.
    pub outcome: EmbeddedOutcome,
    /// Format id of the rebuilt bytes.
    pub format: String,
    /// Canonical extension of that format, without the dot.
    pub extension: String,
    /// Canonical media type of that format.
    pub media_type: String,
    /// The rebuilt bytes.
    pub data: Vec<u8>,
}

/// Why an embedded document was not rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddedRefusal {
    /// No plugin handles the detected type (why).
    Unsupported(String),
    /// The policy blocks a class found inside (detail).
    Blocked(String),
    /// The child is broken, encrypted or failed (detail).
    Failed(String),
    /// A depth, expansion, time, fuel or memory limit was hit (detail).
    LimitExceeded(String),
}

/// The policy as one plugin receives it: an action for every class it may
/// meet (the shared vocabulary and its own classes), the options it
/// declared with their values, and what is left of the tree's budgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyView {
    /// Name of the profile or policy file this came from.
    pub name: String,
    /// One rule per shared class and per class the plugin declared.
    pub rules: Vec<(String, Action)>,
    /// How hyperlinks are treated when the class is `sanitize`.
    pub hyperlink_mode: HyperlinkMode,
    /// Bytes the plugin may still inflate: what is left of the tree's budget.
    pub max_expanded_bytes: u64,
    /// Most entries (members, parts, objects) in one container.
    pub max_entries: u32,
    /// Most inflated bytes per byte of input, over the whole file.
    pub max_expansion_ratio: u32,
    /// Every option the plugin declared, with the value the policy chose.
    pub options: Vec<(String, String)>,
    /// Password candidates in the order to try them; empty unless the
    /// policy says `encrypted = "try-passwords"`. Debug shows only how many.
    pub passwords: Passwords,
    /// Re-encrypt a decrypted output with the password that opened it.
    pub reencrypt: bool,
    /// True when the host keeps the text plugins hand over.
    pub collect_text: bool,
    /// True when the host scans the active parts plugins hand over.
    pub inspect_active: bool,
}

/// Where a password candidate came from. Reports and audit lines name the
/// source, never the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordSource {
    /// Sent with the file: the `X-Sekisho-Password` HTTP header, the CLI's
    /// `--password-file`.
    Request,
    /// The policy's password list file (`password-list`).
    List,
    /// Found by a mail gateway in the message that carried the file.
    Mail,
}

impl PasswordSource {
    /// The name reports use: `request`, `list`, `mail`.
    pub fn name(self) -> &'static str {
        match self {
            PasswordSource::Request => "request",
            PasswordSource::List => "list",
            PasswordSource::Mail => "mail",
        }
    }
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One password candidate for an encrypted input, with its source. The
/// secret is never logged or reported: `Debug` prints only the source, and
/// the type implements neither `Display` nor `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password {
    secret: String,
    source: PasswordSource,
}

impl Password {
    /// A candidate `secret` that came from `source`.
    pub fn new(secret: impl Into<String>, source: PasswordSource) -> Password {
        Password { secret: secret.into(), source }
    }

    /// The password itself (handed to plugins only).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Where it came from.
    pub fn source(&self) -> PasswordSource {
        self.source
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Password").field("secret", &"<redacted>").field("source", &self.source).finish()
    }
}

/// Password candidates, shared cheaply between the files of a tree (a list
/// may be long). `Debug` prints how many per source, never a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Passwords(std::sync::Arc<Vec<Password>>);

impl Passwords {
    /// The candidates, in the order to try them.
    pub fn as_slice(&self) -> &[Password] {
        &self.0
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many candidates.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<Vec<Password>> for Passwords {
    fn from(passwords: Vec<Password>) -> Self {
        Passwords(std::sync::Arc::new(passwords))
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |source| self.0.iter().filter(|p| p.source == source).count();
        f.debug_struct("Passwords")
            .field("request", &count(PasswordSource::Request))
            .field("list", &count(PasswordSource::List))
            .field("mail", &count(PasswordSource::Mail))
            .finish()
    }
}
