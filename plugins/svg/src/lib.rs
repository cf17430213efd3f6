//! Sekisho `svg` plugin: SVG images.
//!
//! SVG is XML that a browser runs: it can hold scripts and event handlers,
//! HTML (`<foreignObject>`), links to `javascript:` URLs, references that
//! fetch other files when the image is shown (`<image>`, `<use>`, CSS
//! `url()` and `@import`, `<?xml-stylesheet?>`), entity bombs in its DTD
//! and `<use>` bombs in its body. The image is rebuilt rather than patched:
//! it is decoded to UTF-8, read into a tree of what the policy lets stay
//! (`tree`), checked for `<use>` loops and amplification (`refs`), and
//! written anew as well-formed XML (`write`), so the output has one
//! spelling whatever the input's encoding, quoting, CDATA sections or
//! references, and sanitizing it again gives the same bytes. Width, height
//! and `viewBox` stay as they were: the picture keeps its size.
//!
//! The text the rebuilt image shows goes to the host (`text`): `text N` for
//! each `<text>`, `title` and `desc`.

mod refs;
mod text;
mod tree;
mod write;

use std::borrow::Cow;
use std::io::{Read, Write};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use sekisho_plugin_sdk::{ContentClass, Failure, Findings, Format, Host, PluginInfo, Policy, Rebuilt, read_all};

/// Plugin name as reported to the host.
pub const NAME: &str = "svg";

/// The SVG format; the host recognizes SVG from its first bytes itself.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "svg".into(),
            media_types: vec!["image/svg+xml".into()],
            extensions: vec!["svg".into()],
            magic: Vec::new(),
            ..Default::default()
        }],
        classes: vec![
            ContentClass::Scripts,
            ContentClass::ActiveObjects,
            ContentClass::ExternalLinks,
            ContentClass::Hyperlinks,
            ContentClass::Forms,
            ContentClass::Multimedia,
            ContentClass::Metadata,
            ContentClass::Comments,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
        ],
        ..Default::default()
    }
}

/// Rebuilds the SVG image read from `input` into `output`; the text it
/// shows goes to `host`.
pub fn sanitize<R: Read, W: Write, H: Host + ?Sized>(
    input: R,
    mut output: W,
    policy: &Policy,
    host: &mut H,
) -> Result<Rebuilt, Failure> {
    let bytes = read_all(input, policy.limits.max_expanded_bytes)?;
    let mut findings = Findings::new();
    let svg = match rebuild(&bytes, policy, &mut findings, host) {
        Ok(svg) => svg,
        Err(failure) if failure.findings.is_empty() => return Err(failure.with_findings(findings)),
        Err(failure) => return Err(failure),
    };
    output.write_all(svg.as_bytes()).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(Rebuilt { format: "svg".into(), findings: findings.into_vec() })
}

fn rebuild<H: Host + ?Sized>(
    bytes: &[u8],
    policy: &Policy,
    findings: &mut Findings,
    host: &mut H,
) -> Result<String, Failure> {
    let text = decode(bytes)?;
    tree::check_chars(&text)?;
    // XML reads every line break as a line feed.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut tree = tree::read(&text, policy, findings)?;
    refs::check(&mut tree, policy, findings)?;
    if host.wants_text() {
        text::emit(&tree, host);
    }
    Ok(write::write(&tree))
}

/// The document as text, from the encoding its byte-order mark or XML
/// declaration names (UTF-8 when neither does).
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Failure> {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((encoding, bom)) => (encoding, &bytes[bom..]),
        None => (declared_encoding(bytes)?, bytes),
    };
    encoding.decode_without_bom_handling_and_without_replacement(body).ok_or_else(|| {
        Failure::invalid(format!("not valid {}: byte sequences that are invalid in that encoding", encoding.name()))
    })
}

/// The `encoding` of the XML declaration, if there is one.
fn declared_encoding(bytes: &[u8]) -> Result<&'static Encoding, Failure> {
    let head = &bytes[..bytes.len().min(1024)];
    let declaration = match head.strip_prefix(b"<?xml") {
        Some(rest) => &rest[..rest.windows(2).position(|w| w == b"?>").unwrap_or(rest.len())],
        None => return Ok(UTF_8),
    };
    let declaration = String::from_utf8_lossy(declaration);
    let Some((_, after)) = declaration.split_once("encoding") else {
        return Ok(UTF_8);
    };
    let label = after.trim_start().trim_start_matches('=').trim_start();
    let label = label.trim_start_matches(['"', '\'']).split(['"', '\'']).next().unwrap_or_default();
    match Encoding::for_label(label.as_bytes()) {
        // A declaration read as ASCII is not UTF-16, whatever it says.
        Some(encoding) if encoding == UTF_16LE || encoding == UTF_16BE => Ok(UTF_8),
        Some(encoding) => Ok(encoding),
        None => Err(Failure::unsupported(format!("unknown XML encoding {:?}", sekisho_plugin_sdk::url::shown(label)))),
    }
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_encodings_are_honoured() {
        let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><svg><text>caf\xe9</text></svg>";
        assert!(decode(latin1).unwrap().contains("café"));
        let sjis = encoding_rs::SHIFT_JIS.encode("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><svg>日本</svg>").0;
        assert!(decode(&sjis).unwrap().contains("日本"));
        assert!(decode(b"<svg>\xff</svg>").is_err());
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"klingon\"?><svg/>").is_err());
        assert_eq!(declared_encoding(b"<svg/>").unwrap(), UTF_8);
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><svg/>").unwrap(), UTF_8);
    }
}
