//! `Read + Seek` and `Write` adapters over the host's input and output resources.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::{Failure, Input, Output};

/// Bytes fetched from the host per call; large enough that the cost of a
/// host call disappears, small enough not to copy whole files into the guest.
const CHUNK: usize = 256 * 1024;

/// Random-access reader over the host's `input` resource.
pub struct InputReader<'a> {
    input: &'a Input,
    size: u64,
    pos: u64,
    /// The chunk last fetched and the file offset of its first byte.
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> InputReader<'a> {
    /// Wraps a borrowed input resource.
    pub fn new(input: &'a Input) -> Self {
        let size = input.size();
        InputReader { input, size, pos: 0, buf: Vec::new(), buf_start: 0 }
    }

    /// Size of the input in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Read for InputReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= buf_end {
            // Large reads go straight through; small ones fill the chunk buffer.
            let want = out.len().max(CHUNK).min(u32::MAX as usize) as u32;
            self.buf = self.input.read(self.pos, want);
            self.buf_start = self.pos;
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let offset = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - offset);
        out[..n].copy_from_slice(&self.buf[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for InputReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// Buffered sequential writer over the host's `output` resource.
pub struct OutputWriter<'a> {
    output: &'a Output,
    buf: Vec<u8>,
    written: u64,
}

impl<'a> OutputWriter<'a> {
    /// Wraps a borrowed output resource.
    pub fn new(output: &'a Output) -> Self {
        OutputWriter { output, buf: Vec::new(), written: 0 }
    }

    fn send(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.output.write(&self.buf).map_err(io::Error::other)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl Write for OutputWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Tracks the write position so `ZipWriter`-style consumers that only ask
/// for the current position work on a sequential output.
impl Seek for OutputWriter<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match to {
            SeekFrom::Current(0) => Ok(self.written),
            SeekFrom::Start(n) if n == self.written => Ok(n),
            _ => Err(io::Error::new(io::ErrorKind::Unsupported, "output is sequential")),
        }
    }
}

/// Reads a whole input into memory, refusing inputs over `max` bytes.
pub fn read_all<R: Read>(mut reader: R, max: u64) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    reader
        .by_ref()
        .take(max.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| Failure::invalid(format!("reading input: {e}")))?;
    if data.len() as u64 > max {
        return Err(Failure::too_large(format!("input is larger than {max} bytes")));
    }
    Ok(data)
}
