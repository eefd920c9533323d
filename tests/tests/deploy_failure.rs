//! A deploy whose update fails and rolls back: exit 1 with the failing resources and their
//! reasons, through either executor, and no migration on a rolled-back stack. And the CDK CLI
//! killed while it executes: exit 1, where the stack stands and how to finish, no migration.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;

use serde_json::{Value, json};
use tests::deployed::{Deployed, FAST, deployed_with_bots, to_v1};
use tests::seed::SeedPlan;
use tests::task_runner::{self, fail_next_update};
use tests::xtask::{self, printed};
use tests::{Emulator, STACK};

const REASON: &str = "KMS key is not accessible (emulated)";

async fn cluster(env: &Deployed) -> (String, String) {
    let mut clusters = env.resources_of_type("AWS::RDS::DBCluster").await;
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    clusters.remove(0)
}

async fn rolled_back_deploy(executor: &str) {
    let seed = SeedPlan {
        with_knowledge: 4,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(seed).await;
    let (logical, physical) = cluster(&env).await;
    fail_next_update(&env.emulator, &logical, REASON);

    let run = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &to_v1(
            "deploy",
            &[
                "--execute-with",
                executor,
                "--on-replace",
                "snapshot",
                "--yes",
            ],
        ),
        FAST,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{}", printed(&run));
    assert!(stderr.contains("UPDATE_ROLLBACK_COMPLETE"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{logical} AWS::RDS::DBCluster UPDATE_FAILED: {REASON}"
        )),
        "the failing resource and its reason: {stderr}"
    );
    assert!(stderr.contains("no migration was started"), "{stderr}");
    assert!(
        task_runner::started_per_bot(&env.emulator).is_empty(),
        "no task on a rolled-back stack"
    );
    assert_eq!(cluster(&env).await.1, physical, "the old cluster stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_through_the_cdk_cli_exits_1_with_the_failing_resource() {
    rolled_back_deploy("cdk").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_through_the_sdk_exits_1_with_the_failing_resource() {
    rolled_back_deploy("sdk").await;
}

/// The emulator's held update (`tests/emulator/patches/held_update.py`): the stack stays
/// UPDATE_IN_PROGRESS after ExecuteChangeSet until released, as a long AWS update does.
fn held_update(emulator: &Emulator, knobs: Value) -> Value {
    ureq::post(&format!(
        "{}/moto-api/emulator/held-update",
        emulator.endpoint()
    ))
    .send_json(&knobs)
    .expect("the held-update knob")
    .body_mut()
    .read_json()
    .expect("held-update JSON")
}

/// (pid, parent pid, command line) of every process, from /proc.
fn processes() -> Vec<(u32, u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc (Linux)").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so split after the
        // last ')'.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        found.push((
            pid,
            ppid,
            String::from_utf8_lossy(&cmdline).replace('\0', " "),
        ));
    }
    found
}

/// The descendants of `root`, parents before their children.
fn descendants(root: u32) -> Vec<(u32, String)> {
    let all = processes();
    let mut tree = Vec::new();
    let mut parents = BTreeSet::from([root]);
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid, cmdline) in &all {
            if *ppid == parent && parents.insert(*pid) {
                tree.push((*pid, cmdline.clone()));
                frontier.push(*pid);
            }
        }
    }
    tree
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cdk_cli_killed_mid_update_exits_1_with_the_stack_state_and_starts_no_migration() {
    let seed = SeedPlan {
        with_knowledge: 4,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(seed).await;
    held_update(&env.emulator, json!({"hold": true}));
    let mut child = xtask::spawn(
        &env.emulator,
        env.app.dir(),
        &to_v1(
            "deploy",
            &["--execute-with", "cdk", "--on-replace", "snapshot", "--yes"],
        ),
        FAST,
    );
    // Drained all along: a full pipe would stall the deploy (and the CLI, which shares it).
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines_tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = lines_tx.send(line);
        }
        all
    });

    // The CLI has called ExecuteChangeSet and is following the update.
    let state = held_update(&env.emulator, json!({"wait_seconds": 600}));
    assert!(
        state["held"].is_string(),
        "no update was held: {state}\n{}",
        lines.try_iter().collect::<Vec<_>>().join("\n")
    );
    let cli = descendants(child.id());
    assert!(
        cli.iter()
            .any(|(_, cmdline)| cmdline.contains("--method=execute-change-set")),
        "the CDK CLI's execute among xtask's children: {cli:?}"
    );
    // The CLI as a whole: npx (xtask's child) first, so xtask sees its child killed by the
    // signal, then the node processes under it, which would otherwise go on and keep the
    // output pipe open.
    for (pid, _) in &cli {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    // A deploy that went on following an update nobody will finish would never exit: that is a
    // failure, not a hang of the suite.
    let pid = child.id();
    let (exited_tx, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited_tx.send(child.wait());
    });
    let status = match exited.recv_timeout(std::time::Duration::from_secs(300)) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!(
                "xtask did not exit within 300 s of its CDK CLI's death:\n{}",
                reader.join().unwrap()
            );
        }
    };
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    for told in [
        "the CDK CLI died (killed by a signal)",
        &format!("stack {STACK} is UPDATE_IN_PROGRESS"),
        "CloudFormation goes on with the update",
        &format!("aws cloudformation describe-stack-events --stack-name {STACK}"),
        "No migration was started",
        &format!("cargo xtask migrate --stack {STACK}"),
    ] {
        assert!(stderr.contains(told), "missing {told:?} in:\n{stderr}");
    }
    assert!(
        task_runner::started_per_bot(&env.emulator).is_empty(),
        "no embedding task while the update is unfinished"
    );

    // CloudFormation finishes on its own; then the advice works.
    held_update(&env.emulator, json!({"release": true}));
    assert!(env.clusters_encrypted().await, "the update reached v1");
    let migrate = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--stack", STACK, "--yes"],
        FAST,
    );
    assert_eq!(migrate.status.code(), Some(0), "{}", printed(&migrate));
    assert_eq!(task_runner::started_per_bot(&env.emulator).len(), 4);
}
