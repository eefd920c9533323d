//! The copy-back path's last step: copy the vector rows from a temporary cluster (restored from
//! the replaced cluster's snapshot) into the new cluster, as one Fargate task inside the VPC that
//! runs `copy_vectors.sh`.
//!
//! Both connections reach the container only through the task definition's `secrets`: the source
//! as a temporary secret this module creates (readable by the execution role through its resource
//! policy), the target as the stack's own secret. Nothing secret is in the task definition's
//! environment or command, nor in RunTask (no overrides), so DescribeTasks shows none of it.
//!
//! The temporary secret and task definition are removed whenever the task has stopped or was
//! never started: after success, failure, an error, or a Ctrl-C before the launch. Only a second
//! Ctrl-C while the task runs leaves them to it ([`CopyError::Abandoned`] says where).
//!
//! DynamoDB is never touched: the bots' embeddings are the same as before, so their `SyncStatus`
//! stays as it was.

mod error;
pub mod logs;
pub mod outcome;
mod request;
mod run;
pub mod secret;
pub mod task;
pub mod task_definition;

pub use error::CopyError;
pub use outcome::{BotCopy, CopyOutcome, CopySummary, CopyVerdict, parse_log};
pub use request::{
    CopyClients, CopyEvent, CopyRequest, RunningCopy, STARTED_BY, SourceConnection, TemporarySecret,
};
pub use run::run_copy;
pub use task_definition::{
    COPY_SCRIPT, LOG_GROUP, embedding_execution_role, family as task_family,
};

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
