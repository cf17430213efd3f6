//! Untrusted input bytes, in memory or in a file, read at any offset.
//!
//! The input is opened read-only and never written; a large file is read
//! piece by piece by whoever needs it (detection, the plugin's `input`
//! resource) instead of being copied whole into memory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Read-only input with random access.
#[derive(Clone, Debug)]
pub enum Source {
    /// Bytes in memory; a `Vec` so that owned data moves in and out without a copy.
    Bytes(Arc<Vec<u8>>),
    /// A file opened read-only.
    File {
        /// The open file, shared by clones.
        file: Arc<File>,
        /// Its size when opened; reads stop there.
        len: u64,
    },
}

impl Source {
    /// Opens a file read-only.
    pub fn open(path: &Path) -> io::Result<Source> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
        }
        Ok(Source::File { file: Arc::new(file), len: meta.len() })
    }

    /// Wraps bytes already in memory (moved, not copied).
    pub fn bytes(data: Vec<u8>) -> Source {
        Source::Bytes(Arc::new(data))
    }

    /// The bytes back, without a copy when this is their only owner; `None`
    /// for a file.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Source::Bytes(data) => Some(Arc::try_unwrap(data).unwrap_or_else(|shared| shared.as_ref().clone())),
            Source::File { .. } => None,
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::File { len, .. } => *len,
        }
    }

    /// True for an empty input.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `len` bytes at `offset`; shorter at the end, empty past it.
    pub fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let end = offset.saturating_add(len as u64).min(self.len());
        if offset >= end {
            return Ok(Vec::new());
        }
        match self {
            Source::Bytes(b) => Ok(b[offset as usize..end as usize].to_vec()),
            Source::File { file, .. } => {
                let mut buf = vec![0; (end - offset) as usize];
                let mut filled = 0;
                while filled < buf.len() {
                    match file.read_at(&mut buf[filled..], offset + filled as u64)? {
                        0 => break,
                        n => filled += n,
                    }
                }
                buf.truncate(filled);
                Ok(buf)
            }
        }
    }

    /// The first `len` bytes (for signatures).
    pub fn head(&self, len: usize) -> io::Result<Vec<u8>> {
        self.read_at(0, len)
    }

    /// A `Read + Seek` view from the start.
    pub fn reader(&self) -> SourceReader<'_> {
        SourceReader { source: self, pos: 0 }
    }
}

/// `Read + Seek` over a [`Source`].
pub struct SourceReader<'a> {
    source: &'a Source,
    pos: u64,
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.source.read_at(self.pos, buf.len())?;
        buf[..data.len()].copy_from_slice(&data);
        self.pos += data.len() as u64;
        Ok(data.len())
    }
}

impl Seek for SourceReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}
