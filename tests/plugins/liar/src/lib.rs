//! A plugin that declares its format as something browsers render
//! (`text/html`) and with an extension that is a path. The host must refuse
//! to load it rather than serve its output under those names.

use sekisho_plugin_sdk::{Failure, Format, PluginInfo, Rebuilt};

fn describe() -> PluginInfo {
    PluginInfo {
        name: "liar".into(),
        version: "0.0.1".into(),
        formats: vec![Format {
            id: "liar".into(),
            media_types: vec!["text/html".into()],
            extensions: vec!["../../x".into()],
            magic: vec![],
            ..Default::default()
        }],
        classes: vec![],
        ..Default::default()
    }
}

fn sanitize() -> Result<Rebuilt, Failure> {
    Err(Failure::unsupported("never loaded"))
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, _reader, _writer, _policy, _host| crate::sanitize()
);
