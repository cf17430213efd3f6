//! Sekisho `ole` plugin: legacy Office documents in compound files (Word
//! `.doc`, Excel `.xls`, PowerPoint `.ppt` and their templates).
//!
//! The compound file is read into a tree and written into a fresh one, so
//! slack space, free sectors and orphaned streams do not survive. Storages
//! that are active content as a whole (VBA projects, ActiveX data, document
//! properties) are left out; embedded objects are rebuilt through the host
//! or removed (see [`objects`]); Word fields that reach outside are blanked
//! in place (see [`word`]). PowerPoint's record stream is written anew
//! without its VBA project and OLE objects (see [`powerpoint`]). What lives
//! inside Excel record streams (XLM macro sheets, external links) and
//! PowerPoint's linked objects cannot be removed safely: such files are
//! refused, with the reason, unless the policy allows the class.
//! Password-protected presentations are opened with the policy's
//! candidates and written out unencrypted (see [`ppt_crypto`]); encrypted
//! Word and Excel files are refused as encrypted.

mod excel;
mod objects;
mod powerpoint;
mod ppt_crypto;
mod tree;
mod word;

use std::io::{Read, Seek, SeekFrom, Write};

use sekisho_plugin_sdk::{
    Action, ContentClass, Decision, Disposition, Embedder, Failure, FailureKind, Findings, Format, Magic, PluginInfo,
    Policy, Rebuilt, vba,
};

use crate::tree::{Node, Storage};

/// Plugin name as reported to the host.
pub const NAME: &str = "ole";
const SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Describes the compound-file Office formats.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: "ole2".into(),
            media_types: vec!["application/x-ole-storage".into()],
            extensions: ["doc", "dot", "xls", "xlt", "ppt", "pps", "pot"].map(String::from).to_vec(),
            magic: vec![Magic { offset: 0, bytes: SIGNATURE.to_vec() }],
            ..Default::default()
        }],
        classes: vec![
            ContentClass::Macros,
            ContentClass::EmbeddedFiles,
            ContentClass::ActiveObjects,
            ContentClass::ExternalLinks,
            ContentClass::ExternalActions,
            ContentClass::Hyperlinks,
            ContentClass::Dde,
            ContentClass::DataConnections,
            ContentClass::Metadata,
            ContentClass::UnknownParts,
            ContentClass::Encryption,
        ],
        ..Default::default()
    }
}

/// The application a compound file belongs to.
#[derive(Clone, Copy, PartialEq, Debug)]
enum App {
    Word,
    Excel,
    PowerPoint,
}

impl App {
    fn of(root: &Storage) -> Result<App, Failure> {
        if root.has("EncryptionInfo") || root.has("EncryptedPackage") {
            return Err(Failure::encrypted("a password-protected Office Open XML document"));
        }
        if root.has("WordDocument") {
            Ok(App::Word)
        } else if root.has("Workbook") || root.has("Book") {
            Ok(App::Excel)
        } else if root.has("PowerPoint Document") {
            Ok(App::PowerPoint)
        } else if root.children.iter().any(|(n, _)| n.starts_with("__substg1.0_")) {
            Err(Failure::unsupported("an Outlook message (.msg), not an Office document"))
        } else {
            Err(Failure::unsupported("a compound file that is not a Word, Excel or PowerPoint document"))
        }
    }

    /// Root entries that are plain document content for this application.
    fn keeps(self, name: &str) -> bool {
        const COMMON: &[&str] = &["\u{1}CompObj", "\u{1}Ole", "\u{3}ObjInfo", "\u{3}EPRINT", "MsoDataStore"];
        let own: &[&str] = match self {
            App::Word => &["WordDocument", "0Table", "1Table", "Data"],
            App::Excel => &["Workbook", "Book", "_SX_DB_CUR", "_SX_DB"],
            App::PowerPoint => &["PowerPoint Document", "Current User", "Pictures"],
        };
        // Presentation caches of an embedded object (`\x02OlePres000`…).
        COMMON.iter().chain(own).any(|n| n.eq_ignore_ascii_case(name)) || name.starts_with("\u{2}OlePres")
    }
}

/// Root entries that are active content as a whole, by class.
fn root_class(name: &str) -> Option<(ContentClass, &'static str)> {
    Some(match name {
        "Macros" | "_VBA_PROJECT_CUR" | "_VBA_PROJECT" | "VBA" => (ContentClass::Macros, "VBA project"),
        "XCB" => (ContentClass::Macros, "toolbar customizations (macro buttons)"),
        "Ctls" => (ContentClass::ActiveObjects, "ActiveX control data"),
        "\u{5}SummaryInformation" | "\u{5}DocumentSummaryInformation" => {
            (ContentClass::Metadata, "document properties")
        }
        _ => return None,
    })
}

/// Rebuilds the compound file read from `input` into `output`.
pub fn sanitize<R, W, E>(mut input: R, mut output: W, policy: &Policy, embedder: &mut E) -> Result<Rebuilt, Failure>
where
    R: Read + Seek,
    W: Write,
    E: Embedder + ?Sized,
{
    let size = input.seek(SeekFrom::End(0)).map_err(|e| Failure::invalid(format!("reading input: {e}")))?;
    input.seek(SeekFrom::Start(0)).map_err(|e| Failure::invalid(format!("reading input: {e}")))?;
    let mut root = Storage::read(input, size)?;
    let app = App::of(&root)?;
    let mut findings = Findings::new();
    // The text channel: Word's main document; Excel and PowerPoint record streams are not read for text.
    let mut paragraphs = Vec::new();
    match app {
        App::Word => paragraphs = word::sanitize(&mut root, policy, &mut findings)?,
        App::Excel => excel::check(&root, policy, &mut findings)?,
        App::PowerPoint => {
            ppt_crypto::decrypt(&mut root, powerpoint::STREAM, policy, &mut findings)?;
            powerpoint::check(&mut root, policy, &mut findings, embedder)?
        }
    }
    let mut kept = Vec::with_capacity(root.children.len());
    for (name, node) in std::mem::take(&mut root.children) {
        let location = printable(&name);
        match node {
            Node::Storage(mut pool) if app == App::Word && name.eq_ignore_ascii_case("ObjectPool") => {
                objects::sanitize_pool(&mut pool, policy, &mut findings, embedder)?;
                kept.push((name, Node::Storage(pool)));
                continue;
            }
            Node::Storage(mut object) if app == App::Excel && name.starts_with("MBD") => {
                if objects::sanitize(&location, &mut object, policy, &mut findings, embedder)? {
                    kept.push((name, Node::Storage(object)));
                }
                continue;
            }
            node => {
                let verdict = match root_class(&name) {
                    Some((class, label)) => Some((class, label.to_owned())),
                    None if app.keeps(&name) => None,
                    None => Some((ContentClass::UnknownParts, format!("not part of a {app:?} document"))),
                };
                if let (Some((ContentClass::Macros, _)), Node::Storage(project)) = (&verdict, &node) {
                    inspect_project(embedder, project, policy, &location);
                }
                let keep = match verdict {
                    None => true,
                    Some((class, detail)) => {
                        findings.decide(policy, class, Disposition::Removed, &location, detail)? == Decision::Keep
                    }
                };
                if keep {
                    kept.push((name, node));
                }
            }
        }
    }
    root.children = kept;
    let rebuilt = root.write()?;
    output.write_all(&rebuilt).map_err(|e| Failure::too_large(format!("writing output: {e}")))?;
    for (number, text) in paragraphs.iter().enumerate() {
        if !text.is_empty() {
            embedder.emit_text(&format!("paragraph {}", number + 1), text);
        }
    }
    Ok(Rebuilt { format: "ole2".into(), findings: findings.into_vec() })
}

/// Hands the VBA project in a root storage (`Macros` in Word,
/// `_VBA_PROJECT_CUR` in Excel: its `VBA` storage holds the modules) to the
/// host's scanners, when it scans.
fn inspect_project<E: Embedder + ?Sized>(embedder: &mut E, project: &Storage, policy: &Policy, location: &str) {
    if let Some(Node::Storage(storage)) = project.get("VBA") {
        inspect_vba(embedder, storage, policy.action(ContentClass::Macros) == Action::Allow, location);
    }
}

/// Hands the modules of a `VBA` storage to the host's scanners, when it scans.
pub(crate) fn inspect_vba<E: Embedder + ?Sized>(embedder: &mut E, storage: &Storage, kept: bool, location: &str) {
    if !embedder.wants_active() {
        return;
    }
    let streams: vba::Streams = storage
        .children
        .iter()
        .filter_map(|(name, node)| match node {
            Node::Stream(data) => Some((name.clone(), data.clone())),
            Node::Storage(_) => None,
        })
        .collect();
    vba::inspect(embedder, &streams, kept, location);
}

/// Records content that cannot be removed from its record stream: kept
/// when the policy allows the class, otherwise the whole file is refused
/// with the reason (never passed through as if it had been cleaned).
fn kept_or_refused(
    policy: &Policy,
    findings: &mut Findings,
    class: ContentClass,
    location: &str,
    detail: String,
) -> Result<(), Failure> {
    if policy.action(class) == Action::Allow {
        findings.push(class, Disposition::Kept, location, detail);
        return Ok(());
    }
    findings.push(class, Disposition::Blocked, location, detail.clone());
    Err(Failure { kind: FailureKind::Blocked(class), detail, findings: findings.as_slice().to_vec() })
}

/// Stream names start with control characters (`\x05SummaryInformation`).
fn printable(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { format!("\\x{:02X}", c as u32) } else { c.to_string() }).collect()
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);
