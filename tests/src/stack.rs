//! What the tests read of the deployed stack and its database: resources by type, change sets,
//! DB clusters. One place, so every test reads them the same way.

use crate::STACK;

/// (logical id, physical id) of the stack's resources of one type.
pub async fn resources_of_type(
    cfn: &aws_sdk_cloudformation::Client,
    resource_type: &str,
) -> Vec<(String, String)> {
    let resources = cfn
        .list_stack_resources()
        .stack_name(STACK)
        .send()
        .await
        .expect("list stack resources");
    resources
        .stack_resource_summaries()
        .iter()
        .filter(|r| r.resource_type() == Some(resource_type))
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The stack's change sets (a stopped or finished deploy leaves none).
pub async fn change_set_count(cfn: &aws_sdk_cloudformation::Client) -> usize {
    cfn.list_change_sets()
        .stack_name(STACK)
        .send()
        .await
        .expect("list change sets")
        .summaries()
        .len()
}

/// Every DB cluster of the account.
pub async fn db_clusters(rds: &aws_sdk_rds::Client) -> Vec<aws_sdk_rds::types::DbCluster> {
    rds.describe_db_clusters()
        .send()
        .await
        .expect("describe clusters")
        .db_clusters()
        .to_vec()
}
