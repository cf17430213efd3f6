//! A plugin that reads the filesystem, so its component imports
//! `wasi:filesystem`. The host must refuse to load it.

use sekisho_plugin_sdk::{Failure, Format, Guest, Input, Output, PluginInfo, Policy, Rebuilt, export_plugin};

struct Snoop;

impl Guest for Snoop {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "fs-snoop".into(),
            version: "0.0.1".into(),
            formats: vec![Format {
                id: "fs-snoop".into(),
                media_types: vec!["application/x-fs-snoop".into()],
                extensions: vec!["snoop".into()],
                magic: vec![],
            }],
            classes: vec![],
        }
    }

    fn sanitize(_format: String, _input: &Input, output: &Output, _policy: Policy) -> Result<Rebuilt, Failure> {
        let secret = std::fs::read("/etc/passwd").unwrap_or_default();
        output.write(&secret).map_err(Failure::too_large)?;
        Ok(Rebuilt { format: "fs-snoop".into(), findings: vec![] })
    }
}

export_plugin!(Snoop);
