//! PowerPoint binary presentations (`PowerPoint Document` stream): VBA
//! projects and embedded OLE objects are compressed storages inside the
//! record stream (`ExOleObjStg`), linked objects and click actions that run
//! programs or macros are records too.
//!
//! Removing them means rewriting the persist directory that locates every
//! record by offset, which this plugin does not do: they are refused
//! (blocked, with the reason) unless the policy allows them. The VBA
//! project is handed to the host's scanners all the same.

use std::io::{Cursor, Read};

use sekisho_plugin_sdk::{Action, ContentClass, Embedder, Failure, Findings, Policy};

use crate::tree::{Node, Storage};
use crate::word::{read_u16, read_u32};
use crate::{inspect_vba, kept_or_refused};

const EX_OLE_OBJ_STG: u16 = 0x1011;
const VBA_INFO_ATOM: u16 = 0x0400;
const EX_OLE_LINK: u16 = 0x0FCE;
const INTERACTIVE_INFO_ATOM: u16 = 0x0FF3;
pub(crate) const CRYPT_SESSION: u16 = 0x2F14;
/// Records nest; real presentations stay shallow.
const MAX_DEPTH: usize = 16;

#[derive(Default)]
struct Seen<'a> {
    /// The `ExOleObjStg` records: instance (1: zlib-compressed) and body.
    storages: Vec<(u16, &'a [u8])>,
    vba: bool,
    links: usize,
    programs: usize,
    macros: usize,
    encrypted: bool,
}

pub(crate) const STREAM: &str = "PowerPoint Document";

pub(crate) const CURRENT_USER: &str = "Current User";
const USER_EDIT_ATOM: u16 = 0x0FF5;
const PERSIST_DIRECTORY_ATOM: u16 = 0x1772;
/// Saves kept in one file; real presentations have a handful.
const MAX_EDITS: usize = 4096;

/// Most bytes a compressed storage may inflate to.
const MAX_STORAGE_BYTES: u64 = 64 << 20;

/// Checks the presentation's records, and hands its VBA project to the
/// host's scanners when they look at active parts.
pub fn check<E: Embedder + ?Sized>(
    root: &Storage,
    policy: &Policy,
    findings: &mut Findings,
    embedder: &mut E,
) -> Result<(), Failure> {
    let document = root.stream(STREAM).ok_or_else(|| Failure::invalid("no PowerPoint Document stream"))?;
    let mut seen = Seen::default();
    walk(document, 0, &mut seen);
    // PowerPoint finds records by the persist directory, not by walking:
    // a record hidden inside another's declared length is still loaded.
    // Every persist object that does not start a top-level record is
    // walked on its own.
    let objects = root
        .stream(CURRENT_USER)
        .and_then(|current| edits(current, document))
        .and_then(|edits| persist_objects(document, &edits).ok())
        .unwrap_or_default();
    let top_level = top_level_offsets(document);
    let mut walked = std::collections::BTreeSet::new();
    for (_, at) in objects {
        if !top_level.contains(&at) && walked.insert(at) {
            let end = read_u32(document, at + 4).map_or(at, |len| (at + 8).saturating_add(len as usize));
            if let Some(record) = document.get(at..end.min(document.len())) {
                walk(record, 0, &mut seen);
            }
        }
    }
    if seen.encrypted || root.has("EncryptedSummary") {
        return Err(Failure::encrypted("the presentation is password-protected"));
    }
    if seen.vba && embedder.wants_active() {
        inspect_projects(&seen.storages, policy, embedder);
    }
    let objects = seen.storages.len().saturating_sub(usize::from(seen.vba));
    let refusals = [
        (seen.vba, ContentClass::Macros, "a VBA project".to_owned()),
        (seen.macros > 0, ContentClass::Macros, format!("{} click actions that run macros", seen.macros)),
        (objects > 0, ContentClass::EmbeddedFiles, format!("{objects} embedded OLE objects")),
        (seen.links > 0, ContentClass::ExternalLinks, format!("{} linked OLE objects", seen.links)),
        (
            seen.programs > 0,
            ContentClass::ExternalActions,
            format!("{} click actions that run programs", seen.programs),
        ),
    ];
    for (found, class, what) in refusals {
        if found {
            let detail = format!("{what} inside the record stream, which cannot be removed safely");
            kept_or_refused(policy, findings, class, STREAM, detail)?;
        }
    }
    Ok(())
}

/// The VBA project is the stored compound file (compressed or not) whose
/// root holds a `VBA` storage; its modules go to the scanners.
fn inspect_projects<E: Embedder + ?Sized>(storages: &[(u16, &[u8])], policy: &Policy, embedder: &mut E) {
    let kept = policy.action(ContentClass::Macros) == Action::Allow;
    for &(instance, body) in storages {
        let bytes = match instance {
            1 => {
                let Some(packed) = body.get(4..) else { continue };
                let mut inflated = Vec::new();
                let mut reader = flate2::read::ZlibDecoder::new(packed).take(MAX_STORAGE_BYTES);
                // PowerPoint often ends the stream without its checksum:
                // what inflated before that is the storage.
                let _ = reader.read_to_end(&mut inflated);
                inflated
            }
            _ => body.to_vec(),
        };
        let size = bytes.len() as u64;
        let Ok(storage) = Storage::read(Cursor::new(bytes), size) else { continue };
        if let Some(Node::Storage(project)) = storage.get("VBA") {
            inspect_vba(embedder, project, kept, STREAM);
        }
    }
}

/// Where the top-level records start, walking from the first.
fn top_level_offsets(data: &[u8]) -> std::collections::BTreeSet<usize> {
    let mut offsets = std::collections::BTreeSet::new();
    let mut at = 0;
    while let Some(length) = read_u32(data, at + 4) {
        offsets.insert(at);
        at = (at + 8).saturating_add(length as usize);
    }
    offsets
}

fn walk<'a>(data: &'a [u8], depth: usize, seen: &mut Seen<'a>) {
    let mut at = 0;
    while let (Some(header), Some(kind), Some(length)) =
        (read_u16(data, at), read_u16(data, at + 2), read_u32(data, at + 4))
    {
        let body = at + 8;
        let end = body.saturating_add(length as usize).min(data.len());
        match kind {
            EX_OLE_OBJ_STG => seen.storages.push((header >> 4, &data[body.min(end)..end])),
            // persistIdRef and fHasMacros, both 0 when there is no project
            // (PowerPoint writes the atom either way); cut short counts as one.
            VBA_INFO_ATOM => seen.vba |= read_u32(data, body).is_none_or(|r| r != 0) || read_u32(data, body + 4) != Some(0),
            EX_OLE_LINK => seen.links += 1,
            CRYPT_SESSION => seen.encrypted = true,
            INTERACTIVE_INFO_ATOM => match data.get(body + 8) {
                Some(2) => seen.macros += 1,
                Some(3) => seen.programs += 1,
                _ => {}
            },
            _ => {}
        }
        // recVer 0xF marks a container.
        if header & 0x000F == 0x000F && depth < MAX_DEPTH {
            walk(&data[body.min(end)..end], depth + 1, seen);
        }
        at = body.saturating_add(length as usize);
    }
}

/// One save of the presentation, read from its `UserEditAtom`.
pub(crate) struct Edit {
    pub offset: usize,
    pub persist_directory: usize,
    /// The persist id of the encryption header, when the save encrypted.
    pub crypt_session: Option<u32>,
}

/// The record at `at`: its type and body.
pub(crate) fn record(data: &[u8], at: usize) -> Option<(u16, &[u8])> {
    let kind = read_u16(data, at.checked_add(2)?)?;
    let len = read_u32(data, at.checked_add(4)?)? as usize;
    Some((kind, data.get(at + 8..(at + 8).checked_add(len)?)?))
}

/// The saves, newest first, from the pointer in the `Current User` stream.
/// `None` when the chain cannot be followed.
pub(crate) fn edits(current: &[u8], document: &[u8]) -> Option<Vec<Edit>> {
    let mut edits: Vec<Edit> = Vec::new();
    let mut at = read_u32(current, 16)? as usize;
    loop {
        let (kind, body) = record(document, at)?;
        if kind != USER_EDIT_ATOM || body.len() < 0x1C || edits.len() >= MAX_EDITS {
            return None;
        }
        if edits.iter().any(|edit| edit.offset == at) {
            return None;
        }
        let previous = read_u32(body, 8)? as usize;
        let crypt_session = if body.len() >= 0x20 { read_u32(body, 28).filter(|&id| id != 0) } else { None };
        edits.push(Edit { offset: at, persist_directory: read_u32(body, 12)? as usize, crypt_session });
        if previous == 0 {
            return Some(edits);
        }
        at = previous;
    }
}

/// Every persist object of every save (persist id, offset), the newest
/// save's first.
pub(crate) fn persist_objects(document: &[u8], edits: &[Edit]) -> Result<Vec<(u32, usize)>, Failure> {
    let mut objects = Vec::new();
    for edit in edits {
        let (kind, body) =
            record(document, edit.persist_directory).ok_or_else(|| Failure::invalid("presentation: a persist directory is cut short"))?;
        if kind != PERSIST_DIRECTORY_ATOM {
            return Err(Failure::invalid("presentation: a save points at no persist directory"));
        }
        let mut at = 0;
        while let Some(entry) = read_u32(body, at) {
            let (first, count) = (entry & 0x000F_FFFF, (entry >> 20) as usize);
            for index in 0..count {
                let offset = read_u32(body, at + 4 + 4 * index).ok_or_else(|| Failure::invalid("presentation: a persist entry is cut short"))?;
                objects.push((first + index as u32, offset as usize));
            }
            at += 4 + 4 * count;
        }
    }
    Ok(objects)
}
