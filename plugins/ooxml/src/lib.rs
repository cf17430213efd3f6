//! Sekisho `ooxml` plugin: Word, Excel and PowerPoint documents in Office
//! Open XML packages.
//!
//! The package is taken apart into parts and relationships. Parts that are
//! active content (VBA projects, XLM macro sheets, ActiveX controls, OLE
//! objects, external workbook links, data connections) are removed with
//! their relationships and content-type entries; relationships that reach
//! outside the package are cut; embedded documents go back through the host
//! and are put back rebuilt; the XML that remains is rewritten so nothing
//! points at what was removed (see [`markup`]). A macro-enabled document
//! whose macros are gone becomes its macro-free type (`.docm` → `.docx`).
//!
//! Binary workbooks (`xlsb`) are not declared: their parts are BIFF12
//! records that this plugin does not parse, so they cannot be proven clean
//! and the host reports them as unsupported.
//!
//! A password-protected document (`ooxml-encrypted`: the package encrypted
//! inside a compound file, MS-OFFCRYPTO agile or standard encryption) is
//! opened with the policy's password candidates inside this sandbox
//! ([`sekisho_plugin_sdk::office_crypto`]) and the decrypted package is
//! rebuilt like any other; the output is not encrypted.
//!
//! The text the rebuilt document shows goes to the host (`text`):
//! `paragraph N` (Word, and `word/header1.xml paragraph N` for headers,
//! footers and notes), `SheetName!A1` (Excel), `slide N` and
//! `slide N notes` (PowerPoint).

mod classify;
mod fields;
mod markup;
mod opc;
mod rebuild;
mod text;
mod workbook;

use std::io::{Read, Seek, Write};

use sekisho_plugin_sdk::office_crypto::EncryptedPackage;
use sekisho_plugin_sdk::package::{PackageReader, write_parts};
use sekisho_plugin_sdk::passwords;
use sekisho_plugin_sdk::{ContentClass, Embedder, Failure, Findings, Format, Magic, PluginInfo, Policy, Rebuilt};

/// Plugin name as reported to the host.
pub const NAME: &str = "ooxml";

const WORD_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const SHEET_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const R_STRICT_NS: &str = "http://purl.oclc.org/ooxml/officeDocument/relationships";
const VML_OFFICE_NS: &str = "urn:schemas-microsoft-com:office:office";
const VML_EXCEL_NS: &str = "urn:schemas-microsoft-com:office:excel";

/// The formats, as the host names them: id, media type, extensions.
const FORMATS: &[(&str, &str, &[&str])] = &[
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", &["docx", "dotx"]),
    ("docm", "application/vnd.ms-word.document.macroEnabled.12", &["docm", "dotm"]),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &["xlsx", "xltx"]),
    ("xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12", &["xlsm", "xltm"]),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", &["pptx", "ppsx", "potx"]),
    ("pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12", &["pptm", "ppsm", "potm"]),
];

/// A password-protected document: its package encrypted in a compound
/// file. Extensions past the third have no counterpart by position in the
/// plain formats, so a `.docm` comes out `.docx` (see the host's naming).
pub const ENCRYPTED: (&str, &str, &[&str]) = (
    "ooxml-encrypted",
    "application/x-ooxml-encrypted",
    &["docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "dotx", "dotm", "xltx", "xltm", "potx", "potm", "ppsx", "ppsm"],
);

/// Describes the Office Open XML formats.
pub fn describe() -> PluginInfo {
    let mut formats: Vec<Format> = FORMATS
        .iter()
        .map(|(id, media_type, extensions)| Format {
            id: (*id).into(),
            media_types: vec![(*media_type).into()],
            extensions: extensions.iter().map(|e| (*e).into()).collect(),
            magic: vec![Magic { offset: 0, bytes: b"PK\x03\x04".to_vec() }],
            ..Default::default()
        })
        .collect();
    formats.push(Format {
        id: ENCRYPTED.0.into(),
        description: "Password-protected Office Open XML document (MS-OFFCRYPTO)".into(),
        media_types: vec![ENCRYPTED.1.into()],
        extensions: ENCRYPTED.2.iter().map(|e| (*e).into()).collect(),
        magic: vec![Magic { offset: 0, bytes: b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec() }],
        ..Default::default()
    });
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats,
        classes: vec![
            ContentClass::Macros,
            ContentClass::ActiveObjects,
            ContentClass::EmbeddedFiles,
            ContentClass::ExternalLinks,
            ContentClass::ExternalActions,
            ContentClass::Hyperlinks,
            ContentClass::Dde,
            ContentClass::DataConnections,
            ContentClass::Metadata,
            ContentClass::Comments,
            ContentClass::Revisions,
            ContentClass::UnknownParts,
            ContentClass::MalformedStructure,
            ContentClass::Encryption,
        ],
        options: vec![sekisho_plugin_sdk::pictures::option()],
        ..Default::default()
    }
}

/// Rebuilds the document read from `input` into `output`.
pub fn sanitize<R, W, E>(
    format: &str,
    input: R,
    output: W,
    policy: &Policy,
    embedder: &mut E,
) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    if format == ENCRYPTED.0 {
        return sanitize_encrypted(input, output, policy, embedder);
    }
    if !FORMATS.iter().any(|(id, _, _)| *id == format) {
        return Err(Failure::unsupported(format!("the ooxml plugin does not rebuild {format}")));
    }
    rebuild_package(input, output, policy, embedder, Findings::new())
}

/// Opens a password-protected document with the policy's candidates and
/// rebuilds the package inside.
fn sanitize_encrypted<R, W, E>(input: R, output: W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    let encrypted = EncryptedPackage::read(input, policy.limits.max_expanded_bytes)?;
    let scheme = encrypted.scheme();
    let (key, opened) = passwords::open(policy, "the document", |password| Ok(encrypted.key(password)))?;
    let package = encrypted.decrypt(&key)?;
    let mut findings = Findings::new();
    findings.decrypted(&format!("EncryptedPackage ({scheme})"), opened, None);
    rebuild_package(std::io::Cursor::new(package), output, policy, embedder, findings)
}

fn rebuild_package<R, W, E>(
    input: R,
    output: W,
    policy: &Policy,
    embedder: &mut E,
    mut findings: Findings,
) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    let parts = PackageReader::open(input, &policy.limits)?.read_parts(embedder)?;
    let mut package = rebuild::Package::load(parts)?;
    package.sanitize(policy, &mut findings, embedder)?;
    let format = package.format().ok_or_else(|| Failure::invalid("the package's main part is not a document"))?;
    write_parts(output, package.parts())?;
    if embedder.wants_text() {
        text::emit(&package, format, embedder);
    }
    Ok(Rebuilt { format: format.into(), findings: findings.into_vec() })
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |format, reader, writer, policy, host| crate::sanitize(format, reader, writer, policy, host)
);
