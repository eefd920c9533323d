//! Append-only JSON-lines journal of a run, the source of truth for resume.
//!
//! Layout: `<state_dir>/<stack>/journal-<utc>.jsonl`; one `header` line, then per bot `intent`
//! (written and fsynced before RunTask), `launched` (fsynced after RunTask answered) and `outcome`
//! lines; `resumed` when another process continues the journal; `finished` once every bot has a
//! final outcome. The file's mechanics are every journal's (`journal_file.rs`); reading it back
//! for a resume is `journal_state.rs`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::Outcome;
use super::target::{MigrationTarget, VectorStore};
use crate::journal_file::{JournalError, JournalFile, RunEntry};
use crate::state::{self, stack_dir};

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

/// Why a journal cannot be resumed by this run, or could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum EmbedJournalError {
    #[error(transparent)]
    Journal(#[from] JournalError),
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
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
