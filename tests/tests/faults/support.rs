//! What the fault suite reads and checks: the emulator's fault knobs
//! (`tests/emulator/patches/faults.py`), the task runner's record of every task's lifetime, the
//! bots' own state in the table, the report and the journal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tests::{Emulator, STACK, seed::SeededBot};

/// The seeded runs: `XTASK_FAULT_RUNS` (`cargo xtask test` sets 5, `--full` 20), never fewer than 5.
pub fn fault_runs() -> u64 {
    std::env::var("XTASK_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(5)
}

/// A small deterministic generator (splitmix64), so a failing seed can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// How long the emulator holds a delayed answer: well past the tool's attempt timeout below, so
/// a delayed answer is always a timeout, however loaded the machine.
pub const DELAY_SECONDS: f64 = 12.0;
/// The tool's per-attempt timeout in these tests (production: 30 s). Short enough that a held
/// answer costs little, long enough that an ordinary answer from the emulator on a loaded 2-core
/// machine (a resume's ListTasks, a scan page) is never taken for one: the suite's verdict must
/// not depend on the machine's load.
pub const ATTEMPT_TIMEOUT_MS: &str = "5000";

/// `FAST` plus the short attempt timeout that makes a delayed answer a timeout.
pub fn run_env() -> Vec<(&'static str, &'static str)> {
    let mut env = tests::deployed::FAST.to_vec();
    env.push(("XTASK_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT_MS));
    env
}

const FAULTS: &str = "/moto-api/emulator/faults";

/// Replaces the emulator's fault rules (an empty list turns them off) and zeroes its counters.
pub fn set_faults(emulator: &Emulator, seed: u64, rules: Value) {
    ureq::post(&format!("{}{FAULTS}", emulator.endpoint()))
        .send_json(json!({"seed": seed, "rules": rules}))
        .expect("configure the faults");
}

/// `share` of every ECS and DynamoDB call fails, each in one of the four ways.
pub fn mixed(share: f64) -> Value {
    let kinds = ["internal", "throttle", "drop", "delay"];
    json!([
        {"service": "ecs", "share": share, "kind": kinds, "seconds": DELAY_SECONDS},
        {"service": "dynamodb", "share": share, "kind": kinds, "seconds": DELAY_SECONDS},
    ])
}

/// What the emulator injected so far, per `service.Operation` and kind.
pub fn injected(emulator: &Emulator) -> BTreeMap<String, BTreeMap<String, u64>> {
    let state: Value = ureq::get(&format!("{}{FAULTS}", emulator.endpoint()))
        .call()
        .expect("read the faults")
        .body_mut()
        .read_json()
        .expect("faults JSON");
    serde_json::from_value(state["injected"].clone()).expect("injected counters")
}

/// One embedding task as the emulator's task runner saw it (times in epoch seconds).
#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub bot: String,
    pub started_by: String,
    pub created: f64,
    pub stopped: Option<f64>,
    pub exit_code: Option<i64>,
}

/// Every embedding task the emulator ran, by task id.
pub fn tasks(emulator: &Emulator) -> BTreeMap<String, TaskRecord> {
    let state: Value = ureq::get(&format!(
        "{}/moto-api/emulator/task-runner",
        emulator.endpoint()
    ))
    .call()
    .expect("read the task runner")
    .body_mut()
    .read_json()
    .expect("task runner JSON");
    let tasks = state["tasks"].as_object().expect("tasks map");
    tasks
        .iter()
        .map(|(id, t)| {
            let record = TaskRecord {
                bot: t["bot"].as_str().expect("bot").to_owned(),
                started_by: t["started_by"].as_str().unwrap_or_default().to_owned(),
                created: t["created"].as_f64().expect("created"),
                stopped: t["stopped"].as_f64(),
                exit_code: t["exit_code"].as_i64(),
            };
            (id.clone(), record)
        })
        .collect()
}

pub fn key(bot: &SeededBot) -> String {
    format!("{}|{}", bot.pk, bot.sk)
}

pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Each bot's `SyncStatus` and `LastExecId`, by `<PK>|<SK>`.
pub async fn table_state(
    config: &aws_config::SdkConfig,
    table: &str,
) -> BTreeMap<String, (String, String)> {
    let ddb = aws_sdk_dynamodb::Client::new(config);
    let mut state = BTreeMap::new();
    let mut items = ddb.scan().table_name(table).into_paginator().items().send();
    while let Some(item) = items.next().await {
        let item = item.expect("scan the table");
        let text = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        state.insert(
            format!("{}|{}", text("PK"), text("SK")),
            (text("SyncStatus"), text("LastExecId")),
        );
    }
    state
}

pub fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).expect("report JSON"))
}

/// The report's row per bot that needed embedding, by `<PK>|<SK>`.
pub fn rows(report: &Value) -> BTreeMap<String, Value> {
    report["bots"]
        .as_array()
        .expect("bots[]")
        .iter()
        .filter(|row| !matches!(row["outcome"].as_str(), Some("skipped" | "malformed")))
        .map(|row| {
            let (pk, sk) = (row["pk"].as_str().unwrap(), row["sk"].as_str().unwrap());
            (format!("{pk}|{sk}"), row.clone())
        })
        .collect()
}

/// The journal of a state directory (each test run gets its own directory, so there is one).
pub fn journal(state_dir: &Path) -> PathBuf {
    let dir = state_dir.join(STACK);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one journal in {}: {found:?}",
        dir.display()
    );
    found.remove(0)
}

/// The journal's complete lines, parsed.
pub fn journal_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the journal")
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn count_in_journals(state_dir: &Path, pattern: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(state_dir.join(STACK)) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .matches(pattern)
                .count()
        })
        .sum()
}

/// `launched` lines in the journals of a state directory.
pub fn count_launched(state_dir: &Path) -> usize {
    count_in_journals(state_dir, r#""type":"launched""#)
}

/// Complete lines in the journals of a state directory.
pub fn count_lines(state_dir: &Path) -> usize {
    count_in_journals(state_dir, "\n")
}

/// The report of one run agrees with the emulator bot by bot: `succeeded` exactly when the bot says
/// SUCCEEDED for the row's task; `failed` when it says FAILED for it; a bot reported without a task
/// of this run (`launch_failed`, `not_launched`) has none in ECS either.
pub fn assert_report_matches(
    report: &Value,
    bots: &[SeededBot],
    table: &BTreeMap<String, (String, String)>,
    tasks: &BTreeMap<String, TaskRecord>,
) {
    let rows = rows(report);
    let expected: BTreeSet<String> = bots.iter().map(key).collect();
    assert_eq!(
        rows.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "one row per bot to embed"
    );
    let this_run = format!("mig-{}-", report["run_id"].as_str().unwrap());
    for (bot, row) in &rows {
        let (status, last) = &table[bot];
        let arn = row["task_arn"].as_str();
        let outcome = row["outcome"].as_str().unwrap();
        let says = format!("{bot}: report {row}, table ({status}, {last})");
        match outcome {
            "succeeded" => {
                let id = task_id(arn.expect("a succeeded row names its task"));
                assert_eq!(
                    (status.as_str(), last.as_str()),
                    ("SUCCEEDED", id),
                    "{says}"
                );
                assert_eq!(tasks[id].exit_code, Some(0), "{says}");
            }
            "failed" => {
                let id = task_id(arn.expect("a failed row names its task"));
                assert_eq!((status.as_str(), last.as_str()), ("FAILED", id), "{says}");
            }
            "launch_failed" | "not_launched" => {
                let started: Vec<_> = tasks
                    .iter()
                    .filter(|(_, t)| &t.bot == bot && t.started_by.starts_with(&this_run))
                    .collect();
                assert!(started.is_empty(), "{says}: yet it has {started:?}");
            }
            "still_running" => {
                let id = task_id(arn.expect("a running row names its task"));
                assert_eq!(&tasks[id].bot, bot, "{says}");
            }
            other => panic!("unexpected outcome {other}: {says}"),
        }
    }
    let count = |outcome: &str| rows.values().filter(|r| r["outcome"] == outcome).count();
    let counts = &report["counts"];
    for outcome in ["succeeded", "failed", "launch_failed", "not_launched"] {
        assert_eq!(counts[outcome], count(outcome), "counts.{outcome}");
    }
}

/// The end state every fault scenario must reach: each bot has exactly one successful task among
/// `tasks`, never two running at once, all stopped, and the bot's item names that task.
pub fn assert_each_bot_once(
    bots: &[SeededBot],
    tasks: &BTreeMap<String, TaskRecord>,
    table: &BTreeMap<String, (String, String)>,
) {
    for bot in bots.iter().map(key) {
        let mut mine: Vec<(&String, &TaskRecord)> =
            tasks.iter().filter(|(_, t)| t.bot == bot).collect();
        mine.sort_by(|a, b| a.1.created.total_cmp(&b.1.created));
        let ok: Vec<&String> = mine
            .iter()
            .filter(|(_, t)| t.exit_code == Some(0))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(ok.len(), 1, "{bot}: one successful task, got {mine:?}");
        for pair in mine.windows(2) {
            let stopped = pair[0].1.stopped.expect("an earlier task stopped");
            assert!(
                stopped <= pair[1].1.created,
                "{bot}: two tasks running at once: {pair:?}"
            );
        }
        assert!(
            mine.iter().all(|(_, t)| t.stopped.is_some()),
            "{bot}: {mine:?}"
        );
        assert_eq!(
            table[&bot],
            ("SUCCEEDED".to_string(), ok[0].clone()),
            "{bot}: the bot names its task"
        );
    }
}
