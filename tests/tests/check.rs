//! `cargo xtask check` against the emulator with the real CDK CLI: the pre-deploy replacement
//! check finds the v0 -> v1 cluster replacement, exits 3, and leaves nothing behind.

use tests::{
    Emulator, FixtureApp, Release, STACK,
    deployed::{V1_CDK_ARGS as V1, with_cdk_args},
    plan_json::{plan_of, resource},
    stack::change_set_count,
    xtask::{self, printed},
};

const V0: &[&str] = &["-c", "release=v0", "--no-previous-parameters"];

fn check_args<'a>(flags: &[&'a str], cdk: &[&'a str]) -> Vec<&'a str> {
    with_cdk_args("check", flags, cdk)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_finds_the_cluster_replacement_exits_3_and_leaves_no_change_set() {
    let emulator = Emulator::start();
    let app = FixtureApp::deployed(&emulator, Release::V0);
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk_config().await);
    let before = cfn
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();

    let json = xtask::run(&emulator, app.dir(), &check_args(&["--json"], V1));
    assert_eq!(json.status.code(), Some(3), "{}", printed(&json));
    let plan = plan_of(&json);
    assert_eq!(plan["gated"], true);
    assert_eq!(plan["migration_needed"], true);
    let cluster = resource(&plan, "AWS::RDS::DBCluster");
    assert!(
        cluster["logical_id"]
            .as_str()
            .unwrap()
            .starts_with("VectorStoreCluster"),
        "{cluster:#}"
    );
    assert_eq!(cluster["replacement"], "will");
    assert_eq!(cluster["fate"], "snapshotted", "RemovalPolicy SNAPSHOT");
    let causes: Vec<&str> = cluster["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["property"].as_str())
        .collect();
    assert!(causes.contains(&"StorageEncrypted"), "causes {causes:?}");
    let writer = resource(&plan, "AWS::RDS::DBInstance");
    assert_eq!(
        writer["caused_by"], cluster["logical_id"],
        "the writer is a consequence of the cluster"
    );
    assert_eq!(writer["data_fate"], "follows_cluster", "{writer:#}");
    assert_eq!(cluster["data_fate"], "replaced");
    assert_eq!(
        change_set_count(&cfn).await,
        0,
        "check deletes the change set it prepared"
    );

    let human = xtask::run(&emulator, app.dir(), &check_args(&[], V1));
    assert_eq!(human.status.code(), Some(3), "{}", printed(&human));
    let table = String::from_utf8_lossy(&human.stdout);
    assert!(
        table.contains("VectorStoreCluster") && table.contains("StorageEncrypted"),
        "{table}"
    );
    assert!(
        table.contains("all vector items in the Aurora cluster stay with the old one"),
        "{table}"
    );
    // The writer has the real app's logical id; it is listed, as a follower, never as data.
    assert!(
        table.contains("VectorStoreClusterwriter113530F5") && table.contains("follows cluster"),
        "{table}"
    );
    assert!(
        !table
            .lines()
            .any(|line| line.contains("DATA LOSS") && line.contains("VectorStoreClusterwriter")),
        "an Aurora member holds no data: {table}"
    );

    let same = xtask::run(&emulator, app.dir(), &check_args(&[], V0));
    assert_eq!(same.status.code(), Some(0), "{}", printed(&same));
    assert_eq!(change_set_count(&cfn).await, 0, "nothing left behind");

    let after = cfn
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    assert_eq!(
        before.stacks()[0].outputs(),
        after.stacks()[0].outputs(),
        "check executed nothing"
    );
}

/// The change set of the live check, saved as `aws cloudformation describe-change-set` prints it
/// (botocore's JSON, from the emulator's venv), and the two templates, classified offline.
#[tokio::test(flavor = "multi_thread")]
async fn describe_file_and_template_diff_agree_with_the_live_check() {
    let emulator = Emulator::start();
    let app = FixtureApp::deployed(&emulator, Release::V0);
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk_config().await);

    let live = xtask::run(
        &emulator,
        app.dir(),
        &check_args(&["--json", "--keep-change-set"], V1),
    );
    assert_eq!(live.status.code(), Some(3), "{}", printed(&live));
    let live = plan_of(&live);
    let change_set = live["change_set_id"].as_str().expect("kept change set id");
    assert_eq!(
        change_set_count(&cfn).await,
        1,
        "--keep-change-set keeps it"
    );

    let describe_file = app.dir().join("describe.json");
    let python = tests::project_root().join("target/emulator-venv/bin/python");
    let dump = emulator
        .command(python)
        .args([
            "-c",
            "import boto3, json, sys\n\
             r = boto3.client('cloudformation').describe_change_set(ChangeSetName=sys.argv[1])\n\
             r.pop('ResponseMetadata')\n\
             open(sys.argv[2], 'w').write(json.dumps(r, default=str))",
            change_set,
        ])
        .arg(&describe_file)
        .output()
        .unwrap();
    assert!(dump.status.success(), "{}", printed(&dump));

    let offline = xtask::run(
        &emulator,
        app.dir(),
        &[
            "check",
            "--json",
            "--describe-file",
            describe_file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        offline.status.code(),
        Some(3),
        "same gate: {}",
        printed(&offline)
    );
    let offline = plan_of(&offline);

    let deployed = cfn.get_template().stack_name(STACK).send().await.unwrap();
    let old = app.dir().join("deployed.template.json");
    std::fs::write(&old, deployed.template_body().unwrap()).unwrap();
    let new = app.dir().join("cdk.out/BedrockChatStack.template.json");
    let diff = xtask::run(
        &emulator,
        app.dir(),
        &[
            "check",
            "--json",
            "--template-diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ],
    );
    assert_eq!(diff.status.code(), Some(3), "same gate: {}", printed(&diff));
    let diff = plan_of(&diff);

    // Each offline path gives exactly the opinion the live plan recorded from the same source.
    for verdict in live["resources"].as_array().unwrap() {
        let id = &verdict["logical_id"];
        let find = |plan: &serde_json::Value| {
            plan["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| &r["logical_id"] == id)
                .cloned()
        };
        if let Some(from_change_set) = verdict["sources"]["change_set"].as_str() {
            let offline =
                find(&offline).unwrap_or_else(|| panic!("{id} missing from --describe-file"));
            assert_eq!(offline["replacement"], from_change_set, "{id}");
            assert_eq!(offline["action"], verdict["action"], "{id}");
            assert_eq!(offline["guard"], verdict["guard"], "{id}");
        }
        if let Some(from_template) = verdict["sources"]["template"].as_str() {
            match find(&diff) {
                Some(diff) => {
                    assert_eq!(diff["replacement"], from_template, "{id}");
                    assert_eq!(diff["guard"], verdict["guard"], "{id}");
                }
                // The template comparison lists what changed; an unchanged resource is "no".
                None => assert_eq!(from_template, "no", "{id} missing from --template-diff"),
            }
        }
    }
    let cluster = resource(&diff, "AWS::RDS::DBCluster");
    assert_eq!(cluster["replacement"], "will");
    assert_eq!(cluster["causes"][0]["property"], "StorageEncrypted");
    assert_eq!(
        resource(&live, "AWS::RDS::DBCluster")["replacement"],
        "will"
    );
}

/// A stack deployed from YAML: the template comparison cannot read the deployed template, so the
/// review has one opinion, the change set's. It says so on stderr and in the JSON (and under the
/// table), and still gates on what the change set says.
#[tokio::test(flavor = "multi_thread")]
async fn a_review_without_its_template_comparison_says_so_on_stderr_and_in_the_json() {
    let emulator = Emulator::start();
    let app = FixtureApp::deployed(&emulator, Release::V0);
    // No retries: UpdateStack is not idempotent, and a retried one answers "No updates are to be
    // performed", hiding what the first attempt said.
    let config = emulator
        .sdk_config()
        .await
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let deployed = cfn.get_template().stack_name(STACK).send().await.unwrap();
    // A comment line makes the template YAML to CloudFormation and no longer JSON; an added
    // output gives the update something to do (a template that changes nothing else is "No
    // updates are to be performed").
    let mut template: serde_json::Value =
        serde_json::from_str(deployed.template_body().unwrap()).unwrap();
    template["Outputs"]["DeployedFromYaml"] = serde_json::json!({"Value": "yes"});
    let yaml = format!("# deployed from YAML\n{template}");
    // No parameters: the template's defaults (the CDK's BootstrapVersion names its SSM
    // parameter), as CloudFormation resolves them.
    cfn.update_stack()
        .stack_name(STACK)
        .template_body(yaml)
        .send()
        .await
        .expect("update the stack with its template as YAML");
    let status = loop {
        let described = cfn
            .describe_stacks()
            .stack_name(STACK)
            .send()
            .await
            .unwrap();
        let status = described.stacks()[0]
            .stack_status()
            .unwrap()
            .as_str()
            .to_owned();
        if !status.ends_with("_IN_PROGRESS") {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(status, "UPDATE_COMPLETE");

    let json = xtask::run(&emulator, app.dir(), &check_args(&["--json"], V1));
    assert_eq!(json.status.code(), Some(3), "{}", printed(&json));
    let plan = plan_of(&json);
    assert_eq!(plan["sources"]["change_set"], true, "{plan:#}");
    assert_eq!(plan["sources"]["template"], false, "{plan:#}");
    let degraded = plan["sources"]["degraded"]
        .as_str()
        .expect("why one opinion is missing");
    assert!(
        degraded.contains("template comparison skipped"),
        "{degraded}"
    );
    let stderr = String::from_utf8_lossy(&json.stderr);
    assert!(
        // The plan's note and the log's warning (which names the YAML).
        stderr.contains("degraded review:") && stderr.contains("(YAML?)"),
        "{stderr}"
    );

    let table = xtask::run(&emulator, app.dir(), &check_args(&[], V1));
    assert_eq!(table.status.code(), Some(3), "{}", printed(&table));
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(
        stdout.contains("degraded review: template comparison skipped"),
        "{stdout}"
    );
    // --quiet hides the log's warning; the plan still says it.
    let quiet = xtask::run(
        &emulator,
        app.dir(),
        &check_args(&["--quiet", "--json"], V1),
    );
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(!stderr.contains("(YAML?)"), "{stderr}");
    assert!(stderr.contains("degraded review:"), "{stderr}");
}
