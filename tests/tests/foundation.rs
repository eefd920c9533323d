//! The foundation: the real CDK CLI deploys the fixture app into the local emulator, and what it
//! deploys looks to the AWS SDK as it does on AWS (outputs, the Aurora cluster, its secret, and a
//! cluster replacement with a final snapshot).

use aws_sdk_rds::error::ProvideErrorMetadata;
use tests::{Emulator, FixtureApp, Release, STACK, output, stack_outputs};

const OUTPUT_PREFIXES: [&str; 9] = [
    "DatabaseConversationTableName",
    "EmbeddingClusterName",
    "EmbeddingTaskDefinitionName",
    "EmbeddingTaskSecurityGroupId",
    "PrivateSubnetId0",
    "PrivateSubnetId1",
    "DbConfigSecretArn",
    "DbConfigHostname",
    "DbConfigPort",
];

/// The cluster whose writer endpoint is `hostname`.
async fn cluster_by_endpoint(
    rds: &aws_sdk_rds::Client,
    hostname: &str,
) -> aws_sdk_rds::types::DbCluster {
    let clusters = tests::stack::db_clusters(rds).await;
    clusters
        .iter()
        .find(|c| c.endpoint() == Some(hostname))
        .unwrap_or_else(|| panic!("no cluster with endpoint {hostname}: {clusters:?}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_v0_from_source_exposes_outputs_cluster_and_secret() {
    let emulator = Emulator::start();
    let app = FixtureApp::new();
    app.bootstrap(&emulator);
    app.deploy_from_source(&emulator, Release::V0);

    let config = emulator.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let outputs = stack_outputs(&cfn, STACK).await;
    for prefix in OUTPUT_PREFIXES {
        assert!(
            !output(&outputs, prefix).is_empty(),
            "output {prefix}* is empty"
        );
    }
    assert!(
        output(&outputs, "EmbeddingTaskDefinitionName")
            .starts_with("BedrockChatStackEmbeddingTaskDefinition")
    );
    assert!(output(&outputs, "PrivateSubnetId0").starts_with("subnet-"));
    assert!(output(&outputs, "EmbeddingTaskSecurityGroupId").starts_with("sg-"));
    assert_eq!(output(&outputs, "DbConfigPort"), "5432");

    let rds = aws_sdk_rds::Client::new(&config);
    let cluster = cluster_by_endpoint(&rds, output(&outputs, "DbConfigHostname")).await;
    assert_eq!(cluster.engine(), Some("aurora-postgresql"));
    assert_eq!(
        cluster.storage_encrypted(),
        Some(false),
        "v0 stores unencrypted"
    );
    assert_eq!(
        cluster.db_cluster_members().len(),
        1,
        "the writer instance belongs to the cluster"
    );

    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = secrets
        .get_secret_value()
        .secret_id(output(&outputs, "DbConfigSecretArn"))
        .send()
        .await
        .expect("the DbConfigSecretArn secret exists");
    let document: serde_json::Value =
        serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    assert_eq!(document["username"], "postgres");
    assert_eq!(
        document["password"].as_str().map(str::len),
        Some(30),
        "generated as the template asks"
    );
    assert_eq!(
        document["host"],
        output(&outputs, "DbConfigHostname"),
        "attached to the cluster"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_v1_over_v0_replaces_the_cluster_and_keeps_a_final_snapshot() {
    let emulator = Emulator::start();
    let app = FixtureApp::deployed(&emulator, Release::V0);
    let config = emulator.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let before = stack_outputs(&cfn, STACK).await;
    let old = cluster_by_endpoint(&rds, output(&before, "DbConfigHostname")).await;
    let old_id = old.db_cluster_identifier().unwrap().to_string();

    app.deploy(&emulator, Release::V1);

    let after = stack_outputs(&cfn, STACK).await;
    let new = cluster_by_endpoint(&rds, output(&after, "DbConfigHostname")).await;
    let new_id = new.db_cluster_identifier().unwrap();
    assert_ne!(new_id, old_id, "a new cluster with a new identifier");
    assert_eq!(new.storage_encrypted(), Some(true));
    assert_eq!(
        new.db_cluster_members().len(),
        1,
        "the writer follows the new cluster"
    );

    let gone = rds
        .describe_db_clusters()
        .db_cluster_identifier(&old_id)
        .send()
        .await;
    let error = gone.expect_err("the old cluster is deleted");
    assert_eq!(error.code(), Some("DBClusterNotFoundFault"), "{error:?}");

    let snapshots = rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(&old_id)
        .send()
        .await
        .expect("describe snapshots");
    let finals: Vec<_> = snapshots.db_cluster_snapshots().iter().collect();
    assert_eq!(
        finals.len(),
        1,
        "one final snapshot (UpdateReplacePolicy Snapshot), no automated ones: {finals:?}"
    );
    assert_eq!(finals[0].status(), Some("available"));
    assert_eq!(finals[0].snapshot_type(), Some("manual"));
}
