//! `cargo xtask deploy` in a real terminal (a pty): the replacement prompt answered with the
//! arrow keys and Enter, as a person does.

use rexpect::session::{PtySession, spawn_command};
use tests::deployed::{Deployed, FAST, deployed_with_bots};
use tests::seed::SeedPlan;
use tests::task_runner;
use tests::xtask::{self, printed};

const UP: &str = "\x1b[A";
/// Long enough for the CDK CLI's synth and asset publishing on a loaded 2-core machine.
const TIMEOUT_MS: u64 = 240_000;

fn deploy_in_terminal(env: &Deployed, args: &[&str]) -> PtySession {
    let mut command = env.emulator.command(xtask::binary());
    command
        .arg("deploy")
        .args(args)
        .current_dir(env.app.dir())
        .envs(FAST.iter().copied())
        // A person at a terminal: no CI marker, a terminal type dialoguer can draw on.
        .env_remove("CI")
        .env("TERM", "xterm-256color");
    spawn_command(command, Some(TIMEOUT_MS)).expect("spawn xtask deploy in a pty")
}

/// Waits until the replacement menu is drawn.
fn wait_for_menu(session: &mut PtySession) {
    session
        .exp_string("What now?")
        .expect("the replacement prompt");
    session
        .exp_string("Abort: execute nothing")
        .expect("the abort item");
}

/// Moves from the default (Abort, the last of five items) up to "Take a manual snapshot only"
/// and presses Enter.
fn pick_snapshot_only(session: &mut PtySession) {
    for _ in 0..3 {
        session.send(UP).expect("arrow up");
    }
    session.send("\r").expect("enter");
    session.flush().expect("flush");
}

fn exit_code(session: &PtySession) -> Option<i32> {
    match session.process().wait().expect("wait for xtask") {
        nix::sys::wait::WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    }
}

async fn tool_snapshot_count(env: &Deployed) -> usize {
    env.rds()
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .unwrap()
        .db_cluster_snapshots()
        .iter()
        .filter(|s| {
            s.tag_list()
                .iter()
                .any(|t| t.key() == Some("cdk-hook:made-by"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_only_chosen_with_the_arrow_keys_then_the_launch_confirmed() {
    let seed = SeedPlan {
        with_knowledge: 3,
        without_knowledge: 1,
        ..SeedPlan::default()
    };
    let (env, bots) = deployed_with_bots(seed).await;
    task_runner::configure(&env.emulator, 0.1, 0.0, 3);
    let mut session = deploy_in_terminal(
        &env,
        &["--", "-c", "release=v1", "--no-previous-parameters"],
    );
    wait_for_menu(&mut session);
    pick_snapshot_only(&mut session);
    session
        .exp_string("manual snapshot")
        .expect("the snapshot is taken");
    session
        .exp_string("Launch embedding tasks")
        .expect("the migration asks before launching");
    session.send("y").expect("confirm");
    session.flush().unwrap();
    let rest = session.exp_eof().expect("the run ends");
    assert_eq!(exit_code(&session), Some(0), "{rest}");
    assert!(rest.contains("succeeded"), "the report is shown: {rest}");

    assert_eq!(tool_snapshot_count(&env).await, 1);
    assert!(env.clusters_encrypted().await, "the stack is on v1");
    let files = tests::deployed::state_files(env.app.dir(), "");
    assert!(
        tests::deployed::state_files(env.app.dir(), "credentials-").is_empty(),
        "snapshot only: no credentials recorded: {files:?}"
    );
    assert!(
        !tests::deployed::state_files(env.app.dir(), "replacement-").is_empty(),
        "{files:?}"
    );
    let started = task_runner::started_per_bot(&env.emulator);
    assert_eq!(started.len(), bots.len(), "{started:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_set_that_goes_stale_at_the_prompt_is_refused_and_nothing_is_executed() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let mut session = deploy_in_terminal(
        &env,
        &["--", "-c", "release=v1", "--no-previous-parameters"],
    );
    wait_for_menu(&mut session);
    // Someone else updates the stack while the prompt waits.
    let other = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &[
            "deploy",
            "--execute-with",
            "sdk",
            "--state-dir",
            "other-state",
            "--",
            "-c",
            "note=meanwhile",
            "--no-previous-parameters",
        ],
        FAST,
    );
    assert_eq!(other.status.code(), Some(0), "{}", printed(&other));
    pick_snapshot_only(&mut session);
    let rest = session.exp_eof().expect("the run ends");
    assert_eq!(exit_code(&session), Some(1), "{rest}");
    assert!(
        rest.contains("no longer exists") && rest.contains("Nothing was executed"),
        "{rest}"
    );
    assert!(
        !env.clusters_encrypted().await,
        "the stale change set was not executed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backup_chosen_at_the_prompt_is_taken_before_the_table_is_destroyed() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let mut session = deploy_in_terminal(
        &env,
        &["--", "-c", "dropTable=1", "--no-previous-parameters"],
    );
    session
        .exp_string("is destroyed: an on-demand backup")
        .expect("the safeguard line");
    // A table alone: the backup (recommended), continue, abort (the default).
    session.exp_string("What now?").expect("the prompt");
    session
        .exp_string("Take the on-demand backup (recommended)")
        .expect("the backup item");
    session
        .exp_string("Abort: execute nothing")
        .expect("the abort item");
    for _ in 0..2 {
        session.send(UP).expect("arrow up");
    }
    session.send("\r").expect("enter");
    session.flush().expect("flush");
    session
        .exp_string("is available (arn:")
        .expect("the backup is taken");
    let rest = session.exp_eof().expect("the run ends");
    assert_eq!(exit_code(&session), Some(0), "{rest}");

    let backups = env.ddb().list_backups().send().await.unwrap();
    assert_eq!(backups.backup_summaries().len(), 1, "{backups:?}");
    let tables = env.resources_of_type("AWS::DynamoDB::Table").await;
    assert!(
        !tables
            .iter()
            .any(|(logical, _)| logical.starts_with("DatabaseWebsocketSessionTable")),
        "the table left the stack: {tables:?}"
    );
}
