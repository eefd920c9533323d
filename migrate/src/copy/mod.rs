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

pub mod logs;
pub mod outcome;
mod run;
pub mod secret;
pub mod task;
pub mod task_definition;

use std::time::Duration;

use crate::error_text::{AwsError, UnexpectedAnswer};
use crate::secret::SecretValue;

pub use outcome::{BotCopy, CopyOutcome, CopySummary, CopyVerdict, parse_log};
pub use run::run_copy;
pub use secret::TemporarySecret;
pub use task::STARTED_BY;
pub use task_definition::{
    COPY_SCRIPT, LOG_GROUP, embedding_execution_role, family as task_family,
};

/// The clients, built by the caller from one `SdkConfig` (or mocks).
#[derive(Debug, Clone)]
pub struct CopyClients {
    pub ecs: aws_sdk_ecs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl CopyClients {
    pub fn from_conf(config: &aws_config::SdkConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
        }
    }
}

/// The temporary cluster: its endpoint, and the replaced cluster's login (a restored snapshot
/// keeps the master user and password).
#[derive(Debug)]
pub struct SourceConnection {
    pub host: String,
    pub port: i32,
    pub username: String,
    pub password: SecretValue,
}

/// Everything one copy needs, as plain values.
#[derive(Debug)]
pub struct CopyRequest {
    /// Names the temporary secret and task definition family.
    pub stack: String,
    pub source: SourceConnection,
    /// The stack's secret for the new cluster (`DbConfigSecretArn`: host, port, username, password).
    pub target_secret_arn: String,
    pub source_database: String,
    pub target_database: String,
    /// The embedding ECS cluster, its private subnets and the task security group.
    pub cluster: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    /// Reads both secrets (the temporary one grants it by policy) and writes the log.
    pub execution_role_arn: String,
    pub image: String,
    /// For the awslogs driver.
    pub region: String,
    /// On the secret, the log group, the task definition and the task.
    pub tags: Vec<(String, String)>,
    pub poll_interval: Duration,
}

/// Progress; the library never prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEvent {
    LogGroupReady {
        group: String,
    },
    SecretCreated {
        name: String,
    },
    TaskDefinitionRegistered {
        arn: String,
    },
    TaskLaunched {
        task_arn: String,
    },
    TaskStatus {
        status: String,
    },
    ReadingLog {
        stream: String,
    },
    /// A temporary resource removed.
    Removed {
        what: String,
    },
    /// A temporary resource that could not be removed, with how to remove it by hand.
    CleanupFailed {
        message: String,
    },
    Warning {
        message: String,
    },
}

/// A copy task left running by a second Ctrl-C, and what it still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningCopy {
    pub cluster: String,
    pub task_arn: String,
    pub last_status: String,
    pub secret: TemporarySecret,
    pub task_definition_arn: String,
    pub log_group: String,
    pub log_stream: String,
}

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

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
