//! The journal files every migration keeps: append-only JSON lines, each written whole in one
//! `write`, so a crash can only leave a truncated last line, which reading ignores and reopening
//! cuts off. A journal is a header line, the migration's own lines, a `resumed` line for every
//! later run and `finished` at the end; what the lines say is each migration's (the re-embed's
//! `reembed/journal.rs`, the table migration's `tables/journal.rs`).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::state;

/// A journal file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path} line {line} is not a journal entry: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("journal {path} has no header line")]
    NoHeader { path: PathBuf },
}

/// A new run's id: it names the run in its journal's lines (and the re-embed's tasks' `startedBy`).
pub(crate) fn new_run_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn no_header(path: &Path) -> JournalError {
    JournalError::NoHeader {
        path: path.to_owned(),
    }
}

/// An append-only file of JSON lines, each written whole in one `write`: the mechanics every
/// journal shares (the re-embed's in `reembed/journal.rs`, the table migration's in
/// `tables/journal.rs`). Lines are appended from several tasks, hence the lock.
#[derive(Debug)]
pub(crate) struct LineFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl LineFile {
    /// A new file in the private directory `dir`, named `name(n)` with the first `n` not taken
    /// (two runs in one second), 0600 from its creation.
    pub(crate) fn new_in(dir: &Path, name: impl Fn(u32) -> String) -> Result<Self, JournalError> {
        state::create_private_dir(dir)?;
        let mut n = 0;
        let (path, file) = loop {
            let path = dir.join(name(n));
            match state::open_private(OpenOptions::new().append(true).create_new(true), &path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(io_err(&path)(e)),
            }
        };
        // The first line is fsynced by its writer; the file's directory entry needs its own sync.
        state::sync_dir(dir)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    /// Opens an existing file to append to it: cuts a torn last line off and ends a complete last
    /// line that lacks its line end.
    ///
    /// Cutting is safe only because no other process writes the file: every writer holds the
    /// stack's lock (`lock.rs`) for its whole run, so a torn line is a dead process's.
    pub(crate) fn reopen(path: &Path, extent: &Extent) -> Result<Self, JournalError> {
        let mut file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        if extent.truncated_tail {
            file.set_len(extent.valid_len).map_err(io_err(path))?;
        } else if extent.unterminated_tail {
            // The last entry is whole but its `\n` never made it: end it, or the next line would
            // run onto it.
            file.write_all(b"\n").map_err(io_err(path))?;
        }
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line in a single write; `durable` also fsyncs, for the lines resume depends on.
    pub(crate) fn append(&self, entry: &impl Serialize, durable: bool) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry).expect("journal entries serialize");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line).map_err(io_err(&self.path))?;
        if durable {
            file.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }
}

/// The lines every journal has besides its header and its own: a later run resumed it, the work
/// is finished.
pub trait RunEntry: Serialize {
    fn resumed(run_id: &str, at: String) -> Self;
    fn finished(at: String) -> Self;
}

/// An open journal of `E` lines (the re-embed's `Journal`, the table migration's
/// `TablesJournal`): a header first, a `resumed` line for every later run, `finished` at the end.
#[derive(Debug)]
pub struct JournalFile<E> {
    lines: LineFile,
    entries: PhantomData<fn(&E)>,
}

impl<E: RunEntry> JournalFile<E> {
    /// A new journal in `dir`, named `name(n)` (see [`LineFile::new_in`]), its header durable.
    pub(crate) fn start(
        dir: &Path,
        name: impl Fn(u32) -> String,
        header: &E,
    ) -> Result<Self, JournalError> {
        let journal = Self {
            lines: LineFile::new_in(dir, name)?,
            entries: PhantomData,
        };
        journal.append(header, true)?;
        Ok(journal)
    }

    /// Continues the journal at `path`, read up to `extent`, for the run `run_id`.
    pub(crate) fn continue_at(
        path: &Path,
        extent: &Extent,
        run_id: &str,
    ) -> Result<Self, JournalError> {
        let journal = Self {
            lines: LineFile::reopen(path, extent)?,
            entries: PhantomData,
        };
        journal.append(&E::resumed(run_id, state::utc_now_rfc3339()), true)?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        self.lines.path()
    }

    /// Appends one line in a single write; `durable` also fsyncs, for the lines resume depends on.
    pub fn append(&self, entry: &E, durable: bool) -> Result<(), JournalError> {
        self.lines.append(entry, durable)
    }

    pub fn finish(&self) -> Result<(), JournalError> {
        self.append(&E::finished(state::utc_now_rfc3339()), true)
    }
}

/// How far the complete lines of a journal go.
pub(crate) struct Extent {
    pub(crate) valid_len: u64,
    pub(crate) truncated_tail: bool,
    pub(crate) unterminated_tail: bool,
}

/// Hands every entry of the complete lines to `on_entry`, in order. A torn last line (a crash
/// mid-write) ends the reading; any other line that is not an entry is an error. With `first_only`,
/// stops after the first entry. Generic over the entry type: each migration's journal has entries
/// of its own and the same rules.
pub(crate) fn fold<T: serde::de::DeserializeOwned>(
    path: &Path,
    first_only: bool,
    mut on_entry: impl FnMut(T),
) -> Result<Extent, JournalError> {
    let mut reader = BufReader::new(File::open(path).map_err(io_err(path))?);
    let mut extent = Extent {
        valid_len: 0,
        truncated_tail: false,
        unterminated_tail: false,
    };
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.ends_with(b"\n");
        let text = String::from_utf8_lossy(&buf);
        if text.trim().is_empty() {
            extent.valid_len += n as u64;
            continue;
        }
        let entry: T = match serde_json::from_str(text.trim_end()) {
            Ok(entry) => entry,
            Err(_) if !complete => {
                extent.truncated_tail = true;
                break;
            }
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line: line_no,
                    message: e.to_string(),
                });
            }
        };
        extent.valid_len += n as u64;
        extent.unterminated_tail = !complete;
        on_entry(entry);
        if first_only {
            break;
        }
    }
    Ok(extent)
}
