//! Files that may hold secrets: directories 0700, files 0600 from the moment they exist (never
//! created and then narrowed, which leaves a window), and never overwritten.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::CdkHookError;

/// Creates the directory (and its parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), CdkHookError> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| CdkHookError::io(dir, e))
}

/// Writes a new file with mode 0600 set at creation; an existing file is an error, never
/// overwritten.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), CdkHookError> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CdkHookError::WouldOverwrite(path.to_owned()),
        _ => CdkHookError::io(path, e),
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CdkHookError::io(path, e))?;
    // The file's directory entry is durable only once the directory is synced too: a crash right
    // after the deploy went on must not lose the only copy of the old password.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| CdkHookError::io(dir, e))?;
    }
    Ok(())
}

/// The UTC time as it appears in file and snapshot names: `20261122T053000Z`.
pub fn utc_stamp() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "now".to_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn private_files_are_0600_in_0700_dirs_and_never_overwritten() {
        let root = std::env::temp_dir().join(format!("cdk-hook-files-{}", std::process::id()));
        let path = root.join("stack").join("credentials.json");
        write_private_file(&path, b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let again = write_private_file(&path, b"other").unwrap_err();
        assert!(matches!(again, CdkHookError::WouldOverwrite(_)), "{again}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
