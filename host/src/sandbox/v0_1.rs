//! Contract `sekisho:plugin@0.1.0` (frozen): its bindings, the host
//! functions it imports, and conversions into the host's own types.
//! Content classes were an enum in 0.1; a class a 0.1 plugin cannot name
//! never reaches it.

use wasmtime::component::Resource;

use super::{InputHandle, OutputHandle, StoreData};
use crate::contract;

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit/sekisho-plugin@0.1.0",
    with: {
        "sekisho:plugin/host.input": crate::sandbox::InputHandle,
        "sekisho:plugin/host.output": crate::sandbox::OutputHandle,
    },
});

use self::sekisho::plugin::host as imports;
use self::sekisho::plugin::types as wit;

/// The version string in this contract's import names.
pub const VERSION: &str = "0.1.0";

/// The 0.1 names of the classes, in contract order.
const CLASSES: [(wit::ContentClass, &str); 18] = [
    (wit::ContentClass::Macros, "macros"),
    (wit::ContentClass::Scripts, "scripts"),
    (wit::ContentClass::AutoActions, "auto-actions"),
    (wit::ContentClass::ExternalActions, "external-actions"),
    (wit::ContentClass::EmbeddedFiles, "embedded-files"),
    (wit::ContentClass::ActiveObjects, "active-objects"),
    (wit::ContentClass::ExternalLinks, "external-links"),
    (wit::ContentClass::Hyperlinks, "hyperlinks"),
    (wit::ContentClass::Dde, "dde"),
    (wit::ContentClass::DataConnections, "data-connections"),
    (wit::ContentClass::Forms, "forms"),
    (wit::ContentClass::Multimedia, "multimedia"),
    (wit::ContentClass::Metadata, "metadata"),
    (wit::ContentClass::Comments, "comments"),
    (wit::ContentClass::Revisions, "revisions"),
    (wit::ContentClass::UnknownParts, "unknown-parts"),
    (wit::ContentClass::MalformedStructure, "malformed-structure"),
    (wit::ContentClass::Encryption, "encryption"),
];

fn class_name(class: wit::ContentClass) -> String {
    CLASSES.iter().find(|(c, _)| *c == class).map_or("unknown-parts", |(_, name)| name).to_owned()
}

fn class_of(name: &str) -> Option<wit::ContentClass> {
    CLASSES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

/// The policy as a 0.1 plugin reads it: classes it can name, all options.
pub fn policy(view: &contract::PolicyView) -> wit::Policy {
    wit::Policy {
        name: view.name.clone(),
        rules: view
            .rules
            .iter()
            .filter_map(|(name, action)| Some(wit::ClassRule { class: class_of(name)?, action: action_of(*action) }))
            .collect(),
        hyperlink_mode: match view.hyperlink_mode {
            contract::HyperlinkMode::Keep => wit::HyperlinkMode::Keep,
            contract::HyperlinkMode::Remove => wit::HyperlinkMode::Remove,
            contract::HyperlinkMode::KeepAsText => wit::HyperlinkMode::KeepAsText,
        },
        limits: wit::Limits {
            max_expanded_bytes: view.max_expanded_bytes,
            max_entries: view.max_entries,
            max_expansion_ratio: view.max_expansion_ratio,
        },
        options: view.options.clone(),
    }
}

fn action_of(action: contract::Action) -> wit::Action {
    match action {
        contract::Action::Allow => wit::Action::Allow,
        contract::Action::Sanitize => wit::Action::Sanitize,
        contract::Action::Block => wit::Action::Block,
    }
}

impl From<wit::PluginInfo> for contract::PluginInfo {
    fn from(info: wit::PluginInfo) -> Self {
        let classes: Vec<String> = info.classes.iter().map(|&c| class_name(c)).collect();
        contract::PluginInfo {
            name: info.name,
            version: info.version,
            formats: info
                .formats
                .into_iter()
                .map(|f| contract::FormatDecl {
                    description: f.id.clone(),
                    id: f.id,
                    media_types: f.media_types,
                    extensions: f.extensions,
                    signatures: f
                        .magic
                        .into_iter()
                        .map(|m| contract::Signature::Magic { offset: u64::from(m.offset), bytes: m.bytes })
                        .collect(),
                    classes: classes.clone(),
                })
                .collect(),
            classes: Vec::new(),
            options: Vec::new(),
        }
    }
}

fn finding(f: wit::Finding) -> contract::Finding {
    contract::Finding {
        class: class_name(f.class),
        disposition: match f.disposition {
            wit::Disposition::Kept => contract::Disposition::Kept,
            wit::Disposition::Removed => contract::Disposition::Removed,
            wit::Disposition::Neutralized => contract::Disposition::Neutralized,
            wit::Disposition::Blocked => contract::Disposition::Blocked,
        },
        location: f.location,
        detail: f.detail,
        count: f.count,
    }
}

/// A 0.1 plugin's answer in the host's types.
pub fn answer(result: Result<wit::Rebuilt, wit::Failure>) -> Result<contract::Rebuilt, contract::Failure> {
    match result {
        Ok(r) => Ok(contract::Rebuilt { format: r.format, findings: r.findings.into_iter().map(finding).collect() }),
        Err(f) => Err(contract::Failure {
            kind: match f.kind {
                wit::FailureKind::InvalidStructure => contract::FailureKind::InvalidStructure,
                wit::FailureKind::Encrypted => contract::FailureKind::Encrypted,
                wit::FailureKind::TooLarge => contract::FailureKind::TooLarge,
                wit::FailureKind::LimitExceeded => contract::FailureKind::LimitExceeded,
                wit::FailureKind::Blocked(class) => contract::FailureKind::Blocked(class_name(class)),
                wit::FailureKind::Unsupported => contract::FailureKind::Unsupported,
            },
            detail: f.detail,
            findings: f.findings.into_iter().map(finding).collect(),
        }),
    }
}

/// The host's answer to `sanitize-embedded` in 0.1 types.
pub fn embedded(
    answer: Result<contract::EmbeddedRebuilt, contract::EmbeddedRefusal>,
) -> Result<wit::EmbeddedRebuilt, wit::EmbeddedRefusal> {
    match answer {
        Ok(r) => Ok(wit::EmbeddedRebuilt {
            outcome: match r.outcome {
                contract::EmbeddedOutcome::Clean => wit::EmbeddedOutcome::Clean,
                contract::EmbeddedOutcome::Sanitized => wit::EmbeddedOutcome::Sanitized,
            },
            format: r.format,
            extension: r.extension,
            data: r.data,
        }),
        Err(contract::EmbeddedRefusal::Unsupported(s)) => Err(wit::EmbeddedRefusal::Unsupported(s)),
        Err(contract::EmbeddedRefusal::Blocked(s)) => Err(wit::EmbeddedRefusal::Blocked(s)),
        Err(contract::EmbeddedRefusal::Failed(s)) => Err(wit::EmbeddedRefusal::Failed(s)),
        Err(contract::EmbeddedRefusal::LimitExceeded(s)) => Err(wit::EmbeddedRefusal::LimitExceeded(s)),
    }
}

impl wit::Host for StoreData {}

impl imports::Host for StoreData {
    /// Never called: the sandbox defines this import with access to the
    /// store's fuel (`charge_children_to_the_tree`).
    fn sanitize_embedded(
        &mut self,
        _name: String,
        _data: Vec<u8>,
    ) -> Result<wit::EmbeddedRebuilt, wit::EmbeddedRefusal> {
        Err(wit::EmbeddedRefusal::Failed("embedded documents go through the fuel-charging import".into()))
    }

    fn log(&mut self, level: wit::LogLevel, message: String) {
        let level = match level {
            wit::LogLevel::Trace => tracing::Level::TRACE,
            wit::LogLevel::Debug => tracing::Level::DEBUG,
            wit::LogLevel::Info => tracing::Level::INFO,
            wit::LogLevel::Warn => tracing::Level::WARN,
            wit::LogLevel::Error => tracing::Level::ERROR,
        };
        self.plugin_log(level, &message);
    }
}

impl imports::HostInput for StoreData {
    fn size(&mut self, _input: Resource<InputHandle>) -> u64 {
        self.input_size()
    }

    fn read(&mut self, _input: Resource<InputHandle>, offset: u64, len: u32) -> Vec<u8> {
        self.input_read(offset, len)
    }

    fn drop(&mut self, input: Resource<InputHandle>) -> wasmtime::Result<()> {
        self.drop_resource(input)
    }
}

impl imports::HostOutput for StoreData {
    fn write(&mut self, _output: Resource<OutputHandle>, bytes: Vec<u8>) -> Result<(), String> {
        self.output_write(bytes)
    }

    fn drop(&mut self, output: Resource<OutputHandle>) -> wasmtime::Result<()> {
        self.drop_resource(output)
    }
}
