//! Progress reported by the engine; the caller draws it (the library never prints).

use crate::bot::BotKey;
use crate::report::Outcome;

#[derive(Debug, Clone)]
pub enum Event {
    /// One scan page read: items the page examined and bot items it returned.
    ScanPage {
        segment: u32,
        scanned: u64,
        bots: u64,
    },
    ScanDone {
        found: u64,
        to_embed: u64,
        skipped: u64,
        malformed: u64,
    },
    /// Launching starts for this many bots (after resume decisions).
    LaunchStarting { to_launch: u64, to_track: u64 },
    /// A RunTask attempt failed and will be retried.
    LaunchRetry {
        bot: BotKey,
        attempt: u32,
        reason: String,
    },
    /// A task is running for the bot (launched now, found again after a crash, or from the journal).
    Launched { bot: BotKey, task_arn: String },
    /// The bot reached its outcome (including launch-failed).
    Finished { bot: BotKey, outcome: Outcome },
    /// No new launches after this (interrupt or all launched).
    LaunchStopped { interrupted: bool },
    /// The table migration handled a page of the source: items read, items written.
    TablesPage { read: u64, written: u64 },
    /// The table migration's verification read this many source items more.
    TablesVerified { read: u64 },
    /// A transient problem that the engine works around (e.g. a DescribeTasks call failed).
    Warning { message: String },
}

/// Receives the engine's events; called from several tasks, so it must not block for long.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

impl<F: Fn(Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}

/// For callers that do not draw progress.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
}
