//! The final report: what happened to every bot, as JSON for pipelines and as rows for the table.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::Counts;
use super::rows::BotRows;
use super::target::MigrationTarget;
use crate::state::{self, Existing, StateError};

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
        state::write_private_json(path, existing, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reembed::outcome::{BotRow, Outcome};

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
            target: crate::reembed::target::MigrationTarget {
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
        let mut sink = crate::reembed::rows::RowSink::default();
        let n = 3 * crate::reembed::rows::NOTABLE_ROWS;
        for i in 0..n {
            let outcome = Outcome::LaunchFailed {
                reason: format!("capacity \"{i}\""),
            };
            let row = BotRow::new(Some(format!("u{i}")), None, None, &outcome, None);
            sink.push(row, &outcome);
        }
        let (rows, counts) = sink.finish().unwrap();
        assert_eq!(rows.notable().len(), crate::reembed::rows::NOTABLE_ROWS);
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
