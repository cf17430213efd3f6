//! The compile cache: native code that this host compiled from plugins, kept
//! on disk so a command does not recompile them every time.
//!
//! Loading native code is trusting it, so the cache is untrusted until
//! checked:
//! - the folder must belong to the user running Sekisho and be closed to
//!   others (mode 0700; a folder of ours that is more open is closed, one
//!   owned by someone else is refused);
//! - each entry ends with a keyed BLAKE3 tag over its kind, the plugin's
//!   sha256 and its bytes, under a per-install key kept outside the cache
//!   ([`key_path`]); an entry that was altered, truncated or swapped for
//!   another plugin's fails the check, is deleted and is compiled again;
//! - the file that was checked is the file wasmtime maps: the same open
//!   descriptor, never a second open of the path. Entries are never written
//!   in place (a new one is renamed over the old), so only someone who can
//!   already rewrite this user's private files could change one under us;
//! - hashing 6 MB of native code is most of a one-file command's start-up,
//!   so once an artifact has passed the full check, a keyed *stamp* of its
//!   file identity (device, inode, size, modification and change times) is
//!   kept beside it. A later run whose open file has that identity skips the
//!   hash: the change time is set by the kernel on every write and cannot be
//!   set back, and a stamp cannot be made without the key.
//!
//! An unusable folder falls back to a per-user folder under the system's
//! temporary folder, and that to compiling in memory, with one warning.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Before the tag at the end of every cache file: format version of this
/// module. Entries end with it (rather than start) so an artifact file is
/// the serialized code itself, which wasmtime maps as is.
const MAGIC: &[u8; 16] = b"sekisho-cache-2\n";
/// The same version in the folder's name, so entries of an older format are
/// never looked at (rather than failing their check one by one).
const FORMAT: &str = "v2";
const TAG_LEN: usize = 32;
const TRAILER: usize = MAGIC.len() + TAG_LEN;

/// What a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Native code compiled from a plugin.
    Artifact,
    /// The plugin's description, kept so a run need not compile it to know
    /// what it handles.
    Description,
    /// The identity of an artifact file that passed the full check.
    Stamp,
}

impl Kind {
    fn extension(self) -> &'static str {
        match self {
            Kind::Artifact => "artifact",
            Kind::Description => "description",
            Kind::Stamp => "stamp",
        }
    }
}

/// A checked cache folder for one engine configuration.
#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl CompileCache {
    /// Opens the cache under `requested` (or the fallback folder), in a
    /// subfolder named after the engine's compatibility hash and the cache
    /// format. Answers `None` when no folder can be trusted; the reason is
    /// logged once.
    pub fn open(requested: &Path, engine: &str) -> Option<CompileCache> {
        let key = match load_or_create_key(&key_path(requested)) {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!("compiled plugins are not cached: the cache key cannot be used ({e})");
                return None;
            }
        };
        let fallback = fallback_dir();
        match prepare_dir(requested) {
            Ok(()) => {}
            Err(first) => match prepare_dir(&fallback) {
                Ok(()) => {
                    tracing::warn!(
                        "the cache folder {} cannot be used ({first}); using {} instead",
                        requested.display(),
                        fallback.display()
                    );
                    return CompileCache::in_dir(&fallback, engine, key);
                }
                Err(second) => {
                    tracing::warn!(
                        "compiled plugins are not cached: {} ({first}) and {} ({second}) cannot be used",
                        requested.display(),
                        fallback.display()
                    );
                    return None;
                }
            },
        }
        CompileCache::in_dir(requested, engine, key)
    }

    fn in_dir(root: &Path, engine: &str, key: [u8; 32]) -> Option<CompileCache> {
        let dir = root.join(format!("{engine}.{FORMAT}"));
        match prepare_dir(&dir) {
            Ok(()) => Some(CompileCache { dir, key }),
            Err(e) => {
                tracing::warn!("compiled plugins are not cached: {} ({e})", dir.display());
                None
            }
        }
    }

    /// The folder artifacts are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sha256: &str, kind: Kind) -> PathBuf {
        self.dir.join(format!("{sha256}.{}", kind.extension()))
    }

    /// True when an artifact for the plugin is present (not yet checked).
    pub fn contains(&self, sha256: &str) -> bool {
        self.path(sha256, Kind::Artifact).is_file()
    }

    /// The checked artifact for the plugin whose `.wasm` has `sha256`, or
    /// `None`. A file that fails the check is deleted.
    pub fn load(&self, sha256: &str) -> Option<Artifact> {
        let path = self.path(sha256, Kind::Artifact);
        let file = File::open(&path).ok()?;
        let meta = file.metadata().ok()?;
        let len = usize::try_from(meta.len()).ok()?;
        let artifact = Artifact { file, payload: len.saturating_sub(TRAILER) };
        let stamp = self.stamp(sha256, &meta);
        let stamped = std::fs::read(self.path(sha256, Kind::Stamp)).is_ok_and(|kept| constant_time_eq(&kept, &stamp));
        if stamped {
            return Some(artifact);
        }
        let checked = len > TRAILER
            && map_readonly(&artifact.file, len, |bytes| self.payload(sha256, Kind::Artifact, bytes).is_some())
                .unwrap_or_else(|e| {
                    tracing::warn!("cannot map {}: {e}", path.display());
                    false
                });
        if !checked {
            self.discard(&path, Kind::Artifact);
            return None;
        }
        self.write_raw(sha256, Kind::Stamp, &[&stamp]);
        Some(artifact)
    }

    /// Stores an artifact this host just compiled, stamped as checked.
    pub fn store(&self, sha256: &str, artifact: &[u8]) {
        if let Some(file) = self.write(sha256, Kind::Artifact, artifact) {
            if let Ok(meta) = file.metadata() {
                self.write_raw(sha256, Kind::Stamp, &[&self.stamp(sha256, &meta)]);
            }
        }
    }

    /// The checked description of the plugin whose `.wasm` has `sha256`
    /// (what its `describe` answered when this host admitted it), or `None`.
    pub fn load_description(&self, sha256: &str) -> Option<Vec<u8>> {
        self.read(sha256, Kind::Description)
    }

    /// Stores the description of a plugin this host admitted.
    pub fn store_description(&self, sha256: &str, description: &[u8]) {
        self.write(sha256, Kind::Description, description);
    }

    fn read(&self, sha256: &str, kind: Kind) -> Option<Vec<u8>> {
        let path = self.path(sha256, kind);
        let mut bytes = std::fs::read(&path).ok()?;
        let Some(len) = self.payload(sha256, kind, &bytes).map(<[u8]>::len) else {
            self.discard(&path, kind);
            return None;
        };
        bytes.truncate(len);
        Some(bytes)
    }

    /// The payload of a whole entry (payload, magic, tag) whose tag is right.
    fn payload<'a>(&self, sha256: &str, kind: Kind, entry: &'a [u8]) -> Option<&'a [u8]> {
        let (payload, trailer) = entry.split_at_checked(entry.len().checked_sub(TRAILER)?)?;
        let (magic, tag) = trailer.split_at(MAGIC.len());
        (magic == MAGIC && constant_time_eq(tag, &self.tag(sha256, kind, payload))).then_some(payload)
    }

    fn discard(&self, path: &Path, kind: Kind) {
        tracing::warn!("the cached {} {} failed its check: deleted, compiling again", kind.extension(), path.display());
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(path.with_extension(Kind::Stamp.extension()));
    }

    /// Writes an entry (payload, magic, tag) atomically: to a temporary
    /// file, then renamed. Answers the file written.
    fn write(&self, sha256: &str, kind: Kind, data: &[u8]) -> Option<File> {
        self.write_raw(sha256, kind, &[data, MAGIC, &self.tag(sha256, kind, data)])
    }

    fn write_raw(&self, sha256: &str, kind: Kind, parts: &[&[u8]]) -> Option<File> {
        let write = || -> std::io::Result<File> {
            let mut file = tempfile::Builder::new().prefix(".partial-").tempfile_in(&self.dir)?;
            for part in parts {
                file.write_all(part)?;
            }
            file.persist(self.path(sha256, kind)).map_err(|e| e.error)
        };
        write().map_err(|e| tracing::warn!("cannot write to the compile cache {}: {e}", self.dir.display())).ok()
    }

    /// The keyed tag of an entry: its kind, the plugin's sha256 and the bytes.
    fn tag(&self, sha256: &str, kind: Kind, data: &[u8]) -> [u8; TAG_LEN] {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(kind.extension().as_bytes());
        hasher.update(b"\0");
        hasher.update(sha256.as_bytes());
        hasher.update(&(data.len() as u64).to_le_bytes());
        hasher.update(data);
        *hasher.finalize().as_bytes()
    }

    /// The keyed stamp of an artifact file's identity.
    fn stamp(&self, sha256: &str, meta: &std::fs::Metadata) -> [u8; TAG_LEN] {
        let identity = [
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime() as u64,
            meta.mtime_nsec() as u64,
            meta.ctime() as u64,
            meta.ctime_nsec() as u64,
        ];
        let bytes: Vec<u8> = identity.iter().flat_map(|n| n.to_le_bytes()).collect();
        self.tag(sha256, Kind::Stamp, &bytes)
    }
}

/// A checked artifact: an open cache file that wasmtime maps through
/// [`Artifact::path`]. It ends with the cache's trailer, which the
/// serialized code's own format ignores.
#[derive(Debug)]
pub struct Artifact {
    file: File,
    payload: usize,
}

impl Artifact {
    /// The open file as a path (`/proc/self/fd/N`): wasmtime opens it again
    /// there, which is the same file whatever happens to the cache's path.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }

    /// The serialized code, read into memory (for a system without `/proc`).
    pub fn bytes(&self) -> std::io::Result<Vec<u8>> {
        let mut bytes = vec![0; self.payload];
        std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut bytes, 0)?;
        Ok(bytes)
    }
}

/// Runs `read` over the first `len` bytes of `file`, mapped read-only.
fn map_readonly<T>(file: &File, len: usize, read: impl FnOnce(&[u8]) -> T) -> std::io::Result<T> {
    // SAFETY: a fresh private read-only mapping of `len` bytes of an open
    // file of that size; unmapped before returning, and the slice does not
    // outlive it.
    unsafe {
        let ptr = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0);
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let result = read(std::slice::from_raw_parts(ptr.cast::<u8>(), len));
        libc::munmap(ptr, len);
        Ok(result)
    }
}

/// Where the per-install key lives: `$SEKISHO_CACHE_KEY`, else
/// `$XDG_CONFIG_HOME/sekisho/cache.key` or `~/.config/sekisho/cache.key`
/// (outside the cache), else a `cache.key` file in the cache folder itself.
pub fn key_path(cache: &Path) -> PathBuf {
    if let Some(path) = std::env::var_os("SEKISHO_CACHE_KEY") {
        return PathBuf::from(path);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")));
    match config {
        Some(dir) if prepare_dir(&dir.join("sekisho")).is_ok() => dir.join("sekisho").join("cache.key"),
        _ => cache.join("cache.key"),
    }
}

/// `$TMPDIR/sekisho-UID`: a cache only this user can use.
fn fallback_dir() -> PathBuf {
    std::env::temp_dir().join(format!("sekisho-{}", effective_uid()))
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `dir` (mode 0700) or checks it: a real folder (not a symlink),
/// owned by this user, closed to others, writable.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| e.to_string())?;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a folder".into());
    }
    if meta.uid() != effective_uid() {
        return Err(format!("it belongs to user {}, not to the user running Sekisho", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make it private (mode 0700): {e}"))?;
    }
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: `path` is a NUL-terminated string that lives across the call.
    if unsafe { libc::access(path.as_ptr(), libc::W_OK) } != 0 {
        return Err(format!("not writable: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Reads the key (32 random bytes, a file of mode 0600 owned by this user),
/// creating it on first use.
fn load_or_create_key(path: &Path) -> Result<[u8; 32], String> {
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|e| e.to_string())?;
    }
    let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    match created {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| format!("no randomness for the key: {e}"))?;
            file.write_all(&key).and_then(|()| file.sync_all()).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if !meta.is_file() || meta.uid() != effective_uid() {
                return Err(format!("{} is not a file of the user running Sekisho", path.display()));
            }
            if meta.mode() & 0o077 != 0 {
                return Err(format!("{} is readable by others (make it mode 0600)", path.display()));
            }
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            bytes.try_into().map_err(|_| format!("{} is not a 32-byte key", path.display()))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(root: &Path) -> CompileCache {
        let key = load_or_create_key(&root.join("key")).unwrap();
        CompileCache::in_dir(&root.join("cache"), "engine", key).unwrap()
    }

    #[test]
    fn artifacts_round_trip_and_tampering_is_caught() {
        let root = tempfile::tempdir().unwrap();
        let cache = cache(root.path());
        cache.store("aaaa", b"native code of a");
        cache.store("bbbb", b"native code of b");
        assert_eq!(cache.load("aaaa").unwrap().bytes().unwrap(), b"native code of a");
        let stamp = cache.path("aaaa", Kind::Stamp);
        assert!(stamp.is_file(), "a stored artifact is stamped as checked");
        std::fs::remove_file(&stamp).unwrap();
        let loaded = cache.load("aaaa").expect("an unstamped artifact passes the full check");
        assert!(stamp.is_file(), "and is stamped again");
        assert_eq!(std::fs::read(loaded.path()).unwrap().len(), b"native code of a".len() + TRAILER);
        // Swapped artifacts: each is refused, and deleted.
        let path = |sha: &str| cache.path(sha, Kind::Artifact);
        std::fs::rename(path("aaaa"), root.path().join("tmp")).unwrap();
        std::fs::rename(path("bbbb"), path("aaaa")).unwrap();
        std::fs::rename(root.path().join("tmp"), path("bbbb")).unwrap();
        assert!(cache.load("aaaa").is_none(), "another file has another identity: its stamp does not hold");
        assert!(!cache.contains("aaaa"), "a bad artifact is deleted");
        assert!(!stamp.exists(), "with its stamp");
        assert!(cache.load("bbbb").is_none());
        // A flipped byte in the middle, written in place with the
        // modification time put back: the kernel still moves the change
        // time, so the stamp does not cover the file any more.
        cache.store("cccc", &[0x90; 4096]);
        let file = std::fs::OpenOptions::new().write(true).open(cache.path("cccc", Kind::Artifact)).unwrap();
        let modified = file.metadata().unwrap().modified().unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &[0xCC], 2000).unwrap();
        file.set_modified(modified).unwrap();
        drop(file);
        assert!(cache.load("cccc").is_none());
        // A stamp cannot be carried to another artifact.
        cache.store("eeee", b"native code of e");
        cache.store("ffff", b"native code of f");
        std::fs::copy(cache.path("eeee", Kind::Stamp), cache.path("ffff", Kind::Stamp)).unwrap();
        std::fs::write(path("ffff"), std::fs::read(path("eeee")).unwrap()).unwrap();
        assert!(cache.load("ffff").is_none());
        // A description cannot pass for an artifact, or the other way round.
        cache.store_description("dddd", b"{}");
        std::fs::copy(cache.path("dddd", Kind::Description), cache.path("dddd", Kind::Artifact)).unwrap();
        assert!(cache.load("dddd").is_none());
        assert_eq!(cache.load_description("dddd").as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn folders_are_private_and_must_be_ours() {
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        prepare_dir(&open).unwrap();
        assert_eq!(std::fs::metadata(&open).unwrap().mode() & 0o777, 0o700);
        let file = root.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(prepare_dir(&file).is_err());
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        assert_eq!(prepare_dir(&link).unwrap_err(), "not a folder");
        if effective_uid() == 0 {
            // Root can hand a folder to another user and check the refusal.
            let theirs = root.path().join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            assert!(prepare_dir(&theirs).unwrap_err().contains("belongs to user 65534"));
        }
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("key");
        let key = load_or_create_key(&path).unwrap();
        assert_eq!(load_or_create_key(&path).unwrap(), key, "the key is stable");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_or_create_key(&path).unwrap_err().contains("readable by others"));
    }
}
