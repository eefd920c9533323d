//! The change-set path end to end, as every real deploy takes it: the emulator answers
//! DescribeChangeSet as CloudFormation documents it (Replacement, Details, PolicyAction,
//! PhysicalResourceId, pages, nested change sets; `tests/emulator/patches/change_set_details.py`),
//! and `check` and `deploy` read its opinion beside the template comparison's.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{EvaluationType, PolicyAction, Replacement, ResourceChange};
use serde_json::json;
use tests::deployed::{FAST, with_cdk_args};
use tests::plan_json::{cause, plan_of, resource};
use tests::stack::{change_set_count, resources_of_type};
use tests::xtask::{self, printed};
use tests::{Emulator, FixtureApp, STACK, change_set_knob, stack_outputs};

/// The reviews share one deployment of v0 with the nested stack `Archive`; every check keeps it.
const DEPLOYED: &[&str; 2] = &["release=v0", "archive=plain"];
const TO_V1: &[&str] = &[
    "-c",
    "release=v1",
    "-c",
    "archive=plain",
    "--no-previous-parameters",
];
const NOTE: &[&str] = &[
    "-c",
    "note=hello",
    "-c",
    "archive=plain",
    "--no-previous-parameters",
];
const RENAMED: &[&str] = &[
    "-c",
    "release=v0",
    "-c",
    "archive=renamed",
    "--no-previous-parameters",
];

fn check(
    emulator: &Emulator,
    app: &FixtureApp,
    flags: &[&str],
    cdk: &[&str],
) -> std::process::Output {
    xtask::run(emulator, app.dir(), &with_cdk_args("check", flags, cdk))
}

async fn cfn(emulator: &Emulator) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&emulator.sdk_config().await)
}

/// (logical id, physical id) of the stack's resources of one type.
async fn stack_resources(emulator: &Emulator, resource_type: &str) -> Vec<(String, String)> {
    resources_of_type(&cfn(emulator).await, resource_type).await
}

async fn raw_changes(emulator: &Emulator, change_set: &str, values: bool) -> Vec<ResourceChange> {
    let answer = cfn(emulator)
        .await
        .describe_change_set()
        .change_set_name(change_set)
        .include_property_values(values)
        .send()
        .await
        .expect("describe the change set");
    answer
        .changes()
        .iter()
        .filter_map(|c| c.resource_change().cloned())
        .collect()
}

fn change<'a>(changes: &'a [ResourceChange], logical_id: &str) -> &'a ResourceChange {
    changes
        .iter()
        .find(|c| c.logical_resource_id() == Some(logical_id))
        .unwrap_or_else(|| panic!("no change for {logical_id}: {changes:#?}"))
}

/// The three reviews only prepare change sets (the gated deploy deletes its own), so they share
/// one emulator and one deployment, one after the other: the knob is the emulator's, and a
/// deployment is most of each review's cost.
#[tokio::test(flavor = "multi_thread")]
async fn reviews_on_the_change_set_path() {
    let emulator = Emulator::start();
    let app = FixtureApp::new();
    app.bootstrap(&emulator);
    app.deploy_with_context(&emulator, DEPLOYED);

    the_change_set_speaks_as_cloudformation_does_and_agrees_with_the_templates(&emulator, &app)
        .await;
    change_set_knob::set(&emulator, json!({"page_size": 0, "overrides": []}));
    when_the_change_set_disagrees_with_the_templates_the_plan_says_whom_it_follows(&emulator, &app)
        .await;
    change_set_knob::set(&emulator, json!({"page_size": 0, "overrides": []}));
    a_guarded_resource_in_a_nested_stack_is_found_by_check_and_stops_deploy(&emulator, &app).await;
}

async fn the_change_set_speaks_as_cloudformation_does_and_agrees_with_the_templates(
    emulator: &Emulator,
    app: &FixtureApp,
) {
    let run = check(emulator, app, &["--json", "--keep-change-set"], TO_V1);
    assert_eq!(run.status.code(), Some(3), "{}", printed(&run));
    let plan = plan_of(&run);
    let cluster = resource(&plan, "AWS::RDS::DBCluster");
    let cluster_id = cluster["logical_id"].as_str().unwrap();
    assert_eq!(cluster["sources"]["change_set"], "will", "{cluster:#}");
    assert_eq!(cluster["sources"]["template"], "will");
    assert_eq!(cluster["sources"]["followed"], "change_set");
    assert_eq!(cluster["fate"], "snapshotted");
    let encrypted = cause(cluster, "StorageEncrypted");
    assert_eq!(
        (
            &encrypted["evaluation"],
            &encrypted["requires_recreation"],
            &encrypted["change_source"]
        ),
        (
            &json!("Static"),
            &json!("Always"),
            &json!("DirectModification")
        )
    );
    assert_eq!(
        (&encrypted["before"], &encrypted["after"]),
        (&json!("false"), &json!("true"))
    );
    let clusters = stack_resources(emulator, "AWS::RDS::DBCluster").await;
    assert_eq!(
        cluster["physical_id"],
        clusters[0].1.as_str(),
        "PhysicalResourceId"
    );

    // The writer follows through a reference CloudFormation resolves at deploy time.
    let writer = resource(&plan, "AWS::RDS::DBInstance");
    let reference = cause(writer, "DBClusterIdentifier");
    assert_eq!(reference["evaluation"], "Dynamic", "{writer:#}");
    assert_eq!(reference["change_source"], "ResourceReference");
    assert_eq!(reference["causing_entity"], cluster_id);
    assert_eq!(writer["caused_by"], cluster_id);
    assert_eq!(
        writer["sources"]["change_set"], "may",
        "Always + Dynamic is Conditional"
    );
    assert_eq!(writer["sources"]["template"], "will");
    assert_eq!(writer["sources"]["followed"], "template");
    for verdict in plan["resources"].as_array().unwrap() {
        assert_eq!(verdict["sources"]["disagree"], false, "{verdict:#}");
    }

    // CloudFormation's own words, as the SDK reads them.
    let change_set = plan["change_set_id"].as_str().unwrap();
    let plain = raw_changes(emulator, change_set, false).await;
    let raw = change(&plain, cluster_id);
    assert_eq!(raw.replacement(), Some(&Replacement::True));
    assert_eq!(raw.policy_action(), Some(&PolicyAction::ReplaceAndSnapshot));
    assert_eq!(raw.details()[0].evaluation(), Some(&EvaluationType::Static));
    assert_eq!(
        raw.details()[0].target().unwrap().before_value(),
        None,
        "values only with IncludePropertyValues"
    );
    let with_values = raw_changes(emulator, change_set, true).await;
    let target = change(&with_values, cluster_id).details()[0]
        .target()
        .unwrap()
        .clone();
    assert_eq!(
        (target.before_value(), target.after_value()),
        (Some("false"), Some("true"))
    );

    // One change a page: the whole change set is still read.
    change_set_knob::set(emulator, json!({"page_size": 1}));
    let first_page = cfn(emulator)
        .await
        .describe_change_set()
        .change_set_name(change_set)
        .send()
        .await
        .unwrap();
    assert_eq!(first_page.changes().len(), 1);
    assert!(first_page.next_token().is_some(), "more than one page");
    let paged = check(emulator, app, &["--json"], TO_V1);
    assert_eq!(paged.status.code(), Some(3), "{}", printed(&paged));
    assert_eq!(
        plan_of(&paged)["resources"],
        plan["resources"],
        "read whole"
    );
    // The kept change set goes, so the next review starts from a stack with none.
    cfn(emulator)
        .await
        .delete_change_set()
        .change_set_name(change_set)
        .send()
        .await
        .expect("delete the kept change set");
}

async fn when_the_change_set_disagrees_with_the_templates_the_plan_says_whom_it_follows(
    emulator: &Emulator,
    app: &FixtureApp,
) {
    let table = stack_resources(emulator, "AWS::DynamoDB::Table").await[0]
        .0
        .clone();
    let note = NOTE;

    // Conditional where the templates change nothing.
    change_set_knob::set(
        emulator,
        json!({"overrides": [{"logical_id": table, "replacement": "Conditional",
            "add_detail": {"name": "BillingMode", "requires_recreation": "Conditionally"}}]}),
    );
    let run = check(emulator, app, &["--json"], note);
    assert_eq!(run.status.code(), Some(3), "{}", printed(&run));
    let plan = plan_of(&run);
    let verdict = resource(&plan, "AWS::DynamoDB::Table");
    assert_eq!(verdict["replacement"], "may");
    let sources = &verdict["sources"];
    assert_eq!(
        (&sources["change_set"], &sources["template"]),
        (&json!("may"), &json!("no"))
    );
    assert_eq!(sources["disagree"], true);
    assert_eq!(sources["followed"], "change_set");
    assert!(
        sources["why"].as_str().unwrap().contains("loses more"),
        "{sources:#}"
    );
    let human = check(emulator, app, &[], note);
    assert_eq!(human.status.code(), Some(3), "{}", printed(&human));
    let shown = String::from_utf8_lossy(&human.stdout);
    assert!(
        shown.contains("WITNESSES DISAGREE")
            && shown.contains(&table)
            && shown.contains("the plan follows the change set"),
        "{shown}"
    );

    // No replacement and no detail where the templates say the cluster is replaced.
    let cluster = stack_resources(emulator, "AWS::RDS::DBCluster").await[0]
        .0
        .clone();
    change_set_knob::set(
        emulator,
        json!({"overrides": [{"logical_id": cluster, "replacement": "False",
            "drop_details": ["StorageEncrypted"]}]}),
    );
    let run = check(emulator, app, &["--json"], TO_V1);
    assert_eq!(run.status.code(), Some(3), "{}", printed(&run));
    let plan = plan_of(&run);
    let verdict = resource(&plan, "AWS::RDS::DBCluster");
    assert_eq!(verdict["replacement"], "will");
    let sources = &verdict["sources"];
    assert_eq!(
        (&sources["change_set"], &sources["template"]),
        (&json!("no"), &json!("will"))
    );
    assert_eq!(
        (&sources["disagree"], &sources["followed"]),
        (&json!(true), &json!("template"))
    );
    assert!(
        sources["why"]
            .as_str()
            .unwrap()
            .contains("template comparison"),
        "{sources:#}"
    );
    assert_eq!(
        cause(verdict, "StorageEncrypted")["requires_recreation"],
        "Always"
    );
}

async fn a_guarded_resource_in_a_nested_stack_is_found_by_check_and_stops_deploy(
    emulator: &Emulator,
    app: &FixtureApp,
) {
    let renamed = RENAMED;

    let run = check(emulator, app, &["--json"], renamed);
    assert_eq!(run.status.code(), Some(3), "{}", printed(&run));
    let plan = plan_of(&run);
    let bucket = resource(&plan, "AWS::S3::Bucket");
    let nested = bucket["nested_stack"]
        .as_str()
        .expect("found in a nested stack");
    assert!(nested.starts_with("Archive"), "{bucket:#}");
    assert_eq!(bucket["replacement"], "will");
    assert_eq!(bucket["sources"]["change_set"], "will");
    assert_eq!(bucket["guard"], "stateful");
    assert_eq!(bucket["fate"], "retained", "ReplaceAndRetain");
    assert_eq!(cause(bucket, "BucketName")["evaluation"], "Static");
    assert_eq!(plan["migration_needed"], false);

    let deploy = xtask::run_with(
        emulator,
        app.dir(),
        &with_cdk_args("deploy", &[], renamed),
        FAST,
    );
    assert_eq!(deploy.status.code(), Some(3), "{}", printed(&deploy));
    let bucket_id = bucket["logical_id"].as_str().unwrap();
    assert!(
        String::from_utf8_lossy(&deploy.stdout).contains(bucket_id),
        "{}",
        printed(&deploy)
    );
    assert_eq!(
        change_set_count(&cfn(emulator).await).await,
        0,
        "the stopped deploy deleted its change set"
    );
}

/// Every output but the database's host names the same physical resource after an update that
/// replaces only the cluster (and its writer), there and back; the nested stack is updated in
/// place.
#[tokio::test(flavor = "multi_thread")]
async fn updates_keep_the_physical_ids_of_what_they_do_not_replace() {
    let emulator = Emulator::start();
    let app = FixtureApp::new();
    app.bootstrap(&emulator);
    app.deploy_with_context(&emulator, DEPLOYED);
    let client = cfn(&emulator).await;
    let nested = stack_resources(&emulator, "AWS::CloudFormation::Stack").await;
    assert_eq!(nested.len(), 1, "the fixture's nested stack: {nested:?}");
    let kept = |outputs: BTreeMap<String, String>| -> BTreeMap<String, String> {
        outputs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("DbConfigHostname"))
            .collect()
    };
    let v0 = stack_outputs(&client, STACK).await;
    // The CDK CLI's own deploy (a change set, executed) from cached assemblies: what is under
    // test is the emulator's update, which the tool's deploy reaches the same way.
    for (context, name) in [(&["release=v1", "archive=plain"], "v1"), (DEPLOYED, "v0")] {
        app.deploy_with_context(&emulator, context);
        let now = stack_outputs(&client, STACK).await;
        assert_eq!(
            kept(now.clone()),
            kept(v0.clone()),
            "after the deploy to {name}"
        );
        assert_eq!(
            stack_resources(&emulator, "AWS::CloudFormation::Stack").await,
            nested,
            "the nested stack after the deploy to {name}"
        );
        let host = |o: &BTreeMap<String, String>| {
            o.iter()
                .find(|(k, _)| k.starts_with("DbConfigHostname"))
                .map(|(_, v)| v.clone())
        };
        assert_ne!(
            host(&now),
            host(&v0),
            "the cluster was replaced on the way to {name}"
        );
    }
}
