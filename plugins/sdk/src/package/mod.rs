//! ZIP containers (plain archives, OOXML and ODF packages) read within the
//! policy's limits and written back deterministically.
//!
//! Inflation is counted on the bytes actually produced, so lying headers and
//! overlapping entries cannot smuggle a bomb through; the entry count is
//! bounded before anything is read.

mod paths;

use std::io::{Read, Seek, SeekFrom, Write};

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub use paths::{SafeName, safe_name};

use crate::{Failure, Host, Limits};

/// Inflation allowed whatever the ratio, so small archives of text are not
/// refused for compressing well.
const RATIO_FLOOR_BYTES: u64 = 1 << 20;

/// A ZIP container opened for reading, with its inflation budget.
pub struct PackageReader<R> {
    archive: ZipArchive<R>,
    /// Bytes inflated so far, counted as they are produced.
    inflated: u64,
    budget: u64,
}

/// Why a member's data could not be used.
pub enum Unreadable {
    /// An inflation limit: the whole container fails.
    Limit(Failure),
    /// The member is broken or uses an unsupported method.
    Broken(String),
}

/// One member of a document package, inflated.
#[derive(Debug, Clone)]
pub struct Part {
    /// The member name, checked safe.
    pub name: String,
    pub data: Vec<u8>,
    /// Stored (not deflated) in the input; ODF requires this of `mimetype`.
    pub stored: bool,
    pub is_dir: bool,
}

impl<R: Read + Seek> PackageReader<R> {
    /// Opens the container, refusing it when it has more entries than
    /// allowed or overlapping entries.
    pub fn open(mut input: R, limits: &Limits) -> Result<Self, Failure> {
        let size = input.seek(SeekFrom::End(0)).map_err(|e| Failure::invalid(format!("reading input: {e}")))?;
        let mut archive =
            ZipArchive::new(input).map_err(|e| Failure::invalid(format!("not a readable ZIP archive: {e}")))?;
        if archive.len() > limits.max_entries as usize {
            return Err(Failure::limit(format!(
                "{} entries, more than the limit of {}",
                archive.len(),
                limits.max_entries
            )));
        }
        if archive.has_overlapping_entries().map_err(|e| Failure::invalid(format!("reading entries: {e}")))? {
            return Err(Failure::invalid("entries overlap each other (a zip bomb construction)"));
        }
        let budget = limits
            .max_expanded_bytes
            .min(size.saturating_mul(limits.max_expansion_ratio as u64).max(RATIO_FLOOR_BYTES));
        Ok(PackageReader { archive, inflated: 0, budget })
    }

    /// The underlying archive, for raw access to entries.
    pub fn archive(&mut self) -> &mut ZipArchive<R> {
        &mut self.archive
    }

    /// Inflates one member, counting the bytes actually produced against the budget.
    pub fn inflate(&mut self, index: usize) -> Result<Vec<u8>, Unreadable> {
        let file = self.archive.by_index(index).map_err(|e| Unreadable::Broken(e.to_string()))?;
        let remaining = self.budget.saturating_sub(self.inflated);
        let mut data = Vec::with_capacity(file.size().min(remaining).min(64 << 20) as usize);
        file.take(remaining.saturating_add(1)).read_to_end(&mut data).map_err(|e| Unreadable::Broken(e.to_string()))?;
        self.inflated += data.len() as u64;
        if self.inflated > self.budget {
            return Err(Unreadable::Limit(Failure::limit(format!(
                "archive inflates to more than {} bytes (expanded-bytes and expansion-ratio limits)",
                self.budget
            ))));
        }
        Ok(data)
    }

    /// Decrypts and inflates one encrypted member with `password` (ZipCrypto
    /// or WinZip AES), counting the bytes produced like [`Self::inflate`].
    /// `Ok(None)` when the password does not open it: a wrong password, or
    /// data that does not decrypt to what its checksum says (ZipCrypto's
    /// password check lets one wrong password in 256 through; AES checks its
    /// authentication code at the end).
    pub fn inflate_with_password(&mut self, index: usize, password: &[u8]) -> Result<Option<Vec<u8>>, Unreadable> {
        let file = match self.archive.by_index_decrypt(index, password) {
            Ok(file) => file,
            Err(zip::result::ZipError::InvalidPassword) => return Ok(None),
            Err(e) => return Err(Unreadable::Broken(e.to_string())),
        };
        let remaining = self.budget.saturating_sub(self.inflated);
        let mut data = Vec::with_capacity(file.size().min(remaining).min(64 << 20) as usize);
        if file.take(remaining.saturating_add(1)).read_to_end(&mut data).is_err() {
            return Ok(None);
        }
        self.inflated += data.len() as u64;
        if self.inflated > self.budget {
            return Err(Unreadable::Limit(Failure::limit(format!(
                "archive inflates to more than {} bytes (expanded-bytes and expansion-ratio limits)",
                self.budget
            ))));
        }
        Ok(Some(data))
    }

    /// Bytes inflated so far.
    pub fn inflated(&self) -> u64 {
        self.inflated
    }

    /// Reads every member of a document package and charges the bytes
    /// inflated to the expansion budget of the whole tree of files
    /// ([`Host::charge_expansion`]). Unlike a plain archive, a document has
    /// no reason for odd members, so anything that cannot be read exactly
    /// (encrypted, symbolic link, unsafe or duplicate name, broken data)
    /// makes the package invalid: it cannot be proven clean.
    pub fn read_parts<H: Host + ?Sized>(&mut self, host: &mut H) -> Result<Vec<Part>, Failure> {
        let parts = self.read_parts_uncharged()?;
        host.charge_expansion(self.inflated)?;
        Ok(parts)
    }

    fn read_parts_uncharged(&mut self) -> Result<Vec<Part>, Failure> {
        if self.archive.has_duplicate_names() {
            return Err(Failure::invalid("the package has two members with the same name"));
        }
        let mut parts = Vec::with_capacity(self.archive.len());
        for index in 0..self.archive.len() {
            let file = self.archive.by_index_raw(index).map_err(|e| Failure::invalid(format!("entry {index}: {e}")))?;
            let original = String::from_utf8_lossy(file.name_raw()).into_owned();
            let (is_dir, stored) = (file.is_dir(), file.compression() == CompressionMethod::Stored);
            if file.encrypted() {
                return Err(Failure::encrypted(format!("package member {original:?} is encrypted")));
            }
            if file.is_symlink() {
                return Err(Failure::invalid(format!("package member {original:?} is a symbolic link")));
            }
            drop(file);
            match safe_name(&original, is_dir) {
                Some(safe) if safe.problems.is_empty() => {}
                _ => return Err(Failure::invalid(format!("package member name {original:?} is not a safe path"))),
            }
            let data = match self.inflate(index) {
                Ok(data) => data,
                Err(Unreadable::Limit(failure)) => return Err(failure),
                Err(Unreadable::Broken(detail)) => {
                    return Err(Failure::invalid(format!("package member {original:?} cannot be read: {detail}")));
                }
            };
            parts.push(Part { name: original, data, stored, is_dir });
        }
        Ok(parts)
    }
}

/// Deterministic options for a member: stored or deflated at the default
/// level, a fixed timestamp (1980-01-01), no permissions.
pub fn part_options(stored: bool) -> SimpleFileOptions {
    let method = if stored { CompressionMethod::Stored } else { CompressionMethod::Deflated };
    SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(None)
        .last_modified_time(Default::default())
}

/// Writes the parts of a rebuilt package in the given order.
pub fn write_parts<'a, W: Write>(output: W, parts: impl IntoIterator<Item = &'a Part>) -> Result<(), Failure> {
    let mut writer: ZipWriter<StreamWriter<W>> = ZipWriter::new_stream(output);
    for part in parts {
        let options = part_options(part.stored);
        if part.is_dir {
            writer.add_directory(&part.name, options).map_err(write_failure)?;
        } else {
            let large = part.data.len() as u64 >= u32::MAX as u64;
            writer.start_file(&part.name, options.large_file(large)).map_err(write_failure)?;
            writer.write_all(&part.data).map_err(write_failure)?;
        }
    }
    writer.finish().map_err(write_failure)?;
    Ok(())
}

/// A failure to write the container: the only cause in a plugin is the
/// host's output size limit.
pub fn write_failure(error: impl std::fmt::Display) -> Failure {
    Failure::too_large(format!("writing archive: {error}"))
}
