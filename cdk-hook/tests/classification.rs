//! Classification without AWS: saved describe-change-set output, template comparison, and
//! their agreement on the same change (StorageEncrypted false -> true on the vector store).

use std::path::{Path, PathBuf};

use cdk_hook::plan::RequiresRecreation;
use cdk_hook::{
    Action, CdkHookError, DataFate, Fate, GuardClass, GuardConfig, Replacement, ReplacementPlan,
    ReplacementTable, ResourceVerdict, Templates,
};

const CLUSTER: &str = "VectorStoreClusterA1B2C3D4";
const WRITER: &str = "VectorStoreClusterWriter11223344";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn find<'a>(plan: &'a ReplacementPlan, id: &str) -> &'a ResourceVerdict {
    plan.resources
        .iter()
        .find(|r| r.logical_id == id)
        .unwrap_or_else(|| panic!("{id} not in {plan:#?}"))
}

fn template_plan() -> ReplacementPlan {
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let new = cdk_hook::read_template(&data("v1.template.json")).unwrap();
    cdk_hook::plan_from_templates(
        "BedrockChatStack",
        &old,
        &new,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    )
}

fn describe_plan(files: &[&str]) -> ReplacementPlan {
    let paths: Vec<PathBuf> = files.iter().map(|f| data(f)).collect();
    cdk_hook::plan_from_describe_files(&paths, &GuardConfig::default())
        .unwrap()
        .0
}

#[test]
fn describe_file_and_template_diff_agree_on_the_cluster_replacement() {
    let from_cs = describe_plan(&["describe-v1.json"]);
    let from_t = template_plan();
    for plan in [&from_cs, &from_t] {
        assert!(plan.gates() && plan.migration_needed(), "{plan:#?}");
        assert_eq!(
            plan.resources[0].logical_id, CLUSTER,
            "the root cause comes first"
        );
        let cluster = find(plan, CLUSTER);
        assert_eq!(cluster.replacement, Replacement::Will);
        assert_eq!(cluster.guard, GuardClass::MigrationTrigger);
        assert_eq!(cluster.fate, Some(Fate::Snapshotted));
        assert_eq!(cluster.caused_by, None);
        let cause = cluster
            .causes
            .iter()
            .find(|c| c.property.as_deref() == Some("StorageEncrypted"))
            .unwrap();
        assert_eq!(cause.requires_recreation, Some(RequiresRecreation::Always));
        let writer = find(plan, WRITER);
        assert!(writer.replacement.is_replacing());
        assert_eq!(writer.caused_by.as_deref(), Some(CLUSTER));
        assert_eq!(writer.guard, GuardClass::Stateful);
        assert_eq!(writer.fate, Some(Fate::Deleted));
        assert!(
            writer
                .causes
                .iter()
                .any(|c| c.property.as_deref() == Some("DBClusterIdentifier"))
        );
        assert!(!find(plan, "CDKMetadata").gates());
    }
    // The consequences follow their root cause directly.
    let order: Vec<&str> = from_t
        .resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    assert_eq!(order[1], WRITER, "{order:?}");
}

#[test]
fn change_set_with_template_settles_an_emulator_change_set() {
    let paths = [data("describe-moto.json")];
    let pages: Vec<_> = paths
        .iter()
        .map(|p| {
            cdk_hook::describe::parse_describe_json(p, &std::fs::read_to_string(p).unwrap())
                .unwrap()
        })
        .collect();
    let reviewed = cdk_hook::describe::assemble(pages);
    let alone = cdk_hook::plan_from_change_set(
        &reviewed,
        None,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    assert_eq!(find(&alone, CLUSTER).replacement, Replacement::Unknown);
    assert!(
        alone.gates(),
        "unknown on a guarded type is not a safe answer: it gates"
    );

    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let new = cdk_hook::read_template(&data("v1.template.json")).unwrap();
    let plan = cdk_hook::plan_from_change_set(
        &reviewed,
        Some(Templates {
            old: &old,
            new: &new,
        }),
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    let cluster = find(&plan, CLUSTER);
    assert_eq!(cluster.replacement, Replacement::Will);
    assert_eq!(cluster.sources.change_set, Some(Replacement::Unknown));
    assert_eq!(cluster.sources.template, Some(Replacement::Will));
    assert_eq!(cluster.fate, Some(Fate::Snapshotted));
    assert_eq!(
        cluster.causes[0].property.as_deref(),
        Some("StorageEncrypted")
    );
    // Only the template comparison saw the writer; it is still a consequence of the cluster.
    let writer = find(&plan, WRITER);
    assert_eq!(writer.sources.change_set, None);
    assert_eq!(writer.caused_by.as_deref(), Some(CLUSTER));
    // A Modify with nothing changed in the template is settled as no replacement.
    assert_eq!(
        find(&plan, "VectorStoreClusterSubnets9F8E7D6C").replacement,
        Replacement::No
    );
    assert!(plan.gates() && plan.migration_needed());
    assert_eq!(plan.resources[0].logical_id, CLUSTER);
}

#[test]
fn disagreement_keeps_both_verdicts() {
    let reviewed = cdk_hook::describe::assemble(vec![
        serde_json::from_value(serde_json::json!({"ChangeSetId": "cs", "StackName": "S", "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": CLUSTER,
             "ResourceType": "AWS::RDS::DBCluster", "Replacement": "False", "Details": []}}]}))
        .unwrap(),
    ]);
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let new = cdk_hook::read_template(&data("v1.template.json")).unwrap();
    let plan = cdk_hook::plan_from_change_set(
        &reviewed,
        Some(Templates {
            old: &old,
            new: &new,
        }),
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    let cluster = find(&plan, CLUSTER);
    assert_eq!(
        cluster.replacement,
        Replacement::Will,
        "a guard does not pass on one witness's word"
    );
    assert!(cluster.sources.disagree);
    assert_eq!(cluster.sources.change_set, Some(Replacement::No));
    assert_eq!(cluster.sources.template, Some(Replacement::Will));
    assert_eq!(cluster.sources.followed, Some(cdk_hook::Witness::Template));
    assert!(
        cluster
            .sources
            .why
            .as_deref()
            .unwrap()
            .contains("loses more"),
        "{:?}",
        cluster.sources
    );
    assert!(plan.gates());
}

#[test]
fn a_dynamic_conditional_resolved_by_the_templates_is_no_disagreement() {
    let reviewed = cdk_hook::describe::assemble(vec![
        serde_json::from_value(serde_json::json!({"ChangeSetId": "cs", "StackName": "S", "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": CLUSTER,
             "ResourceType": "AWS::RDS::DBCluster", "Replacement": "True",
             "PolicyAction": "ReplaceAndSnapshot", "Details": [
                {"Target": {"Attribute": "Properties", "Name": "StorageEncrypted", "RequiresRecreation": "Always"},
                 "Evaluation": "Static", "ChangeSource": "DirectModification"}]}},
            {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": WRITER,
             "ResourceType": "AWS::RDS::DBInstance", "Replacement": "Conditional",
             "PolicyAction": "ReplaceAndDelete", "Details": [
                {"Target": {"Attribute": "Properties", "Name": "DBClusterIdentifier", "RequiresRecreation": "Always"},
                 "Evaluation": "Dynamic", "ChangeSource": "ResourceReference", "CausingEntity": CLUSTER}]}}]}))
        .unwrap(),
    ]);
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let new = cdk_hook::read_template(&data("v1.template.json")).unwrap();
    let plan = cdk_hook::plan_from_change_set(
        &reviewed,
        Some(Templates {
            old: &old,
            new: &new,
        }),
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    let writer = find(&plan, WRITER);
    assert_eq!(writer.sources.change_set, Some(Replacement::May));
    assert_eq!(writer.sources.template, Some(Replacement::Will));
    assert!(!writer.sources.disagree, "{:?}", writer.sources);
    assert_eq!(writer.replacement, Replacement::Will);
    assert_eq!(writer.sources.followed, Some(cdk_hook::Witness::Template));
    assert!(
        writer
            .sources
            .why
            .as_deref()
            .unwrap()
            .contains("DBClusterIdentifier")
    );
    assert_eq!(writer.caused_by.as_deref(), Some(CLUSTER));
    let cluster = find(&plan, CLUSTER);
    assert!(!cluster.sources.disagree);
    assert_eq!(cluster.sources.followed, Some(cdk_hook::Witness::ChangeSet));
    assert_eq!(cluster.fate, Some(Fate::Snapshotted));
}

#[test]
fn renamed_and_removed_guarded_resources_gate() {
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let mut new = old.clone();
    let res = new["Resources"].as_object_mut().unwrap();
    let table = res.remove("DatabaseConversationTable03F3FAE2").unwrap();
    res.insert("ConversationTableRenamed".into(), table);
    res.remove(CLUSTER);
    res.remove(WRITER);
    let plan = cdk_hook::plan_from_templates(
        "S",
        &old,
        &new,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    let renamed = find(&plan, "DatabaseConversationTable03F3FAE2");
    assert_eq!(
        (renamed.action, renamed.replacement),
        (Action::Remove, Replacement::Will)
    );
    assert_eq!(
        renamed.renamed_to.as_deref(),
        Some("ConversationTableRenamed")
    );
    assert_eq!(renamed.fate, Some(Fate::Deleted));
    assert_eq!(
        renamed.data_fate,
        DataFate::Destroyed,
        "the old id is removed under its DeletionPolicy"
    );
    let cluster = find(&plan, CLUSTER);
    assert_eq!(cluster.action, Action::Remove);
    assert_eq!(
        cluster.fate,
        Some(Fate::Snapshotted),
        "DeletionPolicy Snapshot"
    );
    assert_eq!(cluster.data_fate, DataFate::DestroyedWithSnapshot);
    assert!(plan.gates());
    assert!(!plan.migration_needed(), "no vector store to re-embed into");
    assert_eq!(plan.re_embed_target_removed, [CLUSTER]);
}

#[test]
fn dynamodb_key_schema_change_replaces_the_table() {
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let mut new = old.clone();
    new["Resources"]["DatabaseConversationTable03F3FAE2"]["Properties"]["KeySchema"][1]["AttributeName"] =
        "SK2".into();
    let plan = cdk_hook::plan_from_templates(
        "S",
        &old,
        &new,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    let t = find(&plan, "DatabaseConversationTable03F3FAE2");
    assert_eq!(t.replacement, Replacement::Will);
    assert_eq!(
        t.fate,
        Some(Fate::Deleted),
        "UpdateReplacePolicy Delete: every conversation is lost"
    );
    assert!(plan.gates() && !plan.migration_needed());
}

#[test]
fn in_place_changes_do_not_gate() {
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let mut new = old.clone();
    new["Resources"][CLUSTER]["Properties"]["EngineVersion"] = "15.5".into();
    let plan = cdk_hook::plan_from_templates(
        "S",
        &old,
        &new,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    let cluster = find(&plan, CLUSTER);
    assert_eq!((cluster.replacement, cluster.fate), (Replacement::No, None));
    assert!(!plan.gates(), "{plan:#?}");
}

#[test]
fn a_replaced_dependency_drags_the_cluster_along() {
    let old = cdk_hook::read_template(&data("v0.template.json")).unwrap();
    let mut new = old.clone();
    new["Resources"]["VectorStoreClusterSubnets9F8E7D6C"]["Properties"]["DBSubnetGroupName"] =
        "renamed".into();
    let plan = cdk_hook::plan_from_templates(
        "S",
        &old,
        &new,
        &GuardConfig::default(),
        ReplacementTable::embedded(),
    );
    assert_eq!(
        find(&plan, "VectorStoreClusterSubnets9F8E7D6C").replacement,
        Replacement::Will
    );
    // The cluster's DBSubnetGroupName (causesReplacement yes) is a Ref to the replaced group.
    let cluster = find(&plan, CLUSTER);
    assert_eq!(cluster.replacement, Replacement::Will);
    assert_eq!(
        cluster.caused_by.as_deref(),
        Some("VectorStoreClusterSubnets9F8E7D6C")
    );
    assert_eq!(find(&plan, WRITER).caused_by.as_deref(), Some(CLUSTER));
    assert!(plan.gates() && plan.migration_needed());
    // The gating group (root: the subnet group) comes first, root before consequences.
    let order: Vec<&str> = plan
        .resources
        .iter()
        .take(3)
        .map(|r| r.logical_id.as_str())
        .collect();
    assert_eq!(
        order,
        ["VectorStoreClusterSubnets9F8E7D6C", CLUSTER, WRITER],
        "{plan:#?}"
    );
}

#[test]
fn bad_inputs_name_the_file_and_say_what_is_wrong() {
    let dir = std::env::temp_dir().join(cdk_hook::unique_change_set_name("cdk-hook-bad"));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"StackSummaries": []}"#).unwrap();
    let g = GuardConfig::default();

    let e = cdk_hook::plan_from_describe_files(&[&garbage], &g).unwrap_err();
    assert!(
        matches!(&e, CdkHookError::BadInput { path, .. } if path == &garbage),
        "{e}"
    );
    assert!(
        e.to_string().contains("garbage.json") && e.to_string().contains("not valid JSON"),
        "{e}"
    );
    let e = cdk_hook::plan_from_describe_files(&[&other], &g)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("other.json") && e.contains("describe-change-set"),
        "{e}"
    );
    let e = cdk_hook::plan_from_describe_files(&[data("v0.template.json")], &g)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--template-diff"), "{e}");
    let e = cdk_hook::read_template(&data("describe-v1.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("describe-v1.json") && e.contains("--describe-file"),
        "{e}"
    );
    let e = cdk_hook::read_template(&other).unwrap_err().to_string();
    assert!(e.contains("not a CloudFormation template"), "{e}");
}

#[test]
fn no_changes_file_is_nothing_to_deploy() {
    let (plan, no_changes) = cdk_hook::plan_from_describe_files(
        &[data("describe-no-changes.json")],
        &GuardConfig::default(),
    )
    .unwrap();
    assert!(no_changes.unwrap().contains("didn't contain changes"));
    assert!(plan.resources.is_empty() && !plan.gates());
}

#[test]
fn plan_json_round_trips_with_documented_spellings() {
    let plan = describe_plan(&["describe-v1.json"]);
    let json = serde_json::to_value(&plan).unwrap();
    let first = &json["resources"][0];
    assert_eq!(first["replacement"], "will");
    assert_eq!(first["guard"], "migration_trigger");
    assert_eq!(first["fate"], "snapshotted");
    assert_eq!(first["action"], "Modify");
    assert_eq!(first["causes"][0]["requires_recreation"], "Always");
    assert_eq!(json["gated"], true);
    let back: ReplacementPlan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
}

/// The bench's fixture (`cargo xtask bench` times it) classifies every change, gating the guarded
/// replacements and removals and never AWS::CDK::Metadata.
#[test]
fn the_bench_fixture_classifies_all_2000_changes() {
    let changes = cdk_hook::bench::bench_fixture(2000);
    let plan = cdk_hook::bench::classify_fixture(&changes, &GuardConfig::default());
    assert_eq!(plan.resources.len(), 2000);
    assert!(plan.gates());
    // The fixture also removes clusters: a removed vector store leaves nothing to re-embed into,
    // so the plan gates without asking for a migration.
    assert!(!plan.re_embed_target_removed.is_empty());
    assert!(!plan.migration_needed());
    assert!(
        plan.gating()
            .all(|r| r.resource_type != "AWS::CDK::Metadata"),
        "metadata never gates"
    );
    // Groups by their root cause: a consequence need not gate itself (an Aurora member follows
    // its cluster), so the order is checked on the roots.
    let roots: Vec<&ResourceVerdict> = plan
        .resources
        .iter()
        .filter(|r| r.caused_by.is_none())
        .collect();
    let first_harmless = roots.iter().position(|r| !r.gates()).unwrap();
    assert!(
        roots[first_harmless..].iter().all(|r| !r.gates()),
        "gating groups first"
    );
}
