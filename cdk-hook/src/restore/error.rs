//! What can stop a restore or a cleanup, one variant per thing a user can act on.

use std::path::PathBuf;

use super::naming::{PURPOSE_RESTORE, PURPOSE_TAG_KEY, STACK_TAG_KEY};
use crate::CdkHookError;
use crate::error::AwsError;
use crate::safeguard::{TOOL_TAG_KEY, TOOL_TAG_VALUE};
use migrate::error_text::AwsFailure as _;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "no replacement record in {}: run `cargo xtask deploy --on-replace snapshot|both` before a \
         replacement (it records the snapshot), or pass --snapshot",
        .dir.display()
    )]
    NoRecord { dir: PathBuf },

    #[error(
        "{}: the deploy took no snapshot (it protected cluster(s) {clusters} without one): pass --snapshot",
        .record.display()
    )]
    RecordWithoutSnapshot { record: PathBuf, clusters: String },

    #[error(
        "{}: it names several snapshots ({snapshots}): pass --snapshot with the one to restore",
        .record.display()
    )]
    SeveralSnapshots { record: PathBuf, snapshots: String },

    #[error("cluster snapshot {snapshot} not found: check --snapshot, --region and --profile")]
    SnapshotNotFound { snapshot: String },

    #[error("cluster snapshot {snapshot} is {status}, not available: nothing was restored")]
    SnapshotUnavailable { snapshot: String, status: String },

    #[error("stack {stack} has no AWS::RDS::DBCluster to restore beside")]
    NoStackCluster { stack: String },

    #[error(
        "stack {stack} has several AWS::RDS::DBCluster resources ({clusters}) and the record names \
         none of them"
    )]
    SeveralStackClusters { stack: String, clusters: String },

    #[error("cluster {cluster} has no engine in DescribeDBClusters' answer")]
    NoEngine { cluster: String },

    #[error("a cluster named {cluster} already exists: nothing was restored")]
    AlreadyExists { cluster: String },

    #[error(
        "the temporary cluster {cluster} was created but its writer {writer} was not ({}); \
         delete the cluster with `cargo xtask restore --cleanup {cluster}`",
        .source.summary()
    )]
    WriterFailed {
        cluster: String,
        writer: String,
        #[source]
        source: AwsError,
    },

    #[error("{what} {identifier} ended {status} instead of {wanted}")]
    EndedBadly {
        what: &'static str,
        identifier: String,
        status: String,
        wanted: &'static str,
    },

    #[error("{what} {identifier} still {status} after {waited_secs} s")]
    Timeout {
        what: &'static str,
        identifier: String,
        status: String,
        waited_secs: u64,
    },

    #[error("RDS cluster {cluster} not found")]
    ClusterNotFound { cluster: String },

    #[error(
        "refusing to delete cluster {cluster}: {reason}. Only the temporary clusters \
         `cargo xtask restore` made are deleted"
    )]
    NotTemporary {
        cluster: String,
        reason: NotTemporaryReason,
    },

    #[error(transparent)]
    Hook(#[from] CdkHookError),
}

impl RestoreError {
    pub(crate) fn aws<E>(operation: &'static str, err: E) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        Self::Hook(CdkHookError::aws(operation, err))
    }
}

/// Why a cluster is not one of the temporary clusters this tool restored for a stack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotTemporaryReason {
    #[error("it was restored for stack {stack} (pass --stack {stack})")]
    OtherStack { stack: String },
    #[error("it does not carry the tag {}={}", TOOL_TAG_KEY, TOOL_TAG_VALUE)]
    NotThisTool,
    #[error(
        "it is not tagged {}={} and {}",
        PURPOSE_TAG_KEY,
        PURPOSE_RESTORE,
        STACK_TAG_KEY
    )]
    NotARestore,
}
