//! Deleting temporary clusters: members first (a cluster with members cannot be deleted), then
//! the cluster, without a final snapshot (the source snapshot is still there), then waiting until
//! RDS no longer knows them. A cluster without this tool's tags is refused before any call that
//! changes something.

use std::time::{Duration, Instant};

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::delete_db_cluster::DeleteDBClusterError;
use aws_sdk_rds::operation::delete_db_instance::DeleteDBInstanceError;

use super::temporary::instance_status;
use super::{RestoreError, TemporaryCluster, list_temporary, temporary_cluster};
use crate::safeguard::find_cluster;

/// What a cleanup would delete: the stack's temporary clusters, or only `only`, which must be
/// one of them (anything else is refused, naming why).
pub async fn cleanup_candidates(
    rds: &Client,
    stack: &str,
    only: Option<&str>,
) -> Result<Vec<TemporaryCluster>, RestoreError> {
    match only {
        Some(identifier) => Ok(vec![temporary_cluster(rds, stack, identifier).await?]),
        None => Ok(list_temporary(rds, stack).await?),
    }
}

/// What the deletion is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanupProgress {
    /// Instances still there, with their status.
    Instances { remaining: Vec<(String, String)> },
    /// The cluster, once its instances are gone.
    Cluster { status: String },
}

/// Deletes one temporary cluster of `stack` and waits until it is gone.
pub async fn delete_temporary(
    rds: &Client,
    stack: &str,
    identifier: &str,
    poll: Duration,
    timeout: Duration,
    mut on_progress: impl FnMut(&CleanupProgress),
) -> Result<(), RestoreError> {
    // Read again right before deleting: the tags decide, not a list shown a prompt ago.
    let cluster = temporary_cluster(rds, stack, identifier).await?;
    for member in &cluster.members {
        delete_instance(rds, member).await?;
    }
    let started = Instant::now();
    let timed_out = |what, identifier: &str, status: &str| RestoreError::Timeout {
        what,
        identifier: identifier.to_owned(),
        status: status.to_owned(),
        waited_secs: started.elapsed().as_secs(),
    };
    loop {
        let mut remaining = Vec::new();
        for member in &cluster.members {
            if let Some(status) = instance_status(rds, member).await? {
                remaining.push((member.clone(), status));
            }
        }
        let Some((first, status)) = remaining.first().cloned() else {
            break;
        };
        on_progress(&CleanupProgress::Instances { remaining });
        if started.elapsed() >= timeout {
            return Err(timed_out("instance", &first, &status));
        }
        tokio::time::sleep(poll).await;
    }

    match rds
        .delete_db_cluster()
        .db_cluster_identifier(identifier)
        .skip_final_snapshot(true)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DeleteDBClusterError::DbClusterNotFoundFault(_))
            ) => {}
        Err(e) => return Err(RestoreError::aws("DeleteDBCluster", e)),
    }
    loop {
        let Some(described) = find_cluster(rds, identifier).await? else {
            return Ok(());
        };
        let status = described.status().unwrap_or("unknown").to_owned();
        on_progress(&CleanupProgress::Cluster {
            status: status.clone(),
        });
        if started.elapsed() >= timeout {
            return Err(timed_out("cluster", identifier, &status));
        }
        tokio::time::sleep(poll).await;
    }
}

/// `DeleteDBInstance` without a final snapshot (RDS requires saying so for an instance in a
/// failed state); an instance already gone is fine.
async fn delete_instance(rds: &Client, identifier: &str) -> Result<(), RestoreError> {
    let Err(e) = rds
        .delete_db_instance()
        .db_instance_identifier(identifier)
        .skip_final_snapshot(true)
        .send()
        .await
    else {
        return Ok(());
    };
    if matches!(
        e.as_service_error(),
        Some(DeleteDBInstanceError::DbInstanceNotFoundFault(_))
    ) {
        return Ok(());
    }
    // Already being deleted: a cleanup run again after an interruption.
    if instance_status(rds, identifier).await?.as_deref() == Some("deleting") {
        return Ok(());
    }
    Err(RestoreError::aws("DeleteDBInstance", e))
}
