//! What one copy takes (its clients and request, as plain values) and what it tells (its events,
//! the temporaries it made).

use std::time::Duration;

use crate::secret::SecretValue;

/// `startedBy` of every copy task: how a person (and the next run) finds one.
pub const STARTED_BY: &str = "xtask-copy-vectors";

/// The temporary secret as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporarySecret {
    pub name: String,
    pub arn: String,
}

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
