//! A plugin that declares its format as something browsers render
//! (`text/html`) and with an extension that is a path. The host must refuse
//! to load it rather than serve its output under those names.

use sekisho_plugin_sdk::{Failure, Format, Guest, Input, Output, PluginInfo, Policy, Rebuilt, export_plugin};

struct Liar;

impl Guest for Liar {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "liar".into(),
            version: "0.0.1".into(),
            formats: vec![Format {
                id: "liar".into(),
                media_types: vec!["text/html".into()],
                extensions: vec!["../../x".into()],
                magic: vec![],
            }],
            classes: vec![],
        }
    }

    fn sanitize(_format: String, _input: &Input, _output: &Output, _policy: Policy) -> Result<Rebuilt, Failure> {
        Err(Failure::unsupported("never loaded"))
    }
}

export_plugin!(Liar);
