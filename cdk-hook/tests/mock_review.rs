//! The live review against aws-smithy-mocks, with answers shaped like CloudFormation's
//! documented DescribeChangeSet responses.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSource, ChangeType, EvaluationType, PolicyAction,
    Replacement as SdkReplacement, RequiresRecreation, ResourceAttribute, ResourceChange,
    ResourceChangeDetail, ResourceTargetDefinition,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::retry::RetryConfig;
use cdk_hook::{
    Action, ChangeSetReviewer, DataFate, Fate, GuardClass, GuardConfig, PollSettings, Replacement,
    ReplacementPlan, ReplacementTable, ReviewOutcome,
};

const STACK: &str = "BedrockChatStack";
const NAME: &str = "cdk-hook-check-1";
const ROOT: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cdk-hook-check-1/0f1e2d3c";
const NESTED_A: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/nested-a/1a1a";
const NESTED_B: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/nested-b/2b2b";

fn fast() -> PollSettings {
    PollSettings {
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        timeout: Duration::from_secs(10),
    }
}

fn change(rc: ResourceChange) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(rc)
        .build()
}

fn modify(
    id: &str,
    ty: &str,
    replacement: SdkReplacement,
) -> aws_sdk_cloudformation::types::builders::ResourceChangeBuilder {
    ResourceChange::builder()
        .action(ChangeAction::Modify)
        .logical_resource_id(id)
        .physical_resource_id(format!("{}-physical", id.to_lowercase()))
        .resource_type(ty)
        .replacement(replacement)
        .scope(ResourceAttribute::Properties)
}

fn detail(
    name: &str,
    rr: RequiresRecreation,
    eval: EvaluationType,
    source: ChangeSource,
    entity: Option<&str>,
) -> ResourceChangeDetail {
    ResourceChangeDetail::builder()
        .target(
            ResourceTargetDefinition::builder()
                .attribute(ResourceAttribute::Properties)
                .name(name)
                .requires_recreation(rr)
                .build(),
        )
        .evaluation(eval)
        .change_source(source)
        .set_causing_entity(entity.map(str::to_owned))
        .build()
}

fn complete(id: &'static str, changes: Vec<Change>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(id)
        .change_set_name(NAME)
        .stack_name(STACK)
        .status(ChangeSetStatus::CreateComplete)
        .set_changes(Some(changes))
        .build()
}

fn plan(outcome: ReviewOutcome) -> ReplacementPlan {
    let ReviewOutcome::Changes(reviewed) = outcome else {
        panic!("expected changes, got {outcome:?}")
    };
    cdk_hook::plan_from_change_set(
        &reviewed,
        None,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    )
}

/// The wait (by name) then one full read (by ARN) answering `changes`.
async fn review_of(changes: fn() -> Vec<Change>) -> ReplacementPlan {
    let wait = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(NAME))
        .then_output(move || complete(ROOT, Vec::new()));
    let read = mock!(Client::describe_change_set)
        .match_requests(|r| {
            r.change_set_name() == Some(ROOT) && r.include_property_values() == Some(true)
        })
        .then_output(move || complete(ROOT, changes()));
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&wait, &read]);
    let outcome = ChangeSetReviewer::new(client)
        .with_poll_settings(fast())
        .review(STACK, NAME)
        .await
        .unwrap();
    assert_eq!((wait.num_calls(), read.num_calls()), (1, 1));
    plan(outcome)
}

#[tokio::test]
async fn replacement_true_with_snapshot_and_with_delete() {
    let plan = review_of(|| {
        vec![
            change(
                modify(
                    "ConversationTable",
                    "AWS::DynamoDB::Table",
                    SdkReplacement::True,
                )
                .policy_action(PolicyAction::ReplaceAndDelete)
                .details(detail(
                    "KeySchema",
                    RequiresRecreation::Always,
                    EvaluationType::Static,
                    ChangeSource::DirectModification,
                    None,
                ))
                .build(),
            ),
            change(
                modify(
                    "VectorStoreCluster",
                    "AWS::RDS::DBCluster",
                    SdkReplacement::True,
                )
                .policy_action(PolicyAction::ReplaceAndSnapshot)
                .details(detail(
                    "StorageEncrypted",
                    RequiresRecreation::Always,
                    EvaluationType::Static,
                    ChangeSource::DirectModification,
                    None,
                ))
                .build(),
            ),
            change(
                modify(
                    "VectorStoreClusterWriter",
                    "AWS::RDS::DBInstance",
                    SdkReplacement::True,
                )
                .policy_action(PolicyAction::ReplaceAndDelete)
                .details(detail(
                    "DBClusterIdentifier",
                    RequiresRecreation::Always,
                    EvaluationType::Dynamic,
                    ChangeSource::ResourceReference,
                    Some("VectorStoreCluster"),
                ))
                .build(),
            ),
        ]
    })
    .await;
    assert!(plan.gates() && plan.migration_needed());
    let ids: Vec<&str> = plan
        .resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "VectorStoreCluster",
            "VectorStoreClusterWriter",
            "ConversationTable"
        ]
    );
    let [cluster, writer, table] = &plan.resources[..] else {
        unreachable!()
    };
    assert_eq!(
        (cluster.replacement, cluster.fate),
        (Replacement::Will, Some(Fate::Snapshotted))
    );
    assert_eq!(
        cluster.causes[0].property.as_deref(),
        Some("StorageEncrypted")
    );
    assert_eq!(
        cluster.physical_id.as_deref(),
        Some("vectorstorecluster-physical")
    );
    assert_eq!(writer.caused_by.as_deref(), Some("VectorStoreCluster"));
    assert_eq!(
        (table.replacement, table.fate, table.guard),
        (Replacement::Will, Some(Fate::Deleted), GuardClass::Stateful)
    );
}

#[tokio::test]
async fn conditional_gates_only_guarded_types() {
    let plan = review_of(|| {
        vec![change(
            modify(
                "CDKMetadata",
                "AWS::CDK::Metadata",
                SdkReplacement::Conditional,
            )
            .details(detail(
                "Analytics",
                RequiresRecreation::Conditionally,
                EvaluationType::Static,
                ChangeSource::DirectModification,
                None,
            ))
            .build(),
        )]
    })
    .await;
    assert_eq!(plan.resources[0].replacement, Replacement::May);
    assert!(
        !plan.gates(),
        "Conditional on AWS::CDK::Metadata never gates"
    );

    let plan = review_of(|| {
        vec![change(
            modify(
                "VectorStoreCluster",
                "AWS::RDS::DBCluster",
                SdkReplacement::Conditional,
            )
            .policy_action(PolicyAction::ReplaceAndDelete)
            .details(detail(
                "Engine",
                RequiresRecreation::Conditionally,
                EvaluationType::Static,
                ChangeSource::DirectModification,
                None,
            ))
            .build(),
        )]
    })
    .await;
    let cluster = &plan.resources[0];
    assert_eq!(
        (cluster.replacement, cluster.fate),
        (Replacement::May, Some(Fate::Deleted))
    );
    assert!(plan.gates() && plan.migration_needed());
}

#[tokio::test]
async fn removing_the_cluster_gates() {
    let plan = review_of(|| {
        vec![change(
            ResourceChange::builder()
                .action(ChangeAction::Remove)
                .logical_resource_id("VectorStoreCluster")
                .physical_resource_id("cluster-physical")
                .resource_type("AWS::RDS::DBCluster")
                .policy_action(PolicyAction::Snapshot)
                .build(),
        )]
    })
    .await;
    let cluster = &plan.resources[0];
    assert_eq!(
        (cluster.action, cluster.fate, cluster.data_fate),
        (
            Action::Remove,
            Some(Fate::Snapshotted),
            DataFate::DestroyedWithSnapshot
        )
    );
    assert!(plan.gates(), "a removed vector store gates");
    assert!(
        !plan.migration_needed(),
        "nothing to re-embed into: {:?}",
        plan.re_embed_target_removed
    );
    assert_eq!(plan.re_embed_target_removed, ["VectorStoreCluster"]);
}

fn nested_stack_change(id: &str, nested: &str) -> Change {
    change(
        modify(id, "AWS::CloudFormation::Stack", SdkReplacement::False)
            .change_set_id(nested)
            .details(detail(
                "TemplateURL",
                RequiresRecreation::Never,
                EvaluationType::Static,
                ChangeSource::DirectModification,
                None,
            ))
            .build(),
    )
}

#[tokio::test]
async fn two_level_nested_stack_is_reviewed_recursively() {
    let wait = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(NAME))
        .then_output(|| complete(ROOT, Vec::new()));
    let root = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(ROOT) && r.stack_name() == Some(STACK))
        .then_output(|| complete(ROOT, vec![nested_stack_change("DataStack", NESTED_A)]));
    let nested_a = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(NESTED_A) && r.stack_name().is_none())
        .then_output(|| {
            let mut out = complete(NESTED_A, vec![nested_stack_change("VectorStack", NESTED_B)]);
            out.parent_change_set_id = Some(ROOT.into());
            out
        });
    let nested_b = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(NESTED_B))
        .then_output(|| {
            let mut out = complete(
                NESTED_B,
                vec![change(
                    modify(
                        "VectorStoreCluster",
                        "AWS::RDS::DBCluster",
                        SdkReplacement::True,
                    )
                    .policy_action(PolicyAction::ReplaceAndSnapshot)
                    .build(),
                )],
            );
            out.parent_change_set_id = Some(NESTED_A.into());
            out
        });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&wait, &root, &nested_a, &nested_b]
    );
    let plan = plan(
        ChangeSetReviewer::new(client)
            .with_poll_settings(fast())
            .review(STACK, NAME)
            .await
            .unwrap(),
    );
    assert_eq!(
        (root.num_calls(), nested_a.num_calls(), nested_b.num_calls()),
        (1, 1, 1)
    );
    let cluster = plan
        .resources
        .iter()
        .find(|r| r.logical_id == "VectorStoreCluster")
        .unwrap();
    assert_eq!(
        cluster.nested_stack.as_deref(),
        Some("DataStack/VectorStack")
    );
    assert!(plan.gates() && plan.migration_needed());
    assert_eq!(plan.resources[0].logical_id, "VectorStoreCluster");
    assert_eq!(plan.change_set_id.as_deref(), Some(ROOT));
}

#[tokio::test]
async fn a_change_set_over_three_pages_is_read_whole() {
    fn page(i: usize, next: Option<&str>) -> DescribeChangeSetOutput {
        let changes = (0..100)
            .map(|j| {
                change(
                    modify(
                        &format!("Fn{i}x{j}"),
                        "AWS::Lambda::Function",
                        SdkReplacement::False,
                    )
                    .build(),
                )
            })
            .collect();
        let mut out = complete(ROOT, changes);
        out.next_token = next.map(str::to_owned);
        out
    }
    let wait = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(NAME))
        .then_output(|| complete(ROOT, Vec::new()));
    let p1 = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(ROOT) && r.next_token().is_none())
        .then_output(|| page(1, Some("token-2")));
    let p2 = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token() == Some("token-2"))
        .then_output(|| page(2, Some("token-3")));
    let p3 = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token() == Some("token-3"))
        .then_output(|| {
            let mut last = page(3, None);
            last.changes.get_or_insert_with(Vec::new).push(change(
                modify(
                    "ConversationTable",
                    "AWS::DynamoDB::Table",
                    SdkReplacement::True,
                )
                .policy_action(PolicyAction::ReplaceAndDelete)
                .build(),
            ));
            last
        });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&wait, &p1, &p2, &p3]
    );
    let plan = plan(
        ChangeSetReviewer::new(client)
            .with_poll_settings(fast())
            .review(STACK, NAME)
            .await
            .unwrap(),
    );
    assert_eq!((p1.num_calls(), p2.num_calls(), p3.num_calls()), (1, 1, 1));
    assert_eq!(plan.resources.len(), 301);
    assert_eq!(
        plan.resources[0].logical_id, "ConversationTable",
        "the change on the last page gates"
    );
    assert!(plan.gates() && !plan.migration_needed());
}

#[tokio::test]
async fn failed_without_changes_is_nothing_to_deploy() {
    let wait = mock!(Client::describe_change_set)
        .sequence()
        .output(|| DescribeChangeSetOutput::builder().change_set_id(ROOT).status(ChangeSetStatus::CreateInProgress).build())
        .output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id(ROOT)
                .status(ChangeSetStatus::Failed)
                .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&wait]);
    let outcome = ChangeSetReviewer::new(client)
        .with_poll_settings(fast())
        .review(STACK, NAME)
        .await
        .unwrap();
    assert!(
        matches!(outcome, ReviewOutcome::NothingToDeploy { ref reason, .. } if reason.contains("didn't contain changes"))
    );
    assert_eq!(wait.num_calls(), 2);
}

#[tokio::test]
async fn other_failures_are_typed_errors() {
    let wait = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id(ROOT)
            .status(ChangeSetStatus::Failed)
            .status_reason("Requires capabilities : [CAPABILITY_IAM]")
            .build()
    });
    let client = mock_client!(aws_sdk_cloudformation, [&wait]);
    let err = ChangeSetReviewer::new(client)
        .with_poll_settings(fast())
        .review(STACK, NAME)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, cdk_hook::CdkHookError::ChangeSetFailed { reason, .. } if reason.contains("CAPABILITY_IAM")),
        "{err}"
    );
}

const THROTTLED: &str = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>7f3e2c1a-0000-4000-8000-000000000000</RequestId>
</ErrorResponse>"#;

/// The SDK's standard retry absorbs throttling; when it gives up, the wait keeps polling.
#[tokio::test]
async fn throttling_on_describe_is_retried() {
    let wait = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(NAME))
        .sequence()
        .http_status(400, Some(THROTTLED.to_owned()))
        .times(5)
        .output(|| complete(ROOT, Vec::new()))
        .build();
    let read = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(ROOT))
        .sequence()
        .http_status(400, Some(THROTTLED.to_owned()))
        .times(2)
        .output(|| complete(ROOT, Vec::new()))
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&wait, &read],
        |c| {
            c.retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
        }
    );
    let outcome = ChangeSetReviewer::new(client)
        .with_poll_settings(fast())
        .review(STACK, NAME)
        .await
        .unwrap();
    assert!(matches!(outcome, ReviewOutcome::Changes(_)));
    assert_eq!(
        wait.num_calls(),
        6,
        "5 throttled answers: 3 inside one SDK call, 2 more after the wait polled again"
    );
    assert_eq!(
        read.num_calls(),
        3,
        "the paginated read relies on the SDK retry alone"
    );
}

#[tokio::test]
async fn delete_tolerates_a_missing_change_set() {
    let gone = mock!(Client::delete_change_set)
        .sequence()
        .http_status(
            404,
            Some("<ErrorResponse><Error><Type>Sender</Type><Code>ChangeSetNotFound</Code><Message>ChangeSet [x] does not exist</Message></Error></ErrorResponse>".to_owned()),
        )
        .build();
    let ok =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&gone, &ok]);
    let reviewer = ChangeSetReviewer::new(client);
    reviewer.delete(STACK, ROOT).await.unwrap();
    reviewer.delete(STACK, ROOT).await.unwrap();
    assert_eq!((gone.num_calls(), ok.num_calls()), (1, 1));
}
