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

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sandbox::wit;

/// Declares the content classes once: the enum, its kebab-case names (the
/// same as serde's), the full list, and the conversions to and from the
/// contract's `content-class`.
macro_rules! content_classes {
    ($($variant:ident => $name:literal,)*) => {
        /// The content classes of DESIGN.md, shared by every format.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(test, derive(schemars::JsonSchema))]
        #[serde(rename_all = "kebab-case")]
        pub enum Class {
            $($variant,)*
        }

        impl Class {
            /// Every class, in contract order.
            pub const ALL: [Class; [$(Class::$variant),*].len()] = [$(Class::$variant),*];

            /// The kebab-case name used in policies and reports.
            pub fn name(self) -> &'static str {
                match self {
                    $(Class::$variant => $name,)*
                }
            }
        }

        impl From<Class> for wit::ContentClass {
            fn from(class: Class) -> Self {
                match class {
                    $(Class::$variant => wit::ContentClass::$variant,)*
                }
            }
        }

        impl From<wit::ContentClass> for Class {
            fn from(class: wit::ContentClass) -> Self {
                match class {
                    $(wit::ContentClass::$variant => Class::$variant,)*
                }
            }
        }
    };
}

content_classes! {
    Macros => "macros",
    Scripts => "scripts",
    AutoActions => "auto-actions",
    ExternalActions => "external-actions",
    EmbeddedFiles => "embedded-files",
    ActiveObjects => "active-objects",
    ExternalLinks => "external-links",
    Hyperlinks => "hyperlinks",
    Dde => "dde",
    DataConnections => "data-connections",
    Forms => "forms",
    Multimedia => "multimedia",
    Metadata => "metadata",
    Comments => "comments",
    Revisions => "revisions",
    UnknownParts => "unknown-parts",
    MalformedStructure => "malformed-structure",
    Encryption => "encryption",
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the policy does with a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HyperlinkMode {
    Keep,
    Remove,
    KeepAsText,
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
}

/// An effective policy: one action per class, the hyperlink mode and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy {
    pub name: String,
    pub classes: BTreeMap<Class, Action>,
    pub hyperlinks_mode: HyperlinkMode,
    pub limits: Limits,
    pub options: FormatOptions,
}

/// Format choices that are not per-class actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FormatOptions {
    pub image_mode: ImageMode,
    pub html_mode: HtmlMode,
}

/// How images are rebuilt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageMode {
    /// Copy the coded image data, drop everything else: fast.
    #[default]
    Structural,
    /// Decode the pixels and encode a new file: defeats decoder exploits.
    ReEncode,
}

/// What HTML becomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HtmlMode {
    /// Allowlisted HTML.
    #[default]
    Sanitize,
    /// Plain text, links as text (what mail gateways often want).
    Text,
}

impl FormatOptions {
    /// The options as the contract carries them, with the TOML names.
    fn to_wit(self) -> Vec<(String, String)> {
        let image_mode = match self.image_mode {
            ImageMode::Structural => "structural",
            ImageMode::ReEncode => "re-encode",
        };
        let html_mode = match self.html_mode {
            HtmlMode::Sanitize => "sanitize",
            HtmlMode::Text => "text",
        };
        vec![("image-mode".into(), image_mode.into()), ("html-mode".into(), html_mode.into())]
    }
}

/// A policy file as written: everything optional, on top of a profile.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PolicyFile {
    name: Option<String>,
    extends: Option<toml::Spanned<String>>,
    hyperlinks_mode: Option<HyperlinkMode>,
    #[serde(default)]
    classes: BTreeMap<Class, Action>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    options: OptionsFile,
}

/// `[options]` as a policy file writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct OptionsFile {
    image_mode: Option<ImageMode>,
    html_mode: Option<HtmlMode>,
}

/// Errors reading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("unknown profile {0:?} (known: {known})", known = Profile::NAMES.join(", "))]
    UnknownProfile(String),
    #[error("cannot read policy file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid policy {path}: {message}")]
    Invalid { path: String, message: String },
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
}

impl Profile {
    pub const NAMES: [&'static str; 3] = ["strict", "keep-links", "keep-macros"];

    pub fn policy(self) -> Policy {
        let mut classes: BTreeMap<Class, Action> = Class::ALL.iter().map(|&c| (c, Action::Sanitize)).collect();
        let mut hyperlinks_mode = HyperlinkMode::KeepAsText;
        let name = match self {
            Profile::Strict => "strict",
            Profile::KeepLinks => {
                classes.insert(Class::Hyperlinks, Action::Allow);
                classes.insert(Class::Comments, Action::Allow);
                hyperlinks_mode = HyperlinkMode::Keep;
                "keep-links"
            }
            Profile::KeepMacros => {
                classes.insert(Class::Macros, Action::Allow);
                "keep-macros"
            }
        };
        Policy {
            name: name.into(),
            classes,
            hyperlinks_mode,
            limits: Limits::default(),
            options: FormatOptions::default(),
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
        policy.classes.extend(file.classes);
        if let Some(mode) = file.hyperlinks_mode {
            policy.hyperlinks_mode = mode;
        }
        file.limits.apply(&mut policy.limits);
        if let Some(mode) = file.options.image_mode {
            policy.options.image_mode = mode;
        }
        if let Some(mode) = file.options.html_mode {
            policy.options.html_mode = mode;
        }
        policy.validate().map_err(invalid)?;
        Ok(policy)
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
        self.classes.get(&class).copied().unwrap_or(Action::Sanitize)
    }

    /// The policy as TOML, the form `sekisho policy show` prints.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render policy: {e}\n"))
    }

    /// sha256 of the rendered policy, so a report names exactly what was applied.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.to_toml().as_bytes()))
    }

    /// The policy as the plugin contract carries it, with the expansion budget
    /// that is left for this file.
    pub fn to_wit(&self, expanded_bytes_left: u64) -> wit::Policy {
        wit::Policy {
            name: self.name.clone(),
            rules: Class::ALL
                .iter()
                .map(|&class| wit::ClassRule { class: class.into(), action: self.action(class).into() })
                .collect(),
            hyperlink_mode: match self.hyperlinks_mode {
                HyperlinkMode::Keep => wit::HyperlinkMode::Keep,
                HyperlinkMode::Remove => wit::HyperlinkMode::Remove,
                HyperlinkMode::KeepAsText => wit::HyperlinkMode::KeepAsText,
            },
            limits: wit::Limits {
                max_expanded_bytes: expanded_bytes_left,
                max_entries: self.limits.max_entries,
                max_expansion_ratio: self.limits.max_expansion_ratio,
            },
            options: self.options.to_wit(),
        }
    }

    /// This policy tightened by `other`: what a client's choice of profile
    /// can do to the operator's policy. Per class the stricter action
    /// (block > sanitize > allow), each limit the smaller, the stricter
    /// hyperlink mode (remove > keep-as-text > keep) and format options
    /// (re-encoding images, HTML as text). Named `self+other`; never looser
    /// than either.
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
        let classes = self
            .classes
            .keys()
            .chain(other.classes.keys())
            .map(|&class| {
                let (mine, theirs) = (self.action(class), other.action(class));
                (class, if rank(theirs) > rank(mine) { theirs } else { mine })
            })
            .collect();
        let hyperlinks_mode = if link_rank(other.hyperlinks_mode) > link_rank(self.hyperlinks_mode) {
            other.hyperlinks_mode
        } else {
            self.hyperlinks_mode
        };
        let (a, b) = (&self.limits, &other.limits);
        let limits = Limits {
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
        };
        let options = FormatOptions {
            image_mode: match (self.options.image_mode, other.options.image_mode) {
                (ImageMode::ReEncode, _) | (_, ImageMode::ReEncode) => ImageMode::ReEncode,
                _ => ImageMode::Structural,
            },
            html_mode: match (self.options.html_mode, other.options.html_mode) {
                (HtmlMode::Text, _) | (_, HtmlMode::Text) => HtmlMode::Text,
                _ => HtmlMode::Sanitize,
            },
        };
        Policy { name: format!("{}+{}", self.name, other.name), classes, hyperlinks_mode, limits, options }
    }
}

impl From<Action> for wit::Action {
    fn from(action: Action) -> Self {
        match action {
            Action::Allow => wit::Action::Allow,
            Action::Sanitize => wit::Action::Sanitize,
            Action::Block => wit::Action::Block,
        }
    }
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

    #[test]
    fn class_names_are_the_serialized_names() {
        for class in Class::ALL {
            assert_eq!(serde_json::to_value(class).unwrap(), class.name());
        }
        assert_eq!(Class::ALL.len(), 18);
    }

    #[test]
    fn strict_sanitizes_everything() {
        let policy = Policy::default();
        assert_eq!(policy.name, "strict");
        assert_eq!(policy.action(Class::Macros), Action::Sanitize);
        assert!(Class::ALL.iter().all(|&c| policy.action(c) == Action::Sanitize));
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
    fn format_options_parse_and_reach_the_contract() {
        let policy = Policy::from_toml("[options]\nimage-mode = \"re-encode\"\n", "t").unwrap();
        assert_eq!(policy.options.image_mode, ImageMode::ReEncode);
        assert_eq!(policy.options.html_mode, HtmlMode::Sanitize);
        let wit = policy.to_wit(1);
        assert!(wit.options.contains(&("image-mode".to_owned(), "re-encode".to_owned())));
        assert!(Policy::from_toml("[options]\nimage-mode = \"lossy\"\n", "t").is_err());
        assert!(Policy::from_toml("[options]\nimage-mod = \"structural\"\n", "t").is_err());
    }

    #[test]
    fn errors_name_the_file_the_key_and_where() {
        let typo = Policy::from_toml("name = \"gw\"\n[limits]\nmax-dept = 1\n", "gw.toml").unwrap_err().to_string();
        assert!(typo.contains("gw.toml") && typo.contains("line 3, column 1") && typo.contains("max-dept"), "{typo}");
        let extends = Policy::from_toml("\nextends = \"strickt\"\n", "gw.toml").unwrap_err().to_string();
        assert!(extends.contains("gw.toml") && extends.contains("line 2, column 11"), "{extends}");
        assert!(extends.contains("extends = \"strickt\"") && extends.contains("keep-links"), "{extends}");
        let option = Policy::from_toml("[options]\nimage-mod = \"x\"\n", "o.toml").unwrap_err().to_string();
        assert!(option.contains("line 2") && option.contains("image-mod"), "{option}");
    }

    #[test]
    fn unknown_keys_and_classes_are_errors() {
        assert!(Policy::from_toml("[classes]\nmacro = \"allow\"\n", "t").is_err());
        assert!(Policy::from_toml("[limits]\nmax-dept = 1\n", "t").is_err());
        assert!(Policy::from_toml("extends = \"lenient\"\n", "t").is_err());
        assert!(Policy::from_toml("[classes]\nmacros = \"maybe\"\n", "t").is_err());
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
            assert_eq!(effective.options.html_mode, HtmlMode::Text);
        }
    }

    #[test]
    fn tightening_takes_the_stricter_of_each_setting() {
        let mut loose = Policy::profile("keep-links").unwrap();
        loose.classes.insert(Class::Macros, Action::Allow);
        let mut tight = Policy::default();
        tight.classes.insert(Class::Scripts, Action::Block);
        tight.limits.time_limit_ms = 5;
        tight.limits.fuel_base = 7;
        tight.options.image_mode = ImageMode::ReEncode;
        loose.limits.max_entries = 3;
        for effective in [loose.tightened_by(&tight), tight.tightened_by(&loose)] {
            assert_eq!(effective.action(Class::Macros), Action::Sanitize);
            assert_eq!(effective.action(Class::Hyperlinks), Action::Sanitize);
            assert_eq!(effective.action(Class::Comments), Action::Sanitize);
            assert_eq!(effective.action(Class::Scripts), Action::Block);
            assert_eq!(effective.hyperlinks_mode, HyperlinkMode::KeepAsText);
            assert_eq!((effective.limits.time_limit_ms, effective.limits.fuel_base), (5, 7));
            assert_eq!(effective.limits.max_entries, 3);
            assert_eq!(effective.options.image_mode, ImageMode::ReEncode);
            assert_eq!(effective.options.html_mode, HtmlMode::Sanitize);
        }
        // Tightening by itself changes nothing but the name; the hash follows the content.
        let same = tight.tightened_by(&tight);
        assert_eq!(same.name, "strict+strict");
        assert_eq!(Policy { name: tight.name.clone(), ..same.clone() }, tight);
        assert_ne!(same.sha256(), loose.tightened_by(&tight).sha256());
    }
}
