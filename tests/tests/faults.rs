//! `cargo xtask migrate` while AWS fails around it: seeded runs with a share of ECS and DynamoDB
//! calls failing in every way (500, throttling, dropped connections, answers past the attempt
//! timeout), SIGKILL mid-launch with a torn journal line, Ctrl-C once and twice, and operations
//! that fail from their Nth call on. Whatever happens, each bot that needs embedding ends with
//! exactly one successful task, never two running at once, and every report agrees with the
//! emulator bot by bot (`faults/support.rs`).
//!
//! The seeded runs: `XTASK_FAULT_RUNS` (5 in `cargo xtask test`, 20 with `--full`).

#[path = "faults/process.rs"]
mod process;
#[path = "faults/runs.rs"]
mod runs;
#[path = "faults/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use process::*;
use runs::*;
use serde_json::{Value, json};
use support::*;
use tests::deployed::deployed_with_bots;
use tests::scratch::Scratch;
use tests::seed::SeedPlan;
use tests::task_runner;
use tests::xtask::{self, printed};

const PLAN: SeedPlan = SeedPlan {
    with_knowledge: 40,
    without_knowledge: 6,
    aliases: 2,
    malformed: 0,
    conversations: 10,
};

#[tokio::test(flavor = "multi_thread")]
async fn seeded_runs_with_failing_calls_embed_every_bot_exactly_once() {
    let (env, bots) = deployed_with_bots(PLAN).await;
    let work = Scratch::temp("faults-");
    let mut resumed = 0;
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for run in 0..fault_runs() {
        let seed = 1000 + run;
        if run > 0 {
            reseed(&env, PLAN).await;
        }
        let before = task_ids(&env);
        // A tenth of the embeddings fail too, so resumes relaunch bots that already had a task.
        task_runner::configure(&env.emulator, 0.2, 0.1, seed);
        let state = work.path().join(format!("run-{run}"));
        let (codes, injected) = settle(
            &env,
            &bots,
            &state,
            &["migrate", "--yes"],
            Some((seed, mixed(0.05))),
            &before,
        )
        .await;
        resumed += codes.len() - 1;
        for (kind, n) in injected {
            *kinds.entry(kind).or_default() += n;
        }
        assert_embedded_once(&env, &bots, &before).await;
    }
    eprintln!(
        "{} seeded runs, {resumed} resumes, faults {kinds:?}",
        fault_runs()
    );
    for kind in ["internal", "throttle", "drop", "delay"] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind} fault in {kinds:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_launch_then_resume_embeds_every_bot_once_despite_a_torn_journal_line() {
    let (env, bots) = deployed_with_bots(PLAN).await;
    let work = Scratch::temp("faults-");
    let mut rng = Rng::new(7);
    for round in 0..fault_runs().div_ceil(5) + 1 {
        if round > 0 {
            reseed(&env, PLAN).await;
        }
        let before = task_ids(&env);
        task_runner::configure(&env.emulator, 0.3, 0.0, round);
        let seed = 2000 + round;
        set_faults(&env.emulator, seed, mixed(0.05));
        let state = work.path().join(format!("round-{round}"));
        // A seeded point among the launch's journal lines (intents, launches, outcomes).
        let kill_after = rng.between(3, 2 * bots.len() as u64) as usize;
        let args = [
            "migrate",
            "--yes",
            "--rate",
            "10",
            "--state-dir",
            state.to_str().unwrap(),
        ];
        let mut first = xtask::spawn(&env.emulator, env.app.dir(), &args, &run_env());
        let deadline = Instant::now() + Duration::from_secs(120);
        while count_lines(&state) < kill_after {
            assert!(
                Instant::now() < deadline,
                "never reached {kill_after} journal lines"
            );
            assert!(first.try_wait().unwrap().is_none(), "ended before the kill");
            std::thread::sleep(Duration::from_millis(10));
        }
        first.kill().expect("SIGKILL");
        first.wait().unwrap();
        let journal = journal(&state);
        let torn = tear_last_line(&journal);

        let (codes, _) = settle(
            &env,
            &bots,
            &state,
            &["migrate", "--yes", "--resume"],
            Some((seed, mixed(0.05))),
            &before,
        )
        .await;
        assert_embedded_once(&env, &bots, &before).await;
        let text = std::fs::read_to_string(&journal).unwrap();
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok()),
            "the resume cut the torn {torn} line off before appending"
        );
        eprintln!("killed at journal line {kill_after}, tore a {torn} line, then {codes:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_leaves_nothing_unrecorded_and_resume_knows_where_it_stands() {
    let (env, bots) = deployed_with_bots(PLAN).await;
    let work = Scratch::temp("faults-");

    // Once: no new launches, every running task tracked to its end, exit 130.
    let before = task_ids(&env);
    task_runner::configure(&env.emulator, 0.3, 0.0, 1);
    let state = work.path().join("once");
    let report_path = state.join("interrupted.json");
    let (code, said) = interrupt(&env, &state, &report_path, 1);
    assert_eq!(code, 130, "{said}");
    let report = read_json(&report_path).expect("the interrupted run's report");
    let started = new_tasks(&env, &before);
    assert_eq!(report["interrupted"], true);
    assert_eq!(
        report["counts"]["still_running"], 0,
        "tracked what ran: {said}"
    );
    assert!(
        report["counts"]["not_launched"].as_u64().unwrap() > 0,
        "stopped launching"
    );
    assert_eq!(report["counts"]["succeeded"], started.len());
    assert_report_matches(
        &report,
        &bots,
        &table_state(&env.config, &table(&env)).await,
        &started,
    );
    let launched: BTreeSet<String> = journal_entries(&journal(&state))
        .iter()
        .filter(|e| e["type"] == "launched")
        .map(|e| task_id(e["task_arn"].as_str().unwrap()).to_owned())
        .collect();
    assert_eq!(
        started.keys().cloned().collect::<BTreeSet<_>>(),
        launched,
        "every task journaled"
    );
    resume_once_finishes(&env, &bots, &state, &before).await;

    // Twice: exit 130 at once, tasks left running; each is in the journal (launched, or its
    // intent's startedBy for a RunTask whose answer the exit cut off), and resume adopts them.
    reseed(&env, PLAN).await;
    let before = task_ids(&env);
    task_runner::configure(&env.emulator, 2.0, 0.0, 2);
    let state = work.path().join("twice");
    let report_path = state.join("interrupted.json");
    let (code, said) = interrupt(&env, &state, &report_path, 2);
    assert_eq!(code, 130, "{said}");
    let report = read_json(&report_path).expect("the aborted run's report");
    assert!(
        report["counts"]["still_running"].as_u64().unwrap() > 0,
        "did not wait: {said}"
    );
    let entries = journal_entries(&journal(&state));
    for (id, task) in new_tasks(&env, &before) {
        let recorded = entries.iter().any(|e| {
            (e["type"] == "launched" && e["task_arn"].as_str().is_some_and(|a| task_id(a) == id))
                || (e["type"] == "intent" && e["started_by"] == task.started_by.as_str())
        });
        assert!(recorded, "task {id} ({task:?}) is not in the journal");
    }
    resume_once_finishes(&env, &bots, &state, &before).await;
}

/// Operations that fail from their Nth call on: answers held ten minutes (the run times each
/// attempt out and retries instead of waiting), RunTask answers lost (the tasks started are found,
/// not launched again), RunTask throttled for good (reported, then resumed).
#[tokio::test(flavor = "multi_thread")]
async fn operations_failing_from_the_nth_call_on() {
    let plan = SeedPlan {
        with_knowledge: 30,
        ..SeedPlan::default()
    };
    let (env, bots) = deployed_with_bots(plan).await;
    let work = Scratch::temp("faults-");
    task_runner::configure(&env.emulator, 0.2, 0.0, 3);

    // A scan page, DescribeTasks and GetItem answers held past any patience: each attempt times
    // out (the tool's attempt timeout) and is retried, and the run ends as if nothing happened.
    let before = task_ids(&env);
    let held = |service: &str, operation: &str, from_call: u64| {
        json!({"service": service, "operation": operation, "from_call": from_call, "times": 2,
               "kind": "delay", "seconds": 600})
    };
    set_faults(
        &env.emulator,
        0,
        json!([
            held("dynamodb", "Scan", 1),
            held("ecs", "DescribeTasks", 2),
            held("dynamodb", "GetItem", 3)
        ]),
    );
    let state = work.path().join("held");
    let report = state.join("report.json");
    let args = [
        "migrate",
        "--yes",
        "--state-dir",
        state.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let run = run_within(&env, &args, Duration::from_secs(120));
    let delays: u64 = injected(&env.emulator)
        .values()
        .filter_map(|k| k.get("delay"))
        .sum();
    set_faults(&env.emulator, 0, json!([]));
    assert_eq!(run.status.code(), Some(0), "{}", printed(&run));
    assert_eq!(delays, 6, "every held answer was asked for");
    let table_now = assert_embedded_once(&env, &bots, &before).await;
    assert_report_matches(
        &read_json(&report).unwrap(),
        &bots,
        &table_now,
        &new_tasks(&env, &before),
    );

    // Every RunTask from the 11th on starts its task and loses the answer: each attempt carries
    // the same client token, so each of those bots still has one task, which the run must find.
    reseed(&env, plan).await;
    let before = task_ids(&env);
    let lost = json!([{"service": "ecs", "operation": "RunTask", "from_call": 11, "kind": "drop"}]);
    let state = work.path().join("lost");
    let first = ["migrate", "--yes", "--max-attempts", "3"];
    let (codes, _) = settle(&env, &bots, &state, &first, Some((1, lost)), &before).await;
    assert_eq!(codes, [0], "found the tasks whose answers were lost");
    assert_embedded_once(&env, &bots, &before).await;

    // RunTask throttled for good from the 21st call: ten bots get no task, the run says so and
    // exits 1, and once the throttling is over a resume launches exactly those.
    reseed(&env, plan).await;
    let before = task_ids(&env);
    let state = work.path().join("throttled");
    let report = state.join("report.json");
    set_faults(
        &env.emulator,
        2,
        json!([{"service": "ecs", "operation": "RunTask", "from_call": 21, "kind": "throttle"}]),
    );
    let args = [
        "migrate",
        "--yes",
        "--max-attempts",
        "3",
        "--state-dir",
        state.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let run = xtask::run_with(&env.emulator, env.app.dir(), &args, &run_env());
    let throttled = injected(&env.emulator);
    set_faults(&env.emulator, 0, json!([]));
    assert_eq!(run.status.code(), Some(1), "{}", printed(&run));
    assert!(throttled["ecs.RunTask"]["throttle"] >= 30, "{throttled:?}");
    let report = read_json(&report).unwrap();
    assert_eq!(report["counts"]["launch_failed"], 10, "{}", printed(&run));
    assert_eq!(report["counts"]["succeeded"], 20);
    let table_now = table_state(&env.config, &table(&env)).await;
    assert_report_matches(&report, &bots, &table_now, &new_tasks(&env, &before));
    assert!(
        printed(&run).contains("10 bot(s) got no task"),
        "{}",
        printed(&run)
    );
    resume_once_finishes(&env, &bots, &state, &before).await;
}
