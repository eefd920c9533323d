//! The old cluster: what it is (for the record and the restore path); its manual snapshot is
//! `snapshot.rs`'s.

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError;
use aws_sdk_rds::types::DbCluster;
use serde::{Deserialize, Serialize};

use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;

/// What RDS says a DB cluster is: the record keeps it of the cluster about to be replaced, and a
/// restored temporary cluster is one too ([`crate::restore::TemporaryCluster`]). The one mapping
/// from the SDK's `DbCluster`.
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
    Ok(ClusterFacts::from_db_cluster(
        &c,
        c.db_cluster_identifier().unwrap_or(identifier),
    ))
}

impl ClusterFacts {
    /// The facts of `c`, known as `identifier`.
    pub fn from_db_cluster(c: &DbCluster, identifier: &str) -> Self {
        ClusterFacts {
            identifier: identifier.to_owned(),
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
        }
    }
}
