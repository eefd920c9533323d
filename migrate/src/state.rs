//! The state directory, `<state_dir>/<stack>/`: the one owner of its layout. Every file the tool
//! keeps there is named here (journals, reports, credential files, replacement records, the lock),
//! its directories are created private, every file the tool writes there is created 0600 by the
//! one writer below ([`write_private_with`], or [`open_private`] for the files kept open), and
//! what an earlier run or another user left wider than private is tightened before a command
//! writes beside it.
//!
//! ```text
//! <state_dir>/                    0700
//!   <stack>/                      0700 (the stack name, with anything but [A-Za-z0-9_-] as `_`)
//!     lock                        0600  held by the running command (see `lock.rs`)
//!     journal-<utc>[_NNN].jsonl   0600  a migration's journal
//!     tables-journal-<utc>[_NNN].jsonl 0600  a table migration's journal
//!     tables-report-<utc>[_NNN].json   0600  a table migration's report
//!     tables-source-<utc>.json    0600  the v2 table `deploy` upgraded away from
//!     report-<utc>[_NNN].json     0600  a migration's report
//!     credentials-<utc>[-ID].json 0600  the database password, recorded by `deploy`
//!     replacement-<utc>.json      0600  what `deploy` replaced, for the restore path
//! ```

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in a stack's directory.
pub const LOCK_FILE: &str = "lock";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Group or other may read it, and this process may not narrow it (another user owns it).
    #[error(
        "{path} is readable by group or others (mode {mode:o}) and could not be narrowed ({source}); \
         it holds credentials and journals: fix it with `chmod -R go-rwx {path}` as its owner"
    )]
    NotPrivate {
        path: PathBuf,
        mode: u32,
        source: std::io::Error,
    },
    #[error("{} already exists: a record is never overwritten", .0.display())]
    WouldOverwrite(PathBuf),
}

/// The UTC time as every name in the state directory (and every snapshot, backup and temporary
/// cluster the tool names) carries it: `20261122T053000Z`, sortable and safe in file names.
pub fn utc_stamp() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "now".to_owned())
}

/// The UTC time inside the state directory's JSON lines (journal entries, the lock's holder):
/// RFC 3339, as JSON readers expect.
pub fn utc_now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The directory holding a stack's journals, reports, records, credential files and lock.
pub fn stack_dir(state_dir: &Path, stack: &str) -> PathBuf {
    let safe: String = stack
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    state_dir.join(safe)
}

pub fn lock_path(state_dir: &Path, stack: &str) -> PathBuf {
    stack_dir(state_dir, stack).join(LOCK_FILE)
}

/// `journal-<stamp>.jsonl`, or `journal-<stamp>_NNN.jsonl` for the `n`th in the same second.
pub fn journal_name(stamp: &str, n: u32) -> String {
    if n == 0 {
        format!("journal-{stamp}.jsonl")
    } else {
        format!("journal-{stamp}_{n:03}.jsonl")
    }
}

pub fn is_journal_name(name: &str) -> bool {
    name.starts_with("journal-") && name.ends_with(".jsonl")
}

/// `report-<stamp>.json`; `report-<stamp>_001.json` for a second report in the same second.
pub fn report_name(stamp: &str, n: u32) -> String {
    if n == 0 {
        format!("report-{stamp}.json")
    } else {
        format!("report-{stamp}_{n:03}.json")
    }
}

/// Where a run's report goes by default: a name no report in the stack's directory has yet, so
/// two runs in one second (a deploy's migration, then `migrate`) keep both reports. Only runs
/// that hold the stack's lock write there, so no other run takes the name before it is written.
pub fn new_report_path(state_dir: &Path, stack: &str) -> PathBuf {
    let dir = stack_dir(state_dir, stack);
    let stamp = utc_stamp();
    (0..)
        .map(|n| dir.join(report_name(&stamp, n)))
        .find(|path| !path.exists())
        .expect("an unused report name")
}

/// `tables-journal-<stamp>.jsonl` (`_NNN` for the `n`th in the same second): a table migration's
/// journal (`tables/journal.rs`).
pub fn tables_journal_name(stamp: &str, n: u32) -> String {
    if n == 0 {
        format!("tables-journal-{stamp}.jsonl")
    } else {
        format!("tables-journal-{stamp}_{n:03}.jsonl")
    }
}

pub fn is_tables_journal_name(name: &str) -> bool {
    name.starts_with("tables-journal-") && name.ends_with(".jsonl")
}

/// Where a table migration's report goes by default: `tables-report-<stamp>[_NNN].json`, a name
/// not taken yet (as [`new_report_path`]).
pub fn new_tables_report_path(state_dir: &Path, stack: &str) -> PathBuf {
    let dir = stack_dir(state_dir, stack);
    let stamp = utc_stamp();
    (0..)
        .map(|n| {
            dir.join(if n == 0 {
                format!("tables-report-{stamp}.json")
            } else {
                format!("tables-report-{stamp}_{n:03}.json")
            })
        })
        .find(|path| !path.exists())
        .expect("an unused report name")
}

/// `tables-source-<stamp>.json`: the v2 conversation table `deploy` recorded before the v3
/// upgrade removed it from the stack (`tables/record.rs`).
pub fn tables_source_name(stamp: &str) -> String {
    format!("tables-source-{stamp}.json")
}

pub fn is_tables_source_name(name: &str) -> bool {
    name.starts_with("tables-source-") && name.ends_with(".json")
}

pub fn replacement_record_name(stamp: &str) -> String {
    format!("replacement-{stamp}.json")
}

/// `credentials-<stamp>.json`, or with the cluster's logical id when a plan replaces several.
pub fn credentials_name(stamp: &str, logical_id: Option<&str>) -> String {
    match logical_id {
        None => format!("credentials-{stamp}.json"),
        Some(id) => format!("credentials-{stamp}-{id}.json"),
    }
}

/// Creates `dir` (and its parents) with mode 0700, then syncs the parent so the new entry survives
/// a crash.
pub fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io(dir))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// What [`write_private_with`] does when a file is already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse ([`StateError::WouldOverwrite`]): a record or credential file is never replaced,
    /// and a name the tool picked (a report's) is new.
    Refuse,
    /// Replace it whole: a path the operator named (`--report`). The new file is written beside
    /// it and renamed over it, so a reader never sees half of one and the file that stays is the
    /// new, private one (truncating the old one in place would keep its wider mode).
    Replace,
}

/// Writes a new file that may hold secrets (a credential file, a replacement record): mode 0600
/// set at creation (never created and then narrowed, which leaves a window), in a private
/// directory, never overwriting, and durable (file and directory entry synced) before it returns:
/// a crash right after the deploy went on must not lose the only copy of the old password.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_private_with(path, Existing::Refuse, |out| out.write_all(bytes))
}

/// A report as pretty JSON, streamed through the one writer below: every migration's report
/// (the re-embed's rows included, read back from disk as they are written) is written here.
pub fn write_private_json(
    path: &Path,
    existing: Existing,
    value: &impl serde::Serialize,
) -> Result<(), StateError> {
    write_private_with(path, existing, |out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    })
}

/// The one writer of the tool's files: `write` fills a new file created 0600 (its directory
/// created 0700), which is then synced with its directory entry. A report streams its rows
/// through here as a credential file writes its few bytes, so no file of the tool's is ever
/// created with the default mode (a report made 0644 was flagged and narrowed by the next run).
pub fn write_private_with<F>(path: &Path, existing: Existing, write: F) -> Result<(), StateError>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        create_private_dir(dir)?;
    }
    let fresh = match existing {
        Existing::Refuse => path.to_owned(),
        Existing::Replace => partial_path(path),
    };
    if existing == Existing::Replace {
        // A partial file a crash left behind: its name is ours and it may be wider than 0600.
        let _ = std::fs::remove_file(&fresh);
    }
    let opened = open_private(OpenOptions::new().write(true).create_new(true), &fresh);
    let file = opened.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => StateError::WouldOverwrite(path.to_owned()),
        _ => io(&fresh)(e),
    })?;
    let mut out = BufWriter::new(file);
    let written = write(&mut out)
        .and_then(|()| out.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all());
    let placed = written.and_then(|()| match existing {
        Existing::Refuse => Ok(()),
        Existing::Replace => std::fs::rename(&fresh, path),
    });
    if let Err(source) = placed {
        if existing == Existing::Replace {
            let _ = std::fs::remove_file(&fresh);
        }
        return Err(io(path)(source));
    }
    match dir {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// `.<name>.partial-<pid>` beside `path`: hidden, and this process's own.
fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Opens `path` with `options`, a file it creates being 0600 from its creation (the journal, the
/// lock, the private files: never created wider and then narrowed, which leaves a window).
pub fn open_private(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options.open(path)
}

/// fsync of a directory: a file just created in it is only durable once its entry is.
pub fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Creates `<state_dir>/<stack>/` private, and narrows the state directory, the stack's directory
/// and every file in it that group or others can reach (a directory made by hand, an older build,
/// a restored backup). Returns what it narrowed, for the caller to say so.
pub fn secure_stack_dir(state_dir: &Path, stack: &str) -> Result<Vec<PathBuf>, StateError> {
    let dir = stack_dir(state_dir, stack);
    create_private_dir(&dir)?;
    let mut narrowed = Vec::new();
    for path in [state_dir.to_owned(), dir.clone()] {
        narrow(&path, &mut narrowed)?;
    }
    for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
        let path = entry.map_err(io(&dir))?.path();
        narrow(&path, &mut narrowed)?;
    }
    Ok(narrowed)
}

#[cfg(unix)]
fn narrow(path: &Path, narrowed: &mut Vec<PathBuf>) -> Result<(), StateError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o7777;
    if meta.file_type().is_symlink() || mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)).map_err(
        |source| StateError::NotPrivate {
            path: path.to_owned(),
            mode,
            source,
        },
    )?;
    narrowed.push(path.to_owned());
    Ok(())
}

#[cfg(not(unix))]
fn narrow(_: &Path, _: &mut Vec<PathBuf>) -> Result<(), StateError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn stack_names_become_safe_directory_names() {
        assert_eq!(
            stack_dir(Path::new("/s"), "a/b c"),
            PathBuf::from("/s/a_b_c")
        );
        assert_eq!(
            lock_path(Path::new("/s"), "Stack"),
            PathBuf::from("/s/Stack/lock")
        );
        assert_eq!(journal_name("T", 2), "journal-T_002.jsonl");
        assert_eq!(report_name("T", 0), "report-T.json");
        assert_eq!(report_name("T", 1), "report-T_001.json");
        assert!(is_journal_name(&journal_name("T", 0)));
    }

    #[test]
    fn private_files_are_0600_in_0700_dirs_and_never_overwritten() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("stack").join("credentials.json");
        write_private_file(&path, b"{}").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let again = write_private_file(&path, b"other").unwrap_err();
        assert!(matches!(again, StateError::WouldOverwrite(_)), "{again}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }

    #[test]
    fn a_named_report_replaces_the_old_file_whole_and_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("report.json");
        std::fs::write(&path, b"old, and readable by all").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_with(&path, Existing::Replace, |out| out.write_all(b"{}")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert_eq!(mode(&path), 0o600, "the old file's mode is not kept");
        let names: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no partial file is left: {names:?}");
    }

    #[test]
    fn a_failed_write_leaves_the_named_file_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("report.json");
        std::fs::write(&path, b"the last good report").unwrap();
        let failed = write_private_with(&path, Existing::Replace, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&path).unwrap(), b"the last good report");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn stamps_are_sortable_utc_seconds() {
        let stamp = utc_stamp();
        assert_eq!(stamp.len(), "20261122T053000Z".len(), "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
            "{stamp}"
        );
    }

    #[test]
    fn wider_directories_and_files_are_narrowed_and_named() {
        let root = tempfile::tempdir().unwrap();
        let state = root.path().join("state");
        std::fs::create_dir_all(state.join("S")).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = state.join("S").join("journal-x.jsonl");
        std::fs::write(&file, b"{}").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let narrowed = secure_stack_dir(&state, "S").unwrap();
        assert!(
            narrowed.contains(&state) && narrowed.contains(&file),
            "{narrowed:?}"
        );
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert!(secure_stack_dir(&state, "S").unwrap().is_empty());
    }
}

#[cfg(test)]
mod report_path_tests {
    use super::*;

    #[test]
    fn a_second_report_in_the_same_second_gets_its_own_name() {
        let state = tempfile::tempdir().unwrap();
        let first = new_report_path(state.path(), "S");
        std::fs::create_dir_all(first.parent().unwrap()).unwrap();
        std::fs::write(&first, "{}").unwrap();
        let second = new_report_path(state.path(), "S");
        assert_ne!(first, second);
        assert!(!second.exists());
    }
}
