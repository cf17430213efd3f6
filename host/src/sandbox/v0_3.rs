//! Contract `sekisho:plugin@0.3.0` (the latest): its bindings, the host
//! functions it imports (the text channel and expansion accounting among
//! them), and conversions into the host's own types. The policy carries
//! password candidates, `reencrypt` and `collect-text`.

use wasmtime::component::Resource;

use super::{InputHandle, OutputHandle, StoreData};
use crate::contract;

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit/sekisho-plugin@0.3.0",
    with: {
        "sekisho:plugin/host.input": crate::sandbox::InputHandle,
        "sekisho:plugin/host.output": crate::sandbox::OutputHandle,
    },
});

use self::sekisho::plugin::host as imports;
use self::sekisho::plugin::types as wit;

/// The version string in this contract's import names.
pub const VERSION: &str = "0.3.0";

/// The policy as a 0.3 plugin reads it.
pub fn policy(view: &contract::PolicyView) -> wit::Policy {
    wit::Policy {
        name: view.name.clone(),
        rules: view
            .rules
            .iter()
            .map(|(class, action)| wit::ClassRule {
                class: class.clone(),
                action: match action {
                    contract::Action::Allow => wit::Action::Allow,
                    contract::Action::Sanitize => wit::Action::Sanitize,
                    contract::Action::Block => wit::Action::Block,
                },
            })
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
        passwords: view
            .passwords
            .as_slice()
            .iter()
            .map(|p| wit::Password {
                secret: p.secret().to_owned(),
                source: match p.source() {
                    contract::PasswordSource::Request => wit::PasswordSource::Request,
                    contract::PasswordSource::List => wit::PasswordSource::List,
                    contract::PasswordSource::Mail => wit::PasswordSource::Mail,
                },
            })
            .collect(),
        reencrypt: view.reencrypt,
        collect_text: view.collect_text,
        inspect_active: view.inspect_active,
    }
}

impl From<wit::PluginInfo> for contract::PluginInfo {
    fn from(info: wit::PluginInfo) -> Self {
        contract::PluginInfo {
            name: info.name,
            version: info.version,
            formats: info
                .formats
                .into_iter()
                .map(|f| contract::FormatDecl {
                    id: f.id,
                    description: f.description,
                    media_types: f.media_types,
                    extensions: f.extensions,
                    signatures: f
                        .signatures
                        .into_iter()
                        .map(|s| match s {
                            wit::Signature::Magic(m) => {
                                contract::Signature::Magic { offset: u64::from(m.offset), bytes: m.bytes }
                            }
                            wit::Signature::ZipMember(name) => contract::Signature::ZipMember(name),
                            wit::Signature::XmlRoot(root) => {
                                contract::Signature::XmlRoot { namespace: root.namespace, local_name: root.local_name }
                            }
                        })
                        .collect(),
                    classes: f.classes,
                })
                .collect(),
            classes: info
                .classes
                .into_iter()
                .map(|c| contract::ClassDecl { name: c.name, fallback: c.fallback, doc: c.doc })
                .collect(),
            options: info
                .options
                .into_iter()
                .map(|o| contract::OptionDecl { name: o.name, values: o.values, default: o.default, doc: o.doc })
                .collect(),
        }
    }
}

fn finding(f: wit::Finding) -> contract::Finding {
    contract::Finding {
        class: f.class,
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

/// A 0.3 plugin's answer in the host's types.
pub fn answer(result: Result<wit::Rebuilt, wit::Failure>) -> Result<contract::Rebuilt, contract::Failure> {
    match result {
        Ok(r) => Ok(contract::Rebuilt { format: r.format, findings: r.findings.into_iter().map(finding).collect() }),
        Err(f) => Err(contract::Failure {
            kind: match f.kind {
                wit::FailureKind::InvalidStructure => contract::FailureKind::InvalidStructure,
                wit::FailureKind::Encrypted => contract::FailureKind::Encrypted,
                wit::FailureKind::TooLarge => contract::FailureKind::TooLarge,
                wit::FailureKind::LimitExceeded => contract::FailureKind::LimitExceeded,
                wit::FailureKind::Blocked(class) => contract::FailureKind::Blocked(class),
                wit::FailureKind::Unsupported => contract::FailureKind::Unsupported,
            },
            detail: f.detail,
            findings: f.findings.into_iter().map(finding).collect(),
        }),
    }
}

/// The host's answer to `sanitize-embedded` in 0.3 types.
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
            media_type: r.media_type,
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

    fn emit_text(&mut self, location: String, text: String) {
        self.emit_text(location, text);
    }

    fn inspect_active(&mut self, class: String, kept: bool, location: String, content: Vec<u8>) {
        self.inspect_active(class, kept, location, content);
    }

    fn charge_expansion(&mut self, bytes: u64) -> Result<(), String> {
        self.charge_expansion(bytes)
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
