//! A plugin built against contract 0.1 (`wit/sekisho-plugin@0.1.0`, frozen),
//! straight from the WIT with wit-bindgen and no SDK, as a vendor built one
//! before 0.2: the host must keep loading and running it.
//!
//! Its format, "legacy", is a first line `LEGACY01` and lines of text; a
//! line starting with `!` is a "macro" and is removed, each one a finding.

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/sekisho-plugin@0.1.0",
});

// The world's `use` brings Input, Output, PluginInfo, Policy, Rebuilt and
// Failure into scope.
use sekisho::plugin::types::{Action, ContentClass, Disposition, FailureKind, Finding, Format, Magic};

struct Legacy;

impl Guest for Legacy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "legacy".into(),
            version: "0.1.0".into(),
            formats: vec![Format {
                id: "legacy".into(),
                media_types: vec!["application/x-sekisho-legacy".into()],
                extensions: vec!["legacy".into()],
                magic: vec![Magic { offset: 0, bytes: b"LEGACY01\n".to_vec() }],
            }],
            classes: vec![ContentClass::Macros],
        }
    }

    fn sanitize(_format: String, input: &Input, output: &Output, policy: Policy) -> Result<Rebuilt, Failure> {
        let data = input.read(0, 1 << 20);
        let text = String::from_utf8_lossy(&data);
        let action =
            policy.rules.iter().find(|r| r.class == ContentClass::Macros).map_or(Action::Sanitize, |r| r.action);
        let mut kept = String::new();
        let mut findings = Vec::new();
        for (number, line) in text.split_inclusive('\n').enumerate() {
            if line.starts_with('!') {
                let disposition = match action {
                    Action::Allow => Disposition::Kept,
                    Action::Sanitize => Disposition::Removed,
                    Action::Block => Disposition::Blocked,
                };
                findings.push(Finding {
                    class: ContentClass::Macros,
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
                            kind: FailureKind::Blocked(ContentClass::Macros),
                            detail: format!("macro at line {}", number + 1),
                            findings,
                        });
                    }
                }
            } else {
                kept.push_str(line);
            }
        }
        output.write(kept.as_bytes()).map_err(|e| Failure {
            kind: FailureKind::TooLarge,
            detail: e,
            findings: vec![],
        })?;
        Ok(Rebuilt { format: "legacy".into(), findings })
    }
}

export!(Legacy);
