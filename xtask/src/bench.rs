//! `cargo xtask bench`: speed, measured here and never in a timed test. For now the figure of the
//! `check` issue: classifying a change set of 2,000 resource changes (budget: 50 ms).

use std::{process::ExitCode, time::Instant};

use cdk_hook::{GuardConfig, bench};

use crate::{flags, setup::project_root};

const CHANGES: usize = 2_000;
const RUNS: u32 = 20;

pub fn run(_args: flags::Bench) -> anyhow::Result<ExitCode> {
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
    println!(
        "classify {CHANGES} resource changes: {:.2} ms ({profile} build, mean of {RUNS} runs; budget 50 ms)",
        each.as_secs_f64() * 1e3
    );
    let dir = project_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let report = serde_json::json!({
        "classifier": {
            "changes": CHANGES,
            "runs": RUNS,
            "mean_ms": each.as_secs_f64() * 1e3,
            "budget_ms": 50,
            "profile": profile,
        }
    });
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    println!("report {}", dir.join("report.json").display());
    Ok(ExitCode::SUCCESS)
}
