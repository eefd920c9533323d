//! Safe at the process boundary, with the real binary and real signals: one run per stack and
//! state directory (the lock), another machine's run seen in ECS, SIGTERM to a migration
//! mid-launch and its resume, no prompt under a terminal in CI, and a journal that belongs to a
//! replaced vector store.

#[path = "faults/support.rs"]
#[allow(dead_code)] // the fault suite's helpers; this file uses a few
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rexpect::session::spawn_command;
use serde_json::Value;
use support::{
    assert_each_bot_once, assert_report_matches, count_launched, journal, journal_entries, key,
    read_json, table_state, tasks,
};
use tests::deployed::{Deployed, FAST, deployed_with_bots, with_cdk_args};
use tests::scratch::Scratch;
use tests::seed::{SeedPlan, SeededBot};
use tests::xtask::{self, printed};
use tests::{STACK, output, stack_outputs, task_runner};

const SMALL: SeedPlan = SeedPlan {
    with_knowledge: 16,
    without_knowledge: 4,
    aliases: 0,
    malformed: 0,
    conversations: 0,
};

/// How many tasks each bot got, as `{tasks: bots}`; every seeded bot is counted (0 if none).
fn tasks_per_bot(env: &Deployed, bots: &[SeededBot]) -> BTreeMap<usize, usize> {
    let started = task_runner::started_per_bot(&env.emulator);
    let mut histogram = BTreeMap::new();
    for bot in bots {
        let n = started.get(&key(bot)).map_or(0, Vec::len);
        *histogram.entry(n).or_insert(0) += 1;
    }
    histogram
}

fn state_arg(state: &Path) -> &str {
    state.to_str().unwrap()
}

/// Waits (on the journal, not the clock) until a run in `state` journaled `n` launched tasks;
/// fails if the run ends first or never gets there.
fn wait_for_launches(child: &mut std::process::Child, state: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while count_launched(state) < n {
        assert!(Instant::now() < deadline, "never reached {n} launches");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before {n} launches"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_migrations_on_one_state_directory_one_launches_and_the_other_names_it() {
    let (env, bots) = deployed_with_bots(SMALL).await;
    task_runner::configure(&env.emulator, 0.5, 0.0, 1);
    let spawn = || xtask::spawn(&env.emulator, env.app.dir(), &["migrate", "--yes"], FAST);
    let (a, b) = (spawn(), spawn());
    let pids = [a.id(), b.id()];
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let codes = outputs.each_ref().map(|o| o.status.code());
    let (winner, loser) = match codes {
        [Some(0), Some(1)] => (0, 1),
        [Some(1), Some(0)] => (1, 0),
        _ => panic!(
            "one run exits 0 and one 1, got {codes:?}:\n{}\n{}",
            printed(&outputs[0]),
            printed(&outputs[1])
        ),
    };
    let refused = String::from_utf8_lossy(&outputs[loser].stderr);
    assert!(
        refused.contains("another run holds")
            && refused.contains(&format!("pid {}", pids[winner]))
            && refused.contains("cargo xtask migrate --yes"),
        "the refusal names the holder: {refused}"
    );
    assert!(
        !refused.contains("scan "),
        "refused before scanning: {refused}"
    );
    let histogram = tasks_per_bot(&env, &bots);
    eprintln!("tasks per bot, two runs on one state directory: {histogram:?}");
    assert_eq!(histogram, BTreeMap::from([(1, bots.len())]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_from_another_state_directory_is_refused_while_the_first_runs_tasks() {
    let (env, bots) = deployed_with_bots(SMALL).await;
    // The tasks outlast the test: the second run must meet them running.
    task_runner::configure(&env.emulator, 3600.0, 0.0, 1);
    let (a, b) = (Scratch::temp("machine-a-"), Scratch::temp("machine-b-"));
    let args = |state: &Path| {
        vec![
            "migrate".to_owned(),
            "--yes".to_owned(),
            "--max-running".to_owned(),
            "100".to_owned(),
            "--state-dir".to_owned(),
            state_arg(state).to_owned(),
        ]
    };
    let first_args = args(a.path());
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let mut first = xtask::spawn(&env.emulator, env.app.dir(), &first_args, FAST);
    wait_for_launches(&mut first, a.path(), bots.len());
    let run_id = journal_entries(&journal(a.path()))[0]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let second_args = args(b.path());
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let second = xtask::run_with(&env.emulator, env.app.dir(), &second_args, FAST);
    let said = printed(&second);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("run {run_id}, has {} task(s) running", bots.len()))
            && said.contains("--resume")
            && said.contains("--force-concurrent"),
        "the refusal names the other run, its tasks and the way out: {said}"
    );
    kill(Pid::from_raw(first.id() as i32), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    let histogram = tasks_per_bot(&env, &bots);
    eprintln!("tasks per bot, two state directories: {histogram:?}");
    assert_eq!(histogram, BTreeMap::from([(1, bots.len())]));
}

/// SIGTERM (a cancelled CI job) mid-launch: no new launches, the launched tasks tracked, exit 143.
/// Under a terminal with `CI=true` and no `--yes`, the next `migrate` neither asks whether to
/// resume nor whether to launch: it refuses. `--resume --yes` then launches exactly the rest.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_launch_then_resume_embeds_every_bot_once_and_ci_never_prompts() {
    let plan = SeedPlan {
        with_knowledge: 30,
        ..SMALL
    };
    let (env, bots) = deployed_with_bots(plan).await;
    task_runner::configure(&env.emulator, 0.3, 0.0, 2);
    let state = env.app.dir().join(".xtask");
    let mut child = xtask::spawn(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--yes", "--rate", "5"],
        FAST,
    );
    wait_for_launches(&mut child, &state, 5);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let interrupted = child.wait_with_output().unwrap();
    let said = printed(&interrupted);
    assert_eq!(interrupted.status.code(), Some(143), "{said}");
    assert!(said.contains("SIGTERM: no new launches"), "{said}");
    let journal_path = journal(&state);
    assert!(
        !journal_entries(&journal_path)
            .iter()
            .any(|e| e["type"] == "finished"),
        "bots are left: the journal stays open"
    );
    let files = tests::deployed::files_in_state_dir(&state, "");
    eprintln!("files left after SIGTERM to migrate: {files:?}");

    ci_terminal_refuses_without_prompting(&env);

    let report = env.app.dir().join("resumed.json");
    let resumed = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &[
            "migrate",
            "--resume",
            "--yes",
            "--report",
            report.to_str().unwrap(),
        ],
        FAST,
    );
    assert_eq!(resumed.status.code(), Some(0), "{}", printed(&resumed));
    let report = read_json(&report).expect("the report");
    let table = table_state(
        &env.config,
        output(&env.outputs, "DatabaseConversationTableName"),
    )
    .await;
    let tasks = tasks(&env.emulator);
    assert_each_bot_once(&bots, &tasks, &table);
    assert_report_matches(&report, &bots, &table, &tasks);
    let histogram = tasks_per_bot(&env, &bots);
    eprintln!("tasks per bot after SIGTERM and --resume: {histogram:?}");
    assert_eq!(histogram, BTreeMap::from([(1, bots.len())]));
}

/// `migrate` in a pseudo-terminal with `CI=true` and no `--yes`, beside an unfinished journal:
/// no question is drawn (it would wait forever in CI); it refuses with exit 2.
fn ci_terminal_refuses_without_prompting(env: &Deployed) {
    let before = task_runner::started_per_bot(&env.emulator);
    let mut command = env.emulator.command(xtask::binary());
    command
        .arg("migrate")
        .current_dir(env.app.dir())
        .envs(FAST.iter().copied())
        .env("CI", "true")
        .env("TERM", "xterm-256color");
    let mut session = spawn_command(command, Some(120_000)).expect("spawn migrate in a pty");
    let said = session
        .exp_eof()
        .expect("migrate ends by itself: no prompt waits");
    assert!(!said.contains("Resume "), "asked whether to resume: {said}");
    assert!(said.contains("pass --yes"), "{said}");
    match session.process().wait().expect("wait") {
        nix::sys::wait::WaitStatus::Exited(_, code) => assert_eq!(code, 2, "{said}"),
        other => panic!("{other:?}: {said}"),
    }
    assert_eq!(
        task_runner::started_per_bot(&env.emulator),
        before,
        "nothing launched"
    );
}

/// The CDK arguments of an update back to v0: the cluster loses `storageEncrypted`, which
/// replaces it a second time.
const V0_CDK_ARGS: &[&str] = &["-c", "release=v0", "--no-previous-parameters"];

/// Deploys the fixture to v1 (first replacement) without migrating, then starts a migration and
/// stops it with SIGTERM after a few launches: bots are left and the journal is open. Returns the
/// journal.
async fn interrupted_migration_after_a_replacement(env: &Deployed) -> PathBuf {
    let deploy = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &tests::deployed::to_v1(
            "deploy",
            &["--on-replace", "proceed", "--migrate", "never", "--yes"],
        ),
        FAST,
    );
    assert_eq!(deploy.status.code(), Some(0), "{}", printed(&deploy));
    let state = env.app.dir().join(".xtask");
    let mut child = xtask::spawn(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--yes", "--rate", "4"],
        FAST,
    );
    wait_for_launches(&mut child, &state, 3);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", printed(&out));
    journal(&state)
}

/// The DB cluster a journal's header names.
fn journal_store(journal: &Path) -> String {
    journal_entries(journal)[0]["vector_store"]["cluster_identifier"]
        .as_str()
        .expect("the journal names its vector store")
        .to_owned()
}

/// Every bot with knowledge has a task of `report`'s run, and the run succeeded for all.
fn assert_all_relaunched(env: &Deployed, bots: &[SeededBot], report: &Value) {
    let run = format!("mig-{}-", report["run_id"].as_str().unwrap());
    let tasks = tasks(&env.emulator);
    for bot in bots.iter().map(key) {
        let mine = tasks
            .values()
            .filter(|t| t.bot == bot && t.started_by.starts_with(&run))
            .count();
        assert_eq!(mine, 1, "{bot}: one task of run {run}");
    }
    assert_eq!(report["counts"]["succeeded"], bots.len(), "{report}");
    assert_eq!(report["counts"]["to_embed"], bots.len(), "{report}");
}

/// A migration interrupted with bots left, then a second replacement of the cluster (back to v0)
/// by `deploy`: its migration starts fresh (the old journal's bots went into the old cluster) and
/// every bot with knowledge gets a task into the new one.
#[tokio::test(flavor = "multi_thread")]
async fn deploy_after_a_second_replacement_re_embeds_every_bot_into_the_new_cluster() {
    let (env, bots) = deployed_with_bots(SMALL).await;
    task_runner::configure(&env.emulator, 0.2, 0.0, 3);
    let old_journal = interrupted_migration_after_a_replacement(&env).await;
    let old_store = journal_store(&old_journal);

    let deploy = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &with_cdk_args("deploy", &["--on-replace", "proceed", "--yes"], V0_CDK_ARGS),
        FAST,
    );
    let said = printed(&deploy);
    assert_eq!(deploy.status.code(), Some(0), "{said}");
    assert!(said.contains("re-embedding every bot"), "{said}");
    let report_path = newest_report(env.app.dir());
    let report = read_json(&report_path).unwrap();
    assert_all_relaunched(&env, &bots, &report);
    // The report names the journal as given: relative to the directory the deploy ran in.
    let new_journal = env.app.dir().join(report["journal"].as_str().unwrap());
    assert_ne!(new_journal, old_journal, "a fresh journal");
    let header = &journal_entries(&new_journal)[0];
    assert_ne!(journal_store(&new_journal), old_store, "{header}");
    assert!(
        header["vector_store"]["replaced_by"].as_str().is_some(),
        "the journal names the deploy that replaced the store: {header}"
    );
    eprintln!(
        "tasks per bot after an interrupted migration and a second replacement: {:?}",
        tasks_per_bot(&env, &bots)
    );
}

/// The DB cluster's identity decides, not the ECS names: after the second replacement the old
/// journal is rewritten to the stack's current ECS target (as on AWS, where the ECS cluster keeps
/// its name across the update; the emulator renames it), so only its vector store differs.
/// `--resume` refuses and says why; the default starts fresh and says the journal is history.
#[tokio::test(flavor = "multi_thread")]
async fn a_journal_of_a_replaced_vector_store_is_never_resumed() {
    let (env, bots) = deployed_with_bots(SMALL).await;
    task_runner::configure(&env.emulator, 0.2, 0.0, 4);
    let old_journal = interrupted_migration_after_a_replacement(&env).await;
    let old_store = journal_store(&old_journal);
    let deploy = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &with_cdk_args(
            "deploy",
            &["--on-replace", "proceed", "--migrate", "never", "--yes"],
            V0_CDK_ARGS,
        ),
        FAST,
    );
    assert_eq!(deploy.status.code(), Some(0), "{}", printed(&deploy));
    retarget_journal(&env, &old_journal).await;

    let before = task_runner::started_per_bot(&env.emulator);
    let resume = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &["migrate", "--resume", "--yes"],
        FAST,
    );
    let said = printed(&resume);
    assert_eq!(resume.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&old_store) && said.contains("cannot be resumed"),
        "--resume says which store the journal belongs to and why not: {said}"
    );
    assert_eq!(
        task_runner::started_per_bot(&env.emulator),
        before,
        "nothing launched"
    );

    let report_path = env.app.dir().join("fresh.json");
    let fresh = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &[
            "migrate",
            "--yes",
            "--report",
            report_path.to_str().unwrap(),
        ],
        FAST,
    );
    let said = printed(&fresh);
    assert_eq!(fresh.status.code(), Some(0), "{said}");
    assert!(said.contains("that journal is history"), "{said}");
    assert_all_relaunched(&env, &bots, &read_json(&report_path).unwrap());
}

/// Points the journal's header at the stack's current migration target (cluster, task
/// definition) with the matching fingerprint, keeping its vector store.
async fn retarget_journal(env: &Deployed, journal: &Path) {
    let outputs = stack_outputs(&env.cfn(), STACK).await;
    let text = std::fs::read_to_string(journal).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut header: Value = serde_json::from_str(&lines[0]).unwrap();
    let mut target: migrate::reembed::MigrationTarget =
        serde_json::from_value(header["target"].clone()).unwrap();
    target.cluster = output(&outputs, "EmbeddingClusterName").to_owned();
    target.task_definition = output(&outputs, "EmbeddingTaskDefinitionName").to_owned();
    header["fingerprint"] = target.fingerprint().into();
    header["target"] = serde_json::to_value(&target).unwrap();
    lines[0] = header.to_string();
    std::fs::write(journal, lines.join("\n") + "\n").unwrap();
}

fn newest_report(app: &Path) -> PathBuf {
    let mut reports = tests::deployed::state_files(app, "report-");
    reports.pop().expect("a report")
}
