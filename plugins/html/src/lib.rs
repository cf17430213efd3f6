//! Sekisho `html` plugin: HTML pages and HTML mail.
//!
//! A page is decoded from its charset (`charset`: Shift_JIS, EUC-JP and
//! ISO-2022-JP pages come out as UTF-8 without mojibake), parsed by
//! html5ever into the tree a browser would build, and written back from an
//! allowlist (`clean`): no scripts or handlers, frames, objects, media or
//! form controls, no remote images, styles or fonts (the tracking pixels of
//! mail), links as the hyperlink mode says. Parsing what was written can
//! still differ from the tree it came from (an unwrapped element lets the
//! parser nest what follows differently), so the page is cleaned again
//! until it no longer changes: the output sanitizes to itself.
//!
//! With the policy option `html-mode = "text"` the page becomes plain text
//! (`text`), links written as `text <url>`, delivered as a minimal HTML
//! document around one `<pre>` so the output is still HTML; mail gateways
//! that want the bare text call [`to_text`].
//!
//! The text the rebuilt page shows goes to the host (`Host::emit_text`), read
//! from the page as written: the `<title>` as `title`, then each block
//! element that shows something (paragraph, heading, list item, table cell,
//! `<pre>`, a run of text in a `<div>`) as `block N`, in reading order.
//! Scripts, styles and whatever was removed give none; a link turned into
//! text (keep-as-text mode, or text mode) shows its target, so it is there.

mod charset;
mod clean;
mod text;

use std::io::{Read, Write};

use html5ever::tendril::TendrilSink;
use html5ever::tree_builder::TreeBuilderOpts;
use html5ever::{ParseOpts, parse_document};
use markup5ever_rcdom::RcDom;
use sekisho_plugin_sdk::{
    ContentClass, Disposition, Failure, Findings, Format, Host, OptionDeclaration, PluginInfo, Policy, Rebuilt,
    read_all,
};

/// Plugin name as reported to the host.
pub const NAME: &str = "html";

/// Cleaning passes before a page that keeps changing is refused.
const MAX_PASSES: usize = 4;

/// The HTML format; the host recognizes HTML from its first bytes itself.
/// The option that says what HTML becomes; the mail plugin, which renders
/// HTML bodies with this library, declares it too.
pub fn html_mode_option() -> OptionDeclaration {
    OptionDeclaration {
        name: "html-mode".into(),
        values: vec!["sanitize".into(), "text".into()],
        default: "sanitize".into(),
        doc: "sanitize: allowlisted HTML; text: plain text, links as text".into(),
    }
}

pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "html".into(),
            media_types: vec!["text/html".into(), "application/xhtml+xml".into()],
            extensions: vec!["html".into(), "htm".into(), "xhtml".into()],
            magic: Vec::new(),
            ..Default::default()
        }],
        classes: vec![
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
        ],
        options: vec![html_mode_option()],
        ..Default::default()
    }
}

/// Rebuilds the HTML page read from `input` into `output`, as HTML or,
/// with `html-mode = "text"`, as text in a `<pre>`. The text the rebuilt
/// page shows goes to `host` (see the crate documentation).
pub fn sanitize<R: Read, W: Write, H: Host + ?Sized>(
    input: R,
    mut output: W,
    policy: &Policy,
    host: &mut H,
) -> Result<Rebuilt, Failure> {
    let text_mode = match policy.option("html-mode") {
        None | Some("sanitize") => false,
        Some("text") => true,
        Some(other) => {
            return Err(Failure::unsupported(format!(
                "html-mode {:?}: expected sanitize or text",
                sekisho_plugin_sdk::url::shown(other)
            )));
        }
    };
    let bytes = read_all(input, policy.limits.max_expanded_bytes)?;
    let mut findings = Findings::new();
    let html = match rebuild(&bytes, text_mode, policy, &mut findings, host) {
        Ok(html) => html,
        Err(failure) if failure.findings.is_empty() => return Err(failure.with_findings(findings)),
        Err(failure) => return Err(failure),
    };
    output.write_all(html.as_bytes()).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    Ok(Rebuilt { format: "html".into(), findings: findings.into_vec() })
}

/// The text a reader of the page sees, links as `text <url>`: for mail
/// gateways that turn HTML mail into plain text.
pub fn to_text(html: &[u8]) -> Result<String, Failure> {
    text::extract(&parse(&charset::decode(html).text).document)
}

fn rebuild<H: Host + ?Sized>(
    bytes: &[u8],
    text_mode: bool,
    policy: &Policy,
    findings: &mut Findings,
    host: &mut H,
) -> Result<String, Failure> {
    let decoded = charset::decode(bytes);
    let class = ContentClass::MalformedStructure;
    if let Some(declared) = decoded.overruled {
        let detail = format!("declared {} but the bytes are UTF-8: read as UTF-8", declared.name());
        findings.decide(policy, class, Disposition::Neutralized, "charset", detail)?;
    }
    if decoded.replaced {
        let detail = format!("byte sequences invalid in {} replaced with U+FFFD", decoded.encoding.name());
        findings.decide(policy, class, Disposition::Neutralized, "charset", detail)?;
    }
    // `dom` is the page as written, read back: its text is what the output shows.
    let (html, dom) = settle(&decoded.text, policy, findings)?;
    // The text channel never refuses a page the cleaning accepted.
    let blocks = text::blocks(&dom.document, text_mode).unwrap_or_default();
    if !text_mode {
        if let Some(title) = text::title(&dom.document) {
            host.emit_text("title", &title);
        }
        emit_blocks(&blocks, host);
        return Ok(html);
    }
    let text = text::extract(&dom.document)?;
    emit_blocks(&blocks, host);
    let mut page = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body><pre>");
    clean::escape(&text, false, &mut page);
    page.push_str("</pre></body></html>");
    Ok(page)
}

fn emit_blocks<H: Host + ?Sized>(blocks: &[String], host: &mut H) {
    for (number, block) in blocks.iter().enumerate() {
        host.emit_text(&format!("block {}", number + 1), block);
    }
}

/// Cleans the page until cleaning it again changes nothing, and answers it
/// with its parsed tree. Findings of the later passes (what reparsing
/// uncovered) are added when they are new.
fn settle(text: &str, policy: &Policy, findings: &mut Findings) -> Result<(String, RcDom), Failure> {
    let mut html = clean::clean(&parse(text).document, policy, findings)?;
    for _ in 1..MAX_PASSES {
        let mut later = Findings::new();
        let dom = parse(&html);
        let again = clean::clean(&dom.document, policy, &mut later)?;
        if again == html {
            return Ok((html, dom));
        }
        for f in later.into_vec() {
            let known = findings
                .as_slice()
                .iter()
                .any(|k| k.class == f.class && k.location == f.location && k.detail == f.detail);
            if !known {
                findings.push(f.class, f.disposition, f.location, f.detail);
            }
        }
        html = again;
    }
    Err(Failure::invalid(format!("the page still changes after {MAX_PASSES} cleaning passes")))
}

fn parse(text: &str) -> RcDom {
    // Scripts never run on the output, so `<noscript>` is read as markup.
    let tree_builder = TreeBuilderOpts { scripting_enabled: false, ..Default::default() };
    parse_document(RcDom::default(), ParseOpts { tree_builder, ..Default::default() }).one(text)
}
