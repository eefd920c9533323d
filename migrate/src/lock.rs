//! One run per stack and state directory: an OS file lock on `<state_dir>/<stack>/lock`, held by
//! every command that changes something for its whole run.
//!
//! The lock is `flock(2)` through std's `File::try_lock`: the kernel releases it when the holder's
//! file is closed, so a holder that dies (SIGKILL, OOM, a lost runner) releases it by itself and
//! there is never a stale lock to delete. The file itself stays; its content names the holder
//! (command, pid, host, since when) for the message of the one that is refused. It is opened
//! close-on-exec, so child processes (the CDK CLI) never hold it.
//!
//! What it does not do: it is local to one file system. Two machines (two CI runners) with two
//! state directories do not see each other's lock; `migrate` checks ECS for another run's tasks
//! before launching (see `reembed/concurrent.rs`), which is a check, not a lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{self, StateError};

/// Who holds the lock, as its holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub command: String,
    pub pid: u32,
    pub host: String,
    /// RFC 3339, UTC.
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (pid {} on {}, since {})",
            self.command, self.pid, self.host, self.since
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another run holds {path}: {}; wait until it ends (the lock goes with the process, also \
         when it dies), or stop it with Ctrl-C or `kill {}` and resume afterwards",
        .holder.as_ref().map_or_else(|| "a process that has not written its name yet".to_owned(), |h| h.to_string()),
        .holder.as_ref().map_or_else(|| "<pid>".to_owned(), |h| h.pid.to_string())
    )]
    Held {
        path: PathBuf,
        holder: Option<Holder>,
    },
    #[error("lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct StateLock {
    path: PathBuf,
    _file: File,
    /// Files and directories whose group/other bits were cleared when the lock was taken.
    pub narrowed: Vec<PathBuf>,
}

impl StateLock {
    /// Takes the stack's lock at once or fails naming the holder; never waits. Secures the
    /// stack's directory first (see [`state::secure_stack_dir`]).
    pub fn acquire(state_dir: &Path, stack: &str, command: &str) -> Result<Self, LockError> {
        let narrowed = state::secure_stack_dir(state_dir, stack)?;
        let path = state::lock_path(state_dir, stack);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let opened = state::open_private(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
            &path,
        );
        let mut file = opened.map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    path,
                    holder: read_holder(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let holder = Holder {
            command: command.to_owned(),
            pid: std::process::id(),
            host: hostname(),
            since: state::utc_now_rfc3339(),
        };
        let text = serde_json::to_vec(&holder).expect("the holder serializes");
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(&text))
            .and_then(|()| file.sync_data())
            .map_err(io)?;
        Ok(Self {
            path,
            _file: file,
            narrowed,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The holder writes its name right after taking the lock, so a refusal can come in between
/// (an empty file, or the previous holder's name). It waits for the name of a running holder, a
/// few seconds at most: the refusal stands either way, only its message depends on it.
fn read_holder(file: &mut File) -> Option<Holder> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut text = String::new();
        let holder = file
            .rewind()
            .and_then(|()| file.read_to_string(&mut text))
            .ok()
            .and_then(|_| serde_json::from_str::<Holder>(&text).ok());
        let current = holder.as_ref().is_some_and(is_running);
        if current || std::time::Instant::now() >= deadline {
            return holder;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether the holder's process still runs, as far as this machine can tell: a holder on
/// another host (a shared state directory) is taken at its word.
fn is_running(holder: &Holder) -> bool {
    cfg!(not(target_os = "linux"))
        || holder.host != hostname()
        || Path::new(&format!("/proc/{}", holder.pid)).exists()
}

/// The kernel's host name (what `hostname` prints), else `HOSTNAME`, else "unknown host".
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path(), "S", "migrate --yes").unwrap();
        let err = StateLock::acquire(dir.path(), "S", "deploy").unwrap_err();
        let LockError::Held { holder, .. } = &err else {
            panic!("{err}")
        };
        let holder = holder.as_ref().expect("the holder wrote its name");
        assert_eq!(holder.command, "migrate --yes");
        assert_eq!(holder.pid, std::process::id());
        let message = err.to_string();
        assert!(
            message.contains("migrate --yes") && message.contains("kill "),
            "{message}"
        );
        // Another stack's lock is another file.
        drop(StateLock::acquire(dir.path(), "Other", "deploy").unwrap());
        drop(first);
        let again = StateLock::acquire(dir.path(), "S", "deploy").unwrap();
        assert!(again.path().ends_with("S/lock"));
    }
}
