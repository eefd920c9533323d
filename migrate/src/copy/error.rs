//! Why a copy stopped.

use super::request::{RunningCopy, STARTED_BY};
use crate::error_text::{AwsError, UnexpectedAnswer};

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// An AWS call failed; the SDK's error is the source, its code and message the text.
    #[error("{0}")]
    Aws(#[from] AwsError),
    /// An AWS answer lacked what the call exists for, or a request could not be built.
    #[error("{0}")]
    Unexpected(#[from] UnexpectedAnswer),
    /// A temporary resource could not be removed; `how` is the command that removes it.
    #[error("{what} failed ({}): {how}", .source.summary())]
    Cleanup {
        what: String,
        how: String,
        #[source]
        source: AwsError,
    },
    #[error(
        "a copy task is already running on cluster {cluster} ({}): wait for it to stop \
         (`aws ecs list-tasks --cluster {cluster} --started-by {STARTED_BY}`)",
        .tasks.join(", ")
    )]
    CopyRunning { cluster: String, tasks: Vec<String> },
    #[error("RunTask started no copy task: {reasons}")]
    LaunchFailed { reasons: String },
    #[error("interrupted before the copy task was launched")]
    Interrupted,
    #[error(
        "the copy task {} is still {} on cluster {}: it was left running",
        .0.task_arn, .0.last_status, .0.cluster
    )]
    Abandoned(Box<RunningCopy>),
}
