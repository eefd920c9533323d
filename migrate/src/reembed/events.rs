//! The re-embed's progress, as events; the caller draws them (the library never prints).

use super::bot::BotKey;
use super::outcome::Outcome;

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
    /// A transient problem that the engine works around (e.g. a DescribeTasks call failed).
    Warning { message: String },
}
