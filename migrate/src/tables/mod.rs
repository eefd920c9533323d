//! The v2 -> v3 table migration of Bedrock Chat: the v2 conversation table copied into the v3
//! conversation and bot tables with the app's own transforms (`kinds.rs`), by a parallel scan
//! (`copy.rs`) written in paced, retried batches (`write.rs`, `pace.rs`, `capacity.rs`),
//! journaled per page for resume (`journal.rs`), verified against the source (`verify.rs`) and
//! reported (`report.rs`). It never writes to the source.
//!
//! The second migration of this crate beside the re-embed (`reembed/`): the re-embed follows a
//! replaced vector store (v0 -> v1); this one follows the move to new tables (v2.10 -> v3).

pub mod capacity;
pub mod copy;
pub mod counts;
mod error;
mod events;
pub mod item;
pub mod journal;
pub mod kinds;
pub mod pace;
pub mod record;
pub mod report;
mod run;
pub mod verify;
pub mod write;

pub use error::TablesError;
pub use events::TablesEvent;
pub use report::TablesReport;
pub use run::{TablesOptions, TablesResume, TablesTarget, run_tables_migration};
