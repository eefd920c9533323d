//! Append-only JSON-lines journal of a run, the source of truth for resume.
//!
//! Layout: `<state_dir>/<stack>/journal-<utc>.jsonl`; one `header` line, then per bot `intent`
//! (written and fsynced before RunTask), `launched` (fsynced after RunTask answered) and `outcome`
//! lines; `resumed` when another process continues the journal; `finished` once every bot has a
//! final outcome. Each line is one `write` of a complete line, so a crash can only leave a truncated
//! last line, which reading ignores and reopening cuts off.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::journal_read::Extent;

pub use crate::journal_read::{
    BotState, JournalState, JournalSummary, TaskArn, find_latest, find_unfinished_elsewhere, read,
    summarize,
};
use crate::report::Outcome;
use crate::state;
use crate::target::{MigrationTarget, VectorStore};

pub const JOURNAL_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    Header {
        version: u32,
        run_id: String,
        stack: String,
        fingerprint: String,
        target: MigrationTarget,
        /// The vector store the run embeds into; absent in journals of older builds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vector_store: Option<Box<VectorStore>>,
        at: String,
    },
    Resumed {
        run_id: String,
        at: String,
    },
    Intent {
        pk: String,
        sk: String,
        started_by: String,
    },
    Launched {
        pk: String,
        sk: String,
        task_arn: String,
    },
    Outcome {
        pk: String,
        sk: String,
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_arn: Option<String>,
    },
    Finished {
        at: String,
    },
}

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
    #[error(
        "journal {path} embedded into {}, and the stack's vector store is now {}: its bots' \
         vectors are not in this one, so it cannot be resumed; start a new run (without --resume, \
         or with --fresh), which launches every bot into the current vector store",
        describe_store(.journal.as_deref()), describe_store(.current.as_deref())
    )]
    OtherVectorStore {
        path: PathBuf,
        journal: Option<Box<VectorStore>>,
        current: Option<Box<VectorStore>>,
    },
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("journal {path} has no header line")]
    NoHeader { path: PathBuf },
    #[error(
        "journal {path} belongs to another migration target (fingerprint {found}, this target is {expected}); start with --fresh or point the flags at the journal's target"
    )]
    OtherTarget {
        path: PathBuf,
        expected: String,
        found: String,
    },
}

fn describe_store(store: Option<&VectorStore>) -> String {
    store.map_or_else(
        || "an unnamed vector store".to_owned(),
        VectorStore::to_string,
    )
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

pub use crate::state::stack_dir;

/// An append-only file of JSON lines, each written whole in one `write`: the mechanics every
/// journal shares (the migration's here, the table migration's in `tables/journal.rs`). Lines
/// are appended from several tasks, hence the lock.
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

/// An open journal of `E` lines (the re-embed's [`Journal`], the table migration's
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

impl RunEntry for Entry {
    fn resumed(run_id: &str, at: String) -> Self {
        Entry::Resumed {
            run_id: run_id.to_owned(),
            at,
        }
    }

    fn finished(at: String) -> Self {
        Entry::Finished { at }
    }
}

/// The re-embed's journal.
pub type Journal = JournalFile<Entry>;

impl Journal {
    /// Starts a new journal for `target` with a header line.
    pub fn create(
        state_dir: &Path,
        stack: &str,
        target: &MigrationTarget,
        vector_store: Option<&VectorStore>,
        run_id: &str,
    ) -> Result<Self, JournalError> {
        let stamp = state::utc_stamp();
        let header = Entry::Header {
            version: JOURNAL_VERSION,
            run_id: run_id.to_owned(),
            stack: stack.to_owned(),
            fingerprint: target.fingerprint(),
            target: target.clone(),
            vector_store: vector_store.cloned().map(Box::new),
            at: state::utc_now_rfc3339(),
        };
        Self::start(
            &stack_dir(state_dir, stack),
            |n| state::journal_name(&stamp, n),
            &header,
        )
    }

    /// Continues an existing journal: refuses another target's or another vector store's, cuts a
    /// torn last line off, ends a complete last line that lacks its line end (see
    /// [`LineFile::reopen`]), and records the new run id.
    pub fn reopen(
        path: &Path,
        target: &MigrationTarget,
        vector_store: Option<&VectorStore>,
        run_id: &str,
    ) -> Result<(Self, JournalState), JournalError> {
        let state = read_for(path, target, vector_store)?;
        let journal = Self::continue_at(path, &state.extent(), run_id)?;
        Ok((journal, state))
    }
}

/// Reads a journal for a resume of `target` into `vector_store`: another target's or another
/// vector store's journal is refused.
pub fn read_for(
    path: &Path,
    target: &MigrationTarget,
    vector_store: Option<&VectorStore>,
) -> Result<JournalState, JournalError> {
    let state = read(path)?;
    let expected = target.fingerprint();
    if state.fingerprint != expected {
        return Err(JournalError::OtherTarget {
            path: path.to_owned(),
            expected,
            found: state.fingerprint,
        });
    }
    if !VectorStore::same(state.vector_store.as_ref(), vector_store) {
        return Err(JournalError::OtherVectorStore {
            path: path.to_owned(),
            journal: state.vector_store.map(Box::new),
            current: vector_store.cloned().map(Box::new),
        });
    }
    Ok(state)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
