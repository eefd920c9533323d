//! The final report: what happened to every bot, as JSON for pipelines and as rows for the table.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::rows::BotRows;
use crate::state::{self, Existing, StateError};
use crate::target::MigrationTarget;

/// What happened to one bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The task stopped and the bot says `SyncStatus` SUCCEEDED with `LastExecId` = that task.
    Succeeded,
    /// The task stopped without the bot reporting success for it.
    Failed { reason: String },
    /// RunTask kept failing (capacity, throttling, errors) up to the attempt limit.
    LaunchFailed { reason: String },
    /// Nothing to embed (every knowledge list empty), so no task.
    Skipped,
    /// The item could not be read as a bot; nothing launched.
    Malformed { reason: String },
    /// Launched, not stopped yet (`--no-wait` or an interrupt); the journal keeps tracking it.
    StillRunning,
    /// Interrupted before its launch; a resume launches it.
    NotLaunched,
    /// Dry run: would be launched.
    Planned,
}

/// Which [`Outcome`], without its reason: a report row's `outcome`, serialized as the same
/// snake-case word as the outcome's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Succeeded,
    Failed,
    LaunchFailed,
    Skipped,
    Malformed,
    StillRunning,
    NotLaunched,
    Planned,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Succeeded => "succeeded",
            OutcomeKind::Failed => "failed",
            OutcomeKind::LaunchFailed => "launch_failed",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Malformed => "malformed",
            OutcomeKind::StillRunning => "still_running",
            OutcomeKind::NotLaunched => "not_launched",
            OutcomeKind::Planned => "planned",
        }
    }

    /// The bot needs someone's attention: it failed, or its item is not a bot.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            OutcomeKind::Failed | OutcomeKind::LaunchFailed | OutcomeKind::Malformed
        )
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row's outcome compared with its word in the report, as a reader of the JSON would.
impl PartialEq<&str> for OutcomeKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Succeeded => OutcomeKind::Succeeded,
            Outcome::Failed { .. } => OutcomeKind::Failed,
            Outcome::LaunchFailed { .. } => OutcomeKind::LaunchFailed,
            Outcome::Skipped => OutcomeKind::Skipped,
            Outcome::Malformed { .. } => OutcomeKind::Malformed,
            Outcome::StillRunning => OutcomeKind::StillRunning,
            Outcome::NotLaunched => OutcomeKind::NotLaunched,
            Outcome::Planned => OutcomeKind::Planned,
        }
    }

    pub fn label(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Failed { reason }
            | Outcome::LaunchFailed { reason }
            | Outcome::Malformed { reason } => Some(reason),
            _ => None,
        }
    }

    /// Final outcomes end a bot's story in the journal; the others leave the run resumable.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Outcome::StillRunning | Outcome::NotLaunched | Outcome::Planned
        )
    }
}

/// One row per bot item (malformed items included, with whatever keys they had).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotRow {
    pub pk: Option<String>,
    pub sk: Option<String>,
    pub bot_id: Option<String>,
    /// `succeeded`, `failed`, `launch_failed`, `skipped`, `malformed`, `still_running`,
    /// `not_launched` or `planned`.
    pub outcome: OutcomeKind,
    /// The ECS task of the last launch, when there was one.
    pub task_arn: Option<String>,
    /// Why a bot failed, failed to launch or is malformed.
    pub reason: Option<String>,
}

impl BotRow {
    pub fn new(
        pk: Option<String>,
        sk: Option<String>,
        bot_id: Option<String>,
        outcome: &Outcome,
        task_arn: Option<String>,
    ) -> Self {
        Self {
            pk,
            sk,
            bot_id,
            outcome: outcome.kind(),
            task_arn,
            reason: outcome.reason().map(str::to_owned),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Bot items the scan returned (malformed ones included).
    pub found: u64,
    /// Bots that needed a task (all well-formed bots with `--all-bots`).
    pub to_embed: u64,
    pub skipped: u64,
    pub malformed: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub launch_failed: u64,
    pub still_running: u64,
    pub not_launched: u64,
    pub planned: u64,
    /// RunTask calls that started a task in this process (resumed tasks not included).
    pub launched: u64,
}

impl Counts {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome.kind() {
            OutcomeKind::Succeeded => self.succeeded += 1,
            OutcomeKind::Failed => self.failed += 1,
            OutcomeKind::LaunchFailed => self.launch_failed += 1,
            OutcomeKind::Skipped => self.skipped += 1,
            OutcomeKind::Malformed => self.malformed += 1,
            OutcomeKind::StillRunning => self.still_running += 1,
            OutcomeKind::NotLaunched => self.not_launched += 1,
            OutcomeKind::Planned => self.planned += 1,
        }
    }
}

/// Seconds spent per phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub scan_secs: f64,
    /// From the first to the last launch decision.
    pub launch_secs: f64,
    /// From the start of launching until every tracked task stopped (or tracking ended).
    pub track_secs: f64,
    /// Tasks started by this process per second of launch phase.
    pub launches_per_sec: f64,
}

/// Serializes with its rows read back from disk; not `Clone` for the same reason.
#[derive(Debug, Serialize)]
pub struct MigrationReport {
    pub version: u32,
    pub stack: String,
    pub target: MigrationTarget,
    /// The run id of this process (it prefixes the tasks' `startedBy`).
    pub run_id: String,
    /// The journal of this run; absent for a dry run.
    pub journal: Option<PathBuf>,
    pub dry_run: bool,
    /// The caller stopped the run (Ctrl-C): launching stopped early or tracking was cut short.
    pub interrupted: bool,
    pub counts: Counts,
    /// One row per bot item, on disk until written (see [`BotRows::iter`] for the order).
    pub bots: BotRows,
    pub timings: Timings,
}

impl MigrationReport {
    /// Exit 0 only when every bot that needed embedding succeeded. Malformed items are reported
    /// but do not fail the run: they are not bots the embedding task could process.
    pub fn success(&self) -> bool {
        let c = &self.counts;
        c.failed == 0 && c.launch_failed == 0 && c.still_running == 0 && c.not_launched == 0
    }

    /// Streams the report (rows included) to `path`: memory stays flat whatever the row count.
    /// Written by the state directory's one private-file writer: the report names every bot and
    /// its owner, and lives beside the journals (`Existing::Replace` for a path the operator
    /// named, `Existing::Refuse` for the fresh name the tool picked).
    pub fn write_json(&self, path: &Path, existing: Existing) -> Result<(), StateError> {
        state::write_private_with(path, existing, |out| {
            serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_serializes_with_kind_and_reason() {
        let o = Outcome::Failed {
            reason: "boom".into(),
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"kind":"failed","reason":"boom"}"#
        );
        assert_eq!(
            serde_json::to_string(&Outcome::Succeeded).unwrap(),
            r#"{"kind":"succeeded"}"#
        );
        let row = BotRow::new(Some("u".into()), None, None, &o, None);
        assert_eq!(row.outcome, "failed");
        assert_eq!(row.reason.as_deref(), Some("boom"));
    }

    fn report(counts: Counts, bots: BotRows) -> MigrationReport {
        MigrationReport {
            version: 1,
            stack: "S".into(),
            target: crate::target::MigrationTarget {
                table: "t".into(),
                cluster: "c".into(),
                task_definition: "d".into(),
                container: "Container".into(),
                subnets: vec![],
                security_groups: vec![],
                assign_public_ip: false,
            },
            run_id: "r".into(),
            journal: None,
            dry_run: false,
            interrupted: false,
            counts,
            bots,
            timings: Timings::default(),
        }
    }

    #[test]
    fn success_ignores_malformed_and_skipped() {
        let mut c = Counts::default();
        c.add(&Outcome::Succeeded);
        c.add(&Outcome::Skipped);
        c.add(&Outcome::Malformed { reason: "x".into() });
        assert!(report(c, BotRows::default()).success());
        c.add(&Outcome::StillRunning);
        assert!(!report(c, BotRows::default()).success());
    }

    #[test]
    fn the_report_file_is_one_json_document_with_every_row() {
        let mut sink = crate::rows::RowSink::default();
        let n = 3 * crate::rows::NOTABLE_ROWS;
        for i in 0..n {
            let outcome = Outcome::LaunchFailed {
                reason: format!("capacity \"{i}\""),
            };
            let row = BotRow::new(Some(format!("u{i}")), None, None, &outcome, None);
            sink.push(row, &outcome);
        }
        let (rows, counts) = sink.finish().unwrap();
        assert_eq!(rows.notable().len(), crate::rows::NOTABLE_ROWS);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/report.json");
        report(counts, rows)
            .write_json(&path, Existing::Refuse)
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(json["counts"]["launch_failed"], n);
        assert_eq!(json["stack"], "S");
        let bots = json["bots"].as_array().unwrap();
        assert_eq!(bots.len(), n);
        assert_eq!(bots[n - 1]["pk"], format!("u{}", n - 1));
        assert_eq!(bots[7]["reason"], "capacity \"7\"");
        assert_eq!(bots[7]["outcome"], "launch_failed");
        assert!(bots[7]["sk"].is_null());
    }
}
