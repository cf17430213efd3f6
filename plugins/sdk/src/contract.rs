//! The adapter's conversions between the SDK's types and the contract's
//! (`sekisho:plugin@0.3.0`): the one place that knows the contract's shapes.

use crate::bindings::sekisho::plugin::types as wit;
use crate::types::*;

impl From<wit::Action> for Action {
    fn from(action: wit::Action) -> Self {
        match action {
            wit::Action::Allow => Action::Allow,
            wit::Action::Sanitize => Action::Sanitize,
            wit::Action::Block => Action::Block,
        }
    }
}

impl From<wit::Policy> for Policy {
    fn from(policy: wit::Policy) -> Self {
        let mut rules = Vec::new();
        let mut declared = Vec::new();
        for rule in policy.rules {
            match ContentClass::shared(&rule.class) {
                Some(class) => rules.push(ClassRule { class, action: rule.action.into() }),
                None => declared.push((rule.class, rule.action.into())),
            }
        }
        Policy {
            name: policy.name,
            rules,
            declared,
            hyperlink_mode: match policy.hyperlink_mode {
                wit::HyperlinkMode::Keep => HyperlinkMode::Keep,
                wit::HyperlinkMode::Remove => HyperlinkMode::Remove,
                wit::HyperlinkMode::KeepAsText => HyperlinkMode::KeepAsText,
            },
            limits: Limits {
                max_expanded_bytes: policy.limits.max_expanded_bytes,
                max_entries: policy.limits.max_entries,
                max_expansion_ratio: policy.limits.max_expansion_ratio,
            },
            options: policy.options,
            passwords: policy
                .passwords
                .into_iter()
                .map(|p| Password {
                    secret: p.secret,
                    source: match p.source {
                        wit::PasswordSource::Request => PasswordSource::Request,
                        wit::PasswordSource::List => PasswordSource::List,
                        wit::PasswordSource::Mail => PasswordSource::Mail,
                    },
                })
                .collect(),
            reencrypt: policy.reencrypt,
            collect_text: policy.collect_text,
            inspect_active: policy.inspect_active,
        }
    }
}

impl From<PluginInfo> for wit::PluginInfo {
    fn from(info: PluginInfo) -> Self {
        let classes: Vec<String> = info
            .classes
            .iter()
            .chain(info.declared_classes.iter().map(|d| &d.class))
            .map(|c| c.name().to_owned())
            .collect();
        wit::PluginInfo {
            name: info.name,
            version: info.version,
            formats: info
                .formats
                .into_iter()
                .map(|format| {
                    let magic = format
                        .magic
                        .into_iter()
                        .map(|m| wit::Signature::Magic(wit::Magic { offset: m.offset, bytes: m.bytes }));
                    let hints = format.hints.into_iter().map(|hint| match hint {
                        Hint::ZipMember(name) => wit::Signature::ZipMember(name),
                        Hint::XmlRoot { namespace, local_name } => {
                            wit::Signature::XmlRoot(wit::XmlRoot { namespace, local_name })
                        }
                    });
                    wit::Format {
                        description: if format.description.is_empty() { format.id.clone() } else { format.description },
                        id: format.id,
                        media_types: format.media_types,
                        extensions: format.extensions,
                        signatures: magic.chain(hints).collect(),
                        classes: classes.clone(),
                    }
                })
                .collect(),
            classes: info
                .declared_classes
                .into_iter()
                .map(|d| wit::ClassDeclaration {
                    name: d.class.name().to_owned(),
                    fallback: d.fallback.name().to_owned(),
                    doc: d.doc,
                })
                .collect(),
            options: info
                .options
                .into_iter()
                .map(|o| wit::OptionDeclaration { name: o.name, values: o.values, default: o.default, doc: o.doc })
                .collect(),
        }
    }
}

impl From<Finding> for wit::Finding {
    fn from(f: Finding) -> Self {
        wit::Finding {
            class: f.class.name().to_owned(),
            disposition: match f.disposition {
                Disposition::Kept => wit::Disposition::Kept,
                Disposition::Removed => wit::Disposition::Removed,
                Disposition::Neutralized => wit::Disposition::Neutralized,
                Disposition::Blocked => wit::Disposition::Blocked,
            },
            location: f.location,
            detail: f.detail,
            count: f.count,
        }
    }
}

impl From<Rebuilt> for wit::Rebuilt {
    fn from(r: Rebuilt) -> Self {
        wit::Rebuilt { format: r.format, findings: r.findings.into_iter().map(Into::into).collect() }
    }
}

impl From<Failure> for wit::Failure {
    fn from(f: Failure) -> Self {
        wit::Failure {
            kind: match f.kind {
                FailureKind::InvalidStructure => wit::FailureKind::InvalidStructure,
                FailureKind::Encrypted => wit::FailureKind::Encrypted,
                FailureKind::TooLarge => wit::FailureKind::TooLarge,
                FailureKind::LimitExceeded => wit::FailureKind::LimitExceeded,
                FailureKind::Blocked(class) => wit::FailureKind::Blocked(class.name().to_owned()),
                FailureKind::Unsupported => wit::FailureKind::Unsupported,
            },
            detail: f.detail,
            findings: f.findings.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<wit::EmbeddedRebuilt> for EmbeddedRebuilt {
    fn from(r: wit::EmbeddedRebuilt) -> Self {
        EmbeddedRebuilt {
            outcome: match r.outcome {
                wit::EmbeddedOutcome::Clean => EmbeddedOutcome::Clean,
                wit::EmbeddedOutcome::Sanitized => EmbeddedOutcome::Sanitized,
            },
            format: r.format,
            extension: r.extension,
            media_type: r.media_type,
            data: r.data,
        }
    }
}

impl From<wit::EmbeddedRefusal> for EmbeddedRefusal {
    fn from(r: wit::EmbeddedRefusal) -> Self {
        match r {
            wit::EmbeddedRefusal::Unsupported(s) => EmbeddedRefusal::Unsupported(s),
            wit::EmbeddedRefusal::Blocked(s) => EmbeddedRefusal::Blocked(s),
            wit::EmbeddedRefusal::Failed(s) => EmbeddedRefusal::Failed(s),
            wit::EmbeddedRefusal::LimitExceeded(s) => EmbeddedRefusal::LimitExceeded(s),
        }
    }
}

impl From<LogLevel> for wit::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Trace => wit::LogLevel::Trace,
            LogLevel::Debug => wit::LogLevel::Debug,
            LogLevel::Info => wit::LogLevel::Info,
            LogLevel::Warn => wit::LogLevel::Warn,
            LogLevel::Error => wit::LogLevel::Error,
        }
    }
}
