//! State shared by the launch and tracking tasks of one run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::bot::BotKey;
use crate::events::{Event, EventSink};
use crate::journal::{Entry, Journal, JournalError};
use crate::report::Outcome;
use crate::target::MigrationTarget;

/// The latest known state of every bot of the run. Updated as things happen (not collected at the
/// end) so that an aborted run still reports what it knew.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    bots: Mutex<HashMap<BotKey, (Outcome, Option<String>)>>,
}

impl Ledger {
    pub(crate) fn set(&self, bot: &BotKey, outcome: Outcome, task_arn: Option<String>) {
        let mut bots = self.bots.lock().unwrap_or_else(|p| p.into_inner());
        let arn = task_arn.or_else(|| bots.get(bot).and_then(|(_, a)| a.clone()));
        bots.insert(bot.clone(), (outcome, arn));
    }

    pub(crate) fn snapshot(&self) -> HashMap<BotKey, (Outcome, Option<String>)> {
        self.bots.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub(crate) struct Ctx {
    pub ecs: aws_sdk_ecs::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub target: MigrationTarget,
    pub journal: Journal,
    pub events: Arc<dyn EventSink>,
    pub ledger: Ledger,
}

impl Ctx {
    /// A task is running for `bot`: journal it durably first, since resume relies on it.
    pub(crate) fn record_launched(&self, bot: &BotKey, task_arn: &str) -> Result<(), JournalError> {
        self.journal.append(
            &Entry::Launched {
                pk: bot.pk.clone(),
                sk: bot.sk.clone(),
                task_arn: task_arn.to_owned(),
            },
            true,
        )?;
        self.ledger
            .set(bot, Outcome::StillRunning, Some(task_arn.to_owned()));
        self.events.emit(Event::Launched {
            bot: bot.clone(),
            task_arn: task_arn.to_owned(),
        });
        Ok(())
    }

    /// A final outcome. Not fsynced: if it is lost, resume tracks the task again and reaches the
    /// same verdict.
    pub(crate) fn record_outcome(
        &self,
        bot: &BotKey,
        outcome: Outcome,
        task_arn: Option<&str>,
    ) -> Result<(), JournalError> {
        self.journal.append(
            &Entry::Outcome {
                pk: bot.pk.clone(),
                sk: bot.sk.clone(),
                outcome: outcome.clone(),
                task_arn: task_arn.map(str::to_owned),
            },
            false,
        )?;
        self.ledger
            .set(bot, outcome.clone(), task_arn.map(str::to_owned));
        self.events.emit(Event::Finished {
            bot: bot.clone(),
            outcome,
        });
        Ok(())
    }
}
