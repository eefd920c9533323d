//! The side-by-side launch runs on one emulator and one seeded table: the guide's procedure (our
//! boto3 baseline), `migrate --yes --no-wait`, and the full `migrate --yes`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tests::Emulator;

use super::probe::{self, LIMITS_PATH, RUNNER_PATH};
use crate::dev::setup::project_root;

/// The RunTask limit the figures are held against (docs/aws-limits.md).
pub const LIMIT_PER_SEC: f64 = 20.0;

/// One run's figures, as printed and written to the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figures {
    pub run: String,
    pub wall_secs: f64,
    pub launches_per_sec_sustained: Option<f64>,
    pub throttling_errors: u64,
    pub capacity_failures: u64,
    pub launch_failures_left: u64,
    pub tasks_launched: u64,
    pub bots_needing_embedding: u64,
    pub tasks_for_bots_with_nothing_to_embed: u64,
    pub peak_rss_mb: f64,
    pub emulator_cpu_percent: f64,
    /// Stopped by `--baseline-max-secs`: the rate is from the part it ran.
    pub partial: bool,
    /// For a partial baseline: its wall time had it launched every bot at its rate, which the
    /// ratios use.
    pub projected_wall_secs: Option<f64>,
    pub exit_code: Option<i32>,
}

/// What every run needs: the emulator, the target's values, where to write.
pub struct Bench<'a> {
    pub emulator: &'a Emulator,
    pub target: &'a [(&'static str, String)],
    pub dir: &'a Path,
    pub to_embed: u64,
    /// A copy of this binary taken at the start: others rebuilding `target/debug/xtask` during a
    /// long bench must not change (or remove) what is measured.
    pub xtask: std::path::PathBuf,
}

impl Bench<'_> {
    fn limits(&self, body: Option<&Value>) -> anyhow::Result<Value> {
        probe::admin(self.emulator.port(), LIMITS_PATH, body)
    }

    /// Waits until the last run's tasks have stopped, so each run starts with the whole quota.
    pub fn settle(&self) -> anyhow::Result<()> {
        while self.limits(None)?["running"].as_u64().unwrap_or(0) > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(())
    }

    /// Runs `command` as the run `name`, between a reset and a read of the emulator's counters.
    pub fn measure(
        &self,
        name: &str,
        command: Command,
        max_secs: Option<u64>,
    ) -> anyhow::Result<(Figures, String)> {
        self.settle()?;
        let runner = probe::admin(self.emulator.port(), RUNNER_PATH, None)?;
        let empty_before = probe::tasks_for_empty_bots(&runner);
        let before = self.limits(Some(&json!({"reset": true})))?;
        let log = |ext: &str| std::fs::File::create(self.dir.join(format!("{name}.{ext}")));
        eprintln!("    run {name} ...");
        let done = probe::run_measured(command, log("stdout")?, log("stderr")?, max_secs)?;
        let after = self.limits(None)?;
        let runner = probe::admin(self.emulator.port(), RUNNER_PATH, None)?;
        let accepted: Vec<f64> = serde_json::from_value(after["run_task_accepted_at"].clone())?;
        let cpu = after["cpu_seconds"].as_f64().unwrap_or(0.0)
            - before["cpu_seconds"].as_f64().unwrap_or(0.0);
        let figures = Figures {
            run: name.to_owned(),
            wall_secs: done.wall_secs,
            launches_per_sec_sustained: probe::sustained_rate(&accepted),
            throttling_errors: after["throttled"].as_u64().unwrap_or(0),
            capacity_failures: after["capacity_failures"].as_u64().unwrap_or(0),
            launch_failures_left: 0,
            tasks_launched: accepted.len() as u64,
            bots_needing_embedding: self.to_embed,
            tasks_for_bots_with_nothing_to_embed: probe::tasks_for_empty_bots(&runner)
                - empty_before,
            peak_rss_mb: done.peak_rss_mb,
            emulator_cpu_percent: 100.0 * cpu / done.wall_secs.max(1e-9),
            partial: done.stopped_early,
            projected_wall_secs: None,
            exit_code: done.code,
        };
        let stdout = std::fs::read_to_string(self.dir.join(format!("{name}.stdout")))?;
        Ok((figures, stdout))
    }

    /// The guide's procedure: our boto3 script, in the emulator's Python.
    pub fn baseline(&self, max_secs: Option<u64>, bots: usize) -> anyhow::Result<Figures> {
        let mut command = self
            .emulator
            .command(project_root().join("target/emulator-venv/bin/python"));
        command.arg(project_root().join("tests/bench/baseline.py"));
        for (key, value) in self.target {
            command.args([format!("--{key}"), value.clone()]);
        }
        let (mut figures, stdout) = self.measure("baseline", command, max_secs)?;
        // Its summary line is missing when it was stopped early: then every bot it did not start
        // a task for is left over.
        let summary: Value = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        figures.launch_failures_left = summary["failures_ignored"].as_u64().unwrap_or(0)
            + summary["errors"].as_u64().unwrap_or(0);
        // It launches one task per bot item, in scan order, at a steady rate.
        if figures.partial && figures.tasks_launched > 0 {
            figures.projected_wall_secs =
                Some(figures.wall_secs * bots as f64 / figures.tasks_launched as f64);
        }
        Ok(figures)
    }

    /// `cargo xtask migrate --yes` with `extra` flags, as the run `name`.
    pub fn migrate(
        &self,
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<(Figures, Value)> {
        let report = self.dir.join(format!("{name}.report.json"));
        let state = self.dir.join(format!("{name}.state"));
        let mut command = self.emulator.command(&self.xtask);
        command
            .args(["migrate", "--yes", "--stack", tests::STACK, "--state-dir"])
            .arg(&state)
            .arg("--report")
            .arg(&report)
            .args(extra)
            .envs(env.iter().copied());
        let (mut figures, _) = self.measure(name, command, None)?;
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&report)?)?;
        let counts = &report["counts"];
        figures.launch_failures_left = counts["launch_failed"].as_u64().unwrap_or(0)
            + counts["not_launched"].as_u64().unwrap_or(0);
        Ok((figures, report))
    }
}
