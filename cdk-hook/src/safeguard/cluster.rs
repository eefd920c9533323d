//! The old cluster: what it is (for the record and the restore path) and its manual snapshot.

use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDBClusterSnapshotsError;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError;
use aws_sdk_rds::types::{DbCluster, Tag};
use serde::{Deserialize, Serialize};

use super::wait::{Observed, Target, wait_until_ready};
use crate::CdkHookError;

/// The tag every resource this tool creates carries, so that later commands (restore, cleanup)
/// touch only what the tool made.
pub const TOOL_TAG_KEY: &str = "cdk-hook:made-by";
pub const TOOL_TAG_VALUE: &str = "cargo-xtask-deploy";

/// What the record keeps of the cluster that is about to be replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFacts {
    pub identifier: String,
    pub arn: Option<String>,
    pub endpoint: Option<String>,
    pub port: Option<i32>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub db_subnet_group: Option<String>,
    pub vpc_security_group_ids: Vec<String>,
    pub storage_encrypted: Option<bool>,
    /// The RDS-managed master secret, when the cluster has one (`ManageMasterUserPassword`).
    pub master_user_secret_arn: Option<String>,
}

/// A cluster snapshot as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFacts {
    pub identifier: String,
    pub arn: Option<String>,
    pub status: String,
}

/// The cluster as RDS describes it; `None` when RDS does not know it (never made, or gone).
pub(crate) async fn find_cluster(
    rds: &Client,
    identifier: &str,
) -> Result<Option<DbCluster>, CdkHookError> {
    match rds
        .describe_db_clusters()
        .db_cluster_identifier(identifier)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_clusters().first().cloned()),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeDBClustersError::DbClusterNotFoundFault(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(CdkHookError::aws("DescribeDBClusters", e)),
    }
}

pub async fn describe_cluster(
    rds: &Client,
    identifier: &str,
) -> Result<ClusterFacts, CdkHookError> {
    let c = find_cluster(rds, identifier)
        .await?
        .ok_or_else(|| CdkHookError::ClusterNotFound {
            cluster: identifier.to_owned(),
        })?;
    Ok(ClusterFacts {
        identifier: c.db_cluster_identifier().unwrap_or(identifier).to_owned(),
        arn: c.db_cluster_arn().map(str::to_owned),
        endpoint: c.endpoint().map(str::to_owned),
        port: c.port(),
        engine: c.engine().map(str::to_owned),
        engine_version: c.engine_version().map(str::to_owned),
        db_subnet_group: c.db_subnet_group().map(str::to_owned),
        vpc_security_group_ids: c
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
            .collect(),
        storage_encrypted: c.storage_encrypted(),
        master_user_secret_arn: c
            .master_user_secret()
            .and_then(|s| s.secret_arn())
            .map(str::to_owned),
    })
}

/// `<stack>-<cluster>-<utc>` made into a valid cluster snapshot identifier: letters, digits and
/// single hyphens, starting with a letter, at most 255 characters.
pub fn snapshot_identifier(stack: &str, cluster: &str, utc_stamp: &str) -> String {
    let raw = format!("xtask-{stack}-{cluster}-{utc_stamp}").to_ascii_lowercase();
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

/// `CreateDBClusterSnapshot`, tagged as made by this tool for this stack.
pub async fn create_cluster_snapshot(
    rds: &Client,
    cluster: &str,
    snapshot: &str,
    stack: &str,
) -> Result<(), CdkHookError> {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier(cluster)
        .db_cluster_snapshot_identifier(snapshot)
        .tags(tag(TOOL_TAG_KEY, TOOL_TAG_VALUE))
        .tags(tag("cdk-hook:stack", stack))
        .send()
        .await
        .map_err(|e| CdkHookError::aws("CreateDBClusterSnapshot", e))?;
    Ok(())
}

/// Polls until the snapshot is `available`; `on_progress(status, percent)` after each poll. A
/// snapshot that ends in any other final status (or goes missing) is an error: the deploy must
/// not go on without it.
pub async fn wait_snapshot_available(
    rds: &Client,
    snapshot: &str,
    poll: Duration,
    timeout: Duration,
    on_progress: impl FnMut(&str, Option<i32>),
) -> Result<SnapshotFacts, CdkHookError> {
    let target = Target {
        kind: "cluster snapshot",
        name: snapshot,
        ready: "available",
        pending: &["creating", "copying"],
    };
    let seen = wait_until_ready(
        target,
        poll,
        timeout,
        || look_cluster_snapshot(rds, snapshot),
        on_progress,
    )
    .await?;
    Ok(SnapshotFacts {
        identifier: snapshot.to_owned(),
        arn: seen.arn,
        status: seen.status,
    })
}

async fn look_cluster_snapshot(rds: &Client, snapshot: &str) -> Result<Observed, CdkHookError> {
    let out = match rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(snapshot)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeDBClusterSnapshotsError::DbClusterSnapshotNotFoundFault(_))
            ) =>
        {
            return Ok(Observed::missing());
        }
        Err(e) => return Err(CdkHookError::aws("DescribeDBClusterSnapshots", e)),
    };
    Ok(match out.db_cluster_snapshots().first() {
        Some(s) => Observed {
            status: s.status().unwrap_or("missing").to_owned(),
            percent: s.percent_progress(),
            arn: s.db_cluster_snapshot_arn().map(str::to_owned),
        },
        None => Observed::missing(),
    })
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
