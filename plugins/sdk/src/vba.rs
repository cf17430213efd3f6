//! The source of VBA modules ([MS-OVBA]), decoded for the host's scanners.
//!
//! A VBA project keeps each module's source compressed in a stream of its
//! storage, after the module's compiled code, at an offset that only the
//! project's (compressed) `dir` stream gives. Scanners need the source:
//! words in the compressed stream are split by compression tokens. This is
//! read-only and bounded; plugins remove or keep the project as they did
//! before and hand each module over with [`inspect`].

use std::io::{Cursor, Read};

use crate::{ContentClass, Host};

/// The first bytes of a compound file (a `vbaProject.bin`).
pub const CFB_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Most bytes one module or `dir` stream may decompress to.
pub const MAX_DECOMPRESSED: usize = 16 << 20;

/// Most modules read from one project.
const MAX_MODULES: usize = 4096;

/// One module of a project: its name and its source in the project's code page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The module's name (`Module1`, `ThisDocument`).
    pub name: String,
    /// The source, decompressed.
    pub source: Vec<u8>,
}

/// Decompresses an MS-OVBA CompressedContainer (2.4.1.3.1) into at most `max` bytes.
pub fn decompress(data: &[u8], max: usize) -> Result<Vec<u8>, String> {
    if data.first() != Some(&1) {
        return Err("not a compressed container (signature byte is not 1)".into());
    }
    let mut out = Vec::new();
    let mut pos = 1;
    while pos + 2 <= data.len() {
        let header = u16::from_le_bytes([data[pos], data[pos + 1]]);
        let end = (pos + usize::from(header & 0x0FFF) + 3).min(data.len());
        pos += 2;
        let start = out.len();
        if header & 0x8000 == 0 {
            out.extend_from_slice(&data[pos..end]);
            pos = end;
        }
        while pos < end {
            let flags = data[pos];
            pos += 1;
            for bit in 0..8 {
                if pos >= end {
                    break;
                }
                if flags & (1 << bit) == 0 {
                    out.push(data[pos]);
                    pos += 1;
                    continue;
                }
                let token = u16::from_le_bytes([data[pos], *data.get(pos + 1).ok_or("copy token cut short")?]);
                pos += 2;
                let done = (out.len() - start) as u64;
                let bits = if done <= 1 { 0 } else { 64 - (done - 1).leading_zeros() }.max(4);
                let length_mask = 0xFFFFu16 >> bits;
                let length = usize::from(token & length_mask) + 3;
                let offset = usize::from((token & !length_mask) >> (16 - bits)) + 1;
                if offset as u64 > done {
                    return Err("copy token reaches before the chunk".into());
                }
                for _ in 0..length {
                    out.push(out[out.len() - offset]);
                }
            }
            if out.len() > max {
                return Err(format!("decompresses to more than {max} bytes"));
            }
        }
        if out.len() > max {
            return Err(format!("decompresses to more than {max} bytes"));
        }
    }
    Ok(out)
}

/// A module as the `dir` stream describes it.
#[derive(Default)]
struct Entry {
    name: String,
    stream: String,
    offset: usize,
}

/// The modules the decompressed `dir` stream (2.3.4.2) lists: name, stream
/// name and where the source starts in the stream.
fn directory(dir: &[u8]) -> Result<Vec<Entry>, String> {
    const PROJECTVERSION: u16 = 0x0009;
    const MODULENAME: u16 = 0x0019;
    const MODULESTREAMNAME: u16 = 0x001A;
    const MODULESTREAMNAME_UNICODE: u16 = 0x0032;
    const MODULEOFFSET: u16 = 0x0031;
    const MODULE_TERMINATOR: u16 = 0x002B;
    const DIR_TERMINATOR: u16 = 0x0010;
    let mut modules = Vec::new();
    let mut current: Option<Entry> = None;
    let mut pos = 0;
    while pos + 6 <= dir.len() {
        let id = u16::from_le_bytes([dir[pos], dir[pos + 1]]);
        let mut size = u32::from_le_bytes([dir[pos + 2], dir[pos + 3], dir[pos + 4], dir[pos + 5]]) as usize;
        pos += 6;
        // Its size field says 4 (a reserved value), yet 6 bytes follow.
        if id == PROJECTVERSION {
            size = 6;
        }
        let body = dir.get(pos..pos.saturating_add(size)).ok_or("a dir record runs past the stream")?;
        pos += size;
        match id {
            MODULENAME => {
                if modules.len() >= MAX_MODULES {
                    return Err(format!("more than {MAX_MODULES} modules"));
                }
                current = Some(Entry { name: String::from_utf8_lossy(body).into_owned(), ..Entry::default() });
            }
            MODULESTREAMNAME => {
                if let Some(entry) = &mut current {
                    entry.stream = String::from_utf8_lossy(body).into_owned();
                }
            }
            MODULESTREAMNAME_UNICODE => {
                if let Some(entry) = &mut current {
                    let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
                    entry.stream = String::from_utf16_lossy(&units);
                }
            }
            MODULEOFFSET => {
                if let (Some(entry), Ok(bytes)) = (&mut current, <[u8; 4]>::try_from(body)) {
                    entry.offset = u32::from_le_bytes(bytes) as usize;
                }
            }
            MODULE_TERMINATOR => modules.extend(current.take()),
            DIR_TERMINATOR => break,
            _ => {}
        }
    }
    Ok(modules)
}

/// The streams of a project's `VBA` storage, by name (`dir`, `Module1`).
pub type Streams = std::collections::BTreeMap<String, Vec<u8>>;

/// A stream by name; compound-file names compare without case.
fn stream<'a>(streams: &'a Streams, name: &str) -> Result<&'a [u8], String> {
    streams
        .get(name)
        .or_else(|| streams.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, s)| s))
        .map(Vec::as_slice)
        .ok_or_else(|| format!("no stream {name}"))
}

/// The modules of a project, from the streams of its `VBA` storage.
pub fn modules(streams: &Streams) -> Result<Vec<Module>, String> {
    let dir = decompress(stream(streams, "dir")?, MAX_DECOMPRESSED).map_err(|e| format!("dir: {e}"))?;
    let mut modules = Vec::new();
    for entry in directory(&dir)? {
        let data = stream(streams, &entry.stream)?;
        let compressed =
            data.get(entry.offset..).ok_or_else(|| format!("{}: the source offset is past the end", entry.stream))?;
        let source = decompress(compressed, MAX_DECOMPRESSED).map_err(|e| format!("{}: {e}", entry.stream))?;
        modules.push(Module { name: entry.name, source });
    }
    Ok(modules)
}

/// Hands a project (the streams of its `VBA` storage) to the host's
/// scanners, when it scans: each module's source as `{location}/{module}`.
/// A project that cannot be decoded is handed over as its raw streams
/// instead, so that it is scanned all the same.
pub fn inspect<H: Host + ?Sized>(host: &mut H, streams: &Streams, kept: bool, location: &str) {
    if !host.wants_active() {
        return;
    }
    match modules(streams) {
        Ok(modules) => {
            for module in modules {
                host.inspect_active(ContentClass::Macros, kept, &format!("{location}/{}", module.name), &module.source);
            }
        }
        Err(why) => {
            crate::log(crate::LogLevel::Debug, &format!("{location}: VBA project not decoded ({why}); scanned raw"));
            for (name, data) in streams {
                host.inspect_active(ContentClass::Macros, kept, &format!("{location}/VBA/{name} (raw)"), data);
            }
        }
    }
}

/// [`inspect`] for a `vbaProject.bin` part of an Office Open XML package
/// (a compound file whose `VBA` storage holds the project).
pub fn inspect_bin<H: Host + ?Sized>(host: &mut H, bin: &[u8], kept: bool, location: &str) {
    if !host.wants_active() {
        return;
    }
    let streams = cfb::CompoundFile::open(Cursor::new(bin)).ok().and_then(|mut cfb| {
        let names: Vec<String> =
            cfb.read_storage("/VBA").ok()?.filter(|e| e.is_stream()).map(|e| e.name().to_owned()).collect();
        let mut streams = Streams::new();
        for name in names {
            let mut data = Vec::new();
            cfb.open_stream(format!("/VBA/{name}")).ok()?.read_to_end(&mut data).ok()?;
            streams.insert(name, data);
        }
        Some(streams)
    });
    match streams {
        Some(streams) => inspect(host, &streams, kept, location),
        None => host.inspect_active(ContentClass::Macros, kept, &format!("{location} (raw)"), bin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_copy_tokens_decompress() {
        // "abc" as literals, then a copy token (offset 3, length 6) at 3
        // bytes into the chunk, where offsets take 4 bits.
        let container = [0x01, 0x05, 0xB0, 0x08, b'a', b'b', b'c', 0x03, 0x20];
        assert_eq!(decompress(&container, 100).unwrap(), b"abcabcabc");
    }

    #[test]
    fn raw_chunks_are_copied() {
        let mut container = vec![0x01, 0xFF, 0x3F];
        container.extend(std::iter::repeat_n(b'x', 4096));
        assert_eq!(decompress(&container, 1 << 20).unwrap().len(), 4096);
    }

    #[test]
    fn bad_containers_are_errors_not_panics() {
        assert!(decompress(&[0x02, 0x00], 100).is_err());
        // A copy token as the first token of a chunk reaches before it.
        assert!(decompress(&[0x01, 0x02, 0xB0, 0x01, 0x03, 0x20], 100).is_err());
        // Output beyond the bound.
        let bomb = [0x01, 0x05, 0xB0, 0x08, b'a', b'b', b'c', 0xFF, 0x2F];
        assert!(decompress(&bomb, 100).is_err());
        for cut in 0..9 {
            let _ = decompress(&[0x01, 0x05, 0xB0, 0x08, b'a', b'b', b'c', 0x03, 0x20][..cut], 100);
        }
    }

    #[test]
    fn the_dir_stream_lists_modules_with_their_offsets() {
        let record = |id: u16, body: &[u8]| {
            let mut r = id.to_le_bytes().to_vec();
            r.extend((body.len() as u32).to_le_bytes());
            r.extend_from_slice(body);
            r
        };
        let mut dir = Vec::new();
        // PROJECTVERSION: size 4, six bytes follow.
        dir.extend([0x09, 0x00, 0x04, 0x00, 0x00, 0x00, 1, 0, 0, 0, 2, 0]);
        dir.extend(record(0x0019, b"Module1"));
        dir.extend(record(0x001A, b"Module1"));
        dir.extend(record(0x0032, &[b'M', 0, b'1', 0]));
        dir.extend(record(0x0031, &42u32.to_le_bytes()));
        dir.extend(record(0x002B, b""));
        dir.extend(record(0x0010, b""));
        let modules = directory(&dir).unwrap();
        assert_eq!(modules.len(), 1);
        assert_eq!((modules[0].name.as_str(), modules[0].stream.as_str(), modules[0].offset), ("Module1", "M1", 42));
    }
}
