//! PowerPoint binary presentations (`PowerPoint Document` stream): VBA
//! projects and embedded OLE objects are compressed storages inside the
//! record stream (`ExOleObjStg`), linked objects and click actions that run
//! programs or macros are records too.
//!
//! Every record is located by offset through the persist directory, so the
//! stream is written anew as one save ([`compact`]): the newest version of
//! each persist object in id order, without the storages the policy
//! removes (the VBA project, embedded OLE objects and ActiveX controls),
//! the references to them cleared (an OLE object keeps its picture), click
//! actions that run macros or programs turned into no action, then one
//! persist directory and one edit record. Older saves do not survive.
//! Linked OLE objects are still refused unless the policy allows them, as
//! is everything when the chain of saves cannot be read. The VBA project
//! is handed to the host's scanners first.

use std::io::{Cursor, Read};

use std::collections::{BTreeMap, BTreeSet};

use sekisho_plugin_sdk::{Action, ContentClass, Decision, Disposition, Embedder, Failure, Findings, Policy};

use crate::tree::{Node, Storage};
use crate::word::{read_u16, read_u32};
use crate::{inspect_vba, kept_or_refused};

const EX_OLE_OBJ_STG: u16 = 0x1011;
const VBA_INFO_ATOM: u16 = 0x0400;
const EX_OLE_OBJ_ATOM: u16 = 0x0FC3;
/// The actions of an `InteractiveInfoAtom` that run a macro or a program.
const ACTION_MACRO: u8 = 2;
const ACTION_PROGRAM: u8 = 3;
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
    /// The persist ids `VBAInfoAtom`s point at: the VBA project's storage.
    projects: BTreeSet<u32>,
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
    root: &mut Storage,
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
    let chain = root.stream(CURRENT_USER).and_then(|current| edits(current, document));
    let objects = chain.as_ref().and_then(|edits| persist_objects(document, edits).ok()).unwrap_or_default();
    let top_level = top_level_offsets(document);
    let mut walked = BTreeSet::new();
    for &(_, at) in &objects {
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
    let storages = seen.storages.len().saturating_sub(usize::from(seen.vba));
    let (links, macros, programs, vba) = (seen.links, seen.macros, seen.programs, seen.vba);
    let mut plan = Plan::default();
    let removable = [
        (vba, ContentClass::Macros, Disposition::Removed, "a VBA project".to_owned(), &mut plan.vba),
        (
            storages > 0,
            ContentClass::EmbeddedFiles,
            Disposition::Removed,
            format!("{storages} embedded OLE objects or ActiveX controls (their pictures stay)"),
            &mut plan.objects,
        ),
        (
            macros > 0,
            ContentClass::Macros,
            Disposition::Neutralized,
            format!("{macros} click actions that run macros (now do nothing)"),
            &mut plan.macro_actions,
        ),
        (
            programs > 0,
            ContentClass::ExternalActions,
            Disposition::Neutralized,
            format!("{programs} click actions that run programs (now do nothing)"),
            &mut plan.program_actions,
        ),
    ];
    for (found, class, disposition, what, remove) in removable {
        if !found {
            continue;
        }
        if chain.is_some() && !objects.is_empty() {
            *remove = findings.decide(policy, class, disposition, STREAM, what)? == Decision::Sanitize;
        } else {
            let detail = format!("{what} inside a record stream whose saves cannot be read, so it cannot be removed");
            kept_or_refused(policy, findings, class, STREAM, detail)?;
        }
    }
    if links > 0 {
        let detail = format!("{links} linked OLE objects inside the record stream, which are not removed");
        kept_or_refused(policy, findings, ContentClass::ExternalLinks, STREAM, detail)?;
    }
    if let (true, Some(edits)) = (plan.any(), &chain) {
        let (rebuilt, edit_at) = compact(document, edits, &objects, &seen.projects, &plan)?;
        *root.stream_mut(STREAM).ok_or_else(|| Failure::invalid("no PowerPoint Document stream"))? = rebuilt;
        if let Some(current) = root.stream_mut(CURRENT_USER)
            && let Some(pointer) = current.get_mut(16..20)
        {
            pointer.copy_from_slice(&edit_at.to_le_bytes());
        }
    }
    Ok(())
}

/// What the rewritten record stream leaves out or turns off.
#[derive(Default)]
struct Plan {
    vba: bool,
    objects: bool,
    macro_actions: bool,
    program_actions: bool,
}

impl Plan {
    fn any(&self) -> bool {
        self.vba || self.objects || self.macro_actions || self.program_actions
    }
}

/// The record stream written anew as one save (see the module's text);
/// answers it and the offset of its edit record. `projects` are the VBA
/// project storages (what `VBAInfoAtom`s point at).
fn compact(
    document: &[u8],
    edits: &[Edit],
    objects: &[(u32, usize)],
    projects: &BTreeSet<u32>,
    plan: &Plan,
) -> Result<(Vec<u8>, u32), Failure> {
    let invalid = |detail: &str| Failure::invalid(format!("presentation: {detail}"));
    let mut newest = BTreeMap::new();
    for &(id, at) in objects {
        newest.entry(id).or_insert(at);
    }
    let record = |at: usize| -> Result<&[u8], Failure> {
        let len = read_u32(document, at + 4).ok_or_else(|| invalid("a persist object is cut short"))? as usize;
        document.get(at..(at + 8).saturating_add(len)).ok_or_else(|| invalid("a persist object is cut short"))
    };
    let mut dropped = BTreeSet::new();
    for (&id, &at) in &newest {
        if read_u16(document, at + 2) == Some(EX_OLE_OBJ_STG) && (plan.vba || plan.objects) {
            let project = projects.contains(&id);
            if (project && plan.vba) || (!project && plan.objects) {
                dropped.insert(id);
            }
        }
    }
    let mut out = Vec::with_capacity(document.len());
    let mut kept = Vec::new();
    for (&id, &at) in &newest {
        if dropped.contains(&id) {
            continue;
        }
        let start = out.len();
        out.extend_from_slice(record(at)?);
        visit(&mut out[start..], 0, &mut |kind, body| clear(kind, body, &dropped, plan));
        kept.push((id, u32::try_from(start).map_err(|_| invalid("larger than 4 GiB"))?));
    }
    let mut directory = Vec::new();
    for run in kept.chunk_by(|a, b| b.0 == a.0 + 1) {
        for part in run.chunks(0xFFF) {
            directory.extend((part[0].0 | (part.len() as u32) << 20).to_le_bytes());
            part.iter().for_each(|&(_, offset)| directory.extend(offset.to_le_bytes()));
        }
    }
    let directory_at = out.len() as u32;
    out.extend(header(PERSIST_DIRECTORY_ATOM, directory.len()));
    out.extend(directory);
    let newest_edit = edits.first().ok_or_else(|| invalid("no save"))?;
    let mut edit = document
        .get(newest_edit.offset + 8..newest_edit.offset + 8 + 0x1C)
        .ok_or_else(|| invalid("the edit record is cut short"))?
        .to_vec();
    edit[8..12].fill(0); // offsetLastEdit: this is the only save.
    edit[12..16].copy_from_slice(&directory_at.to_le_bytes());
    let seed = kept.last().map_or(1, |&(id, _)| id + 1).max(read_u32(&edit, 20).unwrap_or(0));
    edit[20..24].copy_from_slice(&seed.to_le_bytes());
    let edit_at = out.len() as u32;
    out.extend(header(USER_EDIT_ATOM, edit.len()));
    out.extend(edit);
    Ok((out, edit_at))
}

/// The header of an atom (recVer 0, recInstance 0) of `len` bytes.
fn header(kind: u16, len: usize) -> Vec<u8> {
    let mut header = vec![0, 0];
    header.extend(kind.to_le_bytes());
    header.extend((len as u32).to_le_bytes());
    header
}

/// Clears, in one atom, a reference to a storage that is left out, and a
/// click action the plan turns off.
fn clear(kind: u16, body: &mut [u8], dropped: &BTreeSet<u32>, plan: &Plan) {
    let points_at_dropped = |body: &[u8], at: usize| read_u32(body, at).is_some_and(|id| dropped.contains(&id));
    match kind {
        // persistIdRef and fHasMacros.
        VBA_INFO_ATOM if points_at_dropped(body, 0) => body[..8].fill(0),
        EX_OLE_OBJ_ATOM if points_at_dropped(body, 16) => body[16..20].fill(0),
        INTERACTIVE_INFO_ATOM => {
            if let Some(action) = body.get_mut(8)
                && ((*action == ACTION_MACRO && plan.macro_actions)
                    || (*action == ACTION_PROGRAM && plan.program_actions))
            {
                *action = 0;
            }
        }
        _ => {}
    }
}

/// Calls `atom` on the type and body of every atom in `data`, containers
/// entered (as [`walk`] reads them).
fn visit(data: &mut [u8], depth: usize, atom: &mut impl FnMut(u16, &mut [u8])) {
    let mut at = 0;
    while let (Some(header), Some(kind), Some(length)) =
        (read_u16(data, at), read_u16(data, at + 2), read_u32(data, at + 4))
    {
        let body = at + 8;
        let end = body.saturating_add(length as usize).min(data.len());
        let part = &mut data[body.min(end)..end];
        if header & 0x000F == 0x000F {
            if depth < MAX_DEPTH {
                visit(part, depth + 1, atom);
            }
        } else {
            atom(kind, part);
        }
        at = body.saturating_add(length as usize);
    }
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
            VBA_INFO_ATOM => {
                seen.vba |= read_u32(data, body).is_none_or(|r| r != 0) || read_u32(data, body + 4) != Some(0);
                seen.projects.extend(read_u32(data, body).filter(|&id| id != 0));
            }
            EX_OLE_LINK => seen.links += 1,
            CRYPT_SESSION => seen.encrypted = true,
            INTERACTIVE_INFO_ATOM => match data.get(body + 8) {
                Some(&ACTION_MACRO) => seen.macros += 1,
                Some(&ACTION_PROGRAM) => seen.programs += 1,
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
        let (kind, body) = record(document, edit.persist_directory)
            .ok_or_else(|| Failure::invalid("presentation: a persist directory is cut short"))?;
        if kind != PERSIST_DIRECTORY_ATOM {
            return Err(Failure::invalid("presentation: a save points at no persist directory"));
        }
        let mut at = 0;
        while let Some(entry) = read_u32(body, at) {
            let (first, count) = (entry & 0x000F_FFFF, (entry >> 20) as usize);
            for index in 0..count {
                let offset = read_u32(body, at + 4 + 4 * index)
                    .ok_or_else(|| Failure::invalid("presentation: a persist entry is cut short"))?;
                objects.push((first + index as u32, offset as usize));
            }
            at += 4 + 4 * count;
        }
    }
    Ok(objects)
}
