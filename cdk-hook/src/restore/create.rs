//! `RestoreDBClusterFromSnapshot` into the temporary cluster, its serverless v2 writer, and the
//! wait until both are available.

use std::time::{Duration, Instant};

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::restore_db_cluster_from_snapshot::RestoreDBClusterFromSnapshotError;
use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};

use super::temporary::instance_status;
use super::{
    PURPOSE_RESTORE, PURPOSE_TAG_KEY, RestoreError, SOURCE_SNAPSHOT_TAG_KEY, STACK_TAG_KEY,
    ServerlessScaling, StackCluster, TemporaryCluster, writer_identifier,
};
use crate::error::AwsError;
use crate::safeguard::find_cluster;
use crate::safeguard::{TOOL_TAG_KEY, TOOL_TAG_VALUE};

/// The writer's class: serverless v2 costs nothing while idle between the restore and the copy.
pub const WRITER_INSTANCE_CLASS: &str = "db.serverless";

/// The capacity range when the stack's cluster is not serverless v2 (it has none to copy):
/// enough to read the vectors back.
pub const DEFAULT_SCALING: ServerlessScaling = ServerlessScaling {
    min_capacity: 0.5,
    max_capacity: 4.0,
};

/// Everything the restore is made of.
#[derive(Debug, Clone)]
pub struct RestoreRequest<'a> {
    pub stack: &'a str,
    /// The temporary cluster's identifier ([`super::temporary_identifier`]).
    pub identifier: &'a str,
    /// The snapshot's identifier (or ARN).
    pub snapshot: &'a str,
    /// The stack's current cluster: network, engine and capacity range come from it.
    pub target: &'a StackCluster,
}

impl RestoreRequest<'_> {
    pub fn scaling(&self) -> ServerlessScaling {
        self.target.serverless_v2_scaling.unwrap_or(DEFAULT_SCALING)
    }

    pub fn writer(&self) -> String {
        writer_identifier(self.identifier)
    }

    fn tags(&self) -> Vec<Tag> {
        [
            (TOOL_TAG_KEY, TOOL_TAG_VALUE),
            (STACK_TAG_KEY, self.stack),
            (PURPOSE_TAG_KEY, PURPOSE_RESTORE),
            (SOURCE_SNAPSHOT_TAG_KEY, self.snapshot),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
    }
}

/// Starts the restore and creates the writer; neither is available yet ([`wait_available`]).
pub async fn restore_temporary(
    rds: &Client,
    request: &RestoreRequest<'_>,
) -> Result<(), RestoreError> {
    let target = request.target;
    let scaling = request.scaling();
    let mut restore = rds
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(request.identifier)
        .snapshot_identifier(request.snapshot)
        .engine(&target.engine)
        .set_engine_version(target.engine_version.clone())
        .set_db_subnet_group_name(target.db_subnet_group.clone())
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfiguration::builder()
                .min_capacity(scaling.min_capacity)
                .max_capacity(scaling.max_capacity)
                .build(),
        )
        .set_tags(Some(request.tags()))
        .deletion_protection(false);
    // Without any, RDS would pick the VPC's default group, which the copy task cannot reach.
    if !target.vpc_security_group_ids.is_empty() {
        restore = restore.set_vpc_security_group_ids(Some(target.vpc_security_group_ids.clone()));
    }
    restore
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(RestoreDBClusterFromSnapshotError::DbClusterAlreadyExistsFault(_)) => {
                RestoreError::AlreadyExists {
                    cluster: request.identifier.to_owned(),
                }
            }
            Some(RestoreDBClusterFromSnapshotError::DbClusterSnapshotNotFoundFault(_)) => {
                RestoreError::SnapshotNotFound {
                    snapshot: request.snapshot.to_owned(),
                }
            }
            _ => RestoreError::aws("RestoreDBClusterFromSnapshot", e),
        })?;

    let writer = request.writer();
    rds.create_db_instance()
        .db_instance_identifier(&writer)
        .db_cluster_identifier(request.identifier)
        .db_instance_class(WRITER_INSTANCE_CLASS)
        .engine(&target.engine)
        .publicly_accessible(false)
        .set_tags(Some(request.tags()))
        .send()
        .await
        .map_err(|e| RestoreError::WriterFailed {
            cluster: request.identifier.to_owned(),
            writer,
            source: AwsError::new("CreateDBInstance", e),
        })?;
    Ok(())
}

/// What the wait saw at its last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreProgress {
    pub cluster_status: String,
    pub writer_status: String,
}

/// A status the resource will not leave on its own: waiting longer is pointless.
fn is_dead_end(status: &str) -> bool {
    status.starts_with("incompatible-")
        || status.starts_with("inaccessible-")
        || matches!(
            status,
            "failed"
                | "restore-error"
                | "storage-full"
                | "insufficient-capacity"
                | "deleting"
                | "stopping"
                | "stopped"
        )
}

/// Polls until the cluster and its writer are both `available`; `on_progress` after each poll.
pub async fn wait_available(
    rds: &Client,
    stack: &str,
    cluster: &str,
    writer: &str,
    poll: Duration,
    timeout: Duration,
    mut on_progress: impl FnMut(&RestoreProgress),
) -> Result<TemporaryCluster, RestoreError> {
    let started = Instant::now();
    loop {
        let described =
            find_cluster(rds, cluster)
                .await?
                .ok_or_else(|| RestoreError::ClusterNotFound {
                    cluster: cluster.to_owned(),
                })?;
        let progress = RestoreProgress {
            cluster_status: described.status().unwrap_or("unknown").to_owned(),
            writer_status: instance_status(rds, writer)
                .await?
                .unwrap_or_else(|| "missing".to_owned()),
        };
        on_progress(&progress);
        let RestoreProgress {
            cluster_status,
            writer_status,
        } = progress;
        let ended = |what, identifier: &str, status: String| RestoreError::EndedBadly {
            what,
            identifier: identifier.to_owned(),
            status,
            wanted: "available",
        };
        if is_dead_end(&cluster_status) {
            return Err(ended("cluster", cluster, cluster_status));
        }
        if is_dead_end(&writer_status) || writer_status == "missing" {
            return Err(ended("writer instance", writer, writer_status));
        }
        if cluster_status == "available" && writer_status == "available" {
            return TemporaryCluster::owned_by(&described, stack).map_err(|reason| {
                RestoreError::NotTemporary {
                    cluster: cluster.to_owned(),
                    reason,
                }
            });
        }
        if started.elapsed() >= timeout {
            let (what, identifier, status) = if cluster_status != "available" {
                ("cluster", cluster, cluster_status)
            } else {
                ("writer instance", writer, writer_status)
            };
            return Err(RestoreError::Timeout {
                what,
                identifier: identifier.to_owned(),
                status,
                waited_secs: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(poll).await;
    }
}
