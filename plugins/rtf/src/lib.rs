//! Sekisho `rtf` plugin: rebuilds Rich Text Format documents.
//!
//! RTF is the carrier of choice for Office exploits: OLE objects (Equation
//! Editor, packaged executables, linked objects that update themselves on
//! open) hidden in hex with tricks that only Word's reader undoes, DDE and
//! INCLUDE fields, remote templates. The file is read into a tree of groups
//! and tokens that keep their original bytes ([`syntax`]); the rebuild
//! ([`rebuild`]) drops or neutralizes active groups per policy and writes
//! every kept token back unchanged, so the text is the same, the output is
//! well-formed (braces balanced, nothing after the last one) and a second
//! pass changes nothing.
//!
//! - `\object` groups ([`objects`]) are replaced by their `\result`, the
//!   picture Word shows in their place; embedded Office documents and PDFs
//!   go through the host first, but the rebuilt copy is not put back.
//! - Fields that reach outside the document ([`fields`]) are replaced by
//!   their displayed result.
//! - `\info`, `\*\generator`, `\*\userprops` (metadata), `\*\template`
//!   (remote template), `\*\mailmerge` (data source) and `\*\datastore`
//!   (opaque binary data) are removed whole.
//!
//! The text the rebuilt document shows goes to the host ([`text`]), one
//! piece per paragraph: `paragraph N`.

mod fields;
mod objects;
mod rebuild;
mod syntax;
mod text;

use std::io::{Read, Seek, Write};

use sekisho_plugin_sdk::{ContentClass, Embedder, Failure, Format, Magic, PluginInfo, Policy, Rebuilt, read_all};

/// Plugin name as reported to the host.
pub const NAME: &str = "rtf";

/// Describes the `rtf` format.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "rtf".into(),
            media_types: vec!["application/rtf".into()],
            extensions: vec!["rtf".into()],
            magic: vec![Magic { offset: 0, bytes: b"{\\rtf".to_vec() }],
            ..Default::default()
        }],
        classes: vec![
            ContentClass::Macros,
            ContentClass::EmbeddedFiles,
            ContentClass::ActiveObjects,
            ContentClass::ExternalLinks,
            ContentClass::Hyperlinks,
            ContentClass::Dde,
            ContentClass::DataConnections,
            ContentClass::Metadata,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
        ],
        options: vec![sekisho_plugin_sdk::pictures::option()],
        ..Default::default()
    }
}

/// Rebuilds the RTF document read from `input` into `output`.
pub fn sanitize<R, W, E>(input: R, mut output: W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    let data = read_all(input, policy.limits.max_expanded_bytes)?;
    if !data.starts_with(b"{\\rtf") {
        return Err(Failure::invalid("not RTF: the file does not start with {\\rtf"));
    }
    let parsed = syntax::parse(&data)?;
    let mut rebuild = rebuild::Rebuild::new(policy, embedder);
    let rebuilt = rebuild.document(&parsed)?;
    let findings = rebuild.findings;
    output.write_all(&rebuilt).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    if embedder.wants_text() {
        text::emit(&rebuilt, embedder);
    }
    Ok(Rebuilt { format: "rtf".into(), findings: findings.into_vec() })
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);
