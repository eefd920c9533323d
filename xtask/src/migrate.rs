//! `cargo xtask migrate`: wiring and presentation of the `migrate` engine (target from the stack
//! outputs, resume choice, summary, confirmation, progress, table, report file, exit code).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use console::style;
use indicatif::MultiProgress;
use migrate::Interrupt;
use migrate::reembed::journal_state as journal;
use migrate::reembed::{
    Clients, Event, MigrationOptions, MigrationReport, MigrationTarget, Plan, Resume, VectorStore,
};
use migrate::state::Existing;

use crate::flags::Migrate;
use crate::progress;

/// The answer was "no", or a confirmation was needed without a terminal and without `--yes`.
pub const EXIT_REFUSED: u8 = 2;

/// Test knobs (the emulator's tasks stop within seconds): DescribeTasks poll interval and retry
/// backoff base, in milliseconds.
const POLL_ENV: &str = "MIGRATE_POLL_INTERVAL_MS";
const BACKOFF_ENV: &str = "MIGRATE_BACKOFF_BASE_MS";

pub fn run(args: Migrate) -> anyhow::Result<ExitCode> {
    let _lock = crate::run_lock::take_unless(args.dry_run, &args.scope)?;
    crate::aws::runtime()?.block_on(run_async(args))
}

/// Also the last step of `deploy`, which builds the `Migrate` flags from its own and holds the
/// stack's lock for both.
pub async fn run_async(args: Migrate) -> anyhow::Result<ExitCode> {
    let config = crate::aws::sdk_config(&args.scope.stack.aws).await;
    let interactive = crate::terminal::interactive();
    let (target, vector_store) = resolve_target(&args, &config).await?;
    let mut options = options(&args)?;
    options.resume = choose_resume(&args, &target, vector_store.as_ref(), interactive)?;
    options.vector_store = vector_store;
    let clients = Clients::from_conf(&config);
    migrate::reembed::preflight::preflight(&clients, &target).await?;

    let plan = scan(&clients, &target, &options).await?;
    let to_embed = print_scan(&plan, args.all_bots);
    if args.dry_run {
        return dry_run(&args, &clients, &plan, &options).await;
    }
    if let Some(refused) = confirm(&args, to_embed)? {
        return Ok(refused);
    }
    if !args.force_concurrent {
        refuse_beside_another_run(
            &clients,
            &plan.target,
            &options.resume,
            &args.scope.stack.name,
        )
        .await?;
    }
    let (report, interrupt) = execute(&clients, &plan, &options).await?;
    finish(&args, &report)?;
    Ok(exit_code(&report, &interrupt, args.no_wait))
}

/// The target (flags first, the stack outputs for the rest) and the vector store it embeds into,
/// said in one line with the launch's pace.
async fn resolve_target(
    args: &Migrate,
    config: &aws_config::SdkConfig,
) -> anyhow::Result<(MigrationTarget, Option<VectorStore>)> {
    let flags = &args.migration;
    let stack = &args.scope.stack.name;
    let mut target = crate::outputs::load_target(config, stack, &flags.target).await?;
    target.assign_public_ip = flags.assign_public_ip;
    let vector_store =
        crate::outputs::vector_store(config, stack, args.replaced_by.clone()).await?;
    eprintln!(
        "{} table {}, cluster {}, task definition {}; vector store {}",
        style("target").bold(),
        target.table,
        target.cluster,
        target.task_definition,
        vector_store
            .as_ref()
            .map_or_else(|| "not named by the stack".to_owned(), |v| v.to_string())
    );
    eprintln!(
        "{} {} RunTask/s, at most {} running, {} attempts per launch, {} scan segments{}",
        style("pace").bold(),
        flags.rate,
        flags.max_running,
        flags.max_attempts,
        flags.segments,
        if target.assign_public_ip {
            ", public IPs"
        } else {
            ""
        }
    );
    Ok((target, vector_store))
}

/// Scans the bots behind a spinner that counts the items read.
async fn scan(
    clients: &Clients,
    target: &MigrationTarget,
    options: &MigrationOptions,
) -> anyhow::Result<Plan> {
    let scan_ui = progress::spinner("scanning bots");
    let scanned = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let plan = {
        let (pb, counts) = (scan_ui.clone(), scanned.clone());
        let events = Arc::new(move |e: Event| {
            if let Event::ScanPage { scanned, bots, .. } = e {
                let items = counts.0.fetch_add(scanned, Ordering::Relaxed) + scanned;
                let found = counts.1.fetch_add(bots, Ordering::Relaxed) + bots;
                pb.set_message(format!("scanning: {items} items read, {found} bot items"));
            }
        });
        migrate::reembed::plan_migration(clients, target, options, events).await?
    };
    scan_ui.finish_and_clear();
    Ok(plan)
}

/// The scan's counts and its first malformed items; returns how many bots are to embed.
fn print_scan(plan: &Plan, all_bots: bool) -> u64 {
    let (found, to_embed, skipped, malformed) = plan.summary(all_bots);
    eprintln!(
        "{} {found} bot items: {} to embed, {skipped} skipped (nothing to embed{}), {} malformed ({:.1}s)",
        style("scan").bold(),
        style(to_embed).green().bold(),
        if all_bots { ", --all-bots" } else { "" },
        if malformed > 0 {
            style(malformed).red().bold()
        } else {
            style(malformed)
        },
        plan.scan_secs
    );
    for m in plan.malformed.iter().take(20) {
        eprintln!(
            "  malformed: PK {} SK {}: {}",
            m.pk.as_deref().unwrap_or("?"),
            m.sk.as_deref().unwrap_or("?"),
            m.reason
        );
    }
    to_embed
}

/// `--dry-run`: what would be launched, the table and (with `--report`) the report; nothing else.
async fn dry_run(
    args: &Migrate,
    clients: &Clients,
    plan: &Plan,
    options: &MigrationOptions,
) -> anyhow::Result<ExitCode> {
    let report = migrate::reembed::execute_plan(
        clients,
        plan,
        options,
        Arc::new(migrate::NoEvents),
        &Interrupt::new(),
    )
    .await?;
    for row in report.bots.iter() {
        let row = row.map_err(|e| anyhow::anyhow!("reading back the report rows: {e}"))?;
        if row.outcome == migrate::reembed::OutcomeKind::Planned {
            println!(
                "would launch  {}  {}",
                row.bot_id.as_deref().unwrap_or("?"),
                row.pk.as_deref().unwrap_or("?")
            );
        }
    }
    print_table(&report);
    if let Some(path) = &args.report {
        write_report(&report, path, Existing::Replace)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `Some(exit code)` when the launch was not confirmed: no terminal and no `--yes`, or "no".
fn confirm(args: &Migrate, to_embed: u64) -> anyhow::Result<Option<ExitCode>> {
    let ask = crate::terminal::Ask {
        action: &format!("launch {to_embed} embedding tasks"),
        verb: "launch",
        prompt: &format!(
            "Launch embedding tasks for up to {to_embed} bots ({} RunTask/s, at most {} running)?",
            args.migration.rate, args.migration.max_running
        ),
        declined: "nothing launched",
    };
    let go = to_embed == 0 || crate::terminal::confirm(args.yes, &ask)?;
    Ok((!go).then(|| ExitCode::from(EXIT_REFUSED)))
}

/// The launch and tracking, with the progress bars and the process's interrupt.
async fn execute(
    clients: &Clients,
    plan: &Plan,
    options: &MigrationOptions,
) -> anyhow::Result<(MigrationReport, Interrupt)> {
    let multi = MultiProgress::new();
    let ui = Arc::new(progress::MigrateBars::new(&multi));
    let _handling = crate::signals::handle(2);
    let interrupt = crate::signals::interrupt();
    let announcer = tokio::spawn(announce_interrupts(interrupt.clone(), multi.clone()));
    let events = {
        let ui = ui.clone();
        Arc::new(move |e: Event| ui.on_event(e))
    };
    let result = migrate::reembed::execute_plan(clients, plan, options, events, &interrupt).await;
    announcer.abort();
    ui.finish();
    Ok((result?, interrupt))
}

/// The table, the report file, the journal's path and what to run next.
fn finish(args: &Migrate, report: &MigrationReport) -> anyhow::Result<()> {
    let stack = &args.scope.stack.name;
    print_table(report);
    // A path the operator named is theirs to reuse (a script's fixed `--report`); the default
    // is a name no report has yet.
    let (path, existing) = match &args.report {
        Some(path) => (path.clone(), Existing::Replace),
        None => (
            migrate::state::new_report_path(&args.scope.state_dir, stack),
            Existing::Refuse,
        ),
    };
    write_report(report, &path, existing)?;
    if let Some(j) = &report.journal {
        eprintln!("journal {}", j.display());
    }
    let c = &report.counts;
    if c.failed > 0 {
        eprintln!(
            "{} bot(s) failed; after fixing the cause, relaunch only them with: \
             cargo xtask migrate --stack {stack} --resume --retry-failed",
            c.failed
        );
    }
    if c.launch_failed + c.not_launched > 0 {
        eprintln!(
            "{} bot(s) got no task; launch them with: cargo xtask migrate --stack {stack} --resume",
            c.launch_failed + c.not_launched,
        );
    }
    Ok(())
}

fn options(args: &Migrate) -> anyhow::Result<MigrationOptions> {
    let ms = |name: &str, default: Duration| -> anyhow::Result<Duration> {
        match std::env::var(name) {
            Ok(v) => Ok(Duration::from_millis(v.parse().map_err(|_| {
                anyhow::anyhow!("{name} must be a number of milliseconds, got {v:?}")
            })?)),
            Err(_) => Ok(default),
        }
    };
    let defaults = MigrationOptions::default();
    let flags = &args.migration;
    Ok(MigrationOptions {
        stack: args.scope.stack.name.clone(),
        state_dir: args.scope.state_dir.clone(),
        segments: flags.segments,
        rate: flags.rate,
        max_running: flags.max_running,
        max_attempts: flags.max_attempts,
        poll_interval: ms(POLL_ENV, defaults.poll_interval)?,
        backoff_base: ms(BACKOFF_ENV, defaults.backoff_base)?,
        all_bots: args.all_bots,
        no_wait: args.no_wait,
        retry_failed: args.retry_failed,
        dry_run: args.dry_run,
        ..defaults
    })
}

/// An unfinished journal of this target (or a finished one with failures, under --retry-failed)
/// is resumed unless --fresh; interactively the user is asked.
fn choose_resume(
    args: &Migrate,
    target: &MigrationTarget,
    vector_store: Option<&VectorStore>,
    interactive: bool,
) -> anyhow::Result<Resume> {
    // --fresh never needs the journal, and reading one costs memory in proportion to its bots.
    if args.fresh {
        return Ok(Resume::Fresh);
    }
    let latest = journal::find_latest(
        &args.scope.state_dir,
        &args.scope.stack.name,
        &target.fingerprint(),
    )?;
    let Some(state) = latest else {
        if args.resume {
            refuse_resume_of_another_target(args, target)?;
            eprintln!(
                "no journal for this target under {}: starting a new run",
                args.scope.state_dir.display()
            );
        }
        return Ok(Resume::Fresh);
    };
    let (running, done, failed) = (state.launched, state.succeeded, state.failed);
    let resumable = !state.finished || (args.retry_failed && failed > 0);
    if !resumable {
        return Ok(Resume::Fresh);
    }
    let what = format!(
        "{} journal {} ({running} bots launched or launching, {done} succeeded, {failed} failed)",
        if state.finished {
            "finished"
        } else {
            "unfinished"
        },
        state.path.display(),
    );
    if let Some(change_set) = &args.replaced_by {
        eprintln!(
            "{what} is history: the deploy of change set {change_set} replaced the vector store; \
             starting a new run"
        );
        return Ok(Resume::Fresh);
    }
    if !VectorStore::same(state.vector_store.as_ref(), vector_store) {
        return other_vector_store(args, &what, state.vector_store.as_ref(), vector_store);
    }
    if args.resume {
        eprintln!("resuming {what}");
    } else if interactive && !args.yes {
        let resume = dialoguer::Confirm::new()
            .with_prompt(format!("Resume {what}?"))
            .default(true)
            .interact()?;
        if !resume {
            return Ok(Resume::Fresh);
        }
    } else {
        eprintln!("resuming {what} (the default; --fresh starts a new run)");
    }
    Ok(Resume::Journal(state.path))
}

/// The journal embedded into another vector store (the cluster was replaced since): its bots'
/// vectors are not in the current one, so it is never resumed.
fn other_vector_store(
    args: &Migrate,
    what: &str,
    journal: Option<&VectorStore>,
    current: Option<&VectorStore>,
) -> anyhow::Result<Resume> {
    let name =
        |v: Option<&VectorStore>| v.map_or_else(|| "an unnamed one".to_owned(), |v| v.to_string());
    let why = format!(
        "the {what} embedded into {}, and the stack's vector store is now {}",
        name(journal),
        name(current)
    );
    if args.resume {
        anyhow::bail!(
            "--resume: {why}; the vectors of its bots are not in the current vector store, so it \
             cannot be resumed: run `cargo xtask migrate --stack {}` without --resume to launch \
             every bot into the current one",
            args.scope.stack.name
        );
    }
    eprintln!("{why}: that journal is history; starting a new run into the current vector store");
    Ok(Resume::Fresh)
}

/// Another machine's run (another state directory, so no shared lock) with tasks running on the
/// same task family: launching beside it would give its bots a second task.
async fn refuse_beside_another_run(
    clients: &Clients,
    target: &MigrationTarget,
    resume: &Resume,
    stack: &str,
) -> anyhow::Result<()> {
    let own = match resume {
        Resume::Journal(path) => journal::summarize(path)?.run_ids,
        Resume::Fresh => Vec::new(),
    };
    let others = migrate::reembed::concurrent::other_runs(&clients.ecs, target, &own)
        .await
        .map_err(|e| anyhow::anyhow!("listing the running embedding tasks (ListTasks): {e}"))?;
    let Some(first) = others.first() else {
        return Ok(());
    };
    anyhow::bail!(
        "refusing to launch: another migration run of this tool, run {}, has {} task(s) running on \
         cluster {} (task definition {}){}, started from another state directory or machine. Let \
         it finish, or resume it where its journal is (`cargo xtask migrate --stack {stack} \
         --resume`); --force-concurrent launches anyway, and each bot of both runs may then get \
         two tasks",
        first.run_id,
        first.running_tasks,
        target.cluster,
        target.task_definition,
        if others.len() > 1 {
            format!(" ({} runs in all)", others.len())
        } else {
            String::new()
        }
    )
}

/// `--resume` asked for a journal and there is none for this target, but an unfinished one of
/// another target (a flag given then and not now, or spelled otherwise): a new run would not see
/// that run's tasks, so every bot still running there would get a second one.
fn refuse_resume_of_another_target(args: &Migrate, target: &MigrationTarget) -> anyhow::Result<()> {
    let Some(other) = journal::find_unfinished_elsewhere(
        &args.scope.state_dir,
        &args.scope.stack.name,
        &target.fingerprint(),
    )?
    else {
        return Ok(());
    };
    anyhow::bail!(
        "--resume: no journal for this target, but the unfinished journal {} belongs to another \
         migration target ({} bots launched or launching); run `cargo xtask migrate --resume` with \
         the flags that run was given (--table, --cluster, --task-definition, --subnets, \
         --security-groups), or --fresh to start a new run (its tasks would not see that run's)",
        other.path.display(),
        other.launched
    )
}

/// Says what the process's interrupt (see `signals.rs`) does to the run, at each step.
async fn announce_interrupts(interrupt: Interrupt, multi: MultiProgress) {
    // Without a terminal (CI, a pipe) the bars are hidden and so is their println: say it on
    // stderr, since a cancelled CI job's log must show what the tool did with the signal.
    let say = |message: String| {
        if multi.is_hidden() {
            eprintln!("{message}");
        } else {
            let _ = multi.println(message);
        }
    };
    interrupt.stopped().await;
    let name = crate::signals::name();
    say(format!(
        "{name}: no new launches; tracking the running tasks. {name} again exits now (the journal keeps them for --resume)."
    ));
    interrupt.aborted().await;
    say(format!(
        "{} again: exiting; running tasks continue in ECS, `cargo xtask migrate --resume` picks them up.",
        crate::signals::name()
    ));
}

/// Exit 0 only when every bot that needed embedding succeeded; with --no-wait, when every bot got
/// its task (running ones are the point of --no-wait). 130 when Ctrl-C cut the run short: after
/// two, or after one that left bots unlaunched (a script must tell "cancelled" from "failed").
fn exit_code(report: &MigrationReport, interrupt: &Interrupt, no_wait: bool) -> ExitCode {
    let c = &report.counts;
    let cut_short = c.not_launched > 0 || (!no_wait && c.still_running > 0);
    if interrupt.is_aborted() || (interrupt.is_stopping() && cut_short) {
        return ExitCode::from(crate::signals::exit_code());
    }
    let ok = if no_wait {
        c.failed == 0 && c.launch_failed == 0 && c.not_launched == 0
    } else {
        report.success()
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn write_report(report: &MigrationReport, path: &Path, existing: Existing) -> anyhow::Result<()> {
    report
        .write_json(path, existing)
        .map_err(|e| anyhow::anyhow!("writing the report: {e}"))?;
    eprintln!("report {}", path.display());
    Ok(())
}

/// Counts, then one row per bot that did not end well, up to a screenful (all of them are in the
/// JSON report; the report keeps only the first few in memory).
fn print_table(report: &MigrationReport) {
    const MAX_ROWS: usize = 50;
    let c = &report.counts;
    let rows = report.bots.notable();
    let not_well = c.failed + c.launch_failed + c.malformed + c.still_running + c.not_launched;
    if !rows.is_empty() {
        println!("{:<14} {:<38} {:<24} reason", "outcome", "bot", "user (PK)");
        for r in rows.iter().take(MAX_ROWS) {
            let outcome = if r.outcome.is_failure() {
                style(r.outcome.as_str()).red()
            } else {
                style(r.outcome.as_str()).yellow()
            };
            println!(
                "{:<14} {:<38} {:<24} {}",
                outcome,
                r.bot_id.as_deref().unwrap_or("-"),
                r.pk.as_deref().unwrap_or("-"),
                r.reason.as_deref().unwrap_or("")
            );
        }
        let shown = rows.len().min(MAX_ROWS) as u64;
        if not_well > shown {
            println!("... and {} more in the report", not_well - shown);
        }
    }
    println!(
        "found {}  to embed {}  skipped {}  malformed {}  succeeded {}  failed {}  launch-failed {}  still running {}  not launched {}{}",
        c.found,
        c.to_embed,
        c.skipped,
        c.malformed,
        style(c.succeeded).green(),
        style(c.failed).red(),
        style(c.launch_failed).red(),
        c.still_running,
        c.not_launched,
        if report.dry_run {
            format!("  planned {}", c.planned)
        } else {
            String::new()
        }
    );
    if !report.dry_run {
        let t = &report.timings;
        println!(
            "scan {:.1}s  launch {:.1}s ({:.1} launches/s)  total {:.1}s",
            t.scan_secs, t.launch_secs, t.launches_per_sec, t.track_secs
        );
    }
}
