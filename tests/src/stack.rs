//! What the tests read of the deployed stack and its database: its name and outputs, resources by
//! type, change sets, DB clusters. One place, so every test reads them the same way.

/// The stack name of the fixture app (and of Bedrock Chat).
pub const STACK: &str = "BedrockChatStack";

/// The stack's outputs, by output key.
pub async fn stack_outputs(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> std::collections::BTreeMap<String, String> {
    let answer = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .expect("describe the stack");
    answer.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_string(),
                o.output_value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The one output whose key starts with `prefix` (CDK appends an 8-hex construct hash).
pub fn output<'a>(
    outputs: &'a std::collections::BTreeMap<String, String>,
    prefix: &str,
) -> &'a str {
    let found: Vec<_> = outputs
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one output {prefix}*, got {found:?}"
    );
    found[0].1
}

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
