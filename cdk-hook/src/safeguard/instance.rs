//! A standalone RDS instance (no `DBClusterIdentifier`): its manual DB snapshot. An Aurora
//! member holds no data of its own (the cluster volume does), so it gets none.

use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDBSnapshotsError;
use aws_sdk_rds::types::Tag;

use super::cluster::{SnapshotFacts, TOOL_TAG_KEY, TOOL_TAG_VALUE};
use super::wait::{Observed, Target, wait_until_ready};
use crate::CdkHookError;

/// The cluster an instance belongs to (`None`: standalone). An instance RDS does not know is an
/// error: there would be nothing to snapshot, and saying so is better than a silent skip.
pub async fn instance_cluster(
    rds: &Client,
    identifier: &str,
) -> Result<Option<String>, CdkHookError> {
    match rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
    {
        Ok(out) => match out.db_instances().first() {
            Some(i) => Ok(i.db_cluster_identifier().map(str::to_owned)),
            None => Err(CdkHookError::InstanceNotFound {
                instance: identifier.to_owned(),
            }),
        },
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeDBInstancesError::DbInstanceNotFoundFault(_))
            ) =>
        {
            Err(CdkHookError::InstanceNotFound {
                instance: identifier.to_owned(),
            })
        }
        Err(e) => Err(CdkHookError::aws("DescribeDBInstances", e)),
    }
}

/// `CreateDBSnapshot`, tagged as made by this tool for this stack.
pub async fn create_instance_snapshot(
    rds: &Client,
    instance: &str,
    snapshot: &str,
    stack: &str,
) -> Result<(), CdkHookError> {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    rds.create_db_snapshot()
        .db_instance_identifier(instance)
        .db_snapshot_identifier(snapshot)
        .tags(tag(TOOL_TAG_KEY, TOOL_TAG_VALUE))
        .tags(tag("cdk-hook:stack", stack))
        .send()
        .await
        .map_err(|e| CdkHookError::aws("CreateDBSnapshot", e))?;
    Ok(())
}

/// Polls until the DB snapshot is `available` (a manual snapshot outlives its instance).
pub async fn wait_instance_snapshot_available(
    rds: &Client,
    snapshot: &str,
    poll: Duration,
    timeout: Duration,
    on_progress: impl FnMut(&str, Option<i32>),
) -> Result<SnapshotFacts, CdkHookError> {
    let target = Target {
        kind: "DB snapshot",
        name: snapshot,
        ready: "available",
        pending: &["creating", "copying"],
    };
    let seen = wait_until_ready(
        target,
        poll,
        timeout,
        || look_instance_snapshot(rds, snapshot),
        on_progress,
    )
    .await?;
    Ok(SnapshotFacts {
        identifier: snapshot.to_owned(),
        arn: seen.arn,
        status: seen.status,
    })
}

async fn look_instance_snapshot(rds: &Client, snapshot: &str) -> Result<Observed, CdkHookError> {
    let out = match rds
        .describe_db_snapshots()
        .db_snapshot_identifier(snapshot)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeDBSnapshotsError::DbSnapshotNotFoundFault(_))
            ) =>
        {
            return Ok(Observed::missing());
        }
        Err(e) => return Err(CdkHookError::aws("DescribeDBSnapshots", e)),
    };
    Ok(match out.db_snapshots().first() {
        Some(s) => Observed {
            status: s.status().unwrap_or("missing").to_owned(),
            percent: s.percent_progress(),
            arn: s.db_snapshot_arn().map(str::to_owned),
        },
        None => Observed::missing(),
    })
}
