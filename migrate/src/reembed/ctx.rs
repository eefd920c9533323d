//! State shared by the launch and tracking tasks of one run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::bot::BotKey;
use super::events::Event;
use super::journal::{Entry, Journal};
use super::outcome::{BotRow, Outcome};
use super::rows::RowSink;
use super::target::MigrationTarget;
use crate::events::EventSink;
use crate::journal_file::JournalError;

/// The run's bots on their way to the report. A final outcome becomes the bot's report row at once
/// (on disk); only bots still launching or running stay in memory, so the ledger grows with the
/// in-flight cap, not with the table. Updated as things happen (not collected at the end) so that
/// an aborted run still reports what it knew.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    open: HashMap<BotKey, (Outcome, Option<String>)>,
    rows: RowSink,
    /// Set when the report is built: a launch that was aborted mid-step must not add a second
    /// row for a bot already reported (the journal still records it).
    closed: bool,
}

fn row(bot: &BotKey, outcome: &Outcome, task_arn: Option<String>) -> BotRow {
    BotRow::new(
        Some(bot.pk.clone()),
        Some(bot.sk.clone()),
        bot.bot_id().map(str::to_owned),
        outcome,
        task_arn,
    )
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live update: a final outcome becomes the bot's row (with the task it last knew of); any
    /// other is kept until the bot's story ends or the run does.
    pub(crate) fn set(&self, bot: &BotKey, outcome: Outcome, task_arn: Option<String>) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        if outcome.is_final() {
            let earlier = state.open.remove(bot).and_then(|(_, arn)| arn);
            let row = row(bot, &outcome, task_arn.or(earlier));
            state.rows.push(row, &outcome);
        } else {
            let arn = task_arn.or_else(|| state.open.get(bot).and_then(|(_, a)| a.clone()));
            state.open.insert(bot.clone(), (outcome, arn));
        }
    }

    /// The bot's row, now: for a bot whose outcome this run will not change (skipped, kept from
    /// the journal, planned by a dry run, never launched).
    pub(crate) fn settle(&self, bot: &BotKey, outcome: Outcome, task_arn: Option<String>) {
        let mut state = self.lock();
        if !state.closed {
            state.rows.push(row(bot, &outcome, task_arn), &outcome);
        }
    }

    /// Ends the live updates: the bots still open get their current outcome as their row, in key
    /// order; the caller adds any other rows and finishes the sink.
    pub(crate) fn close(&self) -> RowSink {
        let mut state = self.lock();
        state.closed = true;
        let mut open: Vec<_> = std::mem::take(&mut state.open).into_iter().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rows = std::mem::take(&mut state.rows);
        for (bot, (outcome, arn)) in open {
            rows.push(row(&bot, &outcome, arn), &outcome);
        }
        rows
    }

    /// Bots whose story is still open (launching or running).
    #[cfg(test)]
    pub(crate) fn open_len(&self) -> usize {
        self.lock().open.len()
    }
}

pub(crate) struct Ctx {
    pub ecs: aws_sdk_ecs::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub target: MigrationTarget,
    pub journal: Journal,
    pub events: Arc<dyn EventSink<Event>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_bots_stay_in_memory_and_each_gets_one_row() {
        let ledger = Ledger::default();
        let bot = |i: u32| BotKey::new("u", format!("u#BOT#b{i}"));
        for i in 0..1000 {
            ledger.set(&bot(i), Outcome::NotLaunched, None);
            ledger.set(&bot(i), Outcome::StillRunning, Some(format!("arn:t/{i}")));
            if i % 10 != 0 {
                ledger.set(&bot(i), Outcome::Succeeded, None);
            }
        }
        ledger.settle(&bot(5000), Outcome::Skipped, None);
        assert_eq!(ledger.open_len(), 100);
        let rows = ledger.close();
        ledger.set(
            &bot(1),
            Outcome::Failed {
                reason: "late".into(),
            },
            None,
        );
        ledger.settle(&bot(6000), Outcome::Skipped, None);
        let (rows, counts) = rows.finish().unwrap();
        assert_eq!(rows.len(), 1001);
        assert_eq!(
            (
                counts.succeeded,
                counts.still_running,
                counts.skipped,
                counts.failed
            ),
            (900, 100, 1, 0)
        );
        let all: Vec<BotRow> = rows.iter().map(Result::unwrap).collect();
        assert_eq!(
            all[0].task_arn.as_deref(),
            Some("arn:t/1"),
            "the task it ran"
        );
        // The open ones come last, in key order.
        let open: Vec<&str> = all[901..]
            .iter()
            .map(|r| r.sk.as_deref().unwrap())
            .collect();
        let mut sorted = open.clone();
        sorted.sort();
        assert_eq!(open, sorted);
        assert!(all[901..].iter().all(|r| r.outcome == "still_running"));
    }
}
