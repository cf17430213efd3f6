//! PowerPoint 97 presentations built record by record (MS-PPT): a document
//! container with a line of text, the persist directory, the edit record
//! and the `Current User` stream, with a PNG picture in the `Pictures`
//! stream, and optionally encrypted with RC4 CryptoAPI as PowerPoint does
//! (MS-PPT 2.3.7, MS-OFFCRYPTO 2.3.5).
//!
//! The encryption here is written from the specifications on its own, not
//! with the plugin SDK's code, so a plugin test compares two readings.

use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};

use crate::office::compound_file;

const DOCUMENT_CONTAINER: u16 = 0x03E8;
const TEXT_CHARS_ATOM: u16 = 0x0FA0;
const CRYPT_SESSION: u16 = 0x2F14;
const PERSIST_DIRECTORY_ATOM: u16 = 0x1772;
const USER_EDIT_ATOM: u16 = 0x0FF5;
const CURRENT_USER_ATOM: u16 = 0x0FF6;
const BLIP_PNG: u16 = 0xF01E;
const VBA_INFO_CONTAINER: u16 = 0x03FF;
const VBA_INFO_ATOM: u16 = 0x0400;
const INTERACTIVE_INFO_ATOM: u16 = 0x0FF3;
const EX_OLE_OBJ_STG: u16 = 0x1011;

/// The salt and verifier of the fixture's encryption header.
const SALT: [u8; 16] = *b"sekisho ppt salt";
const VERIFIER: [u8; 16] = *b"verifier 16bytes";

/// Appends the persist directory (ids from 1 at `offsets`) and the edit
/// record to `document`; answers the `Current User` stream pointing at it.
fn close(document: &mut Vec<u8>, offsets: &[u32], crypt_session: Option<u32>) -> Vec<u8> {
    let directory_at = document.len() as u32;
    let mut entries = ((offsets.len() as u32) << 20 | 1).to_le_bytes().to_vec();
    offsets.iter().for_each(|offset| entries.extend(offset.to_le_bytes()));
    document.extend(record(0, PERSIST_DIRECTORY_ATOM, &entries));
    let edit_at = document.len() as u32;
    let mut edit = Vec::new();
    edit.extend(0u32.to_le_bytes()); // lastSlideIdRef
    edit.extend(0u16.to_le_bytes()); // version
    edit.extend([0, 3]); // minor, major
    edit.extend(0u32.to_le_bytes()); // offsetLastEdit: the first save
    edit.extend(directory_at.to_le_bytes());
    edit.extend(1u32.to_le_bytes()); // docPersistIdRef
    edit.extend((offsets.len() as u32 + 1).to_le_bytes()); // persistIdSeed
    edit.extend(1u16.to_le_bytes()); // lastView
    edit.extend(0u16.to_le_bytes());
    if let Some(id) = crypt_session {
        edit.extend(id.to_le_bytes()); // encryptSessionPersistIdRef
    }
    document.extend(record(0, USER_EDIT_ATOM, &edit));

    let token: u32 = if crypt_session.is_some() { 0xF3D1_C4DF } else { 0xE391_C05F };
    let mut atom = Vec::new();
    atom.extend(0x14u32.to_le_bytes());
    atom.extend(token.to_le_bytes());
    atom.extend(edit_at.to_le_bytes());
    atom.extend(0u16.to_le_bytes()); // lenUserName
    atom.extend(0x03F4u16.to_le_bytes()); // docFileVersion
    atom.extend([3, 0]); // major, minor
    atom.extend(0u16.to_le_bytes());
    atom.extend(8u32.to_le_bytes()); // relVersion
    record(0, CURRENT_USER_ATOM, &atom)
}

/// A presentation whose top-level records hide one: an atom's declared
/// length covers a record of type `hidden` (body `body`) that the persist
/// directory points at, as PowerPoint would load it.
pub fn hiding(hidden: u16, body: &[u8]) -> Vec<u8> {
    let inner = record(0x000F, hidden, body);
    let mut document = record(0, TEXT_CHARS_ATOM, &inner);
    let current_user = close(&mut document, &[8], None);
    compound_file(&[("/PowerPoint Document", &document), ("/Current User", &current_user)], &[], None)
}

/// A presentation with a VBA project (persist object 2, an `ExOleObjStg`
/// the document's `VBAInfoAtom` points at) and a click action that runs a
/// macro, as PowerPoint writes them.
pub fn with_macros() -> Vec<u8> {
    let mut vba_info = Vec::new();
    for field in [2u32, 1, 2] {
        vba_info.extend(field.to_le_bytes()); // persistIdRef, fHasMacros, version
    }
    let mut interactive = vec![0u8; 16];
    interactive[8] = 2; // action: run a macro
    let mut inner = record(0x000F, VBA_INFO_CONTAINER, &record(0x0020, VBA_INFO_ATOM, &vba_info));
    inner.extend(record(0, INTERACTIVE_INFO_ATOM, &interactive));
    inner.extend(record(
        0,
        TEXT_CHARS_ATOM,
        &"macro deck".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>(),
    ));
    let mut document = record(0x000F, DOCUMENT_CONTAINER, &inner);
    let project_at = document.len() as u32;
    document.extend(record(0, EX_OLE_OBJ_STG, b"Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()"));
    let current_user = close(&mut document, &[0, project_at], None);
    compound_file(&[("/PowerPoint Document", &document), ("/Current User", &current_user)], &[], None)
}

fn record(version_instance: u16, kind: u16, body: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(8 + body.len());
    record.extend(version_instance.to_le_bytes());
    record.extend(kind.to_le_bytes());
    record.extend((body.len() as u32).to_le_bytes());
    record.extend(body);
    record
}

/// The RC4 stream of `block` for `password` (128-bit key).
fn cipher(password: &str, block: u32) -> Rc4 {
    let password: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let base = Sha1::new().chain_update(SALT).chain_update(password).finalize();
    let key = Sha1::new().chain_update(base).chain_update(block.to_le_bytes()).finalize();
    Rc4::new_from_slice(&key[..16]).unwrap()
}

/// An RC4 CryptoAPI `EncryptionInfo` for `password`.
fn encryption_info(password: &str) -> Vec<u8> {
    let mut header = Vec::new();
    for field in [0x04u32, 0, 0x6801, 0x8004, 128, 1, 0, 0] {
        header.extend(field.to_le_bytes());
    }
    header.extend("Microsoft Enhanced Cryptographic Provider v1.0\0".encode_utf16().flat_map(u16::to_le_bytes));
    let mut verifier = VERIFIER.to_vec();
    verifier.extend(Sha1::digest(VERIFIER));
    cipher(password, 0).apply_keystream(&mut verifier);
    let mut info = vec![4, 0, 2, 0];
    info.extend(4u32.to_le_bytes());
    info.extend((header.len() as u32).to_le_bytes());
    info.extend(header);
    info.extend(16u32.to_le_bytes());
    info.extend(SALT);
    info.extend(&verifier[..16]);
    info.extend(20u32.to_le_bytes());
    info.extend(&verifier[16..]);
    info
}

/// The parts of a presentation, before it is packed into a compound file.
pub struct Presentation {
    /// The `PowerPoint Document` stream.
    pub document: Vec<u8>,
    /// The `Current User` stream.
    pub current_user: Vec<u8>,
    /// The `Pictures` stream.
    pub pictures: Vec<u8>,
    /// The document container (persist object 1) as stored: at offset 0.
    pub container_len: usize,
}

impl Presentation {
    /// `text` in a document container, `png` in the Pictures stream; with
    /// `password`, encrypted (the encryption header is persist object 2).
    pub fn new(text: &str, png: &[u8], password: Option<&str>) -> Presentation {
        let chars: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut document = record(0x000F, DOCUMENT_CONTAINER, &record(0, TEXT_CHARS_ATOM, &chars));
        let container_len = document.len();
        let mut offsets = vec![0u32];
        if let Some(password) = password {
            cipher(password, 1).apply_keystream(&mut document);
            offsets.push(document.len() as u32);
            document.extend(record(0x000F, CRYPT_SESSION, &encryption_info(password)));
        }
        let crypt_session = password.map(|_| 2);
        let current_user = close(&mut document, &offsets, crypt_session);

        // A PNG picture record: header, one id, a tag byte, the PNG (each
        // field its own block-0 stream when encrypted).
        let mut body = vec![0x11u8; 16];
        body.push(0xFF);
        body.extend(png);
        let mut pictures = record(0x6E00, BLIP_PNG, &body);
        if let Some(password) = password {
            for range in [0..8, 8..24, 24..25, 25..pictures.len()] {
                cipher(password, 0).apply_keystream(&mut pictures[range]);
            }
        }
        Presentation { document, current_user, pictures, container_len }
    }

    /// The presentation as a compound file.
    pub fn file(&self) -> Vec<u8> {
        compound_file(
            &[
                ("/PowerPoint Document", &self.document),
                ("/Current User", &self.current_user),
                ("/Pictures", &self.pictures),
            ],
            &[],
            None,
        )
    }
}
