//! The re-embed's inputs: clients, options and the resume choice; its error.

use std::path::PathBuf;
use std::time::Duration;

use super::journal::EmbedJournalError;
use super::scan::ScanError;
use super::target::{TargetError, VectorStore};
use crate::journal_file::JournalError;

/// The service clients, built by the caller from one `SdkConfig` (or mocks).
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ecs: aws_sdk_ecs::Client,
}

impl Clients {
    pub fn from_conf(config: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
        }
    }
}

/// Whether to continue an earlier journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resume {
    #[default]
    Fresh,
    /// Continue this journal (see [`journal::find_latest`]); it must belong to the same target.
    Journal(PathBuf),
}

#[derive(Debug, Clone)]
pub struct MigrationOptions {
    /// Names the journal directory (`<state_dir>/<stack>/`).
    pub stack: String,
    pub state_dir: PathBuf,
    pub segments: u32,
    /// RunTask calls per second; the bucket holds as many (AWS's burst equals its rate).
    pub rate: f64,
    pub max_running: u32,
    /// Launches under way at once (waiting for a RunTask token, calling RunTask, backing off
    /// between attempts). Bounds the launch phase's memory and connections whatever
    /// `max_running` is; at 20 RunTask/s, 256 leaves each launch 12 s before launching slows.
    pub max_launching: usize,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub poll_interval: Duration,
    pub all_bots: bool,
    pub no_wait: bool,
    pub retry_failed: bool,
    pub dry_run: bool,
    pub resume: Resume,
    /// The vector store this run embeds into, recorded in a new journal and required of a resumed
    /// one (`None`: not known, which matches only journals that name none).
    pub vector_store: Option<VectorStore>,
    /// Scan results buffered between the scan workers and the planner.
    pub scan_buffer: usize,
}

impl Default for MigrationOptions {
    fn default() -> Self {
        Self {
            stack: "BedrockChatStack".into(),
            state_dir: PathBuf::from(".xtask"),
            segments: 4,
            rate: 20.0,
            max_running: 10,
            max_launching: 256,
            max_attempts: 8,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(20),
            poll_interval: Duration::from_secs(5),
            all_bots: false,
            no_wait: false,
            retry_failed: false,
            dry_run: false,
            resume: Resume::Fresh,
            vector_store: None,
            scan_buffer: 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Journal(#[from] EmbedJournalError),
    #[error("a migration worker stopped unexpectedly: {0}")]
    Worker(#[source] tokio::task::JoinError),
    /// The temporary file that holds report rows and malformed items off the heap.
    #[error("temporary file for the report rows: {0}")]
    Spill(#[source] std::io::Error),
}

impl From<JournalError> for MigrateError {
    fn from(e: JournalError) -> Self {
        Self::Journal(e.into())
    }
}
