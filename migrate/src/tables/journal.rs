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

use crate::journal_file::{Extent, JournalError, JournalFile, RunEntry, fold, io_err};
use crate::state;
use crate::tables::counts::{KindCounts, LISTED, Note, NoteKind};
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
        /// Every write is a conditional put (the targets held items when the run began); a
        /// resume keeps to it. Absent in journals of earlier builds.
        #[serde(default)]
        conditional: bool,
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

/// A journal read back: what a resume needs. Its size is bounded by the work left, not by the
/// table: the items still unwritten, the first [`LISTED`] notes of each other fate for the report,
/// and the keys the target already held among those the verification samples.
#[derive(Debug, Clone, Default)]
pub struct TablesJournalState {
    pub path: PathBuf,
    pub tables: Option<TableSet>,
    pub segments: u32,
    /// The run writes with conditional puts only (its header says so).
    pub conditional: bool,
    pub run_ids: Vec<String>,
    pub finished: bool,
    /// Per segment: `Some(next)` to go on from (`None` inside: read to its end).
    pub progress: BTreeMap<u32, Option<ResumeKey>>,
    /// Counts so far, per kind.
    pub counts: BTreeMap<Kind, KindCounts>,
    /// The items an earlier run could not write: a resume writes them first.
    pub unwritten: BTreeMap<SourceKey, Note>,
    /// The first [`LISTED`] notes of every other fate, for the report.
    pub listed: BTreeMap<NoteKind, Vec<Note>>,
    /// The sampled keys the target already held (the app's newer items): the verification does
    /// not compare them.
    pub kept_sampled: BTreeSet<SourceKey>,
    /// One item in this many is sampled (`None`: no kept key is kept).
    sample_every: Option<u64>,
}

impl TablesJournalState {
    /// Notes one item's fate.
    fn note(&mut self, note: Note) {
        if note.what == NoteKind::Unwritten {
            self.unwritten.insert(note.key.clone(), note);
            return;
        }
        if note.what == NoteKind::AlreadyThere
            && self
                .sample_every
                .is_some_and(|every| note.key.sampled(every))
        {
            self.kept_sampled.insert(note.key.clone());
        }
        let listed = self.listed.entry(note.what).or_default();
        if listed.len() < LISTED {
            listed.push(note);
        }
    }

    /// The notes the report lists: the first [`LISTED`] of each fate, by key.
    pub fn listed_notes(&self) -> Vec<Note> {
        let mut notes: Vec<Note> = self.unwritten.values().take(LISTED).cloned().collect();
        notes.extend(self.listed.values().flatten().cloned());
        notes.sort_by(|a, b| a.key.cmp(&b.key));
        notes
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
        conditional: bool,
        run_id: &str,
    ) -> Result<Self, JournalError> {
        let stamp = state::utc_stamp();
        let header = TablesEntry::Header {
            version: TABLES_JOURNAL_VERSION,
            run_id: run_id.to_owned(),
            stack: stack.to_owned(),
            tables: tables.clone(),
            segments,
            conditional,
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
        let (state, extent) = read(path, None)?;
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

/// Folds a journal into its state; the torn tail (if any) is left for `reopen` to cut. The
/// already-there keys kept are those the verification samples, one in `sample_every`.
pub(crate) fn read(
    path: &Path,
    sample_every: Option<u64>,
) -> Result<(TablesJournalState, Extent), JournalError> {
    let mut state = TablesJournalState {
        path: path.to_owned(),
        sample_every,
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
            conditional,
            ..
        } => {
            state.run_ids.push(run_id);
            state.tables = Some(tables);
            state.segments = segments;
            state.conditional = conditional;
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
                state.note(note);
            }
        }
        TablesEntry::Retried { key, kind, what } => {
            let counts = state.counts.entry(kind).or_default();
            counts.unwritten = counts.unwritten.saturating_sub(1);
            counts.count(what);
            if let Some(mut note) = state.unwritten.remove(&key)
                && what != NoteKind::Written
            {
                note.what = what;
                state.note(note);
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
        Err(e) => return Err(io_err(&dir)(e)),
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
        Some(path) if !read(&path, None)?.0.finished => Ok(Some(path)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> TableRef {
        TableRef {
            name: name.into(),
            table_id: Some(format!("{name}-id")),
        }
    }

    fn note(i: usize, what: NoteKind) -> Note {
        Note {
            key: SourceKey {
                pk: format!("user-{}", i / 10),
                sk: format!("user-{}#CONV#{i}", i / 10),
            },
            kind: Some(Kind::Conversation),
            what,
            reason: None,
        }
    }

    /// A fresh run into tables that already hold everything notes every item: the state read
    /// back keeps what a resume and the report need, not every note.
    #[test]
    fn the_state_holds_the_work_left_not_every_note() {
        let dir = tempfile::tempdir().unwrap();
        let tables = TableSet {
            source: table("v2"),
            conversations: table("conversations"),
            bots: table("bots"),
        };
        let journal = TablesJournal::create(dir.path(), "S", &tables, 1, true, "run1").unwrap();
        let kept: Vec<Note> = (0..5_000)
            .map(|i| note(i, NoteKind::AlreadyThere))
            .collect();
        let unwritten: Vec<Note> = (5_000..5_150)
            .map(|i| note(i, NoteKind::Unwritten))
            .collect();
        let page = |notes: Vec<Note>| TablesEntry::Page {
            segment: 0,
            next: None,
            counts: BTreeMap::new(),
            notes,
        };
        journal.append(&page(kept.clone()), true).unwrap();
        journal.append(&page(unwritten.clone()), true).unwrap();
        for (note, what) in [
            (&unwritten[0], NoteKind::Written),
            (&unwritten[1], NoteKind::Rejected),
        ] {
            let retried = TablesEntry::Retried {
                key: note.key.clone(),
                kind: Kind::Conversation,
                what,
            };
            journal.append(&retried, true).unwrap();
        }

        let (state, _) = read(journal.path(), Some(100)).unwrap();
        assert!(
            state.conditional,
            "the header's write mode is kept for a resume"
        );
        assert_eq!(state.unwritten.len(), 148, "every item still unwritten");
        assert_eq!(state.listed[&NoteKind::AlreadyThere].len(), LISTED);
        assert_eq!(
            state.listed[&NoteKind::Rejected],
            [Note {
                what: NoteKind::Rejected,
                ..unwritten[1].clone()
            }]
        );
        let sampled: BTreeSet<SourceKey> = kept
            .iter()
            .map(|n| n.key.clone())
            .filter(|k| k.sampled(100))
            .collect();
        assert_eq!(
            state.kept_sampled, sampled,
            "only the kept keys the sample meets"
        );
        assert!(
            (20..=80).contains(&sampled.len()),
            "about 1 in 100: {}",
            sampled.len()
        );
        assert_eq!(state.listed_notes().len(), 100 + LISTED + 1);
    }
}
