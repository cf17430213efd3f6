//! Writing outputs and reports: to a temporary file beside the destination,
//! then renamed into place, so a partial output never exists under the
//! final name. With `--sync` the file is flushed to disk before the rename
//! (it then survives a power cut too, at the cost of a disk flush per file,
//! several milliseconds on many disks). Files get the mode the user's umask
//! gives a new file (0644 under the usual 022), like any other tool's output.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether outputs are flushed to disk before they are renamed into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Renamed once written: atomic for readers and for a crash of Sekisho.
    Atomic,
    /// Also flushed to disk first (`--sync`): survives a power cut.
    Synced,
}

/// Writes `bytes` to `destination` (`-` is standard output), creating the
/// parent folders.
pub fn write_output(destination: &Path, bytes: &[u8], durability: Durability) -> Result<(), String> {
    if destination == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("writing standard output: {e}"));
    }
    let dir = parent_dir(destination);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut file = new_temp_file(&dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    file.write_all(bytes)
        .and_then(|()| if durability == Durability::Synced { file.as_file().sync_all() } else { Ok(()) })
        .map_err(|e| format!("writing {}: {e}", destination.display()))?;
    file.persist(destination).map_err(|e| format!("cannot create {}: {}", destination.display(), e.error))?;
    Ok(())
}

/// The folder a file goes in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file in `dir` created with mode 0666, which the kernel masks
/// with the umask (tempfile's default, 0600, ignores it).
fn new_temp_file(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".sekisho-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}
