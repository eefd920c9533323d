//! The engine: plan -> (journal, launch, track) -> report.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::bot::BotKey;
use crate::ctx::{Ctx, Ledger};
use crate::events::{Event, EventSink};
use crate::journal::{self, Journal, JournalError, JournalState};
use crate::launch::{LaunchJob, RetryPolicy, launch_all};
use crate::options::{Clients, Interrupt, MigrateError, MigrationOptions, Resume};
use crate::plan::{Plan, plan_migration};
use crate::ratelimit::{Backoff, TokenBucket};
use crate::report::{BotRow, Counts, MigrationReport, Outcome, Timings};
use crate::resume::{Decision, decide};
use crate::target::MigrationTarget;
use crate::track::{Tracked, track_all};

/// Scan, then execute: for callers that need no confirmation in between.
pub async fn run_migration(
    clients: &Clients,
    target: &MigrationTarget,
    options: &MigrationOptions,
    events: Arc<dyn EventSink>,
    interrupt: &Interrupt,
) -> Result<MigrationReport, MigrateError> {
    let plan = plan_migration(clients, target, options, events.clone()).await?;
    execute_plan(clients, &plan, options, events, interrupt).await
}

pub(crate) fn new_run_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// Launches and tracks what `plan` says (or, with `dry_run`, only reports it).
pub async fn execute_plan(
    clients: &Clients,
    plan: &Plan,
    options: &MigrationOptions,
    events: Arc<dyn EventSink>,
    interrupt: &Interrupt,
) -> Result<MigrationReport, MigrateError> {
    let run_id = new_run_id();
    let target = &plan.target;
    let (journal, earlier) = match (&options.resume, options.dry_run) {
        (Resume::Fresh, true) => (None, None),
        (Resume::Journal(path), true) => (None, Some(read_for(path, target)?)),
        (Resume::Fresh, false) => (
            Some(Journal::create(
                &options.state_dir,
                &options.stack,
                target,
                &run_id,
            )?),
            None,
        ),
        (Resume::Journal(path), false) => {
            let (j, state) = Journal::reopen(path, target, &run_id)?;
            (Some(j), Some(state))
        }
    };

    let ledger = Ledger::default();
    let mut jobs = Vec::new();
    let mut tracks = Vec::new();
    let mut rows_meta = Vec::new();
    for bot in &plan.bots {
        rows_meta.push(bot.key.clone());
        if !Plan::wants_task(bot, options.all_bots) {
            ledger.set(&bot.key, Outcome::Skipped, None);
            continue;
        }
        let state = earlier.as_ref().and_then(|s| s.bots.get(&bot.key));
        match decide(state, &bot.key, &run_id, options.retry_failed) {
            Decision::Launch {
                started_by,
                check_existing,
            } => {
                let outcome = if options.dry_run {
                    Outcome::Planned
                } else {
                    Outcome::NotLaunched
                };
                ledger.set(&bot.key, outcome, None);
                jobs.push(LaunchJob {
                    bot: bot.key.clone(),
                    started_by,
                    check_existing,
                });
            }
            Decision::Track { task_arn } => {
                ledger.set(&bot.key, Outcome::StillRunning, Some(task_arn.clone()));
                tracks.push((bot.key.clone(), task_arn));
            }
            Decision::Keep { outcome, task_arn } => ledger.set(&bot.key, outcome, task_arn),
        }
    }
    // A task from the journal keeps running even if its bot left the scan (deleted, or knowledge
    // emptied since): track it to the end rather than forget it.
    if let Some(state) = &earlier {
        let mut extra: Vec<(BotKey, String)> = state
            .bots
            .iter()
            .filter(|(key, _)| plan.bots.binary_search_by(|b| b.key.cmp(key)).is_err())
            .filter_map(|(key, s)| match s {
                journal::BotState::Running { task_arn, .. } => {
                    Some((key.clone(), task_arn.clone()))
                }
                _ => None,
            })
            .collect();
        extra.sort();
        for (key, arn) in extra {
            ledger.set(&key, Outcome::StillRunning, Some(arn.clone()));
            rows_meta.push(key.clone());
            tracks.push((key, arn));
        }
    }

    let Some(journal) = journal else {
        return Ok(build_report(
            plan, options, &run_id, None, &ledger, &rows_meta, false, 0, 0.0, 0.0,
        ));
    };
    let ctx = Arc::new(Ctx {
        ecs: clients.ecs.clone(),
        ddb: clients.dynamodb.clone(),
        target: target.clone(),
        journal,
        events: events.clone(),
        ledger,
    });
    events.emit(Event::LaunchStarting {
        to_launch: jobs.len() as u64,
        to_track: tracks.len() as u64,
    });

    let cap = Arc::new(Semaphore::new(options.max_running.max(1) as usize));
    let (tx, rx) = mpsc::unbounded_channel();
    for (bot, arn) in tracks {
        // Tasks of the earlier run count against the cap as long as they run.
        let permit = cap.clone().try_acquire_owned().ok();
        events.emit(Event::Launched {
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
    let limiter = Arc::new(TokenBucket::new(options.rate, options.rate));
    let policy = RetryPolicy {
        max_attempts: options.max_attempts,
        backoff: Backoff {
            base: options.backoff_base,
            max: options.backoff_max,
        },
    };
    let launching = launch_all(
        ctx.clone(),
        jobs,
        cap,
        limiter,
        policy,
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
    tracker
        .await
        .map_err(|e| MigrateError::Worker(e.to_string()))??;
    let track_secs = started.elapsed().as_secs_f64();
    let interrupted = interrupt.is_stopping() || interrupt.is_aborted();
    let report = build_report(
        plan,
        options,
        &run_id,
        Some(&ctx),
        &ctx.ledger,
        &rows_meta,
        interrupted,
        launched,
        launch_secs,
        track_secs,
    );
    if ctx.ledger.snapshot().values().all(|(o, _)| o.is_final()) {
        ctx.journal.finish()?;
    }
    Ok(report)
}

fn read_for(
    path: &std::path::Path,
    target: &MigrationTarget,
) -> Result<JournalState, JournalError> {
    let state = journal::read(path)?;
    if state.fingerprint != target.fingerprint() {
        return Err(JournalError::OtherTarget {
            path: path.to_owned(),
            expected: target.fingerprint(),
            found: state.fingerprint,
        });
    }
    Ok(state)
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    plan: &Plan,
    options: &MigrationOptions,
    run_id: &str,
    ctx: Option<&Ctx>,
    ledger: &Ledger,
    keys: &[BotKey],
    interrupted: bool,
    launched: u64,
    launch_secs: f64,
    track_secs: f64,
) -> MigrationReport {
    let snapshot = ledger.snapshot();
    let mut counts = Counts {
        found: (plan.bots.len() + plan.malformed.len()) as u64,
        launched,
        ..Counts::default()
    };
    let mut bots = Vec::with_capacity(keys.len() + plan.malformed.len());
    for key in keys {
        let (outcome, arn) = snapshot
            .get(key)
            .cloned()
            .unwrap_or((Outcome::NotLaunched, None));
        counts.add(&outcome);
        if outcome != Outcome::Skipped {
            counts.to_embed += 1;
        }
        bots.push(BotRow::new(
            Some(key.pk.clone()),
            Some(key.sk.clone()),
            key.bot_id().map(str::to_owned),
            &outcome,
            arn,
        ));
    }
    for m in &plan.malformed {
        let outcome = Outcome::Malformed {
            reason: m.reason.clone(),
        };
        counts.add(&outcome);
        bots.push(BotRow::new(
            m.pk.clone(),
            m.sk.clone(),
            None,
            &outcome,
            None,
        ));
    }
    MigrationReport {
        version: 1,
        stack: options.stack.clone(),
        target: plan.target.clone(),
        run_id: run_id.to_owned(),
        journal: ctx.map(|c| c.journal.path().to_owned()),
        dry_run: options.dry_run,
        interrupted,
        counts,
        bots,
        timings: Timings {
            scan_secs: plan.scan_secs,
            launch_secs,
            track_secs,
            launches_per_sec: if launch_secs > 0.0 {
                launched as f64 / launch_secs
            } else {
                0.0
            },
        },
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
