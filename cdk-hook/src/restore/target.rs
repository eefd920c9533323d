//! The stack's current cluster, the replacement: the temporary cluster is restored into its
//! network (subnet group, security groups) and with its engine, so that whatever reaches the new
//! cluster (the copy task) reaches the temporary one too.

use aws_sdk_rds::Client;

use super::RestoreError;
use crate::safeguard::find_cluster;

const CLUSTER_TYPE: &str = "AWS::RDS::DBCluster";

/// Aurora Serverless v2 capacity range, in ACUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerlessScaling {
    pub min_capacity: f64,
    pub max_capacity: f64,
}

/// What the restore copies from the stack's current cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct StackCluster {
    pub logical_id: String,
    pub identifier: String,
    pub engine: String,
    pub engine_version: Option<String>,
    pub db_subnet_group: Option<String>,
    pub vpc_security_group_ids: Vec<String>,
    /// `None` for a cluster that is not serverless v2.
    pub serverless_v2_scaling: Option<ServerlessScaling>,
}

/// The stack's `AWS::RDS::DBCluster`: the one with `logical_id` (the replaced cluster's, from the
/// record) when the stack has it, else the only one.
pub async fn stack_cluster(
    cfn: &aws_sdk_cloudformation::Client,
    rds: &Client,
    stack: &str,
    logical_id: Option<&str>,
) -> Result<StackCluster, RestoreError> {
    let clusters = crate::stack::resources_of_type(cfn, stack, CLUSTER_TYPE).await?;
    let named = logical_id.and_then(|id| clusters.iter().find(|(logical, _)| logical == id));
    let (logical, physical) = match (named, clusters.as_slice()) {
        (Some(found), _) => found.clone(),
        (None, [only]) => only.clone(),
        (None, []) => {
            return Err(RestoreError::NoStackCluster {
                stack: stack.to_owned(),
            });
        }
        (None, several) => {
            return Err(RestoreError::SeveralStackClusters {
                stack: stack.to_owned(),
                clusters: several
                    .iter()
                    .map(|(logical, physical)| format!("{logical} ({physical})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let cluster =
        find_cluster(rds, &physical)
            .await?
            .ok_or_else(|| RestoreError::ClusterNotFound {
                cluster: physical.clone(),
            })?;
    Ok(StackCluster {
        engine: cluster
            .engine()
            .ok_or_else(|| RestoreError::NoEngine {
                cluster: physical.clone(),
            })?
            .to_owned(),
        engine_version: cluster.engine_version().map(str::to_owned),
        db_subnet_group: cluster.db_subnet_group().map(str::to_owned),
        vpc_security_group_ids: cluster
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
            .collect(),
        serverless_v2_scaling: cluster.serverless_v2_scaling_configuration().and_then(|s| {
            Some(ServerlessScaling {
                min_capacity: s.min_capacity()?,
                max_capacity: s.max_capacity()?,
            })
        }),
        logical_id: logical,
        identifier: physical,
    })
}
