//! Why a table migration stopped.

use crate::error_text::AwsError;
use crate::journal_file::JournalError;

use super::{capacity, journal, write};

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
