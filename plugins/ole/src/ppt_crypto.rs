//! Password-protected PowerPoint presentations (MS-PPT 2.3.7), opened with
//! the policy's password candidates and written out unencrypted.
//!
//! PowerPoint encrypts with RC4 CryptoAPI
//! ([`sekisho_plugin_sdk::office_crypto::rc4`]). In the `PowerPoint
//! Document` stream every persist object is encrypted on its own, header
//! included, with its persist id as the block number; the edit records
//! (`UserEditAtom`, `PersistDirectoryAtom`) and the encryption header
//! (`CryptSession10Container`) are not. In the `Pictures` stream each field
//! of each picture record is encrypted with a fresh block-0 stream. The
//! document properties are in an `EncryptedSummary` stream, which is left
//! out with the other properties.
//!
//! After decryption the file no longer says it is encrypted: the edits
//! point at no encryption header (persist id 0 does not exist), the header
//! record becomes an inert record of the same size (so the record stream
//! stays walkable), and the current-user token is the unencrypted one.

use sekisho_plugin_sdk::office_crypto::rc4::{CryptoApi, Key, StreamCipher};
use sekisho_plugin_sdk::{Failure, Findings, Policy, passwords};

use crate::powerpoint::{CRYPT_SESSION, CURRENT_USER, edits, persist_objects, record};
use crate::tree::Storage;
use crate::word::{read_u16, read_u32};

const PICTURES: &str = "Pictures";
const ENCRYPTED_SUMMARY: &str = "EncryptedSummary";
/// The current-user token of an unencrypted file (MS-PPT 2.3.2).
const TOKEN_PLAIN: u32 = 0xE391_C05F;
const FBSE: u16 = 0xF007;

fn invalid(detail: &str) -> Failure {
    Failure::invalid(format!("encrypted presentation: {detail}"))
}

/// Decrypts `root` in place when the presentation is encrypted, with the
/// policy's candidates; a plain presentation is left as it is.
pub fn decrypt(root: &mut Storage, stream: &str, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    let (Some(current), Some(document)) = (root.stream(CURRENT_USER), root.stream(stream)) else {
        return Ok(());
    };
    let Some(edits) = edits(current, document) else { return Ok(()) };
    let Some(session) = edits.iter().find_map(|edit| edit.crypt_session) else { return Ok(()) };
    let objects = persist_objects(document, &edits)?;
    let at = objects.iter().find(|(id, _)| *id == session).map(|&(_, at)| at);
    let header = at.and_then(|at| record(document, at)).ok_or_else(|| invalid("no encryption header"))?;
    if header.0 != CRYPT_SESSION {
        return Err(invalid("the encryption header is another record"));
    }
    let scheme = CryptoApi::parse(header.1)?;
    let (key, opened) = passwords::open(policy, "the presentation", |password| Ok(scheme.key(password)))?;

    let sessions: Vec<usize> = edits
        .iter()
        .filter_map(|edit| edit.crypt_session)
        .filter_map(|id| objects.iter().find(|(object, _)| *object == id).map(|&(_, at)| at))
        .collect();
    let document = root.stream_mut(stream).ok_or_else(|| invalid("no document stream"))?;
    let mut done = std::collections::BTreeSet::new();
    for &(id, at) in &objects {
        if sessions.contains(&at) || !done.insert(at) {
            continue;
        }
        decrypt_record(document, at, &key, id)?;
    }
    for &at in &sessions {
        // recVer 0, recInstance 0, recType 0: an atom nothing reads, of the
        // same length, with its body cleared.
        let Some(len) = read_u32(document, at + 4) else { continue };
        let end = (at + 8).saturating_add(len as usize).min(document.len());
        document[at..at + 4].fill(0);
        document[at + 8..end].fill(0);
    }
    for edit in edits.iter().filter(|edit| edit.crypt_session.is_some()) {
        document[edit.offset + 8 + 28..edit.offset + 8 + 32].fill(0);
    }
    if let Some(current) = root.stream_mut(CURRENT_USER)
        && let Some(token) = current.get_mut(12..16)
    {
        token.copy_from_slice(&TOKEN_PLAIN.to_le_bytes());
    }
    if let Some(pictures) = root.stream_mut(PICTURES) {
        decrypt_pictures(pictures, &key)?;
    }
    root.children.retain(|(name, _)| !name.eq_ignore_ascii_case(ENCRYPTED_SUMMARY));
    findings.decrypted(stream, opened, None);
    Ok(())
}

/// Decrypts the persist object at `at`: its header first, whose length
/// says how much of the body follows, all in one stream of block `id`.
fn decrypt_record(document: &mut [u8], at: usize, key: &Key, id: u32) -> Result<(), Failure> {
    let outside = || invalid("a persist object lies outside the document stream");
    let mut cipher = key.cipher(id);
    let header = document.get_mut(at..at.checked_add(8).ok_or_else(outside)?).ok_or_else(outside)?;
    cipher.apply_keystream(header);
    let len = read_u32(document, at + 4).ok_or_else(outside)? as usize;
    let body = document.get_mut(at + 8..(at + 8).checked_add(len).ok_or_else(outside)?).ok_or_else(outside)?;
    cipher.apply_keystream(body);
    Ok(())
}

/// The `Pictures` stream: each picture record, field by field, each field
/// with a fresh block-0 stream (MS-PPT 2.3.7.3, as Office writes it).
fn decrypt_pictures(pictures: &mut [u8], key: &Key) -> Result<(), Failure> {
    let outside = || invalid("a picture record lies outside the Pictures stream");
    let field = |pictures: &mut [u8], at: usize, len: usize| -> Result<usize, Failure> {
        let bytes = pictures.get_mut(at..at.checked_add(len).ok_or_else(outside)?).ok_or_else(outside)?;
        key.cipher(0).apply_keystream(bytes);
        Ok(at + len)
    };
    let mut at = 0;
    while at + 8 <= pictures.len() {
        let mut pos = field(pictures, at, 8)?;
        let (mut instance, mut kind) =
            (read_u16(pictures, at).unwrap_or(0) >> 4, read_u16(pictures, at + 2).unwrap_or(0));
        let end = pos.checked_add(read_u32(pictures, at + 4).unwrap_or(0) as usize).ok_or_else(outside)?;
        if end > pictures.len() {
            return Err(outside());
        }
        if kind == FBSE {
            // btWin32, btMacOS, rgbUid, tag, size, cRef, foDelay, unused1,
            // cbName, unused2, unused3 (MS-ODRAW 2.2.32).
            for len in [1, 1, 16, 2, 4, 4, 4, 1, 1, 1, 1] {
                pos = field(pictures, pos, len)?;
            }
            let name = usize::from(pictures[pos - 3]);
            pos = field(pictures, pos, name)?;
            if pos >= end {
                at = end;
                continue;
            }
            let header = pos;
            pos = field(pictures, pos, 8)?;
            instance = read_u16(pictures, header).unwrap_or(0) >> 4;
            kind = read_u16(pictures, header + 2).unwrap_or(0);
        }
        // Pictures with a second id (MS-ODRAW 2.2.23 onwards).
        let ids = if matches!(instance, 0x217 | 0x3D5 | 0x46B | 0x543 | 0x6E1 | 0x6E3 | 0x6E5 | 0x7A9) { 2 } else { 1 };
        for _ in 0..ids {
            pos = field(pictures, pos, 16)?;
        }
        // A metafile header (EMF, WMF, PICT), or a one-byte tag.
        pos = field(pictures, pos, if (0xF01A..=0xF01C).contains(&kind) { 34 } else { 1 })?;
        field(pictures, pos, end.checked_sub(pos).ok_or_else(outside)?)?;
        at = end;
    }
    Ok(())
}
