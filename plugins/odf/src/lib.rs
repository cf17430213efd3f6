//! Sekisho `odf` plugin: OpenDocument text, spreadsheets, presentations and
//! drawings, and their templates.
//!
//! An OpenDocument file is a ZIP package: a `mimetype` member, a manifest
//! listing the other members, XML members (content, styles, settings),
//! pictures, and sometimes macro libraries (`Basic/`, `Scripts/`), embedded
//! objects (`Object 1/` sub-documents, binary OLE `Object 1` files) and
//! metadata. It is rebuilt member by member: macro libraries, metadata and
//! unknown members go by name (`package`), every XML member loses its
//! active elements and attributes (`content`), links are judged by where
//! they point (`links`), and the manifest is written anew to list exactly
//! what is left (`manifest`). The `mimetype` member is written first and
//! stored, the others in input order with fixed timestamps, so the output is
//! deterministic and sanitizing it again changes nothing.
//!
//! The text the rebuilt document shows goes to the host (`text`):
//! `paragraph N`, `SheetName!A1`, `slide N` (and `slide N notes`), `page N`.

mod content;
mod links;
mod manifest;
mod package;
mod text;

use std::io::{Read, Seek, Write};

use sekisho_plugin_sdk::package::{PackageReader, Part, write_parts};
use sekisho_plugin_sdk::pictures::{self, Picture};
use sekisho_plugin_sdk::{
    ContentClass, Decision, Disposition, Failure, Findings, Format, Magic, PluginInfo, Policy, Rebuilt,
};

/// Plugin name as reported to the host.
pub const NAME: &str = "odf";

/// The formats (ids are the host's), their media types without the
/// `-template` suffix of templates, and their extensions.
const FORMATS: [(&str, &str, [&str; 2]); 4] = [
    ("odt", "application/vnd.oasis.opendocument.text", ["odt", "ott"]),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet", ["ods", "ots"]),
    ("odp", "application/vnd.oasis.opendocument.presentation", ["odp", "otp"]),
    ("odg", "application/vnd.oasis.opendocument.graphics", ["odg", "otg"]),
];

/// Describes the OpenDocument formats.
pub fn describe() -> PluginInfo {
    let format = |&(id, media_type, extensions): &(&str, &str, [&str; 2])| Format {
        id: id.into(),
        media_types: vec![media_type.into(), format!("{media_type}-template")],
        extensions: extensions.iter().map(|&e| e.into()).collect(),
        // The host tells OpenDocument from other ZIP packages by `mimetype`.
        magic: vec![Magic { offset: 0, bytes: b"PK\x03\x04".to_vec() }],
        ..Default::default()
    };
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: FORMATS.iter().map(format).collect(),
        classes: vec![
            ContentClass::Macros,
            ContentClass::ExternalActions,
            ContentClass::ActiveObjects,
            ContentClass::ExternalLinks,
            ContentClass::Hyperlinks,
            ContentClass::Dde,
            ContentClass::DataConnections,
            ContentClass::Multimedia,
            ContentClass::Metadata,
            ContentClass::Comments,
            ContentClass::Revisions,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
        ],
        options: vec![pictures::option()],
        ..Default::default()
    }
}

/// Rebuilds the `format` package read from `input` into `output`; the text
/// the rebuilt document shows goes to `host`.
pub fn sanitize<R: Read + Seek, W: Write, H: sekisho_plugin_sdk::Host + ?Sized>(
    format: &str,
    input: R,
    output: W,
    policy: &Policy,
    host: &mut H,
) -> Result<Rebuilt, Failure> {
    let parts = PackageReader::open(input, &policy.limits)?.read_parts(host)?;
    let mut findings = Findings::new();
    let parts = rebuild_pictures(parts, policy, &mut findings, host)?;
    let parts = match rebuild(format, parts, policy, &mut findings) {
        Ok(parts) => parts,
        Err(failure) if failure.findings.is_empty() => return Err(failure.with_findings(findings)),
        Err(failure) => return Err(failure),
    };
    write_parts(output, &parts)?;
    if host.wants_text() {
        text::emit(&parts, host);
    }
    Ok(Rebuilt { format: format.into(), findings: findings.into_vec() })
}

/// Every raster picture of the package (`Pictures/`, a sub-document's
/// pictures) goes through the host to the image plugin, unless the policy
/// keeps pictures as they are. One the image plugin refuses is left out:
/// the rebuild then drops its manifest entry like any missing member.
fn rebuild_pictures<H: sekisho_plugin_sdk::Host + ?Sized>(
    parts: Vec<Part>,
    policy: &Policy,
    findings: &mut Findings,
    host: &mut H,
) -> Result<Vec<Part>, Failure> {
    let mut kept = Vec::with_capacity(parts.len());
    for mut part in parts {
        if !part.is_dir {
            let file = part.name.rsplit('/').next().unwrap_or(&part.name);
            match pictures::rebuild(findings, policy, host, &part.name, file, &part.data)? {
                Picture::Keep => {}
                Picture::Rebuilt(data) => part.data = data,
                Picture::Remove => continue,
            }
        }
        kept.push(part);
    }
    Ok(kept)
}

/// Checks `mimetype` and puts it first, stored and exact, then rebuilds the rest.
fn rebuild(format: &str, mut parts: Vec<Part>, policy: &Policy, findings: &mut Findings) -> Result<Vec<Part>, Failure> {
    let at = parts
        .iter()
        .position(|p| p.name == "mimetype" && !p.is_dir)
        .ok_or_else(|| Failure::invalid("no mimetype member: not an OpenDocument package"))?;
    let mimetype = parts.remove(at);
    let media_type = String::from_utf8_lossy(&mimetype.data).trim().to_owned();
    let base = media_type.strip_suffix("-template").unwrap_or(&media_type);
    let Some(&(id, ..)) = FORMATS.iter().find(|(_, known, _)| *known == base) else {
        let shown: String = media_type.chars().take(100).collect();
        return Err(Failure::invalid(format!(
            "mimetype {shown:?} is not an OpenDocument text, spreadsheet, presentation or drawing"
        )));
    };
    if id != format {
        return Err(Failure::invalid(format!("the package is {id} ({media_type}), not {format}")));
    }
    let problems: Vec<&str> = [
        (at != 0, "not the first member"),
        (!mimetype.stored, "compressed"),
        (mimetype.data != media_type.as_bytes(), "padded with white space"),
    ]
    .iter()
    .filter_map(|&(wrong, what)| wrong.then_some(what))
    .collect();
    if problems.is_empty() {
        parts.insert(0, mimetype);
    } else {
        let detail = format!("{}: rewritten first, stored and exact", problems.join(", "));
        let class = ContentClass::MalformedStructure;
        if findings.decide(policy, class, Disposition::Neutralized, "mimetype", detail)? == Decision::Keep {
            parts.insert(at, mimetype);
        } else {
            parts.insert(
                0,
                Part { name: "mimetype".into(), data: media_type.into_bytes(), stored: true, is_dir: false },
            );
        }
    }
    package::rebuild(parts, policy, findings)
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |format, reader, writer, policy, host| crate::sanitize(format, reader, writer, policy, host)
);
