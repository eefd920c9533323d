//! `cargo xtask gen-replacement-table`: regenerate (or, with `--check`, verify) the committed
//! table of replacing properties from the CDK CLI's service spec. The work is in `cdk-hook`,
//! which also tests the table's freshness.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use cdk_hook::replacement_table::{TABLE_RELATIVE_PATH, TableStatus, sync_committed_table};

use crate::flags::GenReplacementTable;

pub fn run(args: GenReplacementTable) -> anyhow::Result<ExitCode> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace");
    match sync_committed_table(root, args.check)? {
        TableStatus::Fresh => eprintln!("{TABLE_RELATIVE_PATH} is up to date"),
        TableStatus::Written { resource_types } => {
            eprintln!("wrote {TABLE_RELATIVE_PATH} ({resource_types} resource types)")
        }
        TableStatus::Stale => {
            bail!(
                "{TABLE_RELATIVE_PATH} is stale: run `cargo xtask gen-replacement-table` and commit the result"
            )
        }
    }
    Ok(ExitCode::SUCCESS)
}
