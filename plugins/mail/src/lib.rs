//! Sekisho `mail` plugin: e-mail messages (RFC 5322 / MIME, `.eml`).
//!
//! The message is parsed with mail-parser (RFC 2047/2231 names and headers,
//! ISO-2022-JP, Shift_JIS, EUC-JP and the other charsets, quoted-printable
//! and base64, broken MIME) and written anew (`rebuild`, `mime`):
//!
//! - headers are kept in their order (`headers`), with a trace header; DKIM
//!   and ARC signatures go, since they cannot verify once the body is
//!   rebuilt, and so do S/MIME and PGP signature parts (multipart/signed
//!   becomes its content). Encrypted content is refused as encrypted.
//! - text bodies come out as UTF-8 with the same text (`body`); HTML bodies
//!   go through the HTML plugin natively, sanitized or, with
//!   `html-mode = "text"`, turned into plain text (a multipart/alternative
//!   then keeps its text part). Links in text are kept, defanged or removed.
//! - attachments and forwarded messages go back through the host to their
//!   own plugin and are re-attached rebuilt; what cannot be rebuilt is
//!   removed and a note in the text body says what and why (`attach`).
//!
//! The text a reader sees goes to the host (`Host::emit_text`): the headers
//! `header From`, `header To`, `header Cc` and `header Subject` as the
//! rebuilt message says them, decoded; each text body as `body` (links as
//! written: defanged or removed per mode); an HTML body's text through the
//! HTML plugin, `body (html) block N` (and `body (html) title`), or, turned
//! into text, paragraph by paragraph under the same locations. Attachments
//! give none here: the host has their text from their own plugins.
//!
//! The output is deterministic (boundaries are hashes of the content, no
//! date or identifier is invented) and sanitizes again to itself.

mod attach;
mod body;
mod headers;
mod mime;
mod rebuild;

use std::io::{Read, Write};

use mail_parser::MessageParser;
use sekisho_plugin_sdk::{ContentClass, Embedder, Failure, Format, PluginInfo, Policy, Rebuilt, read_all};

use crate::body::HtmlMode;
use crate::rebuild::Rebuild;

/// Plugin name as reported to the host.
pub const NAME: &str = "mail";

/// The `eml` format; the host recognizes messages by their headers itself.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "eml".into(),
            media_types: vec!["message/rfc822".into()],
            extensions: vec!["eml".into()],
            magic: Vec::new(),
            ..Default::default()
        }],
        classes: vec![
            ContentClass::EmbeddedFiles,
            ContentClass::Scripts,
            ContentClass::AutoActions,
            ContentClass::ActiveObjects,
            ContentClass::ExternalLinks,
            ContentClass::Hyperlinks,
            ContentClass::Forms,
            ContentClass::Multimedia,
            ContentClass::Metadata,
            ContentClass::Comments,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
            ContentClass::Encryption,
        ],
        options: vec![sekisho_html::html_mode_option()],
        ..Default::default()
    }
}

/// Rebuilds the message read from `input` into `output`, sending
/// attachments through `embedder`.
pub fn sanitize<R, W, E>(input: R, mut output: W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read,
    W: Write,
    E: Embedder + ?Sized,
{
    let html_mode = HtmlMode::of(policy)?;
    let data = read_all(input, policy.limits.max_expanded_bytes)?;
    let message = MessageParser::default().parse(&data[..]).ok_or_else(|| Failure::invalid("no message headers"))?;
    let mut rebuild = Rebuild::new(policy, html_mode, embedder, &data);
    let out = match rebuild.message(&message) {
        Ok(out) => out,
        Err(failure) if failure.findings.is_empty() => return Err(failure.with_findings(rebuild.findings)),
        Err(failure) => return Err(failure),
    };
    output.write_all(&out).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(Rebuilt { format: "eml".into(), findings: rebuild.findings.into_vec() })
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);
