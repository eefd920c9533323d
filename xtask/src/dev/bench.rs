//! `cargo xtask bench`: speed, measured here and never in a timed test.
//!
//! - The launch figures: on one emulator with AWS's limits and latencies turned on
//!   (`tests/emulator/aws_limits.toml`), one seeded table, side by side: the migration guide's
//!   procedure (`tests/bench/baseline.py`), `migrate --yes --no-wait`, and the full `migrate --yes`.
//! - The scan figure: `migrate --dry-run` with one segment and with parallel segments.
//! - The classifier figure of the `check` issue: a change set of 2,000 resource changes.
//! - With `--copy`, only the copy-back figures (`copy.rs`): the copy script against a plain
//!   `\copy` stream on a local PostgreSQL with pgvector.
//! - With `--tables`, only the v2 -> v3 table migration's figures (`tables.rs`): `migrate-tables`
//!   against Bedrock Chat's own script (`upstream.rs`) under the emulator's write limit.
//!
//! The report keeps every part: each kind of run replaces its own keys and leaves the others'.

mod copy;
mod launches;
mod probe;
mod report;
mod table;
mod tables;
mod tables_env;
mod upstream;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use cdk_hook::{GuardConfig, bench};
use serde_json::json;
use tests::seed::{SeedPlan, seed_bots};
use tests::{Emulator, FixtureApp, Release, STACK, output, stack_outputs, task_runner};

use crate::dev::setup::project_root;
use crate::flags;
use launches::{Bench, LIMIT_PER_SEC};
use report::write_report;

const CHANGES: usize = 2_000;
const RUNS: u32 = 20;
/// Parallel segments of the scan figure.
const SEGMENTS: &str = "8";

pub fn run(args: flags::Bench) -> anyhow::Result<ExitCode> {
    crate::dev::setup::ensure_installed()?;
    let dir = project_root().join("target/bench");
    let work = dir.join("runs");
    if work.exists() {
        std::fs::remove_dir_all(&work).context("emptying target/bench/runs")?;
    }
    std::fs::create_dir_all(&work)?;
    if args.copy {
        let copy = copy::run(&work)?;
        write_report(&dir, json!({ "copy": copy }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let xtask = work.join("xtask");
    std::fs::copy(std::env::current_exe()?, &xtask).context("copying the xtask binary")?;
    if args.tables {
        tables::run(&dir, &work, &xtask, args.items)?;
        return Ok(ExitCode::SUCCESS);
    }

    eprintln!("==> emulator and the fixture app at v1 (the real CDK CLI)");
    let emulator = Emulator::start_in(&work.join("emulator"));
    let app = FixtureApp::new_in(&work.join("app"));
    app.bootstrap(&emulator);
    app.deploy(&emulator, Release::V1);
    let plan = seed_plan(args.bots);
    eprintln!("==> seeding {} bots", args.bots);
    let target = seed(&emulator, plan)?;
    let knobs = probe::admin(
        emulator.port(),
        probe::LIMITS_PATH,
        Some(&json!({"enabled": true, "reset": true})),
    )?;
    task_runner::configure(&emulator, args.task_seconds, 0.0, 1);
    let bench = Bench {
        emulator: &emulator,
        target: &target,
        dir: &work,
        to_embed: plan.with_knowledge as u64,
        xtask,
    };
    let runs = match args.scan_only {
        true => Vec::new(),
        false => launch_runs(&bench, &args)?,
    };
    let scans = scan_runs(&bench)?;
    drop(emulator);

    let classifier = classifier()?;
    let limit_secs = plan.with_knowledge as f64 / LIMIT_PER_SEC;
    let mut report = table::report(&runs, &scans, limit_secs, &knobs["config"], args.bots);
    println!("{}", table::render(&runs, &scans, limit_secs, args.bots));
    println!(
        "classify {CHANGES} resource changes: {:.2} ms ({}, mean of {RUNS} runs; budget 50 ms)",
        classifier["mean_ms"].as_f64().unwrap_or(0.0),
        classifier["profile"].as_str().unwrap_or("")
    );
    report["classifier"] = classifier;
    write_report(&dir, report)?;
    Ok(ExitCode::SUCCESS)
}

/// A realistic table: three bots in four have knowledge, a few aliases of shared bots, and a
/// conversation per bot around them.
fn seed_plan(bots: usize) -> SeedPlan {
    SeedPlan {
        with_knowledge: bots * 3 / 4,
        without_knowledge: bots - bots * 3 / 4,
        aliases: bots / 50,
        malformed: 0,
        conversations: bots,
    }
}

/// Seeds the bots; returns the migration target's flags (name, value) from the stack outputs.
fn seed(emulator: &Emulator, plan: SeedPlan) -> anyhow::Result<Vec<(&'static str, String)>> {
    let rt = crate::aws::runtime()?;
    Ok(rt.block_on(async {
        let config = emulator.sdk_config().await;
        let outputs = stack_outputs(&aws_sdk_cloudformation::Client::new(&config), STACK).await;
        let table = output(&outputs, "DatabaseConversationTableName").to_owned();
        seed_bots(&aws_sdk_dynamodb::Client::new(&config), &table, plan).await;
        let value = |prefix: &str| output(&outputs, prefix).to_owned();
        vec![
            ("table", table),
            ("cluster", value("EmbeddingClusterName")),
            ("task-definition", value("EmbeddingTaskDefinitionName")),
            ("container", "Container".to_owned()),
            (
                "subnets",
                format!(
                    "{},{}",
                    value("PrivateSubnetId0"),
                    value("PrivateSubnetId1")
                ),
            ),
            ("security-groups", value("EmbeddingTaskSecurityGroupId")),
        ]
    }))
}

/// The launch figures, side by side: the guide's baseline, `--no-wait`, the full run.
fn launch_runs(bench: &Bench, args: &flags::Bench) -> anyhow::Result<Vec<launches::Figures>> {
    eprintln!("==> launch runs, side by side");
    let mut runs = vec![bench.baseline(args.baseline_max_secs, args.bots)?];
    // With --no-wait nothing polls, and the in-flight cap frees a slot only on a poll.
    let no_wait_cap = (args.bots + 1).to_string();
    let no_wait = ["--no-wait", "--max-running", &no_wait_cap];
    runs.push(bench.migrate("migrate --no-wait", &no_wait, &[])?.0);
    // Tasks hold their slot for the container's run plus up to a poll: at 20 launches a
    // second that is 20 * (task_seconds + 1 s + latency) running at once, under the
    // emulator's 200-task quota.
    let poll = [("MIGRATE_POLL_INTERVAL_MS", "1000")];
    runs.push(
        bench
            .migrate("migrate", &["--max-running", "150"], &poll)?
            .0,
    );
    Ok(runs)
}

/// The scan figures: `migrate --dry-run` with one segment and with parallel segments.
fn scan_runs(bench: &Bench) -> anyhow::Result<Vec<serde_json::Value>> {
    eprintln!("==> scan runs (migrate --dry-run)");
    // One untimed scan of each shape first: the emulator builds its scan index per table version
    // and segment split (`tests/emulator/patches/scan_index.py`), and neither timed scan should
    // pay for it.
    for segments in ["1", SEGMENTS] {
        let flags = ["--dry-run", "--segments", segments];
        bench.migrate(&format!("scan warm-up {segments}"), &flags, &[])?;
    }
    let mut scans = Vec::new();
    for segments in ["1", SEGMENTS] {
        let flags = ["--dry-run", "--segments", segments];
        let (figures, report) =
            bench.migrate(&format!("scan {segments} segment(s)"), &flags, &[])?;
        scans.push(json!({
            "segments": segments.parse::<u32>()?,
            "scan_secs": report["timings"]["scan_secs"],
            "wall_secs": figures.wall_secs,
            "peak_rss_mb": figures.peak_rss_mb,
            "emulator_cpu_percent": figures.emulator_cpu_percent,
            "bots_found": report["counts"]["found"],
        }));
    }
    Ok(scans)
}

fn classifier() -> anyhow::Result<serde_json::Value> {
    let changes = bench::bench_fixture(CHANGES);
    let guards = GuardConfig::default();
    // The first run pays for allocations the later ones reuse; it is not measured.
    let plan = bench::classify_fixture(&changes, &guards);
    anyhow::ensure!(plan.resources.len() == CHANGES, "the fixture lost changes");
    let started = Instant::now();
    for _ in 0..RUNS {
        std::hint::black_box(bench::classify_fixture(
            std::hint::black_box(&changes),
            &guards,
        ));
    }
    let each = started.elapsed() / RUNS;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    Ok(json!({
        "changes": CHANGES,
        "runs": RUNS,
        "mean_ms": each.as_secs_f64() * 1e3,
        "budget_ms": 50,
        "profile": profile,
    }))
}
