//! Append-only JSON-lines journal of a run, the source of truth for resume.
//!
//! Layout: `<state_dir>/<stack>/journal-<utc>.jsonl`; one `header` line, then per bot `intent`
//! (written and fsynced before RunTask), `launched` (fsynced after RunTask answered) and `outcome`
//! lines; `resumed` when another process continues the journal; `finished` once every bot has a
//! final outcome. Each line is one `write` of a complete line, so a crash can only leave a truncated
//! last line, which reading ignores and reopening cuts off.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::bot::BotKey;
use crate::report::Outcome;
use crate::target::MigrationTarget;

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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a journal says about one bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotState {
    /// RunTask may or may not have started a task: the process stopped before the answer was
    /// journaled.
    Intent { started_by: String },
    Running {
        task_arn: String,
        started_by: Option<String>,
    },
    Done {
        outcome: Outcome,
        task_arn: Option<String>,
        started_by: Option<String>,
    },
}

/// A journal folded into its current state.
#[derive(Debug, Clone)]
pub struct JournalState {
    pub path: PathBuf,
    pub fingerprint: String,
    pub stack: String,
    pub target: MigrationTarget,
    /// Every run id that wrote to the journal, first one first.
    pub run_ids: Vec<String>,
    pub finished: bool,
    pub bots: HashMap<BotKey, BotState>,
    /// The length of the complete lines; anything after is a torn write.
    pub valid_len: u64,
    pub truncated_tail: bool,
}

pub fn read(path: &Path) -> Result<JournalState, JournalError> {
    let mut reader = BufReader::new(File::open(path).map_err(io_err(path))?);
    let mut header = None;
    let mut run_ids = Vec::new();
    let mut finished = false;
    let mut bots: HashMap<BotKey, BotState> = HashMap::new();
    let mut valid_len = 0u64;
    let mut truncated_tail = false;
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
            valid_len += n as u64;
            continue;
        }
        let entry: Entry = match serde_json::from_str(text.trim_end()) {
            Ok(entry) => entry,
            Err(_) if !complete => {
                truncated_tail = true;
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
        valid_len += n as u64;
        match entry {
            Entry::Header {
                run_id,
                stack,
                fingerprint,
                target,
                ..
            } => {
                run_ids.push(run_id);
                header = Some((stack, fingerprint, target));
            }
            Entry::Resumed { run_id, .. } => {
                run_ids.push(run_id);
                finished = false;
            }
            Entry::Finished { .. } => finished = true,
            Entry::Intent { pk, sk, started_by } => {
                bots.insert(BotKey { pk, sk }, BotState::Intent { started_by });
            }
            Entry::Launched { pk, sk, task_arn } => {
                let key = BotKey { pk, sk };
                let started_by = started_by_of(bots.get(&key));
                bots.insert(
                    key,
                    BotState::Running {
                        task_arn,
                        started_by,
                    },
                );
            }
            Entry::Outcome {
                pk,
                sk,
                outcome,
                task_arn,
            } => {
                let key = BotKey { pk, sk };
                let started_by = started_by_of(bots.get(&key));
                let task_arn = task_arn.or_else(|| match bots.get(&key) {
                    Some(BotState::Running { task_arn, .. }) => Some(task_arn.clone()),
                    _ => None,
                });
                bots.insert(
                    key,
                    BotState::Done {
                        outcome,
                        task_arn,
                        started_by,
                    },
                );
            }
        }
    }
    let (stack, fingerprint, target) = header.ok_or_else(|| JournalError::NoHeader {
        path: path.to_owned(),
    })?;
    Ok(JournalState {
        path: path.to_owned(),
        fingerprint,
        stack,
        target,
        run_ids,
        finished,
        bots,
        valid_len,
        truncated_tail,
    })
}

fn started_by_of(state: Option<&BotState>) -> Option<String> {
    match state? {
        BotState::Intent { started_by } => Some(started_by.clone()),
        BotState::Running { started_by, .. } | BotState::Done { started_by, .. } => {
            started_by.clone()
        }
    }
}

/// The directory holding a stack's journals and reports.
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

/// The newest journal of `stack` written for the target with `fingerprint`, finished or not.
/// Journals of other targets are passed over: they belong to another migration.
pub fn find_latest(
    state_dir: &Path,
    stack: &str,
    fingerprint: &str,
) -> Result<Option<JournalState>, JournalError> {
    let dir = stack_dir(state_dir, stack);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut journals: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("journal-") && n.ends_with(".jsonl"))
        })
        .collect();
    // UTC timestamps in the names sort chronologically; `_NNN` (same second) sorts after `.jsonl`.
    journals.sort();
    for path in journals.into_iter().rev() {
        match read(&path) {
            Ok(state) if state.fingerprint == fingerprint => return Ok(Some(state)),
            Ok(_) | Err(JournalError::NoHeader { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// An open journal; lines are appended from several tasks, hence the lock.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// Starts a new journal for `target` with a header line.
    pub fn create(
        state_dir: &Path,
        stack: &str,
        target: &MigrationTarget,
        run_id: &str,
    ) -> Result<Self, JournalError> {
        let dir = stack_dir(state_dir, stack);
        create_private_dir(state_dir)?;
        create_private_dir(&dir)?;
        let stamp = now_compact();
        let mut n = 0;
        let (path, file) = loop {
            let name = if n == 0 {
                format!("journal-{stamp}.jsonl")
            } else {
                format!("journal-{stamp}_{n:03}.jsonl")
            };
            let path = dir.join(name);
            match open_private(OpenOptions::new().append(true).create_new(true), &path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(io_err(&path)(e)),
            }
        };
        let journal = Self {
            path,
            file: Mutex::new(file),
        };
        journal.append(
            &Entry::Header {
                version: JOURNAL_VERSION,
                run_id: run_id.to_owned(),
                stack: stack.to_owned(),
                fingerprint: target.fingerprint(),
                target: target.clone(),
                at: now_rfc3339(),
            },
            true,
        )?;
        Ok(journal)
    }

    /// Continues an existing journal: refuses another target's, cuts a torn last line off, and
    /// records the new run id.
    pub fn reopen(
        path: &Path,
        target: &MigrationTarget,
        run_id: &str,
    ) -> Result<(Self, JournalState), JournalError> {
        let state = read(path)?;
        let expected = target.fingerprint();
        if state.fingerprint != expected {
            return Err(JournalError::OtherTarget {
                path: path.to_owned(),
                expected,
                found: state.fingerprint,
            });
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        if state.truncated_tail {
            file.set_len(state.valid_len).map_err(io_err(path))?;
        }
        let journal = Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        journal.append(
            &Entry::Resumed {
                run_id: run_id.to_owned(),
                at: now_rfc3339(),
            },
            true,
        )?;
        Ok((journal, state))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line in a single write; `durable` also fsyncs, for the lines resume depends on.
    pub fn append(&self, entry: &Entry, durable: bool) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry).expect("journal entries serialize");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line).map_err(io_err(&self.path))?;
        if durable {
            file.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }

    pub fn finish(&self) -> Result<(), JournalError> {
        self.append(&Entry::Finished { at: now_rfc3339() }, true)
    }
}

fn create_private_dir(dir: &Path) -> Result<(), JournalError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_err(dir))
}

fn open_private(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options.open(path)
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `20250102T030405Z`: sortable and safe in file names.
pub(crate) fn now_compact() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
