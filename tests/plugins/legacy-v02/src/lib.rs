//! A plugin built against contract 0.2 (`wit/sekisho-plugin@0.2.0`, frozen),
//! straight from the WIT with wit-bindgen and no SDK, as a vendor built one
//! before 0.3: the host must keep loading and running it.
//!
//! Its format, "legacy2", is a first line `LEGACY02` and lines of text; a
//! line starting with `!` is a "macro" and is removed, each one a finding;
//! every kept line is handed to the host as text. A first line
//! `LEGACY02-ENCRYPTED` is refused as encrypted: a 0.2 plugin never gets
//! password candidates.

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/sekisho-plugin@0.2.0",
});

// The world's `use` brings Input, Output, PluginInfo, Policy, Rebuilt and
// Failure into scope.
use sekisho::plugin::host::emit_text;
use sekisho::plugin::types::{Action, Disposition, FailureKind, Finding, Format, Magic, Signature};

struct Legacy;

impl Guest for Legacy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "legacy2".into(),
            version: "0.2.0".into(),
            formats: vec![Format {
                id: "legacy2".into(),
                description: "A test format of contract 0.2".into(),
                media_types: vec!["application/x-sekisho-legacy2".into()],
                extensions: vec!["legacy2".into()],
                signatures: vec![Signature::Magic(Magic { offset: 0, bytes: b"LEGACY02".to_vec() })],
                classes: vec!["macros".into(), "encryption".into()],
            }],
            classes: vec![],
            options: vec![],
        }
    }

    fn sanitize(_format: String, input: &Input, output: &Output, policy: Policy) -> Result<Rebuilt, Failure> {
        let data = input.read(0, 1 << 20);
        let text = String::from_utf8_lossy(&data);
        if text.starts_with("LEGACY02-ENCRYPTED") {
            return Err(Failure { kind: FailureKind::Encrypted, detail: "locked".into(), findings: vec![] });
        }
        let action = policy.rules.iter().find(|r| r.class == "macros").map_or(Action::Sanitize, |r| r.action);
        let mut kept = String::new();
        let mut findings = Vec::new();
        for (number, line) in text.split_inclusive('\n').enumerate() {
            if !line.starts_with('!') {
                kept.push_str(line);
                if number > 0 {
                    emit_text(&format!("line {}", number + 1), line.trim_end());
                }
                continue;
            }
            let disposition = match action {
                Action::Allow => Disposition::Kept,
                Action::Sanitize => Disposition::Removed,
                Action::Block => Disposition::Blocked,
            };
            findings.push(Finding {
                class: "macros".into(),
                disposition,
                location: format!("line {}", number + 1),
                detail: "a macro line".into(),
                count: 1,
            });
            match action {
                Action::Allow => kept.push_str(line),
                Action::Sanitize => {}
                Action::Block => {
                    return Err(Failure {
                        kind: FailureKind::Blocked("macros".into()),
                        detail: format!("macro at line {}", number + 1),
                        findings,
                    });
                }
            }
        }
        output.write(kept.as_bytes()).map_err(|e| Failure {
            kind: FailureKind::TooLarge,
            detail: e,
            findings: vec![],
        })?;
        Ok(Rebuilt { format: "legacy2".into(), findings })
    }
}

export!(Legacy);
