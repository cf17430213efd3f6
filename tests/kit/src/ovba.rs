//! VBA projects as Office stores them ([MS-OVBA]): the `dir` stream, the
//! `_VBA_PROJECT` stream, module streams holding compressed source and the
//! `PROJECT` stream, in a compound file (`vbaProject.bin`) or in a storage
//! of one (Word 97's `Macros`).
//!
//! The compression writes literal-only chunks, which the format allows
//! (a token sequence whose flag byte is zero is eight literal bytes):
//! readers decompress them like any other.

use std::io::{Cursor, Write};
use std::path::Path;

/// Source of one VBA module that runs when Word opens the document.
pub const AUTO_OPEN_MODULE: &str = "Attribute VB_Name = \"Module1\"\r\n\
    Sub AutoOpen()\r\n\
    \x20   MsgBox \"Sekisho test fixture: this macro runs when the document opens\"\r\n\
    End Sub\r\n";

/// Size of a decompressed chunk.
const CHUNK: usize = 4096;

/// Compresses `data` as an MS-OVBA CompressedContainer (2.4.1).
///
/// Full 4096-byte chunks are stored raw; the last, shorter chunk as a
/// compressed chunk of literal tokens, which must fit the 4098-byte chunk
/// limit (up to 3640 bytes): module sources and `dir` streams of fixtures
/// are far smaller.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x01];
    for block in data.chunks(CHUNK) {
        if block.len() == CHUNK {
            // Raw chunk: size field 4098 - 3, signature 0b011, flag 0.
            out.extend_from_slice(&(0x3000u16 | 0x0FFF).to_le_bytes());
            out.extend_from_slice(block);
            continue;
        }
        let mut chunk = Vec::with_capacity(block.len() + block.len() / 8 + 1);
        for tokens in block.chunks(8) {
            chunk.push(0x00); // eight literal tokens
            chunk.extend_from_slice(tokens);
        }
        let size = chunk.len() + 2;
        assert!(size <= 4098, "a literal-only chunk of {} bytes does not fit 4098 bytes", block.len());
        out.extend_from_slice(&(0xB000 | (size - 3) as u16).to_le_bytes());
        out.extend_from_slice(&chunk);
    }
    out
}

/// Decompresses an MS-OVBA CompressedContainer: literal and copy tokens,
/// raw chunks. Used to check [`compress`] and to read fixtures back.
pub fn decompress(data: &[u8]) -> Option<Vec<u8>> {
    let (&signature, mut rest) = data.split_first()?;
    if signature != 0x01 {
        return None;
    }
    let mut out = Vec::new();
    while rest.len() >= 2 {
        let header = u16::from_le_bytes([rest[0], rest[1]]);
        if (header >> 12) & 0x07 != 0b011 {
            return None;
        }
        let size = ((header & 0x0FFF) as usize + 3).min(rest.len());
        let (chunk, next) = rest.split_at(size);
        rest = next;
        let start = out.len();
        if header & 0x8000 == 0 {
            out.extend_from_slice(&chunk[2..]);
            continue;
        }
        let mut at = 2;
        while at < chunk.len() {
            let flags = chunk[at];
            at += 1;
            for bit in 0..8 {
                if at >= chunk.len() {
                    break;
                }
                if flags & (1 << bit) == 0 {
                    out.push(chunk[at]);
                    at += 1;
                } else {
                    let token = u16::from_le_bytes([chunk[at], *chunk.get(at + 1)?]) as usize;
                    at += 2;
                    let position = out.len() - start;
                    let bits = (usize::BITS - (position.max(1) - 1).leading_zeros()).max(4) as usize;
                    let length = (token & (0xFFFF >> bits)) + 3;
                    let offset = (token >> (16 - bits)) + 1;
                    for _ in 0..length {
                        let byte = *out.get(out.len().checked_sub(offset)?)?;
                        out.push(byte);
                    }
                }
            }
        }
    }
    Some(out)
}

fn record(out: &mut Vec<u8>, id: u16, data: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

/// A compound-file directory name as stored: UTF-16, NUL-terminated.
pub fn utf16_name(name: &str) -> Vec<u8> {
    let mut bytes = utf16(name);
    bytes.extend([0, 0]);
    bytes
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The decompressed `dir` stream of a project with procedural modules
/// named `modules`, each in the stream of the same name at offset 0.
pub fn dir_stream(project: &str, modules: &[&str]) -> Vec<u8> {
    let mut dir = Vec::new();
    record(&mut dir, 0x0001, &1u32.to_le_bytes()); // PROJECTSYSKIND: 32-bit Windows
    record(&mut dir, 0x0002, &0x0409u32.to_le_bytes()); // PROJECTLCID
    record(&mut dir, 0x0014, &0x0409u32.to_le_bytes()); // PROJECTLCIDINVOKE
    record(&mut dir, 0x0003, &1252u16.to_le_bytes()); // PROJECTCODEPAGE
    record(&mut dir, 0x0004, project.as_bytes()); // PROJECTNAME
    record(&mut dir, 0x0005, b""); // PROJECTDOCSTRING
    record(&mut dir, 0x0040, b""); //   its Unicode form
    record(&mut dir, 0x0006, b""); // PROJECTHELPFILEPATH
    record(&mut dir, 0x003D, b""); //   second copy
    record(&mut dir, 0x0007, &0u32.to_le_bytes()); // PROJECTHELPCONTEXT
    record(&mut dir, 0x0008, &0u32.to_le_bytes()); // PROJECTLIBFLAGS
    // PROJECTVERSION: Reserved (4), VersionMajor, VersionMinor.
    dir.extend_from_slice(&0x0009u16.to_le_bytes());
    dir.extend_from_slice(&4u32.to_le_bytes());
    dir.extend_from_slice(&0x5A3D_D1A4u32.to_le_bytes());
    dir.extend_from_slice(&6u16.to_le_bytes());
    record(&mut dir, 0x000C, b""); // PROJECTCONSTANTS
    record(&mut dir, 0x003C, b""); //   its Unicode form
    // PROJECTMODULES: Id, Size 2, Count; PROJECTCOOKIE.
    record(&mut dir, 0x000F, &(modules.len() as u16).to_le_bytes());
    record(&mut dir, 0x0013, &0xFFFFu16.to_le_bytes());
    for name in modules {
        record(&mut dir, 0x0019, name.as_bytes()); // MODULENAME
        record(&mut dir, 0x0047, &utf16(name)); // MODULENAMEUNICODE
        record(&mut dir, 0x001A, name.as_bytes()); // MODULESTREAMNAME
        record(&mut dir, 0x0032, &utf16(name)); //   its Unicode form
        record(&mut dir, 0x001C, b""); // MODULEDOCSTRING
        record(&mut dir, 0x0048, b""); //   its Unicode form
        record(&mut dir, 0x0031, &0u32.to_le_bytes()); // MODULEOFFSET: the source starts the stream
        record(&mut dir, 0x001E, &0u32.to_le_bytes()); // MODULEHELPCONTEXT
        record(&mut dir, 0x002C, &0xFFFFu16.to_le_bytes()); // MODULECOOKIE
        record(&mut dir, 0x0021, b""); // MODULETYPE: procedural
        record(&mut dir, 0x002B, b""); // module terminator
    }
    record(&mut dir, 0x0010, b""); // dir stream terminator
    dir
}

/// The `PROJECT` stream: the project's properties as text.
pub fn project_stream(project: &str, modules: &[&str]) -> Vec<u8> {
    let mut text = String::from("ID=\"{5B7C6E0F-1D2A-4C3B-9E8F-0A1B2C3D4E5F}\"\r\n");
    for name in modules {
        text.push_str(&format!("Module={name}\r\n"));
    }
    text.push_str(&format!("Name=\"{project}\"\r\nHelpContextID=\"0\"\r\nVersionCompatible32=\"393222000\"\r\n"));
    text.push_str("\r\n[Host Extender Info]\r\n&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000\r\n");
    text.push_str("\r\n[Workspace]\r\n");
    for name in modules {
        text.push_str(&format!("{name}=0, 0, 0, 0, C\r\n"));
    }
    text.into_bytes()
}

/// `_VBA_PROJECT`: reserved 0x61CC, version 0xFFFF (no performance cache,
/// so Office compiles from the source), two reserved fields.
pub const VBA_PROJECT_STREAM: [u8; 7] = [0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x00, 0x00];

/// A fixed time for every storage, so the same project gives the same bytes.
fn fixed_time() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200) // 2024-01-01
}

/// Writes a VBA project under `root` (`/` for `vbaProject.bin`, `/Macros`
/// inside a Word 97 document) of `cfb`: `VBA/dir`, `VBA/_VBA_PROJECT`, one
/// stream per module in `VBA/`, and `PROJECT`.
pub fn write_project<F: std::io::Read + Write + std::io::Seek>(
    cfb: &mut cfb::CompoundFile<F>,
    root: &str,
    modules: &[(&str, &str)],
) -> std::io::Result<()> {
    let root = Path::new(root);
    if root != Path::new("/") {
        cfb.create_storage(root)?;
    }
    let vba = root.join("VBA");
    cfb.create_storage(&vba)?;
    let names: Vec<&str> = modules.iter().map(|(name, _)| *name).collect();
    cfb.create_stream(vba.join("dir"))?.write_all(&compress(&dir_stream("VBAProject", &names)))?;
    cfb.create_stream(vba.join("_VBA_PROJECT"))?.write_all(&VBA_PROJECT_STREAM)?;
    for (name, source) in modules {
        cfb.create_stream(vba.join(name))?.write_all(&compress(source.as_bytes()))?;
    }
    cfb.create_stream(root.join("PROJECT"))?.write_all(&project_stream("VBAProject", &names))?;
    Ok(())
}

/// Sets the times of the root and of every storage to one fixed time, so
/// the same content gives the same bytes (streams have no times).
pub fn fix_times<F: std::io::Read + Write + std::io::Seek>(cfb: &mut cfb::CompoundFile<F>) -> std::io::Result<()> {
    let storages: Vec<std::path::PathBuf> =
        cfb.walk().filter(|entry| !entry.is_stream()).map(|entry| entry.path().to_path_buf()).collect();
    for storage in storages {
        cfb.set_created_time(&storage, fixed_time())?;
        cfb.set_modified_time(&storage, fixed_time())?;
    }
    Ok(())
}

/// `vbaProject.bin`: a compound file whose root is a VBA project with the
/// given (name, source) modules.
pub fn vba_project_bin(modules: &[(&str, &str)]) -> Vec<u8> {
    let mut cfb = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).unwrap();
    write_project(&mut cfb, "/", modules).unwrap();
    fix_times(&mut cfb).unwrap();
    cfb.flush().unwrap();
    cfb.into_inner().into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_round_trips() {
        for size in [0, 1, 7, 8, 9, 100, 3640, 4096, 4097, 9000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(decompress(&compress(&data)).as_deref(), Some(&data[..]), "{size} bytes");
        }
    }

    #[test]
    fn a_known_compressed_container_decompresses() {
        // Fifteen "a": one literal, then a copy token (offset 1, length 14:
        // 4 offset bits at this position, so the token is 14 - 3 = 0x000B).
        let compressed = [0x01, 0x03, 0xB0, 0x02, 0x61, 0x0B, 0x00];
        assert_eq!(decompress(&compressed).unwrap(), b"aaaaaaaaaaaaaaa");
    }

    #[test]
    fn the_project_reads_back() {
        let bin = vba_project_bin(&[("Module1", AUTO_OPEN_MODULE)]);
        assert_eq!(bin, vba_project_bin(&[("Module1", AUTO_OPEN_MODULE)]), "deterministic");
        let mut cfb = cfb::CompoundFile::open(Cursor::new(bin)).unwrap();
        let mut read = |path: &str| {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut cfb.open_stream(path).unwrap(), &mut data).unwrap();
            data
        };
        let source = decompress(&read("/VBA/Module1")).unwrap();
        assert!(String::from_utf8(source).unwrap().contains("Sub AutoOpen()"));
        let dir = decompress(&read("/VBA/dir")).unwrap();
        assert_eq!(&dir[..2], &[0x01, 0x00]);
        assert!(String::from_utf8_lossy(&read("/PROJECT")).contains("Module=Module1"));
    }
}
