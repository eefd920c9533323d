//! The tracking phase of the re-embed: launched tasks polled until they stop (DescribeTasks, 100
//! at a time), then the bot's own verdict read (`verdict.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

use super::bot::BotKey;
use super::ctx::Ctx;
use super::events::Event;
use super::verdict::{read_bot, verdict};
use crate::ecs_task::{StopInfo, describe_stopped, task_id};
use crate::journal_file::JournalError;

/// A running task and the in-flight permit it holds until it is seen STOPPED.
pub(crate) struct Tracked {
    bot: BotKey,
    task_arn: String,
    permit: Option<OwnedSemaphorePermit>,
    stopped: Option<StopInfo>,
}

impl Tracked {
    pub(crate) fn new(bot: BotKey, task_arn: String, permit: Option<OwnedSemaphorePermit>) -> Self {
        Self {
            bot,
            task_arn,
            permit,
            stopped: None,
        }
    }
}

/// Polls every `poll` until all tasks received on `rx` have stopped and the sender side is gone.
/// With `no_wait`, returns as soon as the launcher is done (tasks still running stay
/// `StillRunning`); it still polls meanwhile, because stopped tasks free in-flight slots.
pub(crate) async fn track_all(
    ctx: Arc<Ctx>,
    mut rx: mpsc::UnboundedReceiver<Tracked>,
    poll: Duration,
    no_wait: bool,
    abort: CancellationToken,
) -> Result<(), JournalError> {
    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    let mut open = true;
    loop {
        while open {
            match rx.try_recv() {
                Ok(t) => {
                    tracked.insert(t.task_arn.clone(), t);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        if !open && (tracked.is_empty() || no_wait) {
            return Ok(());
        }
        if tracked.is_empty() {
            tokio::select! {
                _ = abort.cancelled() => return Ok(()),
                next = rx.recv() => match next {
                    Some(t) => { tracked.insert(t.task_arn.clone(), t); }
                    None => open = false,
                },
            }
            continue;
        }
        poll_once(&ctx, &mut tracked).await?;
        tokio::select! {
            _ = abort.cancelled() => return Ok(()),
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn poll_once(ctx: &Ctx, tracked: &mut HashMap<String, Tracked>) -> Result<(), JournalError> {
    let pending: Vec<String> = tracked
        .values()
        .filter(|t| t.stopped.is_none())
        .map(|t| t.task_arn.clone())
        .collect();
    if !pending.is_empty() {
        match describe_stopped(
            &ctx.ecs,
            &ctx.target.cluster,
            &ctx.target.container,
            &pending,
        )
        .await
        {
            Ok(stopped) => {
                for (arn, info) in stopped {
                    if let Some(t) = tracked.get_mut(&arn) {
                        // The slot is free as soon as ECS says STOPPED.
                        t.permit.take();
                        t.stopped = Some(info);
                    }
                }
            }
            Err(message) => ctx.events.emit(Event::Warning {
                message: format!("{message}; retrying at the next poll"),
            }),
        }
    }
    let done: Vec<String> = tracked
        .values()
        .filter(|t| t.stopped.is_some())
        .map(|t| t.task_arn.clone())
        .collect();
    for arn in done {
        let t = &tracked[&arn];
        match read_bot(&ctx.ddb, &ctx.target.table, &t.bot).await {
            Ok(item) => {
                let stop = t.stopped.as_ref().expect("filtered on stopped");
                let outcome = verdict(item.as_ref(), task_id(&arn), stop);
                ctx.record_outcome(&t.bot, outcome, Some(&arn))?;
                tracked.remove(&arn);
            }
            Err(message) => ctx.events.emit(Event::Warning {
                message: format!("reading {} failed, retrying: {message}", t.bot),
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "track_tests.rs"]
mod tests;
