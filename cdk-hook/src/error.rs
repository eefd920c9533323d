//! The one error type of the library: callers (the CLI) match on the variant to choose the
//! message and the exit code, so every failure a user can act on has its own variant.

use std::path::PathBuf;

pub use migrate::error_text::{AwsError, UnexpectedAnswer};
use migrate::state::StateError;

/// Everything that can go wrong while preparing, reading or classifying a change set.
#[derive(Debug, thiserror::Error)]
pub enum CdkHookError {
    #[error("stack {stack} not found{}", region_hint(.detail))]
    StackNotFound { stack: String, detail: String },

    #[error("{} has no cdk.json: pass the CDK app directory (the one with cdk.json) as --app-dir", .0.display())]
    NotACdkApp(PathBuf),

    #[error("npx not found on PATH: install Node.js (npm ships npx) to run the CDK CLI")]
    NpxMissing,

    #[error("`cdk deploy --method={method}` failed with exit code {code}")]
    CdkFailed { method: &'static str, code: i32 },

    #[error("`cdk deploy --method={method}` failed with no exit code (killed by a signal)")]
    CdkKilled { method: &'static str },

    #[error("could not read the CDK CLI's version from `npx cdk --version`: {0:?}")]
    CdkVersion(String),

    #[error("could not run the CDK CLI: {0}")]
    CdkSpawn(#[source] std::io::Error),

    #[error("change set {change_set} failed: {reason}")]
    ChangeSetFailed { change_set: String, reason: String },

    #[error("change set {change_set} of stack {stack} not found")]
    ChangeSetNotFound { stack: String, change_set: String },

    #[error("change set {change_set} still {status} after {waited_secs} s")]
    ChangeSetTimeout {
        change_set: String,
        status: String,
        waited_secs: u64,
    },

    /// An AWS call failed; the SDK's error is the source, its code and message the text.
    #[error("{0}")]
    Aws(#[from] AwsError),

    /// An AWS answer lacked what the call exists for (no ARN, no value, no update).
    #[error("{0}")]
    Unexpected(#[from] UnexpectedAnswer),

    #[error("serializing the {what}: {source}")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    #[error("{}: {reason}", .path.display())]
    BadInput { path: PathBuf, reason: String },

    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no synthesized template for stack {stack} in {}", .cdk_out.display())]
    TemplateNotSynthesized { stack: String, cdk_out: PathBuf },

    #[error(
        "change set {change_set} can no longer be executed (status {status}, execution status {execution_status}{}): \
         the stack changed after it was reviewed. Nothing was executed; run deploy again to review the current changes",
        .reason.as_deref().map(|r| format!(", {r}")).unwrap_or_default()
    )]
    ChangeSetNotExecutable {
        change_set: String,
        status: String,
        execution_status: String,
        reason: Option<String>,
    },

    #[error(
        "change set {change_set} of stack {stack} no longer exists: CloudFormation removes a stack's change sets \
         when another one is executed, so the stack changed after the review. Nothing was executed; run deploy \
         again to review the current changes"
    )]
    ChangeSetGone { stack: String, change_set: String },

    #[error("RDS cluster {cluster} not found")]
    ClusterNotFound { cluster: String },

    #[error("RDS instance {instance} not found")]
    InstanceNotFound { instance: String },

    #[error("DynamoDB table {table} not found")]
    TableNotFound { table: String },

    /// A snapshot or backup a safeguard waited for ended (or stayed) elsewhere than ready.
    #[error("{kind} {snapshot} ended {status} instead of {expected}")]
    SnapshotFailed {
        kind: &'static str,
        snapshot: String,
        status: String,
        expected: &'static str,
    },

    #[error("no secret found for cluster {cluster} (looked for: {tried})")]
    SecretNotFound { cluster: String, tried: String },

    #[error("{} already exists: a record is never overwritten", .0.display())]
    WouldOverwrite(PathBuf),

    /// The state directory (`.xtask/<stack>/`) could not be made private or written.
    #[error(transparent)]
    State(StateError),

    #[error("guard configuration: {0}")]
    GuardConfig(String),

    #[error("replacement table: {0}")]
    ReplacementTable(String),
}

fn region_hint(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail}); check --region and --profile")
    }
}

impl CdkHookError {
    pub(crate) fn bad_input(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::BadInput {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// The CDK CLI's exit status, when it did not succeed.
    pub(crate) fn cdk_exit(method: &'static str, code: Option<i32>) -> Self {
        match code {
            Some(code) => Self::CdkFailed { method, code },
            None => Self::CdkKilled { method },
        }
    }
}

impl From<StateError> for CdkHookError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::WouldOverwrite(path) => Self::WouldOverwrite(path),
            StateError::Io { path, source } => Self::Io { path, source },
            other => Self::State(other),
        }
    }
}
