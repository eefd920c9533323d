//! Every `data_fate` word against every action that can produce it, through both witnesses: the
//! template comparison (Add, Modify in place and replacing, Remove under each DeletionPolicy, a
//! rename, an Aurora member) and a change set (Dynamic, Import, a Modify or Remove the change set
//! leaves open). The word is checked as the JSON of `check --json` spells it, and as the
//! safeguard lines say it.

use std::path::Path;

use cdk_hook::{
    DataFate, GuardConfig, ReplacementPlan, ReplacementTable, ResourceVerdict, plan_from_templates,
};
use serde_json::{Value, json};

fn table(hash: &str) -> Value {
    json!({"Type": "AWS::DynamoDB::Table", "Properties": {
        "KeySchema": [{"AttributeName": hash, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": hash, "AttributeType": "S"}]}})
}

fn with_policy(mut resource: Value, policy: Option<&str>) -> Value {
    if let Some(p) = policy {
        resource["DeletionPolicy"] = json!(p);
        resource["UpdateReplacePolicy"] = json!(p);
    }
    resource
}

fn bucket(versioning: &str) -> Value {
    json!({"Type": "AWS::S3::Bucket", "Properties": {
        "VersioningConfiguration": {"Status": versioning}}})
}

fn cluster(encrypted: bool) -> Value {
    json!({"Type": "AWS::RDS::DBCluster", "DeletionPolicy": "Snapshot",
           "UpdateReplacePolicy": "Snapshot",
           "Properties": {"Engine": "aurora-postgresql", "StorageEncrypted": encrypted}})
}

fn writer(class: &str) -> Value {
    json!({"Type": "AWS::RDS::DBInstance", "Properties": {
        "DBClusterIdentifier": {"Ref": "Cluster"}, "DBInstanceClass": class}})
}

/// A table under a new logical id and the same construct path: a rename (Remove + Add).
fn renamed_table() -> Value {
    let mut t = with_policy(table("Id"), Some("Delete"));
    t["Metadata"] = json!({"aws:cdk:path": "Stack/Database/Renamed/Resource"});
    t
}

/// Old and new templates with one resource per case of the template comparison. Each removed
/// or added table has a key of its own: two alike would be paired as a rename.
fn template_plan() -> ReplacementPlan {
    let old = json!({"Resources": {
        "InPlace": bucket("Suspended"),
        "NewKey": with_policy(table("Old"), Some("Delete")),
        "GoneDelete": with_policy(table("A"), Some("Delete")),
        "GoneDefault": with_policy(table("B"), None),
        "GoneRetain": with_policy(table("C"), Some("Retain")),
        "GoneRetainExceptOnCreate": with_policy(table("D"), Some("RetainExceptOnCreate")),
        // A cluster removed under DeletionPolicy Snapshot.
        "GoneSnapshot": cluster(false),
        "Cluster": cluster(false),
        "Writer": writer("db.r6g.large"),
        "OldName": renamed_table(),
    }});
    let new = json!({"Resources": {
        "InPlace": bucket("Enabled"),
        "NewKey": with_policy(table("New"), Some("Delete")),
        "Added": table("E"),
        "Cluster": cluster(true),
        "Writer": writer("db.serverless"),
        "NewName": renamed_table(),
    }});
    plan_from_templates(
        "Stack",
        &old,
        &new,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    )
}

/// A change set with the cases only a change set has.
fn change_set_plan() -> ReplacementPlan {
    let change = |action: &str, id: &str, ty: &str, replacement: Option<&str>, policy: &str| {
        let mut rc = json!({"Action": action, "LogicalResourceId": id, "ResourceType": ty,
                            "Scope": ["Properties"], "Details": []});
        if let Some(r) = replacement {
            rc["Replacement"] = json!(r);
        }
        if !policy.is_empty() {
            rc["PolicyAction"] = json!(policy);
        }
        json!({"Type": "Resource", "ResourceChange": rc})
    };
    let page = json!({
    "StackName": "Stack", "ChangeSetId": "arn:aws:cloudformation:us-east-1:1:changeSet/x/y",
    "Status": "CREATE_COMPLETE",
    "Changes": [
        change("Dynamic", "DynamicMay", "AWS::S3::Bucket", Some("Conditional"), "ReplaceAndDelete"),
        change("Dynamic", "DynamicNo", "AWS::S3::Bucket", Some("False"), ""),
        change("Import", "Imported", "AWS::DynamoDB::Table", None, ""),
        change("Modify", "ModifyUnsaid", "AWS::DynamoDB::Table", None, ""),
        change("Modify", "ModifyWill", "AWS::DynamoDB::Table", Some("True"), "ReplaceAndRetain"),
        change("Remove", "RemoveUnsaid", "AWS::DynamoDB::Table", None, ""),
        change("Add", "AddedByChangeSet", "AWS::DynamoDB::Table", None, ""),
    ]});
    let parsed = cdk_hook::describe::parse_describe_json(Path::new("inline"), &page.to_string())
        .expect("a describe-change-set page");
    let reviewed = cdk_hook::describe::assemble(vec![parsed]);
    cdk_hook::plan_from_change_set(
        &reviewed,
        None,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    )
}

fn verdict<'a>(plan: &'a ReplacementPlan, id: &str) -> &'a ResourceVerdict {
    plan.resources
        .iter()
        .find(|r| r.logical_id == id)
        .unwrap_or_else(|| panic!("{id} not in {plan:#?}"))
}

/// The word `check --json` prints for the verdict.
fn json_word(v: &ResourceVerdict) -> String {
    serde_json::to_value(v).unwrap()["data_fate"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn each_action_has_its_data_fate_word() {
    let from_templates = template_plan();
    let from_change_set = change_set_plan();
    // (plan, logical id, action as the plan says it, JSON word, safeguard words)
    let cases: &[(&ReplacementPlan, &str, &str, &str, &str)] = &[
        (
            &from_templates,
            "Added",
            "Add",
            "new",
            "new and empty (created by the deploy)",
        ),
        (
            &from_change_set,
            "AddedByChangeSet",
            "Add",
            "new",
            "new and empty (created by the deploy)",
        ),
        (
            &from_templates,
            "NewName",
            "Add",
            "new",
            "new and empty (created by the deploy)",
        ),
        (
            &from_templates,
            "InPlace",
            "Modify",
            "unchanged",
            "unchanged",
        ),
        (&from_templates, "NewKey", "Modify", "replaced", "replaced"),
        (
            &from_change_set,
            "ModifyWill",
            "Modify",
            "replaced",
            "replaced",
        ),
        (
            &from_change_set,
            "ModifyUnsaid",
            "Modify",
            "unknown",
            "going away in a way nobody could read",
        ),
        (
            &from_templates,
            "GoneDelete",
            "Remove",
            "destroyed",
            "destroyed",
        ),
        (
            &from_templates,
            "GoneDefault",
            "Remove",
            "destroyed",
            "destroyed",
        ),
        (
            &from_templates,
            "OldName",
            "Remove",
            "destroyed",
            "destroyed",
        ),
        (
            &from_templates,
            "GoneRetain",
            "Remove",
            "orphaned",
            "orphaned (removed from the stack, kept in the account)",
        ),
        (
            &from_templates,
            "GoneRetainExceptOnCreate",
            "Remove",
            "orphaned",
            "orphaned (removed from the stack, kept in the account)",
        ),
        (
            &from_templates,
            "GoneSnapshot",
            "Remove",
            "destroyed_with_snapshot",
            "destroyed with a final snapshot",
        ),
        (
            &from_change_set,
            "RemoveUnsaid",
            "Remove",
            "unknown",
            "going away in a way nobody could read",
        ),
        (
            &from_change_set,
            "DynamicMay",
            "Dynamic",
            "replaced",
            "replaced",
        ),
        (
            &from_change_set,
            "DynamicNo",
            "Dynamic",
            "unchanged",
            "unchanged",
        ),
        (
            &from_change_set,
            "Imported",
            "Import",
            "unchanged",
            "unchanged",
        ),
        (
            &from_templates,
            "Writer",
            "Modify",
            "follows_cluster",
            "an Aurora member (its cluster's fate is what counts)",
        ),
    ];
    for &(plan, id, action, word, words) in cases {
        let v = verdict(plan, id);
        assert_eq!(format!("{:?}", v.action), action, "{id}: {v:#?}");
        assert_eq!(json_word(v), word, "{id} ({action}): {v:#?}");
        assert_eq!(v.data_fate.words(), words, "{id} ({action})");
    }
    // The rename is the pair the words above are about.
    assert_eq!(
        verdict(&from_templates, "OldName").renamed_to.as_deref(),
        Some("NewName")
    );
    // Every word is held by some case above.
    let held: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.3).collect();
    let all = [
        DataFate::Unchanged,
        DataFate::New,
        DataFate::Replaced,
        DataFate::Destroyed,
        DataFate::DestroyedWithSnapshot,
        DataFate::Orphaned,
        DataFate::FollowsCluster,
        DataFate::Unknown,
    ];
    for fate in all {
        let word = serde_json::to_value(fate).unwrap();
        assert!(
            held.contains(word.as_str().unwrap()),
            "{word} is held by no case"
        );
    }
}

/// What is created holds nothing from before the deploy, and is never a reason to gate.
#[test]
fn a_new_resource_is_new_and_does_not_gate() {
    let plan = template_plan();
    let added = verdict(&plan, "Added");
    assert_eq!(added.data_fate, DataFate::New);
    assert!(!added.data_fate.leaves_the_stack());
    assert!(!added.gates());
    assert!(plan.gating().all(|v| v.data_fate != DataFate::New));
}
