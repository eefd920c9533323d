//! Reading the re-embed's journal back: folded into per-bot states for a resume (and reopened for
//! it, only into the target and vector store it names), or into counts for the question whether
//! to resume.
//!
//! Memory: both folds keep one entry per journaled bot, the only part of a run besides the plan
//! that grows with the table. The entries are packed (see [`PackedKey`], [`BotState`]); the summary
//! keeps a byte per bot beyond its key, since deciding whether to resume needs no task ARNs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bot::{BotKey, PackedKey};
use super::journal::{EmbedJournalError, Entry, Journal};
use super::outcome::Outcome;
use super::target::{MigrationTarget, VectorStore};
use crate::journal_file::{Extent, JournalError, fold, io_err, no_header};
use crate::state;

/// A task ARN held as two parts: what every task of a journal shares
/// (`arn:aws:ecs:<region>:<account>:task/<cluster>/`, stored once) and the task id. A resume holds
/// one per bot, and the shared part is two thirds of an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskArn {
    prefix: Arc<str>,
    id: Box<str>,
}

impl TaskArn {
    /// Splits after the last `/`, reusing `shared` when its prefix is the same.
    fn split(arn: &str, shared: &mut Option<Arc<str>>) -> Self {
        let (prefix, id) = arn.split_at(arn.rfind('/').map_or(0, |i| i + 1));
        let prefix = match shared {
            Some(p) if **p == *prefix => p.clone(),
            _ => shared.insert(Arc::from(prefix)).clone(),
        };
        Self {
            prefix,
            id: id.into(),
        }
    }
}

impl From<&str> for TaskArn {
    fn from(arn: &str) -> Self {
        Self::split(arn, &mut None)
    }
}

impl std::fmt::Display for TaskArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.prefix, self.id)
    }
}

impl PartialEq<str> for TaskArn {
    fn eq(&self, other: &str) -> bool {
        other
            .strip_prefix(&*self.prefix)
            .is_some_and(|id| id == &*self.id)
    }
}

/// What a journal says about one bot. A resume holds one per journaled bot, so it keeps only what
/// resume decides on, in boxed strings (16 bytes inline rather than 24).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotState {
    /// RunTask may or may not have started a task: the process stopped before the answer was
    /// journaled.
    Intent { started_by: Box<str> },
    /// A task runs: resume tracks it by its ARN and never looks for another.
    Running { task_arn: TaskArn },
    Done {
        outcome: Outcome,
        task_arn: Option<TaskArn>,
        /// The last `startedBy`, for outcomes without a task (launch failed), whose RunTask may
        /// still have started one. `None` after a task ran: resume keeps or relaunches those as
        /// they are.
        started_by: Option<Box<str>>,
    },
}

/// A journal folded into its current state.
#[derive(Debug, Clone)]
pub struct JournalState {
    pub path: PathBuf,
    pub fingerprint: String,
    pub stack: String,
    pub target: MigrationTarget,
    pub vector_store: Option<VectorStore>,
    /// Every run id that wrote to the journal, first one first.
    pub run_ids: Vec<String>,
    pub finished: bool,
    pub bots: HashMap<PackedKey, BotState>,
    /// The length of the complete lines; anything after is a torn write.
    pub valid_len: u64,
    pub truncated_tail: bool,
    /// The last line is a whole entry without its line end (a crash between the two).
    pub unterminated_tail: bool,
}

impl JournalState {
    pub(crate) fn extent(&self) -> Extent {
        Extent {
            valid_len: self.valid_len,
            truncated_tail: self.truncated_tail,
            unterminated_tail: self.unterminated_tail,
        }
    }

    pub fn bot(&self, key: &BotKey) -> Option<&BotState> {
        self.bots.get(&PackedKey::from(key))
    }
}

pub fn read(path: &Path) -> Result<JournalState, JournalError> {
    let mut header = None;
    let mut run_ids = Vec::new();
    let mut finished = false;
    let mut bots: HashMap<PackedKey, BotState> = HashMap::new();
    let mut arn_prefix = None;
    let extent = fold(path, false, |entry: Entry| match entry {
        Entry::Header {
            run_id,
            stack,
            fingerprint,
            target,
            vector_store,
            ..
        } => {
            run_ids.push(run_id);
            header = Some((stack, fingerprint, target, vector_store.map(|v| *v)));
        }
        Entry::Resumed { run_id, .. } => {
            run_ids.push(run_id);
            finished = false;
        }
        Entry::Finished { .. } => finished = true,
        Entry::Intent { pk, sk, started_by } => {
            let started_by = started_by.into_boxed_str();
            bots.insert(PackedKey::new(&pk, &sk), BotState::Intent { started_by });
        }
        Entry::Launched { pk, sk, task_arn } => {
            let task_arn = TaskArn::split(&task_arn, &mut arn_prefix);
            bots.insert(PackedKey::new(&pk, &sk), BotState::Running { task_arn });
        }
        Entry::Outcome {
            pk,
            sk,
            outcome,
            task_arn,
        } => {
            let key = PackedKey::new(&pk, &sk);
            let (ran, started_by) = match bots.remove(&key) {
                Some(BotState::Intent { started_by }) => (None, Some(started_by)),
                Some(BotState::Running { task_arn }) => (Some(task_arn), None),
                Some(BotState::Done { started_by, .. }) => (None, started_by),
                None => (None, None),
            };
            let started_by = match outcome {
                Outcome::Succeeded | Outcome::Failed { .. } => None,
                _ => started_by,
            };
            let state = BotState::Done {
                outcome,
                task_arn: task_arn
                    .map(|arn| TaskArn::split(&arn, &mut arn_prefix))
                    .or(ran),
                started_by,
            };
            bots.insert(key, state);
        }
    })?;
    let (stack, fingerprint, target, vector_store) = header.ok_or_else(|| no_header(path))?;
    Ok(JournalState {
        path: path.to_owned(),
        fingerprint,
        stack,
        target,
        vector_store,
        run_ids,
        finished,
        bots,
        valid_len: extent.valid_len,
        truncated_tail: extent.truncated_tail,
        unterminated_tail: extent.unterminated_tail,
    })
}

impl Journal {
    /// Continues an existing journal: refuses another target's or another vector store's, cuts a
    /// torn last line off, ends a complete last line that lacks its line end (see
    /// `LineFile::reopen`), and records the new run id.
    pub fn reopen(
        path: &Path,
        target: &MigrationTarget,
        vector_store: Option<&VectorStore>,
        run_id: &str,
    ) -> Result<(Self, JournalState), EmbedJournalError> {
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
) -> Result<JournalState, EmbedJournalError> {
    let state = read(path)?;
    let expected = target.fingerprint();
    if state.fingerprint != expected {
        return Err(EmbedJournalError::OtherTarget {
            path: path.to_owned(),
            expected,
            found: state.fingerprint,
        });
    }
    if !VectorStore::same(state.vector_store.as_ref(), vector_store) {
        return Err(EmbedJournalError::OtherVectorStore {
            path: path.to_owned(),
            journal: state.vector_store.map(Box::new),
            current: vector_store.cloned().map(Box::new),
        });
    }
    Ok(state)
}

/// Where a journal's bots stand, counted: what the choice to resume needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSummary {
    pub path: PathBuf,
    pub fingerprint: String,
    pub vector_store: Option<VectorStore>,
    /// Every run id that wrote to the journal: their tasks are this journal's, not another run's.
    pub run_ids: Vec<String>,
    pub finished: bool,
    /// Bots with an intent or a running task.
    pub launched: u64,
    pub succeeded: u64,
    /// Bots with any other final outcome (failed, launch failed).
    pub failed: u64,
}

#[derive(Clone, Copy)]
enum Stage {
    Launched,
    Succeeded,
    Failed,
}

pub fn summarize(path: &Path) -> Result<JournalSummary, JournalError> {
    let mut header = None;
    let mut run_ids = Vec::new();
    let mut finished = false;
    let mut bots: HashMap<PackedKey, Stage> = HashMap::new();
    fold(path, false, |entry: Entry| match entry {
        Entry::Header {
            fingerprint,
            vector_store,
            run_id,
            ..
        } => {
            run_ids.push(run_id);
            header = Some((fingerprint, vector_store.map(|v| *v)));
        }
        Entry::Resumed { run_id, .. } => {
            run_ids.push(run_id);
            finished = false;
        }
        Entry::Finished { .. } => finished = true,
        Entry::Intent { pk, sk, .. } | Entry::Launched { pk, sk, .. } => {
            bots.insert(PackedKey::new(&pk, &sk), Stage::Launched);
        }
        Entry::Outcome {
            pk, sk, outcome, ..
        } => {
            let stage = match outcome {
                Outcome::Succeeded => Stage::Succeeded,
                _ => Stage::Failed,
            };
            bots.insert(PackedKey::new(&pk, &sk), stage);
        }
    })?;
    let (fingerprint, vector_store) = header.ok_or_else(|| no_header(path))?;
    let mut summary = JournalSummary {
        path: path.to_owned(),
        fingerprint,
        vector_store,
        run_ids,
        finished,
        launched: 0,
        succeeded: 0,
        failed: 0,
    };
    for stage in bots.values() {
        match stage {
            Stage::Launched => summary.launched += 1,
            Stage::Succeeded => summary.succeeded += 1,
            Stage::Failed => summary.failed += 1,
        }
    }
    Ok(summary)
}

/// The fingerprint in the journal's header line, without reading further.
fn header_fingerprint(path: &Path) -> Result<String, JournalError> {
    let mut fingerprint = None;
    fold(path, true, |entry: Entry| {
        if let Entry::Header { fingerprint: f, .. } = entry {
            fingerprint = Some(f);
        }
    })?;
    fingerprint.ok_or_else(|| no_header(path))
}

/// The newest journal of `stack` written for the target with `fingerprint`, finished or not,
/// summarized. Journals of other targets are passed over (after their header line): they belong
/// to another migration.
pub fn find_latest(
    state_dir: &Path,
    stack: &str,
    fingerprint: &str,
) -> Result<Option<JournalSummary>, JournalError> {
    newest(state_dir, stack, |found| found == fingerprint, |_| true)
}

/// The newest unfinished journal of `stack` written for a target other than `fingerprint`: a
/// run whose tasks may still be running, which a new run for this target would not see (its
/// `startedBy` differs), so `--resume` must not quietly start one.
pub fn find_unfinished_elsewhere(
    state_dir: &Path,
    stack: &str,
    fingerprint: &str,
) -> Result<Option<JournalSummary>, JournalError> {
    newest(
        state_dir,
        stack,
        |found| found != fingerprint,
        |s| !s.finished,
    )
}

/// The newest journal whose header's fingerprint passes `header` and whose summary passes `keep`.
fn newest(
    state_dir: &Path,
    stack: &str,
    header: impl Fn(&str) -> bool,
    keep: impl Fn(&JournalSummary) -> bool,
) -> Result<Option<JournalSummary>, JournalError> {
    for path in journals_newest_first(state_dir, stack)? {
        match header_fingerprint(&path) {
            Ok(found) if header(&found) => {
                let summary = summarize(&path)?;
                if keep(&summary) {
                    return Ok(Some(summary));
                }
            }
            Ok(_) | Err(JournalError::NoHeader { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn journals_newest_first(state_dir: &Path, stack: &str) -> Result<Vec<PathBuf>, JournalError> {
    let dir = state::stack_dir(state_dir, stack);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut journals: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(state::is_journal_name)
        })
        .collect();
    // UTC timestamps in the names sort chronologically; `_NNN` (same second) sorts after `.jsonl`.
    journals.sort();
    journals.reverse();
    Ok(journals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_arns_share_their_prefix_and_read_back_whole() {
        let mut shared = None;
        let arn = "arn:aws:ecs:us-east-1:1:task/cluster/0123abcd";
        let a = TaskArn::split(arn, &mut shared);
        let b = TaskArn::split("arn:aws:ecs:us-east-1:1:task/cluster/ffff", &mut shared);
        assert!(Arc::ptr_eq(&a.prefix, &b.prefix));
        assert_eq!(a.to_string(), arn);
        assert!(a == *arn);
        assert!(a != *"arn:aws:ecs:us-east-1:1:task/cluster/0123abc");
        assert_eq!(a, TaskArn::from(arn));
        assert_eq!(TaskArn::from("no-slash").to_string(), "no-slash");
    }
}
