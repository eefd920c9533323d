//! `deploy` on Bedrock Chat's v2 -> v3 upgrade: the v2 table recorded before the change set runs
//! (after it the stack no longer names it), then the table migration, as the re-embed follows a
//! replaced vector store. A v2 table that the upgrade would delete stops the deploy first.

use std::process::ExitCode;

use cdk_hook::tables_move::TablesMove;
use console::style;

use super::reviewed::ReviewedChangeSet;
use crate::flags::{Deploy, MigrateWhen, StackArgs, StackOptions, TablesFlags};
use crate::migrate_tables::{Output, ResumeChoice};

/// Why a deploy that deletes the v2 table stops, and what to do instead.
pub fn destroyed_source(moved: &TablesMove) -> String {
    format!(
        "this upgrade removes the v2 conversation table {} and deletes it (its DeletionPolicy is \
         not Retain, as before Bedrock Chat v2.10.0), with every conversation and bot, while the \
         app moves to the new tables {} and {}. Deploy Bedrock Chat v2.10.0 first (it sets the \
         table's DeletionPolicy to Retain), then this release: the table then stays in the \
         account and `deploy` copies it into the new tables",
        moved.old_table, moved.conversations, moved.bots
    )
}

/// Records the v2 table's physical name in the state directory before the change set runs.
pub async fn record_source(
    args: &Deploy,
    cfn: &aws_sdk_cloudformation::Client,
    reviewed: &ReviewedChangeSet,
    moved: &TablesMove,
) -> anyhow::Result<()> {
    let stack = &reviewed.stack_name;
    let Some(source_table) = cdk_hook::stack::physical_id(cfn, stack, &moved.old_table).await?
    else {
        anyhow::bail!(
            "stack {stack} has no physical table for {}: cannot record the table to copy from",
            moved.old_table
        );
    };
    let record = migrate::tables::record::TablesSource {
        stack: stack.clone(),
        source_table,
        logical_id: moved.old_table.clone(),
        change_set_id: reviewed.change_set_id.clone(),
        at: migrate::state::utc_now_rfc3339(),
    };
    let path = migrate::tables::record::write(&args.scope.state_dir, &record)?;
    eprintln!(
        "{} the v2 conversation table {} (recorded in {})",
        style("source").bold(),
        record.source_table,
        path.display()
    );
    Ok(())
}

/// After the upgrade: the table migration (`--migrate never`: only what to run).
pub async fn migrate_after(args: &Deploy, stack_name: &str) -> anyhow::Result<ExitCode> {
    if args.migrate == MigrateWhen::Never {
        eprintln!(
            "the app now reads the v3 tables, which are empty: copy the data with `cargo xtask \
             migrate-tables --stack {stack_name}` before users come back"
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{} the app moved to the v3 tables: copying the v2 conversation table into them",
        style("migration").bold()
    );
    let scope = StackOptions {
        stack: StackArgs {
            name: stack_name.to_owned(),
            ..args.scope.stack.clone()
        },
        ..args.scope.clone()
    };
    let flags = TablesFlags::default();
    let output = Output {
        json: false,
        report: None,
    };
    crate::migrate_tables::run_async(&scope, &flags, ResumeChoice::Unsaid, &output).await
}
