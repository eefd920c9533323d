//! The migration runs of the fault suite: reseeding between scenarios, the tasks a scenario
//! started, and `settle`, which resumes until every bot is done and checks every run on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use tests::deployed::Deployed;
use tests::output;
use tests::seed::{SeedPlan, SeededBot, seed_bots};
use tests::xtask::{self, printed};

use crate::support::*;

pub fn table(env: &Deployed) -> String {
    output(&env.outputs, "DatabaseConversationTableName").to_owned()
}

/// Puts every bot back as it was before any migration.
pub async fn reseed(env: &Deployed, plan: SeedPlan) {
    let ddb = aws_sdk_dynamodb::Client::new(&env.config);
    seed_bots(&ddb, &table(env), plan).await;
}

pub fn task_ids(env: &Deployed) -> BTreeSet<String> {
    tasks(&env.emulator).into_keys().collect()
}

/// The tasks started since `before`.
pub fn new_tasks(env: &Deployed, before: &BTreeSet<String>) -> BTreeMap<String, TaskRecord> {
    tasks(&env.emulator)
        .into_iter()
        .filter(|(id, _)| !before.contains(id))
        .collect()
}

/// Every bot that needs embedding ended with exactly one successful task since `before`, as
/// the table says; returns the table's state for further checks.
pub async fn assert_embedded_once(
    env: &Deployed,
    bots: &[SeededBot],
    before: &BTreeSet<String>,
) -> BTreeMap<String, (String, String)> {
    let table_now = table_state(&env.config, &table(env)).await;
    assert_each_bot_once(bots, &new_tasks(env, before), &table_now);
    table_now
}

/// With no fault on, one `migrate --yes --resume` finishes the job, each bot embedded once.
pub async fn resume_once_finishes(
    env: &Deployed,
    bots: &[SeededBot],
    state: &Path,
    before: &BTreeSet<String>,
) {
    let resume = ["migrate", "--yes", "--resume"];
    let (codes, _) = settle(env, bots, state, &resume, None, before).await;
    assert_eq!(codes, [0], "one resume finishes the job");
    assert_embedded_once(env, bots, before).await;
}

/// Runs `first` (migrate args), then `migrate --resume --retry-failed --yes` until a run exits 0,
/// at most 5 runs, with `faults` on during each run (seeded per run) and off while checking it.
/// Every run's report must agree with the emulator; a run that exits non-zero must have said how
/// to go on, and one that wrote no report (it failed before launching) must have launched nothing.
/// Returns the exit codes and how many faults of each kind were injected.
pub async fn settle(
    env: &Deployed,
    bots: &[SeededBot],
    state: &Path,
    first: &[&str],
    faults: Option<(u64, Value)>,
    before: &BTreeSet<String>,
) -> (Vec<i32>, BTreeMap<String, u64>) {
    let mut codes = Vec::new();
    let mut kinds = BTreeMap::new();
    let later = ["migrate", "--yes", "--resume", "--retry-failed"];
    for round in 0..5u64 {
        let report = state.join(format!("report-{round}.json"));
        let mut args: Vec<&str> = if round == 0 {
            first.to_vec()
        } else {
            later.to_vec()
        };
        args.extend(["--state-dir", state.to_str().unwrap()]);
        args.extend(["--report", report.to_str().unwrap()]);
        if let Some((seed, rules)) = &faults {
            set_faults(&env.emulator, seed * 10 + round, rules.clone());
        }
        let started_before = new_tasks(env, before).len();
        let run = xtask::run_with(&env.emulator, env.app.dir(), &args, &run_env());
        for (kind, n) in injected(&env.emulator).into_values().flatten() {
            *kinds.entry(kind).or_default() += n;
        }
        set_faults(&env.emulator, 0, json!([]));
        let code = run.status.code().expect("exited, not killed");
        codes.push(code);
        let all = new_tasks(env, before);
        match read_json(&report) {
            Some(report) => {
                let rows = table_state(&env.config, &table(env)).await;
                assert_report_matches(&report, bots, &rows, &all);
                let done = report["counts"]["succeeded"] == bots.len();
                assert_eq!(
                    code == 0,
                    done,
                    "exit 0 exactly when all succeeded: {}",
                    printed(&run)
                );
                if code != 0 {
                    assert_eq!(code, 1, "{}", printed(&run));
                    assert!(
                        printed(&run).contains("--resume"),
                        "says how to go on: {}",
                        printed(&run)
                    );
                }
            }
            None => {
                assert_eq!(code, 1, "no report, so an error: {}", printed(&run));
                assert_eq!(
                    all.len(),
                    started_before,
                    "failed before launching: {}",
                    printed(&run)
                );
            }
        }
        if code == 0 {
            return (codes, kinds);
        }
    }
    panic!("still not done after 5 runs: exit codes {codes:?}");
}
