//! `cargo xtask demo`: the whole job on the local AWS emulator, with the real CDK CLI and the real
//! `cargo xtask deploy`. Everything it writes lives under `target/demo/`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::Context;
use console::style;
use serde_json::Value;
use tests::seed::{SeedPlan, seed_bots};
use tests::seed_v2::seed_v2;
use tests::{Emulator, FixtureApp, Release, STACK, output, stack_outputs, task_runner};

use crate::flags::Demo;

/// 60 bots of 20 users: most with URLs, sitemaps, files or S3 URLs to embed, some with nothing,
/// a few aliases of shared bots, and conversations around them.
const SEED: SeedPlan = SeedPlan {
    with_knowledge: 48,
    without_knowledge: 12,
    aliases: 4,
    malformed: 0,
    conversations: 40,
};
/// Items of the v2 conversation table `--v3` seeds (the app's mix of kinds).
const V3_ITEMS: usize = 2_000;
/// Each embedding task runs this long in the emulator, and this share fails on purpose, so the
/// report shows a failure and the retry.
const TASK_SECONDS: f64 = 2.0;
const FAILURE_RATE: f64 = 0.1;

pub fn run(args: Demo) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    step("setup: the emulator's Python venv and the fixture app's packages (idempotent)");
    crate::dev::setup::ensure_installed()?;
    let root = empty_demo_dir(&args.dir)?;

    step("starting the local AWS emulator (moto with this project's patches) on 127.0.0.1");
    let emulator = Emulator::start_in(&root.join("emulator"));
    say(&format!("listening on {}", emulator.endpoint()));

    let app = FixtureApp::new_in(&root.join("app"));
    let rt = crate::aws::runtime()?;
    let state = root.join("state");
    let code = if args.v3 {
        upgrade_v2_to_v3(&emulator, &app, &rt, &state)?
    } else {
        replace_the_vector_store(&emulator, &app, &rt, &state)?
    };
    let ok = code == Some(0);
    step(&format!(
        "{} in {:.0} s; everything it wrote is under {}",
        if ok { "demo done" } else { "demo ended early" },
        started.elapsed().as_secs_f64(),
        root.display()
    ));
    if args.keep_running {
        keep_running(&emulator, &rt)?;
    }
    Ok(match code {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// v0 -> v1: the cluster replaced, every bot re-embedded, the failed ones retried.
fn replace_the_vector_store(
    emulator: &Emulator,
    app: &FixtureApp,
    rt: &tokio::runtime::Runtime,
    state: &Path,
) -> anyhow::Result<Option<i32>> {
    step("bootstrapping and deploying the fixture Bedrock Chat app at v0 with the real CDK CLI");
    deploy_fixture(emulator, app, Release::V0);
    step("seeding the conversation table");
    seed(emulator, rt);
    step("cargo xtask deploy to v1: v1 turns on storage encryption, which replaces the cluster");
    let deployed = guarded_deploy(emulator, app.dir(), state, "release=v1")?;
    retry_the_failed(emulator, state, deployed)
}

/// v2.10 -> v3: the v2 table orphaned and backed up, the app moved to the v3 tables, and the
/// table migration with its verification.
fn upgrade_v2_to_v3(
    emulator: &Emulator,
    app: &FixtureApp,
    rt: &tokio::runtime::Runtime,
    state: &Path,
) -> anyhow::Result<Option<i32>> {
    step(
        "bootstrapping and deploying the fixture Bedrock Chat app at v2 (v2.10.0's table) with the real CDK CLI",
    );
    deploy_fixture(emulator, app, Release::V2);
    step("seeding the v2 conversation table in the app's own v2.10 item shapes");
    let seeded = rt.block_on(async {
        let config = emulator.sdk_config().await;
        let outputs = stack_outputs(&aws_sdk_cloudformation::Client::new(&config), STACK).await;
        let table = output(&outputs, "ConversationTableName").to_owned();
        let plan = tests::seed_v2::V2Plan::with_items(V3_ITEMS);
        seed_v2(&aws_sdk_dynamodb::Client::new(&config), &table, plan).await
    });
    say(&format!(
        "{} items: conversations, related documents, bots (public, pinned, old ones), aliases \
         (one of a bot no longer shared), and one stub bot without a title",
        seeded.total
    ));
    step("cargo xtask deploy to v3: the app moves to new tables, the v2 table leaves the stack");
    guarded_deploy(emulator, app.dir(), state, "release=v3")
}

fn deploy_fixture(emulator: &Emulator, app: &FixtureApp, release: Release) {
    app.bootstrap(emulator);
    app.deploy(emulator, release);
    say(&format!(
        "stack {STACK} deployed from {}",
        app.dir().display()
    ));
}

/// `--dir` under the workspace, emptied; refused anywhere but under `target/`.
fn empty_demo_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let workspace = crate::dev::setup::project_root();
    let root = workspace.join(dir);
    anyhow::ensure!(
        std::path::absolute(&root)?.starts_with(workspace.join("target"))
            && !dir
                .components()
                .any(|c| c == std::path::Component::ParentDir),
        "--dir {} is not inside the workspace's target/",
        dir.display()
    );
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .with_context(|| format!("removing the last demo's {}", root.display()))?;
    }
    Ok(root)
}

/// The seeded bots, and the emulator's embedding container set to fail a share on purpose.
fn seed(emulator: &Emulator, rt: &tokio::runtime::Runtime) {
    let table = rt.block_on(async {
        let config = emulator.sdk_config().await;
        let outputs = stack_outputs(&aws_sdk_cloudformation::Client::new(&config), STACK).await;
        let table = output(&outputs, "DatabaseConversationTableName").to_owned();
        seed_bots(&aws_sdk_dynamodb::Client::new(&config), &table, SEED).await;
        table
    });
    say(&format!(
        "{} bots ({} with knowledge to embed, {} with nothing to embed), {} shared-bot aliases, {} conversations in {table}",
        SEED.with_knowledge + SEED.without_knowledge,
        SEED.with_knowledge,
        SEED.without_knowledge,
        SEED.aliases,
        SEED.conversations
    ));
    task_runner::configure(emulator, TASK_SECONDS, FAILURE_RATE, 42);
    say(&format!(
        "the emulator plays the embedding container: {TASK_SECONDS} s a task, {:.0}% fail on purpose",
        FAILURE_RATE * 100.0
    ));
}

/// The real `deploy` with `-c <context>`; at a terminal the prompt is the user's to answer.
fn guarded_deploy(
    emulator: &Emulator,
    app_dir: &Path,
    state: &Path,
    context: &str,
) -> anyhow::Result<Option<i32>> {
    let interactive = crate::terminal::interactive();
    let mut deploy_args: Vec<String> = ["deploy", "--app-dir"]
        .map(String::from)
        .into_iter()
        .chain([app_dir.display().to_string()])
        .chain(["--state-dir".into(), state.display().to_string()])
        .collect();
    if !interactive {
        say("no one at a terminal: taking --on-replace both --yes");
        deploy_args.extend(["--on-replace", "both", "--yes"].map(String::from));
    }
    deploy_args.extend(["--", "-c", context, "--no-previous-parameters"].map(String::from));
    xtask(emulator, &deploy_args, interactive)
}

/// When the deploy's migration reports failed bots, `migrate --resume --retry-failed` relaunches
/// only them (the emulator no longer failing any); the exit code of the last run.
fn retry_the_failed(
    emulator: &Emulator,
    state: &Path,
    deployed: Option<i32>,
) -> anyhow::Result<Option<i32>> {
    let report = latest_report(&state.join(STACK));
    let (Some(0 | 1), Some((path, counts))) = (deployed, &report) else {
        return Ok(deployed);
    };
    if counts["failed"].as_u64() <= Some(0) {
        return Ok(deployed);
    }
    step("some embedding tasks failed on purpose: retrying only them");
    say(&format!("report {}", path.display()));
    task_runner::configure(emulator, TASK_SECONDS, 0.0, 42);
    let retry = [
        "migrate",
        "--stack",
        STACK,
        "--state-dir",
        &state.display().to_string(),
        "--resume",
        "--retry-failed",
        "--yes",
    ]
    .map(String::from);
    xtask(emulator, &retry, false)
}

fn step(text: &str) {
    eprintln!("{} {}", style("==>").cyan().bold(), style(text).bold());
}

fn say(text: &str) {
    eprintln!("    {text}");
}

/// Runs this very binary with the emulator's environment (a real `cargo xtask` run), on the
/// terminal; at a terminal without the `CI` marker the emulator's isolation sets, so it can ask.
fn xtask(emulator: &Emulator, args: &[String], interactive: bool) -> anyhow::Result<Option<i32>> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    let mut command: Command = emulator.command(exe);
    command.args(args);
    if interactive {
        command.env_remove("CI");
    }
    let status = command
        .status()
        .with_context(|| format!("running cargo xtask {}", args[0]))?;
    Ok(status.code())
}

/// The newest report and its counts.
fn latest_report(dir: &Path) -> Option<(PathBuf, Value)> {
    let mut reports: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("report-"))
        })
        .collect();
    reports.sort();
    let path = reports.pop()?;
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
    Some((path, report["counts"].clone()))
}

fn keep_running(emulator: &Emulator, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    eprintln!("the emulator keeps running; use it from another shell with:");
    let env = emulator.env();
    for key in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        if let Some(value) = env.get(key) {
            println!("export {key}={value}");
        }
    }
    eprintln!("e.g. aws cloudformation describe-stacks --stack-name {STACK}; Ctrl-C stops it");
    let _handling = crate::signals::handle(1);
    rt.block_on(crate::signals::interrupt().stopped());
    Ok(())
}
