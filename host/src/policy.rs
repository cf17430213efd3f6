//! Policies: what to do per content class, and the global limits.
//!
//! A policy is TOML. It may start from a built-in profile (`extends`) and
//! override single classes and limits:
//!
//! ```toml
//! name = "lgwan-inbound"
//! extends = "strict"
//! hyperlinks-mode = "keep-as-text"
//! [classes]
//! hyperlinks = "allow"
//! [limits]
//! max-depth = 3
//! [options]
//! image-mode = "re-encode"
//! ```
//!
//! Encrypted input is refused unless the policy tries passwords:
//!
//! ```toml
//! encrypted = "try-passwords"      # default "block": refused as `encrypted`
//! password-list = "passwords.txt"  # one password a line, beside the policy file
//! reencrypt = false                # true: a decrypted ZIP or PDF is written AES-256 encrypted again
//! ```
//!
//! Scanners (`--rules DIR`, `--clamd ADDR`) look at what the rebuild
//! cannot vouch for, as `[scan]` says:
//!
//! ```toml
//! [scan]
//! what = "all"                  # "unsupported" (default), "kept-active", "all"
//! unsupported = "pass-if-clean" # default "block": files no plugin handles are refused
//! scanner-down = "skip"         # default "fail-closed": no scan, no pass
//! scan-outputs = true           # with "all": rebuilt outputs are scanned too
//! ```
//!
//! Candidates are tried in the order of their source: those sent with the
//! file (`X-Sekisho-Password`, `--password-file`), the policy's list, then
//! those a mail gateway found ([`Policy::with_passwords`]). Passwords never
//! reach a report, a log line or `policy show`; `Debug` counts them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::contract::{Action, HyperlinkMode, Password, PasswordSource, Passwords};
use crate::contract::{ClassDecl, OptionDecl, PolicyView};
use crate::pii::{PiiFile, PiiPolicy};

/// Declares the content classes once: the enum, its kebab-case names (the
/// same as serde's), the full list, and the conversions to and from the
/// contract's `content-class`. Classes after `host:` are decided by the host
/// alone and never reach a plugin.
macro_rules! content_classes {
    (
        contract { $($(#[doc = $doc:literal])* $variant:ident => $name:literal,)* }
        host { $($(#[doc = $host_doc:literal])* $host:ident => $host_name:literal,)* }
    ) => {
        /// The content classes of DESIGN.md, shared by every format.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(test, derive(schemars::JsonSchema))]
        #[serde(rename_all = "kebab-case")]
        pub enum Class {
            $($(#[doc = $doc])* $variant,)*
            $($(#[doc = $host_doc])* $host,)*
        }

        impl Class {
            /// Every class: the contract's, in contract order, then the host's.
            pub const ALL: [Class; [$(Class::$variant,)* $(Class::$host,)*].len()] =
                [$(Class::$variant,)* $(Class::$host,)*];

            /// The kebab-case name used in policies and reports.
            pub fn name(self) -> &'static str {
                match self {
                    $(Class::$variant => $name,)*
                    $(Class::$host => $host_name,)*
                }
            }

            /// True for the classes of the shared vocabulary, which reach
            /// plugins; false for those the host decides alone.
            pub fn in_contract(self) -> bool {
                match self {
                    $(Class::$variant => true,)*
                    $(Class::$host => false,)*
                }
            }

            /// The class with this name.
            pub fn named(name: &str) -> Option<Class> {
                Class::ALL.iter().copied().find(|c| c.name() == name)
            }
        }
    };
}

content_classes! {
    contract {
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
    host {
    /// A file that an operating system or a script host runs by its name
    /// ([`crate::detect::executables`]).
    Executables => "executables",
    /// What a scanner recognises: a YARA rule or a ClamAV signature that
    /// matched ([`crate::scan`]). `block` by default in every profile.
    Malware => "malware",
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `sanitize` does with a file whose name an operating system runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutablesMode {
    /// Remove it from its container with a note; a file on its own is blocked.
    #[default]
    Remove,
    /// Rebuild it under a name nothing runs: text becomes `.txt`.
    Neutralize,
}

/// What becomes of an encrypted or password-protected input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptedMode {
    /// Refused: the file fails as `encrypted` (encrypted members of an
    /// archive fall under the `encryption` class).
    #[default]
    Block,
    /// Plugins try the password candidates inside their sandbox; a file no
    /// candidate opens fails as `encrypted`.
    TryPasswords,
}

/// Which files the scanners look at (`[scan] what`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanWhat {
    /// Files no plugin handles.
    #[default]
    Unsupported,
    /// Those, and the active parts the policy keeps (VBA source, scripts,
    /// embedded files) or that plugins hand over as they remove them.
    KeptActive,
    /// Every input and every embedded file before its rebuild, and the
    /// active parts plugins hand over.
    All,
}

/// What becomes of a file no plugin handles (`[scan] unsupported`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnsupportedMode {
    /// Refused as `unsupported`, scanned or not.
    #[default]
    Block,
    /// Passed unchanged when every scanner looked and found nothing. A
    /// program or script (the `executables` class) never passes.
    PassIfClean,
}

/// What a file that needs a scan gets when a scanner cannot scan it
/// (`[scan] scanner-down`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScannerDown {
    /// The file fails (`scanner-unavailable`); the gateway answers 503.
    #[default]
    FailClosed,
    /// The file goes on unscanned, with a finding that says so.
    Skip,
}

/// Where scanning happens (`[scan]`). Nothing is scanned unless a scanner
/// is configured, or the section is written: a policy that asks for scans
/// without a scanner gets `scanner-down`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScanPolicy {
    /// Which files are scanned.
    #[serde(default)]
    pub what: ScanWhat,
    /// Files no plugin handles: refused, or passed when clean.
    #[serde(default)]
    pub unsupported: UnsupportedMode,
    /// When a scanner cannot scan.
    #[serde(default)]
    pub scanner_down: ScannerDown,
    /// With `what = "all"`, rebuilt outputs are scanned too.
    #[serde(default)]
    pub scan_outputs: bool,
    /// The policy file wrote `[scan]`: scans are required even without a
    /// configured scanner.
    #[serde(skip)]
    pub required: bool,
}

impl ScanPolicy {
    fn is_default(&self) -> bool {
        *self == ScanPolicy::default()
    }
}

/// Largest password file read (`--password-file`, `password-list`).
pub const MAX_PASSWORD_FILE_BYTES: u64 = 16 << 20;

/// Reads password candidates from a file, one a line (a final `\r` is
/// dropped, empty lines are skipped), all from `source`. A file over
/// [`MAX_PASSWORD_FILE_BYTES`] or not UTF-8 is an error; errors never
/// quote the file's content.
pub fn read_password_file(path: &Path, source: PasswordSource) -> Result<Vec<Password>, PolicyError> {
    use std::io::Read;
    let read_error = |source| PolicyError::Read { path: path.display().to_string(), source };
    let invalid = |message: &str| PolicyError::Invalid { path: path.display().to_string(), message: message.into() };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_PASSWORD_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_PASSWORD_FILE_BYTES {
        return Err(invalid(&format!("a password file may hold at most {MAX_PASSWORD_FILE_BYTES} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| invalid("a password file must be UTF-8 text"))?;
    Ok(text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| Password::new(line, source))
        .collect())
}

/// Declares the global limits once: the struct, its defaults, and the form
/// a policy file writes them in (every limit optional, unknown keys errors
/// with their line and column).
macro_rules! limits {
    ($($(#[doc = $doc:literal])* $field:ident: $ty:ty = $default:expr,)*) => {
        /// Global limits. Every one is enforced by the host or handed to plugins.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub struct Limits {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        impl Default for Limits {
            fn default() -> Self {
                Limits { $($field: $default,)* }
            }
        }

        /// `[limits]` as a policy file writes it: each limit optional.
        #[derive(Debug, Default, Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct LimitsFile {
            $($field: Option<$ty>,)*
        }

        impl LimitsFile {
            fn apply(self, limits: &mut Limits) {
                $(if let Some(value) = self.$field {
                    limits.$field = value;
                })*
            }
        }
    };
}

limits! {
    /// Largest input file accepted.
    max_input_bytes: u64 = 512 << 20,
    /// Largest rebuilt output accepted from a plugin.
    max_output_bytes: u64 = 1 << 30,
    /// Deepest nesting of embedded documents (the top-level file is depth 0).
    max_depth: u32 = 5,
    /// Most bytes inflated or extracted over a whole file tree.
    max_expanded_bytes: u64 = 1 << 30,
    /// Most entries in one container.
    max_entries: u32 = 10_000,
    /// Most inflated bytes per input byte.
    max_expansion_ratio: u32 = 200,
    /// Wall-clock limit per file (each embedded child gets the rest of its parent's).
    time_limit_ms: u64 = 60_000,
    /// Linear-memory limit per sandbox.
    memory_limit_mb: u64 = 1024,
    /// CPU budget: fuel units granted per input byte, on top of `fuel-base`.
    fuel_per_byte: u64 = 20_000,
    /// CPU budget every file gets whatever its size.
    fuel_base: u64 = 2_000_000_000,
    /// CPU budget added to a file's when the policy tries passwords and
    /// candidates were given: key derivation is slow on purpose (Office
    /// spins SHA-512 100,000 times per candidate, PDF AES-256 runs dozens
    /// of rounds of AES and SHA-2), and every try is paid from this.
    fuel_for_passwords: u64 = 8_000_000_000,
}

/// An effective policy: one action per class, the hyperlink mode, limits
/// and the options of the plugins.
///
/// Classes and options are an open set: besides the shared vocabulary, a
/// policy may name the classes and options that plugins declare. Parsing
/// accepts any well-formed name; [`Policy::check`] holds them against what
/// the loaded plugins declare.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy {
    /// Name in reports: the profile's, or the file's `name` (its path when it has none).
    pub name: String,
    /// Every class of the shared vocabulary and the host's, and the plugin
    /// classes the policy names, by name.
    pub classes: BTreeMap<String, Action>,
    /// How hyperlinks are treated when the class is `sanitize`.
    pub hyperlinks_mode: HyperlinkMode,
    /// What becomes of a file whose name an operating system runs.
    pub executables_mode: ExecutablesMode,
    /// The global limits.
    pub limits: Limits,
    /// Plugin options the policy sets (`image-mode`, `html-mode`…); the
    /// others take the plugin's default.
    pub options: BTreeMap<String, String>,
    /// The personal-information audit (`[pii]`): off unless `outbound`.
    #[serde(skip_serializing_if = "PiiPolicy::is_off")]
    pub pii: PiiPolicy,
    /// What becomes of encrypted input: refused, or opened with the
    /// password candidates.
    pub encrypted: EncryptedMode,
    /// The policy's password list file, read when the policy is loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_list: Option<std::path::PathBuf>,
    /// Write a decrypted file encrypted again with the password that opened
    /// it, where Sekisho can (ZIP members and PDF, AES-256); otherwise
    /// decrypted (Office documents, PowerPoint 97).
    pub reencrypt: bool,
    /// Where the scanners look (`[scan]`).
    #[serde(skip_serializing_if = "ScanPolicy::is_default")]
    pub scan: ScanPolicy,
    /// Password candidates in the order to try them (by source: request,
    /// list, mail). Never serialized, never in `Debug` beyond counts.
    #[serde(skip)]
    passwords: Passwords,
    /// Where the policy came from, for errors found after parsing.
    #[serde(skip)]
    pub origin: String,
    /// Line and column of each class and option the file names, for errors
    /// found after parsing.
    #[serde(skip)]
    positions: BTreeMap<String, (usize, usize)>,
}

/// Two policies are equal when they decide the same way (where they came
/// from does not count).
impl PartialEq for Policy {
    fn eq(&self, other: &Policy) -> bool {
        self.to_toml() == other.to_toml()
    }
}

impl Eq for Policy {}

/// What the loaded plugins declare: the classes beyond the shared
/// vocabulary and the options, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// Declared classes beyond the shared vocabulary.
    pub classes: BTreeMap<String, ClassDecl>,
    /// Declared options.
    pub options: BTreeMap<String, OptionDecl>,
}

/// A policy file as written: everything optional, on top of a profile.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PolicyFile {
    name: Option<String>,
    extends: Option<toml::Spanned<String>>,
    hyperlinks_mode: Option<HyperlinkMode>,
    executables_mode: Option<ExecutablesMode>,
    #[serde(default)]
    classes: BTreeMap<toml::Spanned<String>, Action>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    options: BTreeMap<toml::Spanned<String>, String>,
    pii: Option<PiiFile>,
    encrypted: Option<EncryptedMode>,
    password_list: Option<std::path::PathBuf>,
    reencrypt: Option<bool>,
    scan: Option<ScanPolicy>,
}

/// Errors reading a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No built-in profile has this name.
    #[error("unknown profile {0:?} (known: {known})", known = Profile::NAMES.join(", "))]
    UnknownProfile(String),
    /// The policy file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The policy is malformed or names something unknown.
    #[error("invalid policy {path}: {message}")]
    Invalid {
        /// The file, or where the policy came from.
        path: String,
        /// What is wrong, with the line and column when known.
        message: String,
    },
}

/// The built-in profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The default: sanitize everything (encrypted parts are removed; a file
    /// that is encrypted as a whole fails as `encrypted`).
    Strict,
    /// Strict, but hyperlinks and comments stay (office document exchange).
    KeepLinks,
    /// Strict, but macros stay and are reported (offices that depend on them).
    KeepMacros,
    /// Strict, for files coming in (the personal-information audit is off).
    Inbound,
    /// Strict, and files going out are audited for personal information:
    /// My Numbers and card numbers block, lists of contacts and identity
    /// documents are held for approval.
    Outbound,
}

impl Profile {
    /// The names of the profiles, as policies and the command line write them.
    pub const NAMES: [&'static str; 5] = ["strict", "keep-links", "keep-macros", "inbound", "outbound"];

    /// The effective policy of this profile.
    pub fn policy(self) -> Policy {
        let mut classes: BTreeMap<String, Action> =
            Class::ALL.iter().map(|&c| (c.name().to_owned(), Action::Sanitize)).collect();
        classes.insert(Class::Malware.name().into(), Action::Block);
        let mut hyperlinks_mode = HyperlinkMode::KeepAsText;
        let mut pii = PiiPolicy::default();
        let name = match self {
            Profile::Strict => "strict",
            Profile::Inbound => "inbound",
            Profile::Outbound => {
                pii = PiiPolicy::outbound();
                "outbound"
            }
            Profile::KeepLinks => {
                classes.insert(Class::Hyperlinks.name().into(), Action::Allow);
                classes.insert(Class::Comments.name().into(), Action::Allow);
                hyperlinks_mode = HyperlinkMode::Keep;
                "keep-links"
            }
            Profile::KeepMacros => {
                classes.insert(Class::Macros.name().into(), Action::Allow);
                "keep-macros"
            }
        };
        Policy {
            name: name.into(),
            classes,
            hyperlinks_mode,
            executables_mode: ExecutablesMode::default(),
            limits: Limits::default(),
            options: BTreeMap::new(),
            pii,
            encrypted: EncryptedMode::default(),
            password_list: None,
            reencrypt: false,
            scan: ScanPolicy::default(),
            passwords: Passwords::default(),
            origin: name.into(),
            positions: BTreeMap::new(),
        }
    }
}

impl FromStr for Profile {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Profile::Strict),
            "keep-links" => Ok(Profile::KeepLinks),
            "keep-macros" => Ok(Profile::KeepMacros),
            "inbound" => Ok(Profile::Inbound),
            "outbound" => Ok(Profile::Outbound),
            other => Err(PolicyError::UnknownProfile(other.into())),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Profile::Strict.policy()
    }
}

impl Policy {
    /// A built-in profile by name.
    pub fn profile(name: &str) -> Result<Policy, PolicyError> {
        Ok(name.parse::<Profile>()?.policy())
    }

    /// Reads a TOML policy file.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
        Policy::from_toml(&text, &path.display().to_string())
    }

    /// Parses a TOML policy; `origin` names it in errors, which give the
    /// line and column of the key at fault.
    pub fn from_toml(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid { path: origin.into(), message };
        let file: PolicyFile = toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
        let mut policy = match &file.extends {
            None => Policy::default(),
            Some(extends) => Policy::profile(extends.get_ref()).map_err(|_| {
                let (line, column) = line_and_column(text, extends.span().start);
                invalid(format!(
                    "line {line}, column {column}: extends = {:?} is not a profile (known: {})",
                    extends.get_ref(),
                    Profile::NAMES.join(", ")
                ))
            })?,
        };
        policy.name = file.name.unwrap_or_else(|| origin.to_owned());
        policy.origin = origin.to_owned();
        for (name, action) in file.classes {
            let position = line_and_column(text, name.span().start);
            let name = name.into_inner();
            well_formed(&name)
                .map_err(|e| invalid(format!("line {}, column {}: [classes] {e}", position.0, position.1)))?;
            policy.positions.insert(name.clone(), position);
            policy.classes.insert(name, action);
        }
        if let Some(mode) = file.hyperlinks_mode {
            policy.hyperlinks_mode = mode;
        }
        if let Some(mode) = file.executables_mode {
            policy.executables_mode = mode;
        }
        file.limits.apply(&mut policy.limits);
        if let Some(mode) = file.encrypted {
            policy.encrypted = mode;
        }
        if let Some(reencrypt) = file.reencrypt {
            policy.reencrypt = reencrypt;
        }
        if let Some(list) = file.password_list {
            // Relative to the policy file, like the `[pii]` lists.
            let list = match Path::new(origin).parent() {
                Some(base) if list.is_relative() => base.join(list),
                _ => list,
            };
            let passwords =
                read_password_file(&list, PasswordSource::List).map_err(|e| invalid(format!("password-list: {e}")))?;
            policy.password_list = Some(list);
            policy = policy.with_passwords(passwords);
        }
        if let Some(scan) = file.scan {
            policy.scan = ScanPolicy { required: true, ..scan };
        }
        if let Some(pii) = file.pii {
            let base = Path::new(origin).parent();
            policy.pii.apply(pii, base).map_err(invalid)?;
        }
        for (name, value) in file.options {
            let position = line_and_column(text, name.span().start);
            let name = name.into_inner();
            well_formed(&name)
                .map_err(|e| invalid(format!("line {}, column {}: [options] {e}", position.0, position.1)))?;
            policy.positions.insert(format!("options.{name}"), position);
            policy.options.insert(name, value);
        }
        policy.validate().map_err(invalid)?;
        Ok(policy)
    }

    /// The policy with password candidates added, for one sanitize call:
    /// what a request sent (`PasswordSource::Request`) or what a mail
    /// gateway found in the message (`PasswordSource::Mail`). Candidates
    /// are tried by source (request, list, mail), in the order given within
    /// a source. They are used only when the policy says
    /// `encrypted = "try-passwords"`; the policy's name and hash do not
    /// change.
    pub fn with_passwords(mut self, passwords: impl IntoIterator<Item = Password>) -> Policy {
        let mut all = self.passwords.as_slice().to_vec();
        all.extend(passwords);
        all.sort_by_key(Password::source);
        self.passwords = all.into();
        self
    }

    /// The password candidates, in the order they are tried.
    pub fn passwords(&self) -> &[Password] {
        self.passwords.as_slice()
    }

    /// True when plugins get password candidates: the policy tries
    /// passwords and there are some.
    pub fn tries_passwords(&self) -> bool {
        self.encrypted == EncryptedMode::TryPasswords && !self.passwords.is_empty()
    }

    /// Holds the classes and options the policy names against what the
    /// loaded plugins declare: an unknown class or option, or a value an
    /// option does not take, is an error naming the file and the line.
    pub fn check(&self, vocabulary: &Vocabulary) -> Result<(), PolicyError> {
        let at = |key: &str| match self.positions.get(key) {
            Some((line, column)) => format!("line {line}, column {column}: "),
            None => String::new(),
        };
        let invalid = |message: String| PolicyError::Invalid { path: self.origin.clone(), message };
        for name in self.classes.keys() {
            if Class::named(name).is_none() && !vocabulary.classes.contains_key(name) {
                let known: Vec<&str> =
                    Class::ALL.iter().map(|c| c.name()).chain(vocabulary.classes.keys().map(String::as_str)).collect();
                return Err(invalid(format!(
                    "{}[classes] {name:?} is not a class{} (known: {})",
                    at(name),
                    suggestion(name, &known),
                    known.join(", ")
                )));
            }
        }
        for (name, value) in &self.options {
            let key = format!("options.{name}");
            let Some(declared) = vocabulary.options.get(name) else {
                let known: Vec<&str> = vocabulary.options.keys().map(String::as_str).collect();
                return Err(invalid(format!(
                    "{}[options] {name:?} is not an option of any plugin{} (known: {})",
                    at(&key),
                    suggestion(name, &known),
                    known.join(", ")
                )));
            };
            if !declared.values.contains(value) {
                return Err(invalid(format!(
                    "{}[options] {name} = {value:?} is not one of {}",
                    at(&key),
                    declared.values.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The policy with every declared option at its value (the default when
    /// the policy says nothing), the form `sekisho policy show` prints.
    pub fn with_defaults(&self, vocabulary: &Vocabulary) -> Policy {
        let mut policy = self.clone();
        for (name, option) in &vocabulary.options {
            policy.options.entry(name.clone()).or_insert_with(|| option.default.clone());
        }
        policy
    }

    /// The policy as `plugin` receives it: the shared vocabulary and the
    /// plugin's own classes (a class the policy does not name takes its
    /// fallback's action), the options it declared with their values, and
    /// the expansion budget left for this file.
    pub fn view(&self, classes: &[ClassDecl], options: &[OptionDecl], expanded_bytes_left: u64) -> PolicyView {
        let mut rules: Vec<(String, Action)> =
            Class::ALL.iter().filter(|c| c.in_contract()).map(|&c| (c.name().to_owned(), self.action(c))).collect();
        for declared in classes {
            let fallback = Class::named(&declared.fallback).map_or(Action::Sanitize, |c| self.action(c));
            rules.push((declared.name.clone(), self.classes.get(&declared.name).copied().unwrap_or(fallback)));
        }
        // A plugin that declares no option (contract 0.1) gets what the policy sets.
        let options = if options.is_empty() {
            self.options.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        } else {
            options
                .iter()
                .map(|o| (o.name.clone(), self.options.get(&o.name).cloned().unwrap_or_else(|| o.default.clone())))
                .collect()
        };
        PolicyView {
            name: self.name.clone(),
            rules,
            hyperlink_mode: self.hyperlinks_mode,
            max_expanded_bytes: expanded_bytes_left,
            max_entries: self.limits.max_entries,
            max_expansion_ratio: self.limits.max_expansion_ratio,
            options,
            passwords: match self.encrypted {
                EncryptedMode::TryPasswords => self.passwords.clone(),
                EncryptedMode::Block => Passwords::default(),
            },
            reencrypt: self.reencrypt,
            collect_text: false,
            inspect_active: false,
        }
    }

    fn validate(&self) -> Result<(), String> {
        let l = &self.limits;
        if l.max_input_bytes == 0 || l.max_output_bytes == 0 || l.time_limit_ms == 0 || l.memory_limit_mb < 4 {
            return Err("limits must be positive (memory-limit-mb at least 4)".into());
        }
        Ok(())
    }

    /// The action for a class.
    pub fn action(&self, class: Class) -> Action {
        self.classes.get(class.name()).copied().unwrap_or(Action::Sanitize)
    }

    /// The policy as TOML, the form `sekisho policy show` prints.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render policy: {e}\n"))
    }

    /// sha256 of the rendered policy, so a report names exactly what was applied.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.to_toml().as_bytes()))
    }

    /// This policy tightened by `other`: what a client's choice of profile
    /// can do to the operator's policy. Per class the stricter action
    /// (block > sanitize > allow), each limit the smaller, the stricter
    /// hyperlink mode (remove > keep-as-text > keep) and executables mode
    /// (remove > neutralize), and the more scanning `[scan]` (what scans
    /// more, `block` over `pass-if-clean`, `fail-closed` over `skip`).
    /// Plugin options stay the operator's: the host
    /// cannot rank the values a plugin declares; so do `encrypted`,
    /// `reencrypt` and the password candidates (a client chooses no
    /// decryption policy, it may only send candidates). Named
    /// `self+other`; never looser than either.
    pub fn tightened_by(&self, other: &Policy) -> Policy {
        fn rank(action: Action) -> u8 {
            match action {
                Action::Allow => 0,
                Action::Sanitize => 1,
                Action::Block => 2,
            }
        }
        fn link_rank(mode: HyperlinkMode) -> u8 {
            match mode {
                HyperlinkMode::Keep => 0,
                HyperlinkMode::KeepAsText => 1,
                HyperlinkMode::Remove => 2,
            }
        }
        let mut tightened = self.clone();
        tightened.name = format!("{}+{}", self.name, other.name);
        tightened.pii = self.pii.tightened_by(&other.pii);
        for (class, &theirs) in &other.classes {
            let mine = self.classes.get(class).copied().unwrap_or(Action::Sanitize);
            tightened.classes.insert(class.clone(), if rank(theirs) > rank(mine) { theirs } else { mine });
        }
        if link_rank(other.hyperlinks_mode) > link_rank(self.hyperlinks_mode) {
            tightened.hyperlinks_mode = other.hyperlinks_mode;
        }
        if other.executables_mode == ExecutablesMode::Remove {
            tightened.executables_mode = ExecutablesMode::Remove;
        }
        let (mine, theirs) = (self.scan, other.scan);
        tightened.scan = ScanPolicy {
            what: mine.what.max(theirs.what),
            unsupported: if theirs.unsupported == UnsupportedMode::Block {
                theirs.unsupported
            } else {
                mine.unsupported
            },
            scanner_down: if theirs.scanner_down == ScannerDown::FailClosed {
                theirs.scanner_down
            } else {
                mine.scanner_down
            },
            scan_outputs: mine.scan_outputs || theirs.scan_outputs,
            required: mine.required || theirs.required,
        };
        let (a, b) = (&self.limits, &other.limits);
        tightened.limits = Limits {
            max_input_bytes: a.max_input_bytes.min(b.max_input_bytes),
            max_output_bytes: a.max_output_bytes.min(b.max_output_bytes),
            max_depth: a.max_depth.min(b.max_depth),
            max_expanded_bytes: a.max_expanded_bytes.min(b.max_expanded_bytes),
            max_entries: a.max_entries.min(b.max_entries),
            max_expansion_ratio: a.max_expansion_ratio.min(b.max_expansion_ratio),
            time_limit_ms: a.time_limit_ms.min(b.time_limit_ms),
            memory_limit_mb: a.memory_limit_mb.min(b.memory_limit_mb),
            fuel_per_byte: a.fuel_per_byte.min(b.fuel_per_byte),
            fuel_base: a.fuel_base.min(b.fuel_base),
            fuel_for_passwords: a.fuel_for_passwords.min(b.fuel_for_passwords),
        };
        tightened
    }
}

/// A class or option name: kebab-case, at most 64 characters.
fn well_formed(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(format!("{name:?} is not a kebab-case name")) }
}

/// ` (did you mean "x"?)` when a known name is one edit or transposition
/// away, or one is a prefix of the other.
fn suggestion(name: &str, known: &[&str]) -> String {
    let close = |a: &str, b: &str| {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        if a.len().abs_diff(b.len()) > 1 {
            return false;
        }
        let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let (ra, rb) = (&a[prefix..], &b[prefix..]);
        ra.len() <= 1 && rb.len() <= 1
            || ra.get(1..) == rb.get(1..)
            || (ra.len() == 2 && rb.len() == 2 && ra[0] == rb[1] && ra[1] == rb[0])
    };
    known.iter().find(|k| close(name, k)).map_or_else(String::new, |k| format!(" (did you mean {k:?}?)"))
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let option = |name: &str, values: &[&str]| OptionDecl {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            default: values[0].into(),
            doc: String::new(),
        };
        let class = ClassDecl { name: "jtd-ole".into(), fallback: "active-objects".into(), doc: String::new() };
        Vocabulary {
            classes: [("jtd-ole".to_owned(), class)].into(),
            options: [
                ("image-mode".to_owned(), option("image-mode", &["structural", "re-encode"])),
                ("html-mode".to_owned(), option("html-mode", &["sanitize", "text"])),
            ]
            .into(),
        }
    }

    /// What a plugin declaring these classes and options receives.
    fn view(policy: &Policy, classes: &[ClassDecl], options: &[OptionDecl]) -> PolicyView {
        policy.view(classes, options, 0)
    }

    #[test]
    fn class_names_are_the_serialized_names() {
        for class in Class::ALL {
            assert_eq!(serde_json::to_value(class).unwrap(), class.name());
            assert_eq!(Class::named(class.name()), Some(class));
        }
        assert_eq!(Class::ALL.len(), 20);
        assert!(!Class::Executables.in_contract() && !Class::Malware.in_contract());
        assert_eq!(view(&Policy::default(), &[], &[]).rules.len(), 18, "host classes never reach a plugin");
    }

    #[test]
    fn scan_sections_parse_tighten_and_reject_unknown_keys() {
        let file = "[scan]\nwhat = \"kept-active\"\nunsupported = \"pass-if-clean\"\nscanner-down = \"skip\"\n";
        let loose = Policy::from_toml(file, "loose.toml").unwrap();
        assert_eq!(loose.scan.what, ScanWhat::KeptActive);
        assert_eq!(
            (loose.scan.unsupported, loose.scan.scanner_down),
            (UnsupportedMode::PassIfClean, ScannerDown::Skip)
        );
        assert!(loose.scan.required, "a written [scan] requires scans");
        assert!(loose.to_toml().contains("[scan]"));
        assert!(!Policy::default().scan.required && !Policy::default().to_toml().contains("[scan]"));
        let strict = Policy::from_toml("[scan]\nwhat = \"all\"\n", "strict.toml").unwrap();
        let both = loose.tightened_by(&strict);
        assert_eq!(both.scan.what, ScanWhat::All);
        assert_eq!((both.scan.unsupported, both.scan.scanner_down), (UnsupportedMode::Block, ScannerDown::FailClosed));
        assert_eq!(loose.tightened_by(&Policy::default()).scan.unsupported, UnsupportedMode::Block);
        let error = Policy::from_toml("[scan]\nwhta = \"all\"\n", "typo.toml").unwrap_err().to_string();
        assert!(error.contains("whta"), "{error}");
    }

    #[test]
    fn strict_sanitizes_everything() {
        let policy = Policy::default();
        assert_eq!(policy.name, "strict");
        assert_eq!(policy.action(Class::Macros), Action::Sanitize);
        assert!(Class::ALL.iter().filter(|&&c| c != Class::Malware).all(|&c| policy.action(c) == Action::Sanitize));
        assert_eq!(policy.action(Class::Malware), Action::Block, "what a scanner recognises is blocked");
        assert_eq!(policy.limits.max_depth, 5);
    }

    #[test]
    fn file_overrides_profile_classes_and_limits() {
        let policy = Policy::from_toml(
            "name = \"gw\"\nextends = \"keep-macros\"\n[classes]\ndde = \"block\"\n[limits]\nmax-depth = 2\n",
            "test",
        )
        .unwrap();
        assert_eq!(policy.name, "gw");
        assert_eq!(policy.action(Class::Macros), Action::Allow);
        assert_eq!(policy.action(Class::Dde), Action::Block);
        assert_eq!(policy.limits.max_depth, 2);
        assert_eq!(policy.limits.max_entries, Limits::default().max_entries);
    }

    #[test]
    fn options_are_what_plugins_declare() {
        let policy = Policy::from_toml("[options]\nimage-mode = \"re-encode\"\n", "t").unwrap();
        policy.check(&vocabulary()).unwrap();
        let declared = vocabulary().options;
        let images = view(&policy, &[], &[declared["image-mode"].clone()]);
        assert_eq!(images.options, [("image-mode".to_owned(), "re-encode".to_owned())]);
        let pages = view(&policy, &[], &[declared["html-mode"].clone()]);
        assert_eq!(pages.options, [("html-mode".to_owned(), "sanitize".to_owned())]);
        let shown = policy.with_defaults(&vocabulary());
        assert_eq!(shown.options["html-mode"], "sanitize");
        let lossy = Policy::from_toml("[options]\nimage-mode = \"lossy\"\n", "t").unwrap();
        assert!(lossy.check(&vocabulary()).unwrap_err().to_string().contains("structural, re-encode"));
        let typo = Policy::from_toml("[options]\nimage-mod = \"structural\"\n", "o.toml").unwrap();
        let error = typo.check(&vocabulary()).unwrap_err().to_string();
        assert!(error.contains("o.toml") && error.contains("line 2, column 1"), "{error}");
        assert!(error.contains("did you mean \"image-mode\""), "{error}");
    }

    #[test]
    fn plugin_classes_take_their_fallback_unless_named() {
        let declaring = [vocabulary().classes["jtd-ole"].clone()];
        let strict = view(&Policy::default(), &declaring, &[]);
        assert!(strict.rules.contains(&("jtd-ole".to_owned(), Action::Sanitize)));
        let fallback = Policy::from_toml("[classes]\nactive-objects = \"block\"\n", "t").unwrap();
        assert!(view(&fallback, &declaring, &[]).rules.contains(&("jtd-ole".to_owned(), Action::Block)));
        let named = Policy::from_toml("[classes]\nactive-objects = \"block\"\njtd-ole = \"allow\"\n", "t").unwrap();
        named.check(&vocabulary()).unwrap();
        assert!(view(&named, &declaring, &[]).rules.contains(&("jtd-ole".to_owned(), Action::Allow)));
    }

    #[test]
    fn errors_name_the_file_the_key_and_where() {
        let typo = Policy::from_toml("name = \"gw\"\n[limits]\nmax-dept = 1\n", "gw.toml").unwrap_err().to_string();
        assert!(typo.contains("gw.toml") && typo.contains("line 3, column 1") && typo.contains("max-dept"), "{typo}");
        let extends = Policy::from_toml("\nextends = \"strickt\"\n", "gw.toml").unwrap_err().to_string();
        assert!(extends.contains("gw.toml") && extends.contains("line 2, column 11"), "{extends}");
        assert!(extends.contains("extends = \"strickt\"") && extends.contains("keep-links"), "{extends}");
        let class = Policy::from_toml("[classes]\n\nmacro = \"allow\"\n", "c.toml").unwrap();
        let error = class.check(&vocabulary()).unwrap_err().to_string();
        assert!(error.contains("c.toml") && error.contains("line 3, column 1"), "{error}");
        assert!(error.contains("did you mean \"macros\""), "{error}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Policy::from_toml("[limits]\nmax-dept = 1\n", "t").is_err());
        assert!(Policy::from_toml("extends = \"lenient\"\n", "t").is_err());
        assert!(Policy::from_toml("[classes]\nmacros = \"maybe\"\n", "t").is_err());
        assert!(Policy::from_toml("[classes]\n\"Not Kebab\" = \"allow\"\n", "t").is_err());
        assert!(Policy::from_toml("colour = \"blue\"\n", "t").is_err());
    }

    #[test]
    fn passwords_are_tried_by_source_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("list.txt"), "from-the-list\r\n\nsecond-of-list\n").unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "encrypted = \"try-passwords\"\npassword-list = \"list.txt\"\nreencrypt = true\n")
            .unwrap();
        let policy = Policy::from_file(&path).unwrap().with_passwords([
            Password::new("from-mail", PasswordSource::Mail),
            Password::new("from-request", PasswordSource::Request),
        ]);
        let order: Vec<&str> = policy.passwords().iter().map(Password::secret).collect();
        assert_eq!(order, ["from-request", "from-the-list", "second-of-list", "from-mail"]);
        let view = view(&policy, &[], &[]);
        assert_eq!(view.passwords.len(), 4);
        assert!(view.reencrypt);
        for shown in [format!("{policy:?}"), format!("{view:?}"), policy.to_toml(), policy.sha256()] {
            assert!(!shown.contains("from-") && !shown.contains("second-of"), "{shown}");
        }
        assert_eq!(Policy::from_toml(&policy.to_toml(), "shown").unwrap().encrypted, EncryptedMode::TryPasswords);
        // `block` (the default) hands plugins no candidate.
        let block = Policy::default().with_passwords([Password::new("x", PasswordSource::Request)]);
        assert!(view_of(&block).passwords.is_empty());
        // A missing or oversized list is an error that never quotes the file.
        let missing = Policy::from_toml("password-list = \"/nonexistent/list\"\n", "t").unwrap_err().to_string();
        assert!(missing.contains("password-list"), "{missing}");
        let huge = dir.path().join("huge.txt");
        std::fs::write(&huge, "secret-line\n".repeat((MAX_PASSWORD_FILE_BYTES as usize / 12) + 1)).unwrap();
        let error = read_password_file(&huge, PasswordSource::List).unwrap_err().to_string();
        assert!(error.contains("at most") && !error.contains("secret-line"), "{error}");
        assert!(Policy::from_toml("encrypted = \"maybe\"\n", "t").is_err());
    }

    fn view_of(policy: &Policy) -> PolicyView {
        policy.view(&[], &[], 0)
    }

    #[test]
    fn shown_policy_parses_back_to_itself() {
        let policy = Policy::profile("keep-links").unwrap();
        let reparsed = Policy::from_toml(&policy.to_toml(), "shown").unwrap();
        assert_eq!(reparsed, policy);
    }

    #[test]
    fn a_profile_only_tightens_the_operator_policy() {
        let operator = Policy::from_toml(
            "name = \"lgwan\"\nextends = \"strict\"\nhyperlinks-mode = \"remove\"\n\
             [classes]\ndde = \"block\"\n[limits]\nmax-input-bytes = 1048576\nmax-depth = 2\n\
             [options]\nhtml-mode = \"text\"\n",
            "t",
        )
        .unwrap();
        for profile in Profile::NAMES {
            let effective = operator.tightened_by(&Policy::profile(profile).unwrap());
            assert_eq!(effective.name, format!("lgwan+{profile}"));
            // Nothing the profile allows is allowed when the operator says otherwise.
            assert!(Class::ALL.iter().all(|&c| effective.action(c) != Action::Allow), "{profile}");
            assert_eq!(effective.action(Class::Dde), Action::Block);
            assert_eq!(effective.hyperlinks_mode, HyperlinkMode::Remove);
            assert_eq!(effective.limits.max_input_bytes, 1 << 20);
            assert_eq!(effective.limits.max_depth, 2);
            assert_eq!(effective.options["html-mode"], "text", "options stay the operator's");
        }
    }

    #[test]
    fn tightening_takes_the_stricter_of_each_setting() {
        let mut loose = Policy::profile("keep-links").unwrap();
        loose.classes.insert(Class::Macros.name().into(), Action::Allow);
        loose.executables_mode = ExecutablesMode::Neutralize;
        let mut tight = Policy::default();
        tight.classes.insert(Class::Scripts.name().into(), Action::Block);
        tight.limits.time_limit_ms = 5;
        tight.limits.fuel_base = 7;
        loose.limits.max_entries = 3;
        for effective in [loose.tightened_by(&tight), tight.tightened_by(&loose)] {
            assert_eq!(effective.action(Class::Macros), Action::Sanitize);
            assert_eq!(effective.action(Class::Hyperlinks), Action::Sanitize);
            assert_eq!(effective.action(Class::Comments), Action::Sanitize);
            assert_eq!(effective.action(Class::Scripts), Action::Block);
            assert_eq!(effective.hyperlinks_mode, HyperlinkMode::KeepAsText);
            assert_eq!((effective.limits.time_limit_ms, effective.limits.fuel_base), (5, 7));
            assert_eq!(effective.limits.max_entries, 3);
            assert_eq!(effective.executables_mode, ExecutablesMode::Remove);
        }
        // Tightening by itself changes nothing but the name; the hash follows the content.
        let same = tight.tightened_by(&tight);
        assert_eq!(same.name, "strict+strict");
        assert_eq!(Policy { name: tight.name.clone(), ..same.clone() }, tight);
        assert_eq!(same.tightened_by(&loose).action(Class::Macros), Action::Sanitize);
        assert_ne!(same.sha256(), loose.tightened_by(&tight).sha256());
    }
}
