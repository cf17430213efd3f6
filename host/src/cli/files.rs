//! Writing outputs and reports: to a temporary file beside the destination,
//! synced, then renamed into place, so a partial output never exists under
//! the final name. Files get the mode the user's umask gives a new file
//! (0644 under the usual 022), like any other tool's output.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `destination` (`-` is standard output), creating the
/// parent folders.
pub fn write_output(destination: &Path, bytes: &[u8]) -> Result<(), String> {
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
        .and_then(|()| file.as_file().sync_all())
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
