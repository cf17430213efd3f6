//! PowerPoint binary presentations (`PowerPoint Document` stream): VBA
//! projects and embedded OLE objects are compressed storages inside the
//! record stream (`ExOleObjStg`), linked objects and click actions that run
//! programs or macros are records too.
//!
//! Removing them means rewriting the persist directory that locates every
//! record by offset, which this plugin does not do: they are refused
//! (blocked, with the reason) unless the policy allows them.

use sekisho_plugin_sdk::{ContentClass, Failure, Findings, Policy};

use crate::kept_or_refused;
use crate::tree::Storage;
use crate::word::{read_u16, read_u32};

const EX_OLE_OBJ_STG: u16 = 0x1011;
const VBA_INFO_ATOM: u16 = 0x0400;
const EX_OLE_LINK: u16 = 0x0FCE;
const INTERACTIVE_INFO_ATOM: u16 = 0x0FF3;
const CRYPT_SESSION: u16 = 0x2F14;
/// Records nest; real presentations stay shallow.
const MAX_DEPTH: usize = 16;

#[derive(Default)]
struct Seen {
    storages: usize,
    vba: bool,
    links: usize,
    programs: usize,
    macros: usize,
    encrypted: bool,
}

/// Checks the presentation's records.
pub fn check(root: &Storage, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    const STREAM: &str = "PowerPoint Document";
    let document = root.stream(STREAM).ok_or_else(|| Failure::invalid("no PowerPoint Document stream"))?;
    let mut seen = Seen::default();
    walk(document, 0, &mut seen);
    if seen.encrypted || root.has("EncryptedSummary") {
        return Err(Failure::encrypted("the presentation is password-protected"));
    }
    let objects = seen.storages.saturating_sub(usize::from(seen.vba));
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

fn walk(data: &[u8], depth: usize, seen: &mut Seen) {
    let mut at = 0;
    while let (Some(header), Some(kind), Some(length)) =
        (read_u16(data, at), read_u16(data, at + 2), read_u32(data, at + 4))
    {
        let body = at + 8;
        let end = body.saturating_add(length as usize).min(data.len());
        match kind {
            EX_OLE_OBJ_STG => seen.storages += 1,
            VBA_INFO_ATOM => seen.vba = true,
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
