//! What happened to one bot: its outcome, its row in the report, and the counts per outcome.

use serde::{Deserialize, Serialize};

/// What happened to one bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The task stopped and the bot says `SyncStatus` SUCCEEDED with `LastExecId` = that task.
    Succeeded,
    /// The task stopped without the bot reporting success for it.
    Failed { reason: String },
    /// RunTask kept failing (capacity, throttling, errors) up to the attempt limit.
    LaunchFailed { reason: String },
    /// Nothing to embed (every knowledge list empty), so no task.
    Skipped,
    /// The item could not be read as a bot; nothing launched.
    Malformed { reason: String },
    /// Launched, not stopped yet (`--no-wait` or an interrupt); the journal keeps tracking it.
    StillRunning,
    /// Interrupted before its launch; a resume launches it.
    NotLaunched,
    /// Dry run: would be launched.
    Planned,
}

/// Which [`Outcome`], without its reason: a report row's `outcome`, serialized as the same
/// snake-case word as the outcome's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Succeeded,
    Failed,
    LaunchFailed,
    Skipped,
    Malformed,
    StillRunning,
    NotLaunched,
    Planned,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Succeeded => "succeeded",
            OutcomeKind::Failed => "failed",
            OutcomeKind::LaunchFailed => "launch_failed",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Malformed => "malformed",
            OutcomeKind::StillRunning => "still_running",
            OutcomeKind::NotLaunched => "not_launched",
            OutcomeKind::Planned => "planned",
        }
    }

    /// The bot needs someone's attention: it failed, or its item is not a bot.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            OutcomeKind::Failed | OutcomeKind::LaunchFailed | OutcomeKind::Malformed
        )
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row's outcome compared with its word in the report, as a reader of the JSON would.
impl PartialEq<&str> for OutcomeKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Succeeded => OutcomeKind::Succeeded,
            Outcome::Failed { .. } => OutcomeKind::Failed,
            Outcome::LaunchFailed { .. } => OutcomeKind::LaunchFailed,
            Outcome::Skipped => OutcomeKind::Skipped,
            Outcome::Malformed { .. } => OutcomeKind::Malformed,
            Outcome::StillRunning => OutcomeKind::StillRunning,
            Outcome::NotLaunched => OutcomeKind::NotLaunched,
            Outcome::Planned => OutcomeKind::Planned,
        }
    }

    pub fn label(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Failed { reason }
            | Outcome::LaunchFailed { reason }
            | Outcome::Malformed { reason } => Some(reason),
            _ => None,
        }
    }

    /// Final outcomes end a bot's story in the journal; the others leave the run resumable.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Outcome::StillRunning | Outcome::NotLaunched | Outcome::Planned
        )
    }
}

/// One row per bot item (malformed items included, with whatever keys they had).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotRow {
    pub pk: Option<String>,
    pub sk: Option<String>,
    pub bot_id: Option<String>,
    /// `succeeded`, `failed`, `launch_failed`, `skipped`, `malformed`, `still_running`,
    /// `not_launched` or `planned`.
    pub outcome: OutcomeKind,
    /// The ECS task of the last launch, when there was one.
    pub task_arn: Option<String>,
    /// Why a bot failed, failed to launch or is malformed.
    pub reason: Option<String>,
}

impl BotRow {
    pub fn new(
        pk: Option<String>,
        sk: Option<String>,
        bot_id: Option<String>,
        outcome: &Outcome,
        task_arn: Option<String>,
    ) -> Self {
        Self {
            pk,
            sk,
            bot_id,
            outcome: outcome.kind(),
            task_arn,
            reason: outcome.reason().map(str::to_owned),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Bot items the scan returned (malformed ones included).
    pub found: u64,
    /// Bots that needed a task (all well-formed bots with `--all-bots`).
    pub to_embed: u64,
    pub skipped: u64,
    pub malformed: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub launch_failed: u64,
    pub still_running: u64,
    pub not_launched: u64,
    pub planned: u64,
    /// RunTask calls that started a task in this process (resumed tasks not included).
    pub launched: u64,
}

impl Counts {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome.kind() {
            OutcomeKind::Succeeded => self.succeeded += 1,
            OutcomeKind::Failed => self.failed += 1,
            OutcomeKind::LaunchFailed => self.launch_failed += 1,
            OutcomeKind::Skipped => self.skipped += 1,
            OutcomeKind::Malformed => self.malformed += 1,
            OutcomeKind::StillRunning => self.still_running += 1,
            OutcomeKind::NotLaunched => self.not_launched += 1,
            OutcomeKind::Planned => self.planned += 1,
        }
    }
}
