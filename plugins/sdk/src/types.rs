//! The types a plugin works with, owned by the SDK: the same for every
//! contract version. The adapter ([`crate::contract`]) converts them to and
//! from the types of the contract the plugin is built against, so a plugin's
//! code does not change when the contract does.

/// Declares the content classes of the shared vocabulary once: the enum
/// variants, their names, and the list.
macro_rules! classes {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// A content class: one of the shared vocabulary, or a class the
        /// plugin declares itself (see [`ClassDeclaration`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ContentClass {
            $($(#[doc = $doc])* $variant,)*
            /// A class this plugin declares (`PluginInfo::declared_classes`), by name.
            Declared(&'static str),
        }

        /// Every class of the shared vocabulary, in contract order.
        pub const ALL_CLASSES: [ContentClass; [$($name),*].len()] = [$(ContentClass::$variant),*];

        impl ContentClass {
            /// The kebab-case name used in policies and reports (`dde`, `auto-actions`).
            pub fn name(self) -> &'static str {
                match self {
                    $(ContentClass::$variant => $name,)*
                    ContentClass::Declared(name) => name,
                }
            }

            /// The class of the shared vocabulary with this name.
            pub fn shared(name: &str) -> Option<ContentClass> {
                match name {
                    $($name => Some(ContentClass::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

classes! {
    /// VBA projects, Excel 4 (XLM) macro sheets, ODF Basic.
    Macros => "macros",
    /// PDF JavaScript, SVG/HTML scripts and event handlers.
    Scripts => "scripts",
    /// Actions that run without the reader asking: OpenAction, AA, auto-exec macros.
    AutoActions => "auto-actions",
    /// Actions that reach outside the document: Launch, GoToR/GoToE, SubmitForm, ImportData.
    ExternalActions => "external-actions",
    /// Attachments, embedded documents, archive members, OLE packages.
    EmbeddedFiles => "embedded-files",
    /// ActiveX, OLE controls, Equation Editor objects.
    ActiveObjects => "active-objects",
    /// Remote templates, linked objects, remote images, external relationships.
    ExternalLinks => "external-links",
    /// Clickable links to URLs.
    Hyperlinks => "hyperlinks",
    /// Dynamic Data Exchange fields and formula payloads (CSV injection too).
    Dde => "dde",
    /// Database connections, query tables.
    DataConnections => "data-connections",
    /// AcroForm, XFA and other fillable forms.
    Forms => "forms",
    /// Sound, movie, RichMedia, 3D.
    Multimedia => "multimedia",
    /// Document properties, XMP, EXIF/GPS.
    Metadata => "metadata",
    /// Reviewer comments and annotations.
    Comments => "comments",
    /// Tracked changes and revision history.
    Revisions => "revisions",
    /// Parts the plugin does not understand, or members no plugin handles.
    UnknownParts => "unknown-parts",
    /// Repairable anomalies: trailing data, bad paths, polyglots, odd encodings.
    MalformedStructure => "malformed-structure",
    /// Password-protected or encrypted content.
    Encryption => "encryption",
}

impl std::fmt::Display for ContentClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the policy says to do with a content class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Keep the content and record it.
    Allow,
    /// Remove or neutralize the content and record it.
    Sanitize,
    /// Refuse the whole file and record why.
    Block,
}

/// How hyperlinks are treated when the class is sanitized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HyperlinkMode {
    /// Keep the link working.
    Keep,
    /// Remove the link and its target.
    Remove,
    /// Remove the link but keep its visible text.
    KeepAsText,
}

/// One class of the shared vocabulary and its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRule {
    pub class: ContentClass,
    pub action: Action,
}

/// Limits a plugin enforces itself while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes the plugin may inflate (what is left of the tree's budget).
    pub max_expanded_bytes: u64,
    /// Most entries in one container.
    pub max_entries: u32,
    /// Most inflated bytes per input byte.
    pub max_expansion_ratio: u32,
}

/// The effective policy for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Name of the profile or policy file.
    pub name: String,
    /// One rule per class of the shared vocabulary.
    pub rules: Vec<ClassRule>,
    /// Actions for the classes this plugin declared, by name.
    pub declared: Vec<(String, Action)>,
    pub hyperlink_mode: HyperlinkMode,
    pub limits: Limits,
    /// The options this plugin declared, with the values chosen.
    pub options: Vec<(String, String)>,
    /// Password candidates for encrypted input, in the order to try them
    /// (empty unless the policy says `encrypted = "try-passwords"`); see
    /// [`crate::passwords`].
    pub passwords: Vec<Password>,
    /// Write a decrypted file encrypted again with the password that opened
    /// it, where the format allows.
    pub reencrypt: bool,
    /// True when the host keeps the text of [`crate::Host::emit_text`].
    pub collect_text: bool,
    /// True when the host scans the active parts handed over with
    /// [`crate::Host::inspect_active`].
    pub inspect_active: bool,
}

/// Where a password candidate came from. Findings name it, never the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordSource {
    /// Sent with the file (HTTP header, `--password-file`).
    Request,
    /// The policy's password list.
    List,
    /// Found by a mail gateway in the message that carried the file.
    Mail,
}

impl PasswordSource {
    /// `request`, `list` or `mail`, as findings name it.
    pub fn name(self) -> &'static str {
        match self {
            PasswordSource::Request => "request",
            PasswordSource::List => "list",
            PasswordSource::Mail => "mail",
        }
    }
}

/// One password candidate. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Password {
    /// The password: never log it, put it in a finding or emit it as text.
    pub secret: String,
    pub source: PasswordSource,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Password").field("secret", &"<redacted>").field("source", &self.source).finish()
    }
}

/// Bytes at an offset that identify a format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Magic {
    pub offset: u32,
    pub bytes: Vec<u8>,
}

/// How the host may recognize a format besides [`Magic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// A ZIP archive holding a member of this name.
    ZipMember(String),
    /// An XML document with this root element (namespace empty for any).
    XmlRoot { namespace: String, local_name: String },
}

/// A file format a plugin rebuilds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Format {
    /// Short stable identifier, unique across plugins.
    pub id: String,
    /// One line for people, e.g. "Word document (Office Open XML)".
    pub description: String,
    /// Media types, the first canonical.
    pub media_types: Vec<String>,
    /// Extensions without the dot, lowercase, the first canonical.
    pub extensions: Vec<String>,
    /// Signatures at offsets.
    pub magic: Vec<Magic>,
    /// Container hints (ZIP member, XML root).
    pub hints: Vec<Hint>,
}

/// A content class beyond the shared vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDeclaration {
    /// The class; `ContentClass::Declared(name)`.
    pub class: ContentClass,
    /// The shared class whose action applies when a policy does not name it.
    pub fallback: ContentClass,
    /// One line for people.
    pub doc: String,
}

/// An option the plugin takes in the policy's `[options]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionDeclaration {
    pub name: String,
    pub values: Vec<String>,
    pub default: String,
    pub doc: String,
}

/// What a plugin tells the host about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub formats: Vec<Format>,
    /// The classes the plugin may report, for every format.
    pub classes: Vec<ContentClass>,
    /// Classes beyond the shared vocabulary.
    pub declared_classes: Vec<ClassDeclaration>,
    pub options: Vec<OptionDeclaration>,
}

/// What was done with one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    Kept,
    Removed,
    Neutralized,
    Blocked,
}

/// One thing a plugin found and what it did about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub class: ContentClass,
    pub disposition: Disposition,
    pub location: String,
    pub detail: String,
    pub count: u32,
}

/// Why a plugin could not produce a clean file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    InvalidStructure,
    Encrypted,
    TooLarge,
    LimitExceeded,
    /// The policy blocks this class, found in the file.
    Blocked(ContentClass),
    Unsupported,
}

/// A refusal: no output is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub detail: String,
    pub findings: Vec<Finding>,
}

/// A successful rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// The format written (a `.docm` rebuilt without macros is `docx`).
    pub format: String,
    pub findings: Vec<Finding>,
}

/// Log levels for [`crate::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// How an embedded document came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedOutcome {
    Clean,
    Sanitized,
}

/// An embedded document rebuilt by its own plugin in its own sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedRebuilt {
    pub outcome: EmbeddedOutcome,
    pub format: String,
    /// Canonical extension of `format`, without the dot.
    pub extension: String,
    /// Canonical media type of `format`.
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
