//! The engine: plan -> (journal, launch, track) -> report.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::bot::BotKey;
use super::ctx::{Ctx, Ledger};
use super::events::Event;
use super::journal::Journal;
use super::journal_state::{self, JournalState};
use super::launch::{LaunchJob, Limits, launch_all};
use super::options::{Clients, MigrateError, MigrationOptions, Resume};
use super::outcome::{BotRow, Outcome};
use super::plan::{Plan, plan_migration};
use super::report::{MigrationReport, Timings};
use super::resume::{Decision, decide};
use super::run_task::RetryPolicy;
use super::target::MigrationTarget;
use super::track::{Tracked, track_all};
use crate::events::EventSink;
use crate::interrupt::Interrupt;
use crate::journal_file;
use crate::ratelimit::{Backoff, TokenBucket};

/// Scan, then execute: for callers that need no confirmation in between.
pub async fn run_migration(
    clients: &Clients,
    target: &MigrationTarget,
    options: &MigrationOptions,
    events: Arc<dyn EventSink<Event>>,
    interrupt: &Interrupt,
) -> Result<MigrationReport, MigrateError> {
    let plan = plan_migration(clients, target, options, events.clone()).await?;
    execute_plan(clients, &plan, options, events, interrupt).await
}

/// Launches and tracks what `plan` says (or, with `dry_run`, only reports it).
pub async fn execute_plan(
    clients: &Clients,
    plan: &Plan,
    options: &MigrationOptions,
    events: Arc<dyn EventSink<Event>>,
    interrupt: &Interrupt,
) -> Result<MigrationReport, MigrateError> {
    let run_id = journal_file::new_run_id();
    let (journal, earlier) = open_journal(plan, options, &run_id)?;
    let ledger = Ledger::default();
    let decided = settle_decided(plan, earlier.as_ref(), &run_id, options, &ledger);
    let Some(journal) = journal else {
        let times = Phases::default();
        return build_report(plan, options, &run_id, None, &ledger, false, times);
    };
    let ctx = Arc::new(Ctx {
        ecs: clients.ecs.clone(),
        ddb: clients.dynamodb.clone(),
        target: plan.target.clone(),
        journal,
        events: events.clone(),
        ledger,
    });
    events.emit(Event::LaunchStarting {
        to_launch: decided.to_launch,
        to_track: decided.tracks.len() as u64,
    });
    let jobs = decisions(plan, earlier.as_ref(), &run_id, options).filter_map(launch_job);
    let times = launch_and_track(&ctx, jobs, decided.tracks, options, interrupt).await?;
    let interrupted = interrupt.is_stopping() || interrupt.is_aborted();
    let report = build_report(
        plan,
        options,
        &run_id,
        Some(&ctx.journal),
        &ctx.ledger,
        interrupted,
        times,
    )?;
    close_journal(&ctx.journal, &report)?;
    Ok(report)
}

/// The run's journal (none for a dry run) and, on resume, what the earlier runs recorded.
fn open_journal(
    plan: &Plan,
    options: &MigrationOptions,
    run_id: &str,
) -> Result<(Option<Journal>, Option<JournalState>), MigrateError> {
    let target = &plan.target;
    let store = options.vector_store.as_ref();
    Ok(match (&options.resume, options.dry_run) {
        (Resume::Fresh, true) => (None, None),
        (Resume::Journal(path), true) => {
            (None, Some(journal_state::read_for(path, target, store)?))
        }
        (Resume::Fresh, false) => {
            let journal =
                Journal::create(&options.state_dir, &options.stack, target, store, run_id)?;
            (Some(journal), None)
        }
        (Resume::Journal(path), false) => {
            let (j, state) = Journal::reopen(path, target, store, run_id)?;
            (Some(j), Some(state))
        }
    })
}

/// What the first pass over the decisions leaves to the launch phase.
struct Decided {
    /// Bots to launch; the launcher pulls them from a second pass.
    to_launch: u64,
    /// Tasks of earlier runs to track to their end.
    tracks: Vec<(BotKey, String)>,
}

/// First pass: every bot settled before launching gets its row now; launches are only counted
/// here. The launcher pulls them one by one from a second pass, so no list of jobs (one per
/// bot) is ever built.
fn settle_decided(
    plan: &Plan,
    earlier: Option<&JournalState>,
    run_id: &str,
    options: &MigrationOptions,
    ledger: &Ledger,
) -> Decided {
    let mut to_launch = 0u64;
    let mut tracks = Vec::new();
    for (bot, decision) in decisions(plan, earlier, run_id, options) {
        match decision {
            None => ledger.settle(&bot, Outcome::Skipped, None),
            Some(Decision::Launch { .. }) if options.dry_run => {
                ledger.settle(&bot, Outcome::Planned, None)
            }
            Some(Decision::Launch { .. }) => to_launch += 1,
            Some(Decision::Track { task_arn }) => {
                ledger.set(&bot, Outcome::StillRunning, Some(task_arn.clone()));
                tracks.push((bot, task_arn));
            }
            Some(Decision::Keep { outcome, task_arn }) => ledger.settle(&bot, outcome, task_arn),
        }
    }
    for (key, arn) in earlier.map(|s| orphans(plan, s)).unwrap_or_default() {
        ledger.set(&key, Outcome::StillRunning, Some(arn.clone()));
        tracks.push((key, arn));
    }
    Decided { to_launch, tracks }
}

/// A task from the journal keeps running even if its bot left the scan (deleted, or knowledge
/// emptied since): track it to the end rather than forget it. In key order.
fn orphans(plan: &Plan, earlier: &JournalState) -> Vec<(BotKey, String)> {
    let mut extra: Vec<(BotKey, String)> = earlier
        .bots
        .iter()
        .filter(|(key, _)| plan.bots.binary_search_by(|b| b.key.cmp(key)).is_err())
        .filter_map(|(key, s)| match s {
            journal_state::BotState::Running { task_arn, .. } => {
                Some((key.to_key(), task_arn.to_string()))
            }
            _ => None,
        })
        .collect();
    extra.sort();
    extra
}

fn launch_job((bot, decision): (BotKey, Option<Decision>)) -> Option<LaunchJob> {
    match decision {
        Some(Decision::Launch {
            started_by,
            check_existing,
        }) => Some(LaunchJob {
            bot,
            started_by,
            check_existing,
        }),
        _ => None,
    }
}

/// The launch phase and the tracker beside it, until every tracked task stopped (or tracking
/// ended). A second interrupt ends the launching at once.
async fn launch_and_track(
    ctx: &Arc<Ctx>,
    mut jobs: impl Iterator<Item = LaunchJob> + Send,
    tracks: Vec<(BotKey, String)>,
    options: &MigrationOptions,
    interrupt: &Interrupt,
) -> Result<Phases, MigrateError> {
    let cap = Arc::new(Semaphore::new(options.max_running.max(1) as usize));
    let (tx, rx) = mpsc::unbounded_channel();
    for (bot, arn) in tracks {
        // Tasks of the earlier run count against the cap as long as they run.
        let permit = cap.clone().try_acquire_owned().ok();
        ctx.events.emit(Event::Launched {
            bot: bot.clone(),
            task_arn: arn.clone(),
        });
        let _ = tx.send(Tracked::new(bot, arn, permit));
    }
    let started = Instant::now();
    let tracker = tokio::spawn(track_all(
        ctx.clone(),
        rx,
        options.poll_interval,
        options.no_wait,
        interrupt.abort.clone(),
    ));
    let ledger = &ctx.ledger;
    // A job the launcher took is open until its launch ends; one it never took is settled below.
    let taken = jobs
        .by_ref()
        .inspect(|job| ledger.set(&job.bot, Outcome::NotLaunched, None));
    let limits = Limits {
        cap,
        limiter: Arc::new(TokenBucket::new(options.rate, options.rate)),
        launching: options.max_launching,
    };
    let launching = launch_all(
        ctx.clone(),
        taken,
        limits,
        retry_policy(options),
        tx,
        interrupt.stop.clone(),
    );
    let launched = tokio::select! {
        result = launching => Some(result),
        _ = interrupt.abort.cancelled() => None,
    };
    let launch_secs = started.elapsed().as_secs_f64();
    let launched = match launched {
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            interrupt.abort.cancel();
            let _ = tracker.await;
            return Err(e.into());
        }
        None => 0,
    };
    for job in jobs {
        ledger.settle(&job.bot, Outcome::NotLaunched, None);
    }
    tracker.await.map_err(MigrateError::Worker)??;
    Ok(Phases {
        launched,
        launch_secs,
        track_secs: started.elapsed().as_secs_f64(),
    })
}

fn retry_policy(options: &MigrationOptions) -> RetryPolicy {
    RetryPolicy {
        max_attempts: options.max_attempts,
        backoff: Backoff {
            base: options.backoff_base,
            max: options.backoff_max,
        },
    }
}

/// A bot without a task (not launched, or RunTask kept failing) or with one still running
/// keeps the journal open, so that `--resume` launches or tracks exactly those; a closed one
/// starts a new run that launches every bot again. Failed embeddings close it: relaunching
/// them is a decision (`--retry-failed`).
fn close_journal(journal: &Journal, report: &MigrationReport) -> Result<(), MigrateError> {
    let c = &report.counts;
    if c.still_running == 0 && c.not_launched == 0 && c.launch_failed == 0 {
        journal.finish()?;
    }
    Ok(())
}

/// Each bot of the plan in key order with what to do about it (`None`: nothing to embed). Pure
/// and cheap, so it runs twice instead of storing a decision per bot.
fn decisions<'a>(
    plan: &'a Plan,
    earlier: Option<&'a JournalState>,
    run_id: &'a str,
    options: &'a MigrationOptions,
) -> impl Iterator<Item = (BotKey, Option<Decision>)> + Send + 'a {
    plan.bots.iter().map(move |bot| {
        let key = bot.key.to_key();
        if !Plan::wants_task(bot, options.all_bots) {
            return (key, None);
        }
        let state = earlier.and_then(|s| s.bots.get(&bot.key));
        let decision = decide(state, &key, run_id, options.retry_failed);
        (key, Some(decision))
    })
}

/// What the launch phase measured.
#[derive(Debug, Default, Clone, Copy)]
struct Phases {
    launched: u64,
    launch_secs: f64,
    track_secs: f64,
}

/// Ends the ledger: its open bots, then the malformed items, complete the rows.
fn build_report(
    plan: &Plan,
    options: &MigrationOptions,
    run_id: &str,
    journal: Option<&Journal>,
    ledger: &Ledger,
    interrupted: bool,
    times: Phases,
) -> Result<MigrationReport, MigrateError> {
    let mut rows = ledger.close();
    for item in plan.all_malformed() {
        let item = item.map_err(MigrateError::Spill)?;
        let outcome = Outcome::Malformed {
            reason: item.reason,
        };
        rows.push(
            BotRow::new(item.pk, item.sk, None, &outcome, None),
            &outcome,
        );
    }
    let (bots, mut counts) = rows.finish().map_err(MigrateError::Spill)?;
    counts.found = plan.bots.len() as u64 + plan.malformed_count();
    counts.launched = times.launched;
    Ok(MigrationReport {
        version: 1,
        stack: options.stack.clone(),
        target: plan.target.clone(),
        run_id: run_id.to_owned(),
        journal: journal.map(|j| j.path().to_owned()),
        dry_run: options.dry_run,
        interrupted,
        counts,
        bots,
        timings: Timings {
            scan_secs: plan.scan_secs,
            launch_secs: times.launch_secs,
            track_secs: times.track_secs,
            launches_per_sec: if times.launch_secs > 0.0 {
                times.launched as f64 / times.launch_secs
            } else {
                0.0
            },
        },
    })
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
