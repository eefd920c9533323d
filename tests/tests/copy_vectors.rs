//! `cargo xtask copy-vectors` against the emulator with the real CDK CLI: v0 -> v1 with both
//! safeguards, a temporary cluster restored from the snapshot, then one copy task whose
//! connections travel only as secret references, cleaned up afterwards; a mismatch; a failed
//! copy; the refusals that launch nothing; and Ctrl-C, once (the run waits for the task and
//! cleans up) and twice (the task is left running, and a second copy is refused meanwhile).
//! One deploy serves every case: it is most of the test's time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use nix::sys::signal::Signal;
use serde_json::Value;
use tests::copy_support::{
    Copying, copy_tasks, deployed_and_restored, leftovers, set_copy_failure, set_copy_result,
    sync_states,
};
use tests::deployed::{Deployed, FAST};
use tests::output;
use tests::restore_support::{all_clusters, cluster_snapshot, restore_env};
use tests::seed::SeededBot;
use tests::xtask::{self, printed};

const ROLE: &str = "arn:aws:iam::123456789012:role/copy";

fn copy(env: &Deployed, flags: &[&str]) -> std::process::Output {
    let mut args = vec!["copy-vectors"];
    args.extend_from_slice(flags);
    xtask::run_with(&env.emulator, env.app.dir(), &args, FAST)
}

/// A run's output and the emulator's last log lines (a patch's traceback ends up there).
fn shown(env: &Deployed, output: &std::process::Output) -> String {
    format!(
        "{}\n--- emulator log (tail)\n{}",
        printed(output),
        tests::fixture::tail(&env.emulator.log(), 40)
    )
}

fn bot_id(bot: &SeededBot) -> &str {
    bot.sk.rsplit("#BOT#").next().unwrap()
}

async fn assert_nothing_launched(env: &Deployed, what: &str) {
    assert!(
        copy_tasks(&env.emulator).is_empty(),
        "{what}: a copy task ran"
    );
    assert_eq!(
        leftovers(&env.config).await,
        (vec![], vec![]),
        "{what}: a task definition or secret was made"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_vectors_runs_one_task_with_secret_references_and_cleans_up() {
    let c = deployed_and_restored().await;
    let sync_before = sync_states(&c.env.config, c.table()).await;
    refusals_launch_nothing(&c).await;
    the_copy_uses_secret_references_and_cleans_up(&c).await;
    assert_eq!(
        sync_states(&c.env.config, c.table()).await,
        sync_before,
        "SyncStatus unchanged"
    );
    mismatch_and_failure_exit_1(&c).await;
    a_signal_once_waits_and_twice_leaves_the_task(&c).await;
    an_unreadable_secret_stops_the_task_before_it_starts(&c).await;
    cleanup_removes_only_the_temporary_cluster(&c).await;
}

/// The path's last step: the temporary cluster goes, the stack's own cluster and the snapshot stay.
async fn cleanup_removes_only_the_temporary_cluster(c: &Copying) {
    let before = all_clusters(&c.env).await;
    let ids = |clusters: &[aws_sdk_rds::types::DbCluster]| -> Vec<String> {
        clusters
            .iter()
            .filter_map(|c| c.db_cluster_identifier().map(str::to_owned))
            .collect()
    };
    assert!(ids(&before).contains(&c.temporary), "{:?}", ids(&before));
    let run = xtask::run_with(
        &c.env.emulator,
        c.env.app.dir(),
        &["restore", "--cleanup", "--yes"],
        &restore_env(),
    );
    assert_eq!(run.status.code(), Some(0), "{}", shown(&c.env, &run));
    c.assert_no_password("restore --cleanup", &printed(&run));
    let after = ids(&all_clusters(&c.env).await);
    assert_eq!(
        after,
        vec![c.replaced.new_cluster.clone()],
        "only the stack's cluster is left"
    );
    assert!(
        cluster_snapshot(&c.env, &c.replaced.snapshot)
            .await
            .is_some(),
        "the recorded snapshot is still there"
    );
}

async fn refusals_launch_nothing(c: &Copying) {
    let env = &c.env;
    // No terminal and no --yes: refused, nothing made.
    let refused = copy(env, &["--execution-role", ROLE]);
    assert_eq!(refused.status.code(), Some(2), "{}", printed(&refused));
    assert!(printed(&refused).contains("--yes"), "{}", printed(&refused));
    assert_nothing_launched(env, "without --yes").await;

    // A cluster the restore did not make (the stack's own) is never a source.
    let (_, stack_cluster) = env.resources_of_type("AWS::RDS::DBCluster").await[0].clone();
    let untagged = copy(
        env,
        &["--yes", "--execution-role", ROLE, "--from", &stack_cluster],
    );
    assert_eq!(untagged.status.code(), Some(1), "{}", printed(&untagged));
    assert!(
        printed(&untagged).contains(&format!("refusing to copy from {stack_cluster}")),
        "{}",
        printed(&untagged)
    );
    assert_nothing_launched(env, "--from an untagged cluster").await;

    // The fixture's task definition has no execution role: the flag is named.
    let no_role = copy(env, &["--yes"]);
    assert_eq!(no_role.status.code(), Some(1), "{}", printed(&no_role));
    assert!(
        printed(&no_role).contains("pass --execution-role"),
        "{}",
        printed(&no_role)
    );
    assert_nothing_launched(env, "without an execution role").await;
}

async fn the_copy_uses_secret_references_and_cleans_up(c: &Copying) {
    let env = &c.env;
    // The copy: one task, both connections by reference, the counts printed, all cleaned up.
    let counts: Vec<(&str, u64, u64)> = c
        .bots
        .iter()
        .enumerate()
        .map(|(i, b)| (bot_id(b), 10 + i as u64, 10 + i as u64))
        .collect();
    set_copy_result(&env.emulator, &counts, None, 0.2);
    let run = copy(env, &["--yes", "--execution-role", ROLE]);
    let all = printed(&run);
    c.assert_no_password("the copy's output", &all);
    assert_eq!(run.status.code(), Some(0), "{}", shown(env, &run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    for (bot, source, target) in &counts {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(bot))
            .unwrap_or_else(|| panic!("no row for {bot}: {all}"));
        let numbers: Vec<&str> = row.split_whitespace().skip(1).take(2).collect();
        assert_eq!(numbers, [source.to_string(), target.to_string()], "{row}");
    }
    assert!(stdout.contains("mismatched 0"), "{all}");
    assert!(
        all.contains(&c.temporary),
        "the source cluster is shown: {all}"
    );

    let tasks = copy_tasks(&env.emulator);
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    let task = &tasks[0];
    assert_eq!(
        task["cluster"],
        output(&c.outputs, "EmbeddingClusterName"),
        "{task:#}"
    );
    assert_eq!(task["started_by"], "xtask-copy-vectors");
    let vpc = &task["network_configuration"]["awsvpcConfiguration"];
    assert_eq!(
        vpc["subnets"],
        serde_json::json!([
            output(&c.outputs, "PrivateSubnetId0"),
            output(&c.outputs, "PrivateSubnetId1")
        ])
    );
    assert_eq!(
        vpc["securityGroups"],
        serde_json::json!([output(&c.outputs, "EmbeddingTaskSecurityGroupId")])
    );
    assert_eq!(task["task_definition"]["execution_role_arn"], ROLE);
    let container = &task["task_definition"]["container_definitions"][0];
    let references: BTreeMap<&str, &str> = container["secrets"]
        .as_array()
        .expect("the container's secrets")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["valueFrom"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(references.len(), 8, "{references:#?}");
    assert_eq!(
        references["TARGET_PASSWORD"],
        format!("{}:password::", c.stack_secret)
    );
    let source_secret = references["SOURCE_PASSWORD"]
        .strip_suffix(":password::")
        .expect("a JSON-key reference");
    assert!(
        source_secret.contains(":secret:xtask/BedrockChatStack/copy-source-"),
        "{source_secret}"
    );
    assert_eq!(
        task["resolved_secrets"].as_array().unwrap().len(),
        8,
        "the emulated ECS resolved every reference: {task:#}"
    );
    // Overrides, environment, command and every other field of the task and its definition.
    assert!(task["overrides"].as_object().is_none_or(|o| o.is_empty()));
    c.assert_no_password("the copy task and its task definition", &task.to_string());

    // The temporaries are gone; DynamoDB was not touched.
    let definition = aws_sdk_ecs::Client::new(&env.config)
        .describe_task_definition()
        .task_definition(task["task_definition_arn"].as_str().unwrap())
        .send()
        .await
        .expect("describe the copy task definition");
    assert_eq!(
        definition
            .task_definition()
            .unwrap()
            .status()
            .map(|s| s.as_str()),
        Some("INACTIVE")
    );
    assert!(
        env.secrets()
            .describe_secret()
            .secret_id(source_secret)
            .send()
            .await
            .is_err(),
        "the temporary secret was deleted"
    );
    assert_eq!(leftovers(&env.config).await, (vec![], vec![]));
}

async fn mismatch_and_failure_exit_1(c: &Copying) {
    let env = &c.env;
    // A bot whose target count differs: exit 1, the bot named.
    let mismatched = bot_id(&c.bots[1]);
    set_copy_result(
        &env.emulator,
        &[(bot_id(&c.bots[0]), 5, 5), (mismatched, 7, 4)],
        None,
        0.2,
    );
    let run = copy(env, &["--yes", "--execution-role", ROLE]);
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(1), "{}", shown(env, &run));
    assert!(
        all.contains(&format!(
            "have a different row count in the new cluster: {mismatched}"
        )),
        "{all}"
    );
    assert_eq!(copy_tasks(&env.emulator).len(), 2);
    assert_eq!(leftovers(&env.config).await, (vec![], vec![]));
    c.assert_no_password("the mismatch run's output", &all);

    // A copy that fails (psql could not connect): exit 1 with the exit code and the log's end.
    set_copy_failure(
        &env.emulator,
        2,
        &["psql: error: connection to server at \"10.0.3.7\", port 5432 failed: timeout expired"],
    );
    let run = copy(env, &["--yes", "--execution-role", ROLE]);
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(1), "{}", shown(env, &run));
    assert!(
        all.contains("copy failed: the copy container exited 2; task stopped: Essential container in task exited"),
        "{all}"
    );
    assert!(all.contains("last lines of the task's log"), "{all}");
    assert!(all.contains("psql: error: connection to server"), "{all}");
    assert_eq!(leftovers(&env.config).await, (vec![], vec![]));
}

/// Starts a copy, sends `signal` once it has launched its task (and again after the first
/// message when `twice`); returns the exit code and everything printed.
fn interrupted_copy(env: &Deployed, signal: Signal, twice: bool) -> (Option<i32>, String) {
    let mut child = xtask::spawn(
        &env.emulator,
        env.app.dir(),
        &["copy-vectors", "--yes", "--execution-role", ROLE],
        FAST,
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut wait_for = |text: &str, seen: &mut String| loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the copy ended before printing {text:?}: {seen}");
        }
        seen.push_str(&line);
        if line.contains(text) {
            return;
        }
    };
    let send =
        || nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let name = match signal {
        Signal::SIGINT => "Ctrl-C",
        other => other.as_str(),
    };
    wait_for("launched the copy task", &mut seen);
    send();
    wait_for(&format!("{name} again leaves it running"), &mut seen);
    if twice {
        send();
    }
    stderr.read_to_string(&mut seen).unwrap();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    (child.wait().unwrap().code(), seen)
}

async fn a_signal_once_waits_and_twice_leaves_the_task(c: &Copying) {
    let env = &c.env;
    // Once: the task runs to its end, then the temporaries go; the copy's own result decides.
    // SIGTERM (a cancelled CI job) is the same interrupt as Ctrl-C.
    set_copy_result(&env.emulator, &[(bot_id(&c.bots[0]), 2, 2)], None, 1.5);
    let (code, seen) = interrupted_copy(env, Signal::SIGTERM, false);
    assert_eq!(code, Some(0), "{seen}");
    assert!(seen.contains("waiting for it to stop"), "{seen}");
    assert!(seen.contains("removed the temporary secret"), "{seen}");
    let left = leftovers(&env.config).await;
    eprintln!(
        "files left after SIGTERM to copy-vectors: task definitions {:?}, secrets {:?}",
        left.0, left.1
    );
    assert_eq!(left, (vec![], vec![]), "{seen}");

    // Twice: the task is left running with what it needs, and said where it is.
    let before = copy_tasks(&env.emulator).len();
    set_copy_result(&env.emulator, &[(bot_id(&c.bots[0]), 2, 2)], None, 600.0);
    let (code, seen) = interrupted_copy(env, Signal::SIGINT, true);
    assert_eq!(code, Some(130), "{seen}");
    let cluster = output(&c.outputs, "EmbeddingClusterName");
    assert!(
        seen.contains(&format!(
            "aws ecs list-tasks --cluster {cluster} --started-by xtask-copy-vectors"
        )),
        "{seen}"
    );
    let (definitions, secrets) = leftovers(&env.config).await;
    assert_eq!((definitions.len(), secrets.len()), (1, 1), "{seen}");
    assert!(seen.contains("delete-secret"), "{seen}");
    c.assert_no_password("the interrupted copy's output", &seen);

    // While it runs, a second copy is refused before anything is made.
    let second = copy(env, &["--yes", "--execution-role", ROLE]);
    assert_eq!(second.status.code(), Some(1), "{}", printed(&second));
    assert!(
        printed(&second).contains("a copy task is already running"),
        "{}",
        printed(&second)
    );
    assert_eq!(copy_tasks(&env.emulator).len(), before + 1);
    assert_eq!(leftovers(&env.config).await, (definitions, secrets));
}

/// ECS reads the secrets before the container starts: a reference it cannot resolve stops the
/// task with no exit code and no log, and the run says why.
async fn an_unreadable_secret_stops_the_task_before_it_starts(c: &Copying) {
    let env = &c.env;
    let ecs = aws_sdk_ecs::Client::new(&env.config);
    let cluster = output(&c.outputs, "EmbeddingClusterName");
    // The task left running above would make the copy refuse: stop it.
    let listed = ecs
        .list_tasks()
        .cluster(cluster)
        .started_by("xtask-copy-vectors")
        .send()
        .await
        .expect("list the copy tasks");
    for arn in listed.task_arns() {
        ecs.stop_task()
            .cluster(cluster)
            .task(arn)
            .reason("stopped by the test")
            .send()
            .await
            .expect("stop the abandoned copy task");
    }
    let before = leftovers(&env.config).await;
    // The stack's secret without its host: TARGET_HOST cannot be resolved.
    let secrets = env.secrets();
    let value = secrets
        .get_secret_value()
        .secret_id(&c.stack_secret)
        .send()
        .await
        .expect("the stack's secret");
    let mut doc: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("host");
    secrets
        .put_secret_value()
        .secret_id(&c.stack_secret)
        .secret_string(doc.to_string())
        .send()
        .await
        .expect("break the stack's secret");
    set_copy_result(&env.emulator, &[(bot_id(&c.bots[0]), 2, 2)], None, 0.2);
    let run = copy(env, &["--yes", "--execution-role", ROLE]);
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(1), "{}", shown(env, &run));
    assert!(
        all.contains("the copy container never ran to an exit code; task stopped: ResourceInitializationError"),
        "{all}"
    );
    assert!(all.contains("the task wrote no log"), "{all}");
    c.assert_no_password("the failed start's output", &all);
    assert_eq!(
        leftovers(&env.config).await,
        before,
        "this run's temporaries are gone"
    );
}
