//! The store's file: where it may live ([`check_path`], for `nginx -t`) and how it is created
//! (mode 0600: its rows are bearer money).

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::StoreError;

/// The file's mode: owner read and write only. SQLite creates its `-wal` and `-shm` files
/// with the database file's mode.
pub(crate) const FILE_MODE: u32 = 0o600;

fn unusable(path: &Path, what: impl std::fmt::Display) -> StoreError {
    StoreError::Unusable(format!("{}: {what}", path.display()))
}

/// Checks, without creating the store, that `path` can hold it: its directory exists and is
/// writable by this process (SQLite creates `-wal` and `-shm` beside it), and the file, if it
/// exists, is a regular file (not a symlink) this process can read and write.
///
/// Run it as the user the workers run as: a check by root proves nothing for `nobody`.
pub fn check_path(path: &Path) -> Result<(), StoreError> {
    let Some(name) = path.file_name() else {
        return Err(unusable(path, "names no file"));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(unusable(path, format!("{} is not a directory", dir.display()))),
        Err(e) => return Err(unusable(path, format!("directory {}: {e}", dir.display()))),
    }
    // Writable: a probe file made and removed (permission bits alone miss ACLs, read-only
    // mounts and the user's identity).
    let probe = dir.join(format!(".{}.probe-{}", name.to_string_lossy(), std::process::id()));
    match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
        }
        Err(e) => return Err(unusable(path, format!("directory {} is not writable: {e}", dir.display()))),
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(unusable(path, "is a symbolic link")),
        Ok(m) if !m.is_file() => Err(unusable(path, "is not a regular file")),
        Ok(_) => OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map(drop)
            .map_err(|e| unusable(path, format!("cannot be opened for writing: {e}"))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(unusable(path, e)),
    }
}

/// Creates the file with mode 0600 if it is missing, and takes group and other access away
/// from an existing one, before SQLite opens it.
pub(crate) fn prepare_file(path: &Path) -> Result<(), StoreError> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(unusable(path, "is a symbolic link"));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied | ErrorKind::NotFound => unusable(path, e),
            _ => StoreError::Unavailable(format!("{}: {e}", path.display())),
        })?;
    let meta = file.metadata().map_err(|e| unusable(path, e))?;
    if !meta.is_file() {
        return Err(unusable(path, "is not a regular file"));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
            .map_err(|e| unusable(path, format!("cannot be made private (mode 0600): {e}")))?;
    }
    Ok(())
}
