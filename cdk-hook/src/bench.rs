//! A synthetic change set for timing the classification (`cargo xtask bench`, and the test
//! that holds it under 50 ms for 2,000 changes).

use crate::describe::{ChangeDetail, ChangeTarget, ResourceChangeRecord, ScopedChange};
use crate::guard::GuardConfig;
use crate::plan::ReplacementPlan;

const TYPES: &[&str] = &[
    "AWS::Lambda::Function",
    "AWS::IAM::Role",
    "AWS::DynamoDB::Table",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::EC2::SecurityGroup",
    "AWS::S3::Bucket",
    "AWS::CDK::Metadata",
];

/// `n` resource changes mixing actions, replacement values, guarded and unguarded types, and
/// dynamic references (every instance references the cluster before it), in the root stack.
pub fn bench_fixture(n: usize) -> Vec<ScopedChange> {
    (0..n)
        .map(|i| {
            let ty = TYPES[i % TYPES.len()];
            let (action, replacement) = match i % 5 {
                0 => ("Add", None),
                1 => ("Remove", None),
                2 => ("Modify", Some("True")),
                3 => ("Modify", Some("Conditional")),
                _ => ("Modify", Some("False")),
            };
            let details = if action == "Modify" {
                let dynamic = ty == "AWS::RDS::DBInstance";
                vec![ChangeDetail {
                    target: Some(ChangeTarget {
                        attribute: Some("Properties".into()),
                        name: Some(
                            if dynamic {
                                "DBClusterIdentifier"
                            } else {
                                "StorageEncrypted"
                            }
                            .into(),
                        ),
                        requires_recreation: Some("Always".into()),
                        ..Default::default()
                    }),
                    evaluation: Some(if dynamic { "Dynamic" } else { "Static" }.into()),
                    change_source: Some(
                        if dynamic {
                            "ResourceReference"
                        } else {
                            "DirectModification"
                        }
                        .into(),
                    ),
                    causing_entity: dynamic.then(|| format!("Resource{}", i.saturating_sub(1))),
                }]
            } else {
                Vec::new()
            };
            ScopedChange {
                nested_stack: None,
                change: ResourceChangeRecord {
                    action: Some(action.into()),
                    logical_resource_id: format!("Resource{i}"),
                    physical_resource_id: Some(format!("physical-{i}")),
                    resource_type: ty.into(),
                    replacement: replacement.map(Into::into),
                    policy_action: (replacement == Some("True")).then(|| "ReplaceAndDelete".into()),
                    scope: vec!["Properties".into()],
                    details,
                    change_set_id: None,
                },
            }
        })
        .collect()
}

/// Classifies and orders the fixture into a plan: what `check` does after reading the change set.
pub fn classify_fixture(changes: &[ScopedChange], guards: &GuardConfig) -> ReplacementPlan {
    ReplacementPlan::new(
        "Bench".into(),
        None,
        crate::classify::classify(changes, guards),
    )
}
