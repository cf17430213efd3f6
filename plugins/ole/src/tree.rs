//! The compound file as a tree of storages and streams read into memory,
//! and written back into a fresh compound file: new sector allocation, so
//! slack space, free sectors and orphaned streams of the input do not
//! survive; fixed timestamps, so the output is deterministic.

use std::io::{Cursor, Read, Seek, Write};
use std::time::{Duration, UNIX_EPOCH};

use cfb::{CompoundFile, Version};
use sekisho_plugin_sdk::Failure;

/// A storage: its class id and children, in the input's order.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    pub clsid: [u8; 16],
    pub children: Vec<(String, Node)>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Storage(Storage),
    Stream(Vec<u8>),
}

impl Storage {
    /// Reads the whole tree; no stream may be larger than the file.
    pub fn read<R: Read + Seek>(input: R, size: u64) -> Result<Storage, Failure> {
        let mut file = CompoundFile::open(input).map_err(|e| Failure::invalid(format!("not a compound file: {e}")))?;
        read_storage(&mut file, "/", size, 0)
    }

    /// The child `name` (compared case-insensitively, as the format does).
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, node)| node)
    }

    pub fn stream(&self, name: &str) -> Option<&[u8]> {
        match self.get(name)? {
            Node::Stream(data) => Some(data),
            Node::Storage(_) => None,
        }
    }

    pub fn stream_mut(&mut self, name: &str) -> Option<&mut Vec<u8>> {
        match self.children.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, node)| node)? {
            Node::Stream(data) => Some(data),
            Node::Storage(_) => None,
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Writes the tree as a new compound file.
    pub fn write(&self) -> Result<Vec<u8>, Failure> {
        let mut file =
            CompoundFile::create_with_version(Version::V3, Cursor::new(Vec::new())).map_err(write_failure)?;
        write_storage(&mut file, "/", self)?;
        file.flush().map_err(write_failure)?;
        Ok(file.into_inner().into_inner())
    }
}

/// Storages nest; real documents stay shallow. Deeper trees are refused.
const MAX_DEPTH: usize = 32;

fn read_storage<R: Read + Seek>(
    file: &mut CompoundFile<R>,
    path: &str,
    size: u64,
    depth: usize,
) -> Result<Storage, Failure> {
    if depth > MAX_DEPTH {
        return Err(Failure::invalid("storages nested too deep"));
    }
    let entries: Vec<(String, bool, [u8; 16])> = file
        .read_storage(path)
        .map_err(|e| Failure::invalid(format!("reading storage {path:?}: {e}")))?
        .map(|e| (e.name().to_owned(), e.is_storage(), *e.clsid().as_bytes()))
        .collect();
    let clsid = *file.entry(path).map_err(|e| Failure::invalid(format!("{path:?}: {e}")))?.clsid().as_bytes();
    let mut children = Vec::with_capacity(entries.len());
    for (name, is_storage, _) in entries {
        let child = join(path, &name);
        let node = if is_storage {
            Node::Storage(read_storage(file, &child, size, depth + 1)?)
        } else {
            let stream = file.open_stream(&child).map_err(|e| Failure::invalid(format!("stream {child:?}: {e}")))?;
            let mut data = Vec::new();
            stream
                .take(size.saturating_add(1))
                .read_to_end(&mut data)
                .map_err(|e| Failure::invalid(format!("stream {child:?}: {e}")))?;
            if data.len() as u64 > size {
                return Err(Failure::invalid(format!("stream {child:?} is larger than the file")));
            }
            Node::Stream(data)
        };
        children.push((name, node));
    }
    Ok(Storage { clsid, children })
}

fn write_storage<F: Read + Write + Seek>(
    file: &mut CompoundFile<F>,
    path: &str,
    storage: &Storage,
) -> Result<(), Failure> {
    file.set_storage_clsid(path, uuid_of(storage.clsid)).map_err(write_failure)?;
    // FILETIME zero: no date, the same for every output.
    let no_time = UNIX_EPOCH.checked_sub(Duration::from_secs(11_644_473_600)).unwrap_or(UNIX_EPOCH);
    file.set_created_time(path, no_time).map_err(write_failure)?;
    file.set_modified_time(path, no_time).map_err(write_failure)?;
    for (name, node) in &storage.children {
        let child = join(path, name);
        match node {
            Node::Storage(inner) => {
                file.create_storage(&child).map_err(write_failure)?;
                write_storage(file, &child, inner)?;
            }
            Node::Stream(data) => {
                let mut stream = file.create_stream(&child).map_err(write_failure)?;
                stream.write_all(data).map_err(write_failure)?;
            }
        }
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path == "/" { format!("/{name}") } else { format!("{path}/{name}") }
}

fn uuid_of(bytes: [u8; 16]) -> uuid::Uuid {
    uuid::Uuid::from_bytes(bytes)
}

/// The rebuild happens in memory, so a failure here is a structure the
/// writer cannot represent (a name it refuses), not the output limit.
fn write_failure(error: impl std::fmt::Display) -> Failure {
    Failure::invalid(format!("rebuilding the compound file: {error}"))
}
