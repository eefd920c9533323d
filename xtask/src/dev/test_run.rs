//! `cargo xtask test`: setup, then the whole suite (the command CI runs).
//!
//! The test binaries are built once (`cargo test --no-run`) and run a few at a time; each one's
//! output is captured under `target/test-output/<run>/` and printed as one block when it ends.
//! Every test process gets `TMPDIR=target/test-tmp/<run>/` and keeps its scratch directories, so
//! that after the tests the run can scan everything the suite printed or wrote for the emulator's
//! sentinel password (`tests::emulator::SENTINEL_PASSWORD`): a match anywhere but in a
//! credential file fails the run. The next run removes these directories.

mod binaries;
mod pool;
mod run_dirs;
mod scan;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::dev::setup::{ensure_installed, project_root};
use crate::flags;
use pool::{Job, Outcome};
use run_dirs::RunDirs;

/// Seeded fault-injection runs of the migration: a few in CI, issue 8's 20 with `--full`.
const FAULT_RUNS_ENV: &str = "XTASK_FAULT_RUNS";
const CI_FAULT_RUNS: u32 = 5;
const FULL_FAULT_RUNS: u32 = 20;
/// How many test binaries run at once. Each integration test starts its own emulator and CDK CLI,
/// and a binary runs its tests on as many threads as there are cores, so two binaries already
/// keep a 2-core CI runner busy.
const JOBS_ENV: &str = "XTASK_TEST_JOBS";
const DEFAULT_JOBS: usize = 2;
/// Each binary's last duration, to start the longest first next time.
const TIMES_FILE: &str = "target/test-times.json";

pub fn run(args: flags::Test) -> anyhow::Result<ExitCode> {
    ensure_installed()?;
    let root = project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let jobs = jobs()?;
    let dirs = RunDirs::create(&root)?;
    eprintln!("xtask: building the workspace");
    // Build the CLI first: the integration tests run the real `xtask` binary.
    binaries::nested(cmd!(sh, "cargo build --workspace --all-targets")).run()?;
    let mut binaries = binaries::build(&sh)?;
    let times = read_times(&root.join(TIMES_FILE));
    // Longest first (unknown ones before them all): the pool then ends close to the longest
    // binary's own time instead of starting it last.
    binaries.sort_by(|a, b| {
        let time = |name: &str| times.get(name).copied().unwrap_or(f64::INFINITY);
        time(&b.name).total_cmp(&time(&a.name))
    });
    // tests/tests/faults.rs reads the number of its seeded runs (at least 5) from here.
    let runs = if args.full {
        FULL_FAULT_RUNS
    } else {
        CI_FAULT_RUNS
    };
    let extra = &args.cargo_args;
    let test_env = TestEnv { runs, dirs: &dirs };
    eprintln!(
        "xtask: running {} test binaries, {jobs} at a time ({JOBS_ENV}); output in {}",
        binaries.len(),
        dirs.output.display()
    );
    let stage = Instant::now();
    let queue = binaries
        .iter()
        .map(|binary| {
            let mut command = Command::new(&binary.executable);
            command.args(extra).current_dir(&binary.package_dir);
            test_env.apply(&mut command);
            Job {
                name: binary.name.clone(),
                command,
                log: dirs.output.join(binary.log_name()),
            }
        })
        .collect();
    let mut outcomes = pool::run_all(queue, jobs, std::io::stdout())?;
    outcomes.extend(doc_tests(&root, extra, &test_env)?);
    print_table(&outcomes, stage.elapsed());
    write_times(&root.join(TIMES_FILE), times, &outcomes);

    let scan_passed = run_dirs::scan_for_the_sentinel(&root, &dirs, !extra.is_empty())?;
    let failed = print_failures(&outcomes);
    Ok(if failed == 0 && scan_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What every test process gets: no variables of this cargo, the fault suite's run count, the
/// run's TMPDIR, and scratch directories kept for the scan.
struct TestEnv<'a> {
    runs: u32,
    dirs: &'a RunDirs,
}

impl TestEnv<'_> {
    fn apply(&self, command: &mut Command) {
        for var in crate::dev::nested_cargo::crate_env_vars() {
            command.env_remove(var);
        }
        command
            .env(FAULT_RUNS_ENV, self.runs.to_string())
            .env("TMPDIR", &self.dirs.tmp)
            .env(tests::scratch::KEEP_ENV, "1");
    }
}

/// No library has a doc test today (no code block in any doc comment); they run anyway, so the
/// first one written is not silently skipped.
fn doc_tests(root: &Path, extra: &[String], test_env: &TestEnv) -> anyhow::Result<Vec<Outcome>> {
    let mut doc = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    doc.args(["test", "--workspace", "--doc", "--"])
        .args(extra)
        .current_dir(root);
    test_env.apply(&mut doc);
    let job = Job {
        name: "doc tests".to_owned(),
        command: doc,
        log: test_env.dirs.output.join("doc-tests.log"),
    };
    pool::run_all(vec![job], 1, std::io::stdout())
}

/// Lists the binaries that failed, with their logs; returns how many.
fn print_failures(outcomes: &[Outcome]) -> usize {
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    if !failed.is_empty() {
        eprintln!("xtask: {} test binaries failed:", failed.len());
        for o in &failed {
            eprintln!(
                "  {} ({}) after {:.1}s: {}",
                o.name,
                o.failure.as_deref().unwrap_or_default(),
                o.elapsed.as_secs_f64(),
                o.log.display()
            );
        }
    }
    failed.len()
}

fn jobs() -> anyhow::Result<usize> {
    match std::env::var(JOBS_ENV) {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("{JOBS_ENV} must be a positive number, got {v:?}")),
        Err(_) => Ok(DEFAULT_JOBS),
    }
}

fn print_table(outcomes: &[Outcome], stage: Duration) {
    let mut rows: Vec<&Outcome> = outcomes.iter().collect();
    rows.sort_by_key(|o| std::cmp::Reverse(o.elapsed));
    let width = rows.iter().map(|o| o.name.len()).max().unwrap_or(0).max(6);
    println!("\n{:<width$}  {:>8}  result", "binary", "time");
    for o in &rows {
        println!(
            "{:<width$}  {:>7.1}s  {}",
            o.name,
            o.elapsed.as_secs_f64(),
            o.failure.as_deref().unwrap_or("ok")
        );
    }
    let sum: f64 = outcomes.iter().map(|o| o.elapsed.as_secs_f64()).sum();
    println!(
        "test stage: {:.1}s wall clock; the binaries' own times add up to {sum:.1}s",
        stage.as_secs_f64()
    );
}

fn read_times(path: &Path) -> BTreeMap<String, f64> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Only a hint for the next run's order: a failure to write it is not the run's failure.
fn write_times(path: &Path, mut times: BTreeMap<String, f64>, outcomes: &[Outcome]) {
    for o in outcomes {
        times.insert(o.name.clone(), o.elapsed.as_secs_f64());
    }
    if let Ok(text) = serde_json::to_string_pretty(&times) {
        let _ = std::fs::write(path, text + "\n");
    }
}
