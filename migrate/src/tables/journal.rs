//! The table migration's journal: `<state_dir>/<stack>/tables-journal-<utc>.jsonl`, JSON lines
//! written through the same [`LineFile`] as the re-embed's journal (one write a line, 0600, a torn
//! last line cut on reopen).
//!
//! One `header` (the three tables by name and DynamoDB table id), then per segment one `page` line
//! after every page of the source is written whole: where the segment's scan goes on, the page's
//! counts, and the keys of the items that were not simply written (skipped, malformed, kept,
//! unwritten, rejected). A resume starts each segment after its last `page`; the page it was on
//! may be half written, so that one is written again with conditional puts only. `retried` lines
//! record the unwritten items a resume wrote; `finished` ends the copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::journal::{JournalError, JournalFile, RunEntry};
use crate::journal_read::fold;
use crate::state;
use crate::tables::counts::{KindCounts, Note, NoteKind};
use crate::tables::item::SourceKey;
use crate::tables::kinds::Kind;

pub const TABLES_JOURNAL_VERSION: u32 = 1;

/// A table named by the journal: a resume must find the same incarnation of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    pub name: String,
    pub table_id: Option<String>,
}

/// The three tables of one table migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSet {
    pub source: TableRef,
    pub conversations: TableRef,
    pub bots: TableRef,
}

/// Where a segment's scan goes on: the source key the last page ended at (`LastEvaluatedKey`).
pub type ResumeKey = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TablesEntry {
    Header {
        version: u32,
        run_id: String,
        stack: String,
        tables: TableSet,
        segments: u32,
        at: String,
    },
    Resumed {
        run_id: String,
        at: String,
    },
    Page {
        segment: u32,
        /// `None`: the segment is read to its end.
        next: Option<ResumeKey>,
        counts: BTreeMap<Kind, KindCounts>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<Note>,
    },
    /// An item a resume wrote after an earlier run left it unwritten.
    Retried {
        key: SourceKey,
        kind: Kind,
        what: NoteKind,
    },
    Finished {
        at: String,
    },
}

/// A journal read back: what a resume needs.
#[derive(Debug, Clone, Default)]
pub struct TablesJournalState {
    pub path: PathBuf,
    pub tables: Option<TableSet>,
    pub segments: u32,
    pub run_ids: Vec<String>,
    pub finished: bool,
    /// Per segment: `Some(next)` to go on from (`None` inside: read to its end).
    pub progress: BTreeMap<u32, Option<ResumeKey>>,
    /// Counts so far, per kind.
    pub counts: BTreeMap<Kind, KindCounts>,
    /// Every item noted so far, the later note of a key replacing the earlier.
    pub notes: BTreeMap<SourceKey, Note>,
}

impl TablesJournalState {
    /// The items an earlier run could not write: a resume writes them first.
    pub fn unwritten(&self) -> impl Iterator<Item = &Note> {
        self.notes
            .values()
            .filter(|n| n.what == NoteKind::Unwritten)
    }

    /// The keys the target already held (the app's newer items): verification leaves them be.
    pub fn kept_keys(&self) -> BTreeSet<SourceKey> {
        self.notes
            .values()
            .filter(|n| n.what == NoteKind::AlreadyThere)
            .map(|n| n.key.clone())
            .collect()
    }
}

impl RunEntry for TablesEntry {
    fn resumed(run_id: &str, at: String) -> Self {
        TablesEntry::Resumed {
            run_id: run_id.to_owned(),
            at,
        }
    }

    fn finished(at: String) -> Self {
        TablesEntry::Finished { at }
    }
}

/// An open table-migration journal.
pub type TablesJournal = JournalFile<TablesEntry>;

impl TablesJournal {
    pub fn create(
        state_dir: &Path,
        stack: &str,
        tables: &TableSet,
        segments: u32,
        run_id: &str,
    ) -> Result<Self, JournalError> {
        let stamp = state::utc_stamp();
        let header = TablesEntry::Header {
            version: TABLES_JOURNAL_VERSION,
            run_id: run_id.to_owned(),
            stack: stack.to_owned(),
            tables: tables.clone(),
            segments,
            at: state::utc_now_rfc3339(),
        };
        Self::start(
            &state::stack_dir(state_dir, stack),
            |n| state::tables_journal_name(&stamp, n),
            &header,
        )
    }

    /// Continues `path`, which must name the same three tables (same incarnations).
    pub fn reopen(
        path: &Path,
        tables: &TableSet,
        run_id: &str,
    ) -> Result<(Self, TablesJournalState), TablesJournalError> {
        let (state, extent) = read(path)?;
        if state.tables.as_ref() != Some(tables) {
            return Err(TablesJournalError::OtherTables {
                path: path.to_owned(),
                journal: state.tables.clone().map(Box::new),
                current: Box::new(tables.clone()),
            });
        }
        Ok((Self::continue_at(path, &extent, run_id)?, state))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TablesJournalError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "journal {path} copied {} into {} and {}, and this run's tables are {}, {} and {}: \
         a journal is resumed only into the tables it names (a table deleted and created again \
         under its name is another table); start a new run without --resume",
        journal_names(.journal.as_deref()).0, journal_names(.journal.as_deref()).1,
        journal_names(.journal.as_deref()).2, .current.source.name, .current.conversations.name,
        .current.bots.name
    )]
    OtherTables {
        path: PathBuf,
        journal: Option<Box<TableSet>>,
        current: Box<TableSet>,
    },
}

fn journal_names(tables: Option<&TableSet>) -> (String, String, String) {
    match tables {
        Some(t) => (
            t.source.name.clone(),
            t.conversations.name.clone(),
            t.bots.name.clone(),
        ),
        None => ("(no header)".into(), "?".into(), "?".into()),
    }
}

/// A journal folded into its state (for `--resume`'s choice and the report).
pub fn read_state(path: &Path) -> Result<TablesJournalState, JournalError> {
    Ok(read(path)?.0)
}

/// Folds a journal into its state; the torn tail (if any) is left for `reopen` to cut.
pub(crate) fn read(
    path: &Path,
) -> Result<(TablesJournalState, crate::journal_read::Extent), JournalError> {
    let mut state = TablesJournalState {
        path: path.to_owned(),
        ..TablesJournalState::default()
    };
    let extent = fold(path, false, |entry: TablesEntry| apply(&mut state, entry))?;
    if state.tables.is_none() {
        return Err(JournalError::NoHeader {
            path: path.to_owned(),
        });
    }
    Ok((state, extent))
}

fn apply(state: &mut TablesJournalState, entry: TablesEntry) {
    match entry {
        TablesEntry::Header {
            run_id,
            tables,
            segments,
            ..
        } => {
            state.run_ids.push(run_id);
            state.tables = Some(tables);
            state.segments = segments;
        }
        TablesEntry::Resumed { run_id, .. } => {
            state.run_ids.push(run_id);
            state.finished = false;
        }
        TablesEntry::Page {
            segment,
            next,
            counts,
            notes,
        } => {
            state.progress.insert(segment, next);
            for (kind, c) in counts {
                state.counts.entry(kind).or_default().add(&c);
            }
            for note in notes {
                state.notes.insert(note.key.clone(), note);
            }
        }
        TablesEntry::Retried { key, kind, what } => {
            let counts = state.counts.entry(kind).or_default();
            counts.unwritten = counts.unwritten.saturating_sub(1);
            counts.count(what);
            match what {
                NoteKind::Written => {
                    state.notes.remove(&key);
                }
                _ => {
                    if let Some(note) = state.notes.get_mut(&key) {
                        note.what = what;
                    }
                }
            }
        }
        TablesEntry::Finished { .. } => state.finished = true,
    }
}

/// The newest table-migration journal of `stack`, when it is not finished: an older unfinished
/// one was left behind by a run that a newer one already replaced.
pub fn find_unfinished(state_dir: &Path, stack: &str) -> Result<Option<PathBuf>, JournalError> {
    let dir = state::stack_dir(state_dir, stack);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::journal::io_err(&dir)(e)),
    };
    // UTC stamps in the names sort chronologically; `_NNN` (same second) sorts after `.jsonl`.
    let newest = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(state::is_tables_journal_name)
        })
        .max();
    match newest {
        Some(path) if !read(&path)?.0.finished => Ok(Some(path)),
        _ => Ok(None),
    }
}
