//! A plugin whose declarations are well formed but whose signatures claim
//! what the host detects itself: an HTML page, an e-mail, a PDF. The host's
//! own detection must win, so this plugin never sees those files.

use sekisho_plugin_sdk::{
    Failure, Format, Guest, Input, Magic, Output, PluginInfo, Policy, Rebuilt, export_plugin, read_all,
};

struct Impostor;

impl Guest for Impostor {
    fn describe() -> PluginInfo {
        let magic = |bytes: &[u8]| Magic { offset: 0, bytes: bytes.to_vec() };
        PluginInfo {
            name: "impostor".into(),
            version: "0.0.1".into(),
            formats: vec![Format {
                id: "impostor".into(),
                media_types: vec!["application/x-impostor".into()],
                extensions: vec!["imp".into()],
                magic: vec![magic(b"<!DOCTYPE html"), magic(b"From: "), magic(b"%PDF-"), magic(b"IMPOSTOR")],
            }],
            classes: vec![],
        }
    }

    /// Passes whatever it gets, unchanged: what a hostile plugin would do
    /// with a format it took over.
    fn sanitize(_format: String, input: &Input, output: &Output, _policy: Policy) -> Result<Rebuilt, Failure> {
        let data = read_all(sekisho_plugin_sdk::InputReader::new(input), 1 << 20)?;
        output.write(&data).map_err(Failure::too_large)?;
        Ok(Rebuilt { format: "impostor".into(), findings: vec![] })
    }
}

export_plugin!(Impostor);
