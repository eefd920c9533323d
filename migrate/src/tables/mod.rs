//! The v2 -> v3 table migration of Bedrock Chat: the v2 conversation table copied into the v3
//! conversation and bot tables with the app's own transforms (`kinds.rs`), by a parallel scan
//! (`copy.rs`) written in paced, retried batches (`write.rs`, `pace.rs`, `capacity.rs`),
//! journaled per page for resume (`journal.rs`), verified against the source (`verify.rs`) and
//! reported (`report.rs`). It never writes to the source.
//!
//! The second migration of this crate beside the re-embed (`run.rs`): the re-embed follows a
//! replaced vector store (v0 -> v1); this one follows the move to new tables (v2.10 -> v3).

pub mod capacity;
pub mod copy;
pub mod counts;
pub mod item;
pub mod journal;
pub mod kinds;
pub mod pace;
pub mod record;
pub mod report;
mod run;
pub mod verify;
pub mod write;

pub use report::TablesReport;
pub use run::{TablesOptions, TablesResume, TablesTarget, run_tables_migration};

use crate::error_text::AwsError;
use crate::journal::JournalError;

#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error(transparent)]
    Describe(#[from] capacity::DescribeError),
    #[error(
        "table {table} is keyed {found}, not PK/SK (the key schema of Bedrock Chat's {role}): \
         check the table name"
    )]
    KeySchema {
        table: String,
        role: &'static str,
        found: String,
    },
    #[error("reading the source table {table}: {source}")]
    Source {
        table: String,
        #[source]
        source: AwsError,
    },
    #[error(transparent)]
    Write(#[from] write::WriteError),
    #[error("verification: {source}")]
    Verify {
        #[source]
        source: AwsError,
    },
    #[error(
        "verification: DynamoDB still handed back {keys} keys unprocessed after {attempts} \
         BatchGetItem attempts (the new tables keep throttling reads): the copy is journaled; \
         run `cargo xtask migrate-tables --resume` to verify again"
    )]
    VerifyUnprocessed { keys: usize, attempts: u32 },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    OtherTables(#[from] journal::TablesJournalError),
    #[error("a table migration worker stopped unexpectedly: {0}")]
    Worker(#[source] tokio::task::JoinError),
    #[error(
        "the source and a target are the same table ({0}): the migration never writes to its source"
    )]
    SameTable(String),
}
