//! Manual RDS snapshots, of a cluster (`CreateDBClusterSnapshot`) or of a standalone instance
//! (`CreateDBSnapshot`): one way to make, tag and wait for either. RDS spells the two APIs apart,
//! so only the calls differ; the tags, the statuses and the wait are the same.

use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDBClusterSnapshotsError;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDBSnapshotsError;
use aws_sdk_rds::types::Tag;
use serde::{Deserialize, Serialize};

use super::wait::{Observed, Target, wait_until_ready};
use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;

/// The tag every resource this tool creates carries, so that later commands (restore, cleanup)
/// touch only what the tool made.
pub const TOOL_TAG_KEY: &str = "cdk-hook:made-by";
pub const TOOL_TAG_VALUE: &str = "cargo-xtask-deploy";

/// What a manual snapshot is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotOf {
    /// An Aurora cluster: a DB cluster snapshot.
    Cluster,
    /// A standalone instance: a DB snapshot (a manual snapshot outlives its instance).
    Instance,
}

impl SnapshotOf {
    /// `cluster` or `instance`.
    pub fn noun(self) -> &'static str {
        match self {
            SnapshotOf::Cluster => "cluster",
            SnapshotOf::Instance => "instance",
        }
    }

    /// As errors name it: `cluster snapshot` or `DB snapshot`.
    fn kind(self) -> &'static str {
        match self {
            SnapshotOf::Cluster => "cluster snapshot",
            SnapshotOf::Instance => "DB snapshot",
        }
    }
}

/// A snapshot as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFacts {
    pub identifier: String,
    pub arn: Option<String>,
    pub status: String,
}

/// `<stack>-<source>-<utc>` made into a valid snapshot identifier: letters, digits and single
/// hyphens, starting with a letter, at most 255 characters.
pub fn snapshot_identifier(stack: &str, source: &str, utc_stamp: &str) -> String {
    let raw = format!("xtask-{stack}-{source}-{utc_stamp}").to_ascii_lowercase();
    let mut id = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && id.ends_with('-')) {
            id.push(c);
        }
    }
    id.truncate(255);
    id.trim_end_matches('-').to_owned()
}

/// The tags of everything this tool makes for `stack`.
fn tool_tags(stack: &str) -> Vec<Tag> {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    vec![
        tag(TOOL_TAG_KEY, TOOL_TAG_VALUE),
        tag("cdk-hook:stack", stack),
    ]
}

/// Starts a manual snapshot of `source`, tagged as made by this tool for this stack.
pub async fn create_snapshot(
    rds: &Client,
    of: SnapshotOf,
    source: &str,
    snapshot: &str,
    stack: &str,
) -> Result<(), CdkHookError> {
    let tags = Some(tool_tags(stack));
    match of {
        SnapshotOf::Cluster => rds
            .create_db_cluster_snapshot()
            .db_cluster_identifier(source)
            .db_cluster_snapshot_identifier(snapshot)
            .set_tags(tags)
            .send()
            .await
            .map(drop)
            .map_err(|e| CdkHookError::aws("CreateDBClusterSnapshot", e)),
        SnapshotOf::Instance => rds
            .create_db_snapshot()
            .db_instance_identifier(source)
            .db_snapshot_identifier(snapshot)
            .set_tags(tags)
            .send()
            .await
            .map(drop)
            .map_err(|e| CdkHookError::aws("CreateDBSnapshot", e)),
    }
}

/// Polls until the snapshot is `available`; `on_progress(status, percent)` after each poll. A
/// snapshot that ends in any other final status (or goes missing) is an error: the deploy must
/// not go on without it.
pub async fn wait_snapshot_available(
    rds: &Client,
    of: SnapshotOf,
    snapshot: &str,
    poll: Duration,
    timeout: Duration,
    on_progress: impl FnMut(&str, Option<i32>),
) -> Result<SnapshotFacts, CdkHookError> {
    let target = Target {
        kind: of.kind(),
        name: snapshot,
        ready: "available",
        pending: &["creating", "copying"],
    };
    let look = || look_snapshot(rds, of, snapshot);
    let seen = wait_until_ready(target, poll, timeout, look, on_progress).await?;
    Ok(SnapshotFacts {
        identifier: snapshot.to_owned(),
        arn: seen.arn,
        status: seen.status,
    })
}

async fn look_snapshot(
    rds: &Client,
    of: SnapshotOf,
    snapshot: &str,
) -> Result<Observed, CdkHookError> {
    match of {
        SnapshotOf::Cluster => {
            let answer = rds
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(snapshot)
                .send()
                .await;
            match answer {
                Ok(out) => {
                    Ok(out
                        .db_cluster_snapshots()
                        .first()
                        .map_or_else(Observed::missing, |s| {
                            Observed::seen(
                                s.status(),
                                s.percent_progress(),
                                s.db_cluster_snapshot_arn(),
                            )
                        }))
                }
                Err(e) => match e.as_service_error() {
                    Some(DescribeDBClusterSnapshotsError::DbClusterSnapshotNotFoundFault(_)) => {
                        Ok(Observed::missing())
                    }
                    _ => Err(CdkHookError::aws("DescribeDBClusterSnapshots", e)),
                },
            }
        }
        SnapshotOf::Instance => {
            let answer = rds
                .describe_db_snapshots()
                .db_snapshot_identifier(snapshot)
                .send()
                .await;
            match answer {
                Ok(out) => Ok(out
                    .db_snapshots()
                    .first()
                    .map_or_else(Observed::missing, |s| {
                        Observed::seen(s.status(), s.percent_progress(), s.db_snapshot_arn())
                    })),
                Err(e) => match e.as_service_error() {
                    Some(DescribeDBSnapshotsError::DbSnapshotNotFoundFault(_)) => {
                        Ok(Observed::missing())
                    }
                    _ => Err(CdkHookError::aws("DescribeDBSnapshots", e)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot_identifier;

    #[test]
    fn snapshot_identifiers_are_valid_rds_names() {
        let id = snapshot_identifier(
            "BedrockChatStack",
            "bedrockchatstack-vectorstorecluster--abc",
            "20261122T053000Z",
        );
        assert_eq!(
            id,
            "xtask-bedrockchatstack-bedrockchatstack-vectorstorecluster-abc-20261122t053000z"
        );
        let long = snapshot_identifier(&"s".repeat(300), "c", "t");
        assert!(long.len() <= 255 && !long.ends_with('-'));
        let odd = snapshot_identifier("a_b", "c.d", "-");
        assert_eq!(odd, "xtask-a-b-c-d");
    }
}
