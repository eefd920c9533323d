//! `cargo xtask migrate` against the emulator: the scan, one task per bot with knowledge with the
//! exact command contract, tracking to the bot's own verdict, the report, resume after SIGKILL, the
//! state directory's files private from their creation, and clear errors for outputs that are
//! missing or ambiguous.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::Value;
use tests::{
    Emulator, FixtureApp,
    deployed::{FAST, deployed_with_bots},
    output,
    scratch::Scratch,
    seed::{SeedPlan, SeededBot},
    task_runner,
    xtask::{self, printed},
};

fn key(bot: &SeededBot) -> String {
    format!("{}|{}", bot.pk, bot.sk)
}

fn read_report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the report file"))
        .expect("report JSON")
}

fn report_path(app: &FixtureApp) -> PathBuf {
    app.dir().join("report.json")
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_launches_one_task_per_bot_with_knowledge_and_reports_success() {
    let plan = SeedPlan {
        with_knowledge: 200,
        without_knowledge: 100,
        aliases: 12,
        malformed: 2,
        conversations: 40,
    };
    let (env, bots) = deployed_with_bots(plan).await;
    task_runner::configure(&env.emulator, 0.3, 0.0, 1);
    let report = report_path(&env.app);

    let run = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--yes", "--report", report.to_str().unwrap()],
        FAST,
    );
    assert_eq!(run.status.code(), Some(0), "{}", printed(&run));

    let started = task_runner::started_per_bot(&env.emulator);
    let expected: BTreeSet<String> = bots.iter().map(key).collect();
    assert_eq!(
        started.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "a task for every bot with knowledge, none else"
    );
    assert!(
        started.values().all(|tasks| tasks.len() == 1),
        "exactly one task per bot"
    );

    // The command contract of Bedrock Chat's embedding container, on every task.
    let ecs = aws_sdk_ecs::Client::new(&env.config);
    let cluster = output(&env.outputs, "EmbeddingClusterName");
    let mut arns = Vec::new();
    let mut pages = ecs
        .list_tasks()
        .cluster(cluster)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        arns.extend(page.expect("list tasks").task_arns().iter().cloned());
    }
    assert_eq!(arns.len(), bots.len());
    let by_keys: BTreeSet<String> = bots
        .iter()
        .map(|b| format!(r#"{{"PK":{{"S":"{}"}},"SK":{{"S":"{}"}}}}"#, b.pk, b.sk))
        .collect();
    for batch in arns.chunks(100) {
        let described = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(batch.to_vec()))
            .send()
            .await
            .unwrap();
        for task in described.tasks() {
            assert_eq!(
                task.launch_type(),
                Some(&aws_sdk_ecs::types::LaunchType::Fargate)
            );
            assert!(
                task.task_definition_arn()
                    .unwrap()
                    .contains(output(&env.outputs, "EmbeddingTaskDefinitionName"))
            );
            let overrides = task.overrides().unwrap().container_overrides();
            assert_eq!(overrides.len(), 1);
            assert_eq!(overrides[0].name(), Some("Container"));
            let command = overrides[0].command();
            assert_eq!(&command[..2], ["-u", "embedding/main.py"]);
            assert!(by_keys.contains(&command[2]), "keys JSON {:?}", command[2]);
        }
    }

    let report = read_report(&report);
    let counts = &report["counts"];
    assert_eq!(counts["to_embed"], 200);
    assert_eq!(counts["skipped"], 100);
    assert_eq!(counts["malformed"], 2);
    assert_eq!(counts["succeeded"], 200);
    assert_eq!(counts["failed"], 0);
    assert_eq!(counts["launch_failed"], 0);
    let malformed: Vec<&Value> = report["bots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["outcome"] == "malformed")
        .collect();
    assert_eq!(
        malformed.len(),
        2,
        "each malformed item is reported with its keys"
    );
    assert!(
        malformed
            .iter()
            .all(|b| b["reason"].as_str().is_some_and(|r| !r.is_empty()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_embeddings_exit_nonzero_and_the_report_names_each_with_its_reason() {
    let plan = SeedPlan {
        with_knowledge: 100,
        without_knowledge: 10,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(plan).await;
    task_runner::configure(&env.emulator, 0.2, 0.1, 7);
    let report = report_path(&env.app);

    let run = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--yes", "--report", report.to_str().unwrap()],
        FAST,
    );
    assert_eq!(run.status.code(), Some(1), "{}", printed(&run));

    // The report matches the table bot by bot: a bot is failed exactly when its task wrote FAILED.
    let ddb = aws_sdk_dynamodb::Client::new(&env.config);
    let table = output(&env.outputs, "DatabaseConversationTableName");
    let mut failed_in_table = BTreeSet::new();
    let mut pages = ddb.scan().table_name(table).into_paginator().items().send();
    while let Some(item) = pages.next().await {
        let item = item.unwrap();
        if item
            .get("SyncStatus")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some("FAILED")
        {
            failed_in_table.insert(item["SK"].as_s().unwrap().clone());
        }
    }
    let report = read_report(&report);
    let failed: Vec<&Value> = report["bots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["outcome"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "the failure share produced failures");
    assert_eq!(report["counts"]["failed"], failed.len());
    assert_eq!(report["counts"]["succeeded"], 100 - failed.len());
    let failed_in_report: BTreeSet<String> = failed
        .iter()
        .map(|b| b["sk"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed_in_report, failed_in_table);
    for bot in &failed {
        assert!(
            bot["reason"].as_str().unwrap().contains("emulated failure"),
            "{bot}"
        );
    }
    let printed = printed(&run);
    assert!(
        printed.contains("--retry-failed"),
        "the run says how to retry: {printed}"
    );
}

fn launched_lines(state_dir: &Path) -> usize {
    tests::deployed::files_in_state_dir(state_dir, "journal-")
        .iter()
        .map(|journal| {
            std::fs::read_to_string(journal)
                .unwrap_or_default()
                .matches(r#""type":"launched""#)
                .count()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_sigkill_launches_every_bot_exactly_once() {
    let plan = SeedPlan {
        with_knowledge: 120,
        without_knowledge: 20,
        ..SeedPlan::default()
    };
    let (env, bots) = deployed_with_bots(plan).await;
    task_runner::configure(&env.emulator, 0.5, 0.0, 3);

    // 10 launches a second: the kill lands mid-launch.
    let mut first = xtask::spawn(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--yes", "--rate", "10"],
        FAST,
    );
    let state = env.app.dir().join(".xtask");
    let deadline = Instant::now() + Duration::from_secs(120);
    while launched_lines(&state) < bots.len() / 2 {
        assert!(
            Instant::now() < deadline,
            "the first run never reached half of its launches"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    let before = task_runner::started_per_bot(&env.emulator).len();
    assert!(
        before < bots.len(),
        "killed before the end ({before} of {})",
        bots.len()
    );

    let report = report_path(&env.app);
    let resumed = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &[
            "migrate",
            "--yes",
            "--resume",
            "--report",
            report.to_str().unwrap(),
        ],
        FAST,
    );
    assert_eq!(resumed.status.code(), Some(0), "{}", printed(&resumed));

    let started = task_runner::started_per_bot(&env.emulator);
    let expected: BTreeSet<String> = bots.iter().map(key).collect();
    assert_eq!(started.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let twice: Vec<_> = started
        .iter()
        .filter(|(_, tasks)| tasks.len() != 1)
        .collect();
    assert!(twice.is_empty(), "bots launched more than once: {twice:?}");
    assert_eq!(read_report(&report)["counts"]["succeeded"], 120);
}

/// `xtask ARGS` under umask 000, so that any file the tool creates with the default mode is
/// created open to everyone and shows (a umask of 077 would hide the fault).
fn run_with_open_umask(env: &tests::deployed::Deployed, args: &[&str]) -> std::process::Output {
    env.emulator
        .command("sh")
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(xtask::binary())
        .args(args)
        .envs(FAST.iter().copied())
        .current_dir(env.app.dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run xtask under sh")
}

/// Every file and directory under `dir` that group or others may reach, with its mode.
#[cfg(unix)]
fn reachable_by_others(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            found.push(format!("{} {mode:o}", path.display()));
        }
        if path.is_dir() {
            found.extend(reachable_by_others(&path));
        }
    }
    found
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn every_file_in_the_state_directory_is_private_from_birth_and_no_run_narrows_its_own() {
    let plan = SeedPlan {
        with_knowledge: 4,
        without_knowledge: 1,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(plan).await;
    task_runner::configure(&env.emulator, 0.1, 0.0, 5);
    // Two runs that take the lock: the second narrows (and says so) whatever the first left open.
    let first = run_with_open_umask(&env, &["migrate", "--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", printed(&first));
    let second = run_with_open_umask(&env, &["migrate", "--yes"]);
    assert_eq!(second.status.code(), Some(0), "{}", printed(&second));
    assert!(
        !String::from_utf8_lossy(&second.stderr).contains("open to group or others"),
        "the second run found a file of the first run's open and narrowed it:\n{}",
        printed(&second)
    );

    let state = env.app.dir().join(".xtask");
    let reports = tests::deployed::state_files(env.app.dir(), "report-");
    let journals = tests::deployed::state_files(env.app.dir(), "journal-");
    assert_eq!(
        (reports.len(), journals.len()),
        (2, 2),
        "{reports:?} {journals:?}"
    );
    let open = reachable_by_others(&state);
    assert!(
        open.is_empty(),
        "created under umask 000, these are open to group or others:\n{}",
        open.join("\n")
    );
}

/// A stack whose outputs are given literally (no resources that matter).
async fn stack_with_outputs(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    outputs: &[(&str, &str)],
) {
    let outputs: serde_json::Map<String, Value> = outputs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!({ "Value": v })))
        .collect();
    let template = serde_json::json!({
        "Resources": { "Handle": { "Type": "AWS::CloudFormation::WaitConditionHandle" } },
        "Outputs": outputs,
    });
    cfn.create_stack()
        .stack_name(name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("create stack");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_ambiguous_outputs_are_clear_errors_and_launch_nothing() {
    let emulator = Emulator::start();
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.sdk_config().await);
    let common = [
        ("DatabaseConversationTableNameDDF11821", "table"),
        ("EmbeddingTaskDefinitionName9C442847", "family"),
        ("EmbeddingTaskSecurityGroupId223DB337", "sg-1"),
        ("PrivateSubnetId0", "subnet-0"),
        ("PrivateSubnetId1", "subnet-1"),
    ];
    stack_with_outputs(&cfn, "NoCluster", &common).await;
    let mut two = common.to_vec();
    two.extend([
        ("EmbeddingClusterNameA6A626C4", "cluster-a"),
        ("EmbeddingClusterNameFFFF0000", "cluster-b"),
    ]);
    stack_with_outputs(&cfn, "TwoClusters", &two).await;
    let dir = Scratch::temp("migrate-");

    let missing = xtask::run(
        &emulator,
        dir.path(),
        &["migrate", "--stack", "NoCluster", "--yes"],
    );
    assert_eq!(missing.status.code(), Some(1), "{}", printed(&missing));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("EmbeddingClusterName") && said.contains("NoCluster"),
        "{said}"
    );

    let ambiguous = xtask::run(
        &emulator,
        dir.path(),
        &["migrate", "--stack", "TwoClusters", "--yes"],
    );
    assert_eq!(ambiguous.status.code(), Some(1), "{}", printed(&ambiguous));
    let said = String::from_utf8_lossy(&ambiguous.stderr);
    assert!(
        said.contains("EmbeddingClusterNameA6A626C4")
            && said.contains("EmbeddingClusterNameFFFF0000"),
        "lists both candidates: {said}"
    );

    let outputs = xtask::run(
        &emulator,
        dir.path(),
        &["outputs", "--stack", "TwoClusters"],
    );
    assert_eq!(outputs.status.code(), Some(1), "{}", printed(&outputs));

    assert!(
        task_runner::started_per_bot(&emulator).is_empty(),
        "nothing launched"
    );
    assert!(
        !dir.path().join(".xtask").join("NoCluster").exists()
            || launched_lines(&dir.path().join(".xtask")) == 0
    );
}
