//! The table migration's report: what was copied per kind, the items not simply written (by key
//! and reason), the pace, and the verification. Written to `<state_dir>/<stack>/` and, with
//! `--json`, printed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tables::capacity::Capacity;
use crate::tables::counts::{KindCounts, Note};
use crate::tables::journal::TableSet;
use crate::tables::kinds::Kind;
use crate::tables::verify::Verification;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablesReport {
    pub stack: String,
    pub run_id: String,
    pub journal: String,
    pub tables: TableSet,
    /// Per kind: read, written, already_there, skipped, malformed, unwritten, rejected.
    pub counts: BTreeMap<Kind, KindCounts>,
    /// Items not simply written, the first [`crate::tables::counts::LISTED`] of each fate.
    pub notes: Vec<Note>,
    pub notes_total: u64,
    pub pace: PaceReport,
    /// `None` when the copy did not end (interrupted) or verification was not asked for.
    pub verification: Option<Verification>,
    /// The copy went through every segment.
    pub complete: bool,
    pub interrupted: bool,
    /// Complete, nothing unwritten or rejected, and the verification agrees.
    pub success: bool,
    pub started_at: String,
    pub finished_at: String,
    pub copy_seconds: f64,
    pub verify_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaceReport {
    pub conversations: TablePace,
    pub bots: TablePace,
    /// Items written in this run per second of its copy.
    pub items_per_second: f64,
    /// Every write of this run was a conditional put (the target held items when it began).
    pub all_conditional: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablePace {
    pub capacity: Capacity,
    /// Write units a second the pace started from.
    pub ceiling: f64,
    /// Where throttling left it.
    pub final_rate: f64,
    pub throttled: u64,
}

impl TablesReport {
    /// Totals over every kind.
    pub fn total(&self) -> KindCounts {
        KindCounts::sum(self.counts.values())
    }
}

impl TablesReport {
    /// Through the state directory's one private-file writer, as the re-embed's report.
    pub fn write_json(
        &self,
        path: &std::path::Path,
        existing: crate::state::Existing,
    ) -> Result<(), crate::state::StateError> {
        crate::state::write_private_json(path, existing, self)
    }
}
