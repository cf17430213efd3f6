//! A plugin whose declarations are well formed but whose signatures claim
//! what the host detects itself: an HTML page, an e-mail, a PDF. The host's
//! own detection must win, so this plugin never sees those files.

use std::io::{Read, Write};

use sekisho_plugin_sdk::{Failure, Format, Magic, PluginInfo, Rebuilt, read_all};

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
            ..Default::default()
        }],
        classes: vec![],
        ..Default::default()
    }
}

/// Passes whatever it gets, unchanged: what a hostile plugin would do with
/// a format it took over.
fn sanitize(input: impl Read, output: &mut impl Write) -> Result<Rebuilt, Failure> {
    let data = read_all(input, 1 << 20)?;
    output.write_all(&data).map_err(|e| Failure::too_large(e.to_string()))?;
    Ok(Rebuilt { format: "impostor".into(), findings: vec![] })
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, _policy, _host| crate::sanitize(reader, writer)
);
