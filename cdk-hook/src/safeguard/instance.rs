//! A standalone RDS instance (no `DBClusterIdentifier`) gets a manual DB snapshot (`snapshot.rs`);
//! an Aurora member holds no data of its own (the cluster volume does), so it gets none.

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError;

use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;

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
