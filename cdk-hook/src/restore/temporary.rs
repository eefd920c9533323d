//! Recognising a temporary cluster by its tags, and reading clusters and instances by identifier.

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;
use aws_sdk_rds::types::DbCluster;

use super::error::{NotTemporaryReason, RestoreError};
use super::naming::{PURPOSE_RESTORE, PURPOSE_TAG_KEY, SOURCE_SNAPSHOT_TAG_KEY, STACK_TAG_KEY};
use crate::CdkHookError;
use crate::safeguard::{ClusterFacts, TOOL_TAG_KEY, TOOL_TAG_VALUE};
use migrate::error_text::AwsFailure as _;

/// A cluster restored by `cargo xtask restore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryCluster {
    /// What RDS says of it, as of any cluster.
    pub facts: ClusterFacts,
    pub stack: String,
    pub status: String,
    pub source_snapshot: Option<String>,
    /// Writer and readers, by instance identifier.
    pub members: Vec<String>,
}

fn tag(cluster: &DbCluster, key: &str) -> Option<String> {
    cluster
        .tag_list()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
        .map(str::to_owned)
}

impl TemporaryCluster {
    /// `Some` only for a cluster that carries this tool's restore tags.
    pub fn from_cluster(cluster: &DbCluster) -> Option<TemporaryCluster> {
        if tag(cluster, TOOL_TAG_KEY).as_deref() != Some(TOOL_TAG_VALUE)
            || tag(cluster, PURPOSE_TAG_KEY).as_deref() != Some(PURPOSE_RESTORE)
        {
            return None;
        }
        Some(TemporaryCluster {
            facts: ClusterFacts::from_db_cluster(cluster, cluster.db_cluster_identifier()?),
            stack: tag(cluster, STACK_TAG_KEY)?,
            status: cluster.status().unwrap_or("unknown").to_owned(),
            source_snapshot: tag(cluster, SOURCE_SNAPSHOT_TAG_KEY),
            members: cluster
                .db_cluster_members()
                .iter()
                .filter_map(|m| m.db_instance_identifier().map(str::to_owned))
                .collect(),
        })
    }

    /// The temporary cluster `stack`'s restore made, or why `cluster` is not one: the reason a
    /// cleanup refuses it.
    pub fn owned_by(
        cluster: &DbCluster,
        stack: &str,
    ) -> Result<TemporaryCluster, NotTemporaryReason> {
        match TemporaryCluster::from_cluster(cluster) {
            Some(t) if t.stack == stack => Ok(t),
            Some(t) => Err(NotTemporaryReason::OtherStack { stack: t.stack }),
            None if tag(cluster, TOOL_TAG_KEY).as_deref() != Some(TOOL_TAG_VALUE) => {
                Err(NotTemporaryReason::NotThisTool)
            }
            None => Err(NotTemporaryReason::NotARestore),
        }
    }
}

/// The temporary clusters this tool restored for `stack`, oldest identifier first.
pub async fn list_temporary(
    rds: &Client,
    stack: &str,
) -> Result<Vec<TemporaryCluster>, CdkHookError> {
    let mut pages = rds.describe_db_clusters().into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CdkHookError::aws("DescribeDBClusters", e))?;
        found.extend(
            page.db_clusters()
                .iter()
                .filter_map(TemporaryCluster::from_cluster)
                .filter(|t| t.stack == stack),
        );
    }
    found.sort_by(|a, b| a.facts.identifier.cmp(&b.facts.identifier));
    Ok(found)
}

/// One temporary cluster of `stack` by identifier; any other cluster is refused, naming why.
pub async fn temporary_cluster(
    rds: &Client,
    stack: &str,
    identifier: &str,
) -> Result<TemporaryCluster, RestoreError> {
    let cluster = crate::safeguard::find_cluster(rds, identifier)
        .await?
        .ok_or_else(|| RestoreError::ClusterNotFound {
            cluster: identifier.to_owned(),
        })?;
    TemporaryCluster::owned_by(&cluster, stack).map_err(|reason| RestoreError::NotTemporary {
        cluster: identifier.to_owned(),
        reason,
    })
}

/// The instance's status; `None` once it is gone.
pub(super) async fn instance_status(
    rds: &Client,
    identifier: &str,
) -> Result<Option<String>, RestoreError> {
    match rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .db_instances()
            .first()
            .map(|i| i.db_instance_status().unwrap_or("unknown").to_owned())),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeDBInstancesError::DbInstanceNotFoundFault(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(RestoreError::aws("DescribeDBInstances", e)),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_rds::types::{DbCluster, Tag};

    use super::*;

    fn cluster(tags: &[(&str, &str)]) -> DbCluster {
        let mut builder = DbCluster::builder()
            .db_cluster_identifier("xtask-bedrockchatstack-20261122t101500z")
            .status("available");
        for (k, v) in tags {
            builder = builder.tag_list(Tag::builder().key(*k).value(*v).build());
        }
        builder.build()
    }

    const MINE: &[(&str, &str)] = &[
        (TOOL_TAG_KEY, TOOL_TAG_VALUE),
        (PURPOSE_TAG_KEY, PURPOSE_RESTORE),
        (STACK_TAG_KEY, "BedrockChatStack"),
        (SOURCE_SNAPSHOT_TAG_KEY, "snap-1"),
    ];

    #[test]
    fn only_clusters_with_every_restore_tag_are_temporary() {
        let found = TemporaryCluster::from_cluster(&cluster(MINE)).expect("tagged as mine");
        assert_eq!(found.stack, "BedrockChatStack");
        assert_eq!(found.source_snapshot.as_deref(), Some("snap-1"));
        for (missing, tag) in MINE.iter().enumerate().take(3) {
            let mut tags = MINE.to_vec();
            tags.remove(missing);
            assert_eq!(
                TemporaryCluster::from_cluster(&cluster(&tags)),
                None,
                "without {tag:?}"
            );
        }
        let other_tool = [(TOOL_TAG_KEY, "someone-else"), MINE[1], MINE[2]];
        assert_eq!(TemporaryCluster::from_cluster(&cluster(&other_tool)), None);
        let other_purpose = [MINE[0], (PURPOSE_TAG_KEY, "snapshot"), MINE[2]];
        assert_eq!(
            TemporaryCluster::from_cluster(&cluster(&other_purpose)),
            None
        );
    }

    #[test]
    fn a_cleanup_names_why_a_cluster_is_refused() {
        assert!(TemporaryCluster::owned_by(&cluster(MINE), "BedrockChatStack").is_ok());
        let other_stack = TemporaryCluster::owned_by(&cluster(MINE), "OtherStack")
            .unwrap_err()
            .to_string();
        assert!(
            other_stack.contains("--stack BedrockChatStack"),
            "{other_stack}"
        );
        let untagged = TemporaryCluster::owned_by(&cluster(&[]), "BedrockChatStack")
            .unwrap_err()
            .to_string();
        assert!(untagged.contains(TOOL_TAG_KEY), "{untagged}");
        let snapshot_only = [MINE[0], MINE[2]];
        let no_purpose = TemporaryCluster::owned_by(&cluster(&snapshot_only), "BedrockChatStack")
            .unwrap_err()
            .to_string();
        assert!(no_purpose.contains(PURPOSE_TAG_KEY), "{no_purpose}");
    }
}
