//! `cargo xtask migrate-tables`: wiring and presentation of the `migrate` crate's table migration
//! (the v2 -> v3 upgrade's data): which tables, the resume choice, progress, the summary, the
//! report file and the exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use console::style;
use migrate::Interrupt;
use migrate::state::Existing;
use migrate::tables::counts::NoteKind;
use migrate::tables::{
    TablesEvent, TablesOptions, TablesReport, TablesResume, TablesTarget, journal,
    run_tables_migration,
};

use crate::flags::{MigrateTables, StackOptions, TablesFlags};

/// The v3 outputs that name the new tables (`cdk/lib/bedrock-chat-stack.ts` at v3.0.0:
/// `docs/bedrock-chat-v3-tables.md`, section 1).
pub const CONVERSATION_TABLE_OUTPUT: &str = "ConversationTableNameV3";
pub const BOT_TABLE_OUTPUT: &str = "BotTableNameV3";

pub fn run(args: MigrateTables) -> anyhow::Result<ExitCode> {
    let _lock = crate::run_lock::take(&args.scope)?;
    crate::aws::runtime()?.block_on(run_async(
        &args.scope,
        &args.tables,
        args.resume_choice(),
        &Output::of(&args),
    ))
}

/// Where the report goes and whether it is also printed.
pub struct Output {
    pub json: bool,
    pub report: Option<PathBuf>,
}

impl Output {
    fn of(args: &MigrateTables) -> Self {
        Self {
            json: args.json,
            report: args.report.clone(),
        }
    }
}

/// What the flags say of an unfinished journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeChoice {
    Resume,
    Fresh,
    /// Neither flag: an unfinished journal stops the run (nothing is written twice on a guess).
    Unsaid,
}

impl MigrateTables {
    fn resume_choice(&self) -> ResumeChoice {
        match (self.resume, self.fresh) {
            (true, _) => ResumeChoice::Resume,
            (_, true) => ResumeChoice::Fresh,
            _ => ResumeChoice::Unsaid,
        }
    }
}

/// Test knobs (a test that throttles every write waits milliseconds, not the minute a table
/// takes): the write retries' backoff base and ceiling, in milliseconds.
const BACKOFF_BASE_ENV: &str = "MIGRATE_BACKOFF_BASE_MS";
const BACKOFF_MAX_ENV: &str = "MIGRATE_TABLES_BACKOFF_MAX_MS";

fn backoff() -> anyhow::Result<migrate::ratelimit::Backoff> {
    let defaults = TablesOptions::default().backoff;
    Ok(migrate::ratelimit::Backoff {
        base: crate::knobs::env_duration(BACKOFF_BASE_ENV, defaults.base)?,
        max: crate::knobs::env_duration(BACKOFF_MAX_ENV, defaults.max)?,
    })
}

/// Also the last step of `deploy` after the v3 upgrade (it holds the stack's lock for both).
pub async fn run_async(
    scope: &StackOptions,
    flags: &TablesFlags,
    choice: ResumeChoice,
    output: &Output,
) -> anyhow::Result<ExitCode> {
    let config = crate::aws::sdk_config(&scope.stack.aws).await;
    let target = resolve_tables(&config, scope, flags).await?;
    let resume = choose_resume(scope, choice)?;
    eprintln!(
        "{} {} -> conversations {}, bots {}{}",
        style("tables").bold(),
        target.source,
        target.conversations,
        target.bots,
        match &resume {
            TablesResume::Journal(path) => format!(" (resuming {})", path.display()),
            TablesResume::Fresh => String::new(),
        }
    );
    let options = TablesOptions {
        stack: scope.stack.name.clone(),
        state_dir: scope.state_dir.clone(),
        segments: flags.segments,
        resume,
        write_units_per_second: flags.write_units,
        sample_every: flags.sample_every,
        backoff: backoff()?,
        ..TablesOptions::default()
    };
    let client = aws_sdk_dynamodb::Client::new(&config);
    let (report, interrupt) = execute(&client, &target, &options).await?;
    finish(scope, output, &report)?;
    Ok(exit_code(&report, &interrupt))
}

/// The source (flag, else `deploy`'s record) and the two new tables (flags, else the outputs).
async fn resolve_tables(
    config: &aws_config::SdkConfig,
    scope: &StackOptions,
    flags: &TablesFlags,
) -> anyhow::Result<TablesTarget> {
    let source = match &flags.from_table {
        Some(table) => table.clone(),
        None => recorded_source(&scope.state_dir, &scope.stack.name)?,
    };
    let (conversations, bots) = match (&flags.conversation_table, &flags.bot_table) {
        (Some(c), Some(b)) => (c.clone(), b.clone()),
        (c, b) => {
            let outputs = crate::outputs::stack_outputs(config, &scope.stack.name).await?;
            let find = |flag: &Option<String>, id: &str| -> anyhow::Result<String> {
                if let Some(v) = flag {
                    return Ok(v.clone());
                }
                outputs
                    .iter()
                    .find(|(k, _)| k == id)
                    .map(|(_, v)| v.clone())
                    .with_context(|| {
                        format!(
                            "stack {} has no output {id} (is it Bedrock Chat v3?); name the table \
                             with --conversation-table / --bot-table",
                            scope.stack.name
                        )
                    })
            };
            (
                find(c, CONVERSATION_TABLE_OUTPUT)?,
                find(b, BOT_TABLE_OUTPUT)?,
            )
        }
    };
    Ok(TablesTarget {
        source,
        conversations,
        bots,
    })
}

/// The v2 table `deploy` recorded before the upgrade removed it from the stack.
fn recorded_source(state_dir: &Path, stack: &str) -> anyhow::Result<String> {
    match migrate::tables::record::latest(state_dir, stack)? {
        Some(record) => Ok(record.source_table),
        None => anyhow::bail!(
            "no v2 conversation table to copy from: give it with --from-table (after the upgrade \
             the stack no longer names it; `deploy` records it in {} when it runs the upgrade)",
            migrate::state::stack_dir(state_dir, stack).display()
        ),
    }
}

fn choose_resume(scope: &StackOptions, choice: ResumeChoice) -> anyhow::Result<TablesResume> {
    let unfinished = journal::find_unfinished(&scope.state_dir, &scope.stack.name)?;
    Ok(match (unfinished, choice) {
        (Some(path), ResumeChoice::Resume) => TablesResume::Journal(path),
        (None, ResumeChoice::Resume) => anyhow::bail!(
            "--resume: no unfinished table migration for stack {} in {}",
            scope.stack.name,
            scope.state_dir.display()
        ),
        (Some(path), ResumeChoice::Unsaid) => anyhow::bail!(
            "an earlier table migration did not finish ({}): continue it with --resume, or start \
             over with --fresh (nothing already in the new tables is overwritten)",
            path.display()
        ),
        (_, _) => TablesResume::Fresh,
    })
}

/// The copy and the verification behind a spinner that counts items, with the process's
/// interrupt: the first signal lets every segment finish its page and checkpoint.
async fn execute(
    client: &aws_sdk_dynamodb::Client,
    target: &TablesTarget,
    options: &TablesOptions,
) -> anyhow::Result<(TablesReport, Interrupt)> {
    let ui = crate::progress::spinner("copying");
    let _handling = crate::signals::handle(1);
    let interrupt = crate::signals::interrupt();
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let events = {
        let (ui, counts) = (ui.clone(), counts.clone());
        Arc::new(move |e: TablesEvent| match e {
            TablesEvent::Page { read, written } => {
                let r = counts[0].fetch_add(read, Ordering::Relaxed) + read;
                let w = counts[1].fetch_add(written, Ordering::Relaxed) + written;
                ui.set_message(format!("copying: {r} items read, {w} written"));
            }
            TablesEvent::Verified { read } => {
                let v = counts[2].fetch_add(read, Ordering::Relaxed) + read;
                ui.set_message(format!("verifying: {v} source items checked"));
            }
        })
    };
    let report = run_tables_migration(client, target, options, interrupt.clone(), events).await;
    ui.finish_and_clear();
    Ok((report?, interrupt))
}

fn finish(scope: &StackOptions, output: &Output, report: &TablesReport) -> anyhow::Result<()> {
    print_summary(report);
    let (path, existing) = match &output.report {
        Some(path) => (path.clone(), Existing::Replace),
        None => (
            migrate::state::new_tables_report_path(&scope.state_dir, &scope.stack.name),
            Existing::Refuse,
        ),
    };
    report
        .write_json(&path, existing)
        .map_err(|e| anyhow::anyhow!("writing the report: {e}"))?;
    eprintln!("report {}", path.display());
    if output.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    }
    Ok(())
}

fn print_summary(report: &TablesReport) {
    for (kind, c) in &report.counts {
        eprintln!(
            "{:<17} read {:>8}  written {:>8}  already there {:>6}  skipped {:>6}  malformed {:>5}  unwritten {:>5}  rejected {:>5}",
            kind.as_str(),
            c.read,
            c.written,
            c.already_there,
            c.skipped,
            c.malformed,
            c.unwritten,
            c.rejected
        );
    }
    // The items a person has to look at; those the target already held are only counted.
    let notable: Vec<_> = report
        .notes
        .iter()
        .filter(|n| n.what != NoteKind::AlreadyThere)
        .collect();
    for note in notable.iter().take(20) {
        eprintln!(
            "  {} {}: {}",
            serde_json::to_value(note.what)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            note.key,
            note.reason.as_deref().unwrap_or("")
        );
    }
    if report.notes_total as usize > notable.len().min(20) {
        eprintln!(
            "  ({} items noted in all: the report lists them, the journal has every one)",
            report.notes_total
        );
    }
    let pace = &report.pace;
    eprintln!(
        "{} {:.0} items/s; throttled {} (conversations) / {} (bots); write units/s now {:.0} / {:.0}{}",
        style("pace").bold(),
        pace.items_per_second,
        pace.conversations.throttled,
        pace.bots.throttled,
        pace.conversations.final_rate,
        pace.bots.final_rate,
        if pace.all_conditional {
            "; every write conditional (the new tables held items)"
        } else {
            ""
        }
    );
    match &report.verification {
        Some(v) if v.agrees() => eprintln!(
            "{} every item is in the new tables; {} of {} sampled items compared field by field",
            style("verified").green().bold(),
            v.sample.compared - v.sample.differing,
            v.sample.compared
        ),
        Some(v) => eprintln!(
            "{} {} items missing, {} sampled items differ (first: {:?}; users short: {})",
            style("verification failed:").red().bold(),
            v.missing_total,
            v.sample.differing,
            v.missing.first().map(ToString::to_string).or_else(|| v
                .sample
                .differences
                .first()
                .map(|d| format!("{} {:?}", d.key, d.attributes))),
            v.users_short_total
        ),
        None if report.interrupted => eprintln!(
            "{} the copy stopped at a page boundary; continue with `cargo xtask migrate-tables --resume`",
            style("interrupted:").red().bold()
        ),
        None => {}
    }
}

fn exit_code(report: &TablesReport, interrupt: &Interrupt) -> ExitCode {
    if interrupt.is_stopping() && !report.complete {
        return ExitCode::from(crate::signals::exit_code());
    }
    if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
