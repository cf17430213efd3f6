//! Guest-side helpers for Sekisho sanitizer plugins.
//!
//! First-party and vendor plugins use this crate the same way: the format
//! logic is a plain Rust library that works on `Read + Seek` input, `Write`
//! output, a [`Policy`] and an [`Embedder`], so it can be tested and
//! benchmarked natively. [`export_library!`] generates the thin adapter
//! (a [`Guest`] implementation that calls [`run`], exported with
//! [`export_plugin!`]):
//!
//! ```ignore
//! sekisho_plugin_sdk::export_library!(
//!     describe: crate::describe,
//!     sanitize: |format, reader, writer, policy, host| crate::sanitize(format, reader, writer, policy, host)
//! );
//! ```

#[cfg(feature = "charset")]
pub mod charset;
mod contract;
pub mod css;
mod decide;
mod embed;
mod fields;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod io;
#[cfg(feature = "office-crypto")]
pub mod office_crypto;
#[cfg(feature = "package")]
pub mod package;
pub mod passwords;
pub mod pictures;
mod types;
pub mod url;
#[cfg(feature = "vba")]
pub mod vba;
#[cfg(feature = "xml")]
pub mod xml;

/// Bindings generated from the contract this SDK builds plugins against
/// (`wit/sekisho-plugin@0.3.0`). Plugins use the SDK's own types; the
/// adapter converts.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../../wit/sekisho-plugin@0.3.0",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "sekisho_plugin_sdk::bindings",
        additional_derives: [PartialEq],
    });
}

pub use bindings::sekisho::plugin::host::{Input, Output};
pub use bindings::{Guest, export_plugin};
pub use decide::{Decision, Findings};
pub use embed::{CollectActive, CollectText, Embedded, Embedder, Host, HostEmbedder, RefuseAll};
pub use fields::field_class;
pub use io::{InputReader, OutputWriter, read_all};
pub use types::{
    ALL_CLASSES, Action, ClassDeclaration, ClassRule, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt,
    EmbeddedRefusal, Failure, FailureKind, Finding, Format, Hint, HyperlinkMode, Limits, LogLevel, Magic,
    OptionDeclaration, Password, PasswordSource, PluginInfo, Policy, Rebuilt,
};

/// The contract version this SDK builds plugins against.
pub const CONTRACT_VERSION: &str = "0.3.0";

impl Policy {
    /// The action for `class`; a class missing from the rules is sanitized
    /// (the host always sends every class, this only guards hand-made policies).
    pub fn action(&self, class: ContentClass) -> Action {
        if let ContentClass::Declared(name) = class {
            return self.declared.iter().find(|(n, _)| n == name).map_or(Action::Sanitize, |(_, action)| *action);
        }
        self.rules.iter().find(|rule| rule.class == class).map_or(Action::Sanitize, |rule| rule.action)
    }

    /// True when hyperlinks are sanitized in `keep` mode: they stay, unrecorded
    /// (`allow` keeps them too, but records each one).
    pub fn keeps_links(&self) -> bool {
        self.action(ContentClass::Hyperlinks) == Action::Sanitize && self.hyperlink_mode == HyperlinkMode::Keep
    }

    /// The value of a format option (`image-mode`, `html-mode`), if the host sent it.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Returns the policy with one format option set, for native tests.
    pub fn with_option(mut self, key: &str, value: &str) -> Policy {
        self.options.retain(|(k, _)| k != key);
        self.options.push((key.into(), value.into()));
        self
    }

    /// A policy with every class set to `action`, for native tests.
    pub fn uniform(action: Action) -> Policy {
        Policy {
            name: format!("uniform-{action:?}").to_lowercase(),
            rules: ALL_CLASSES.iter().map(|&class| ClassRule { class, action }).collect(),
            declared: Vec::new(),
            hyperlink_mode: HyperlinkMode::Keep,
            limits: Limits { max_expanded_bytes: 1 << 30, max_entries: 10_000, max_expansion_ratio: 200 },
            options: Vec::new(),
            passwords: Vec::new(),
            reencrypt: false,
            collect_text: true,
            inspect_active: false,
        }
    }

    /// Returns the policy with one password candidate added after the
    /// others, for native tests.
    pub fn with_password(mut self, secret: &str, source: PasswordSource) -> Policy {
        self.passwords.push(Password { secret: secret.into(), source });
        self
    }

    /// Returns the policy with one class changed, for native tests.
    pub fn with(mut self, class: ContentClass, action: Action) -> Policy {
        if let ContentClass::Declared(name) = class {
            self.declared.retain(|(n, _)| n != name);
            self.declared.push((name.to_owned(), action));
            return self;
        }
        self.rules.retain(|rule| rule.class != class);
        self.rules.push(ClassRule { class, action });
        self
    }
}

impl Failure {
    fn of(kind: FailureKind, detail: impl Into<String>) -> Failure {
        Failure { kind, detail: detail.into(), findings: Vec::new() }
    }
    /// The input is not a valid file of its format.
    pub fn invalid(detail: impl Into<String>) -> Failure {
        Failure::of(FailureKind::InvalidStructure, detail)
    }
    /// The input is encrypted.
    pub fn encrypted(detail: impl Into<String>) -> Failure {
        Failure::of(FailureKind::Encrypted, detail)
    }
    /// The input is larger than the plugin accepts.
    pub fn too_large(detail: impl Into<String>) -> Failure {
        Failure::of(FailureKind::TooLarge, detail)
    }
    /// A policy limit was hit.
    pub fn limit(detail: impl Into<String>) -> Failure {
        Failure::of(FailureKind::LimitExceeded, detail)
    }
    /// The plugin does not handle this variant of the format.
    pub fn unsupported(detail: impl Into<String>) -> Failure {
        Failure::of(FailureKind::Unsupported, detail)
    }
    /// Attaches what was found so far, for the report.
    pub fn with_findings(mut self, findings: Findings) -> Failure {
        self.findings = findings.into_vec();
        self
    }
}

/// Writes a diagnostic line to the host's log. A no-op in native builds.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::sekisho::plugin::host::log(level.into(), message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// Runs a plugin's library function against the host's input and output
/// resources: wraps them in `Read + Seek` / `Write` adapters, flushes the
/// output and turns an output error (the host's size limit) into a failure.
///
/// The [`HostEmbedder`] follows the policy: when the host keeps no text
/// (`collect_text`) or scans no active part (`inspect_active`) it drops them
/// without a host call ([`Host::wants_text`] and [`Host::wants_active`] let
/// a plugin skip extracting them).
pub fn run<F>(input: &Input, output: &Output, policy: &Policy, sanitize: F) -> Result<Rebuilt, Failure>
where
    F: FnOnce(&mut InputReader<'_>, &mut OutputWriter<'_>, &mut HostEmbedder) -> Result<Rebuilt, Failure>,
{
    let mut reader = InputReader::new(input);
    let mut writer = OutputWriter::new(output);
    let mut host = HostEmbedder::new(policy.collect_text, policy.inspect_active);
    let rebuilt = sanitize(&mut reader, &mut writer, &mut host)?;
    std::io::Write::flush(&mut writer).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(rebuilt)
}

/// Exports a plugin whose logic is a plain library: generates the thin
/// adapter (the [`Guest`] implementation, compiled for wasm only) that calls
/// `describe` and the given sanitize expression through [`run`].
///
/// ```ignore
/// sekisho_plugin_sdk::export_library!(
///     describe: crate::describe,
///     sanitize: |format, reader, writer, policy, host| crate::sanitize(format, reader, writer, policy, host)
/// );
/// ```
#[macro_export]
macro_rules! export_library {
    (describe: $describe:path, sanitize: |$format:ident, $reader:ident, $writer:ident, $policy:ident, $host:ident| $body:expr $(,)?) => {
        #[cfg(target_arch = "wasm32")]
        mod sekisho_adapter {
            struct Adapter;

            use $crate::bindings::sekisho::plugin::types as contract;

            impl $crate::Guest for Adapter {
                fn describe() -> contract::PluginInfo {
                    $describe().into()
                }

                fn sanitize(
                    format: String,
                    input: &$crate::Input,
                    output: &$crate::Output,
                    policy: contract::Policy,
                ) -> Result<contract::Rebuilt, contract::Failure> {
                    let policy: $crate::Policy = policy.into();
                    let ($format, $policy) = (format.as_str(), &policy);
                    $crate::run(input, output, &policy, |$reader, $writer, $host| $body)
                        .map(Into::into)
                        .map_err(Into::into)
                }
            }

            $crate::export_plugin!(Adapter);
        }
    };
}
