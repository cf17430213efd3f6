//! A plugin that reads the filesystem, so its component imports
//! `wasi:filesystem`. The host must refuse to load it.

use std::io::Write;

use sekisho_plugin_sdk::{Failure, Format, PluginInfo, Rebuilt};

fn describe() -> PluginInfo {
    PluginInfo {
        name: "fs-snoop".into(),
        version: "0.0.1".into(),
        formats: vec![Format {
            id: "fs-snoop".into(),
            media_types: vec!["application/x-fs-snoop".into()],
            extensions: vec!["snoop".into()],
            magic: vec![],
            ..Default::default()
        }],
        classes: vec![],
        ..Default::default()
    }
}

fn sanitize(output: &mut impl Write) -> Result<Rebuilt, Failure> {
    let secret = std::fs::read("/etc/passwd").unwrap_or_default();
    output.write_all(&secret).map_err(|e| Failure::too_large(e.to_string()))?;
    Ok(Rebuilt { format: "fs-snoop".into(), findings: vec![] })
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, _reader, writer, _policy, _host| crate::sanitize(writer)
);
