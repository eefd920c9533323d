//! What to do with each bot given what an earlier journal says about it.

use super::bot::BotKey;
use super::journal_state::BotState;
use super::outcome::Outcome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start a task with `started_by`; first look for a task an earlier process may have started
    /// under `check_existing` (its `startedBy`).
    Launch {
        started_by: String,
        check_existing: Option<String>,
    },
    /// A task is running (or ran) for the bot: track it, never launch another.
    Track { task_arn: String },
    /// Settled in the journal: report as is.
    Keep {
        outcome: Outcome,
        task_arn: Option<String>,
    },
}

/// The decision for one bot that needs embedding. New launches always get a `startedBy` of this
/// run, so a stale client token of an earlier run never hides a fresh launch.
pub fn decide(
    state: Option<&BotState>,
    bot: &BotKey,
    run_id: &str,
    retry_failed: bool,
) -> Decision {
    let fresh = |check_existing: Option<&Box<str>>| Decision::Launch {
        started_by: bot.started_by(run_id),
        check_existing: check_existing.map(|s| s.to_string()),
    };
    match state {
        None => fresh(None),
        // The process died between the intent and RunTask's answer: a task may exist.
        Some(BotState::Intent { started_by }) => fresh(Some(started_by)),
        Some(BotState::Running { task_arn, .. }) => Decision::Track {
            task_arn: task_arn.to_string(),
        },
        Some(BotState::Done {
            outcome,
            task_arn,
            started_by,
        }) => match outcome {
            Outcome::Succeeded => Decision::Keep {
                outcome: outcome.clone(),
                task_arn: task_arn.as_ref().map(ToString::to_string),
            },
            Outcome::Failed { .. } if !retry_failed => Decision::Keep {
                outcome: outcome.clone(),
                task_arn: task_arn.as_ref().map(ToString::to_string),
            },
            // The task failed and stopped: a new one is wanted, there is nothing to adopt.
            Outcome::Failed { .. } => fresh(None),
            // RunTask never answered with a task, but a timed-out call may still have started one.
            _ => fresh(started_by.as_ref()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> BotKey {
        BotKey::new("u", "u#BOT#b")
    }

    #[test]
    fn never_launched_is_launched() {
        assert_eq!(
            decide(None, &bot(), "run2", false),
            Decision::Launch {
                started_by: bot().started_by("run2"),
                check_existing: None
            }
        );
    }

    #[test]
    fn intent_without_launched_looks_for_the_earlier_task() {
        let state = BotState::Intent {
            started_by: bot().started_by("run1").into(),
        };
        assert_eq!(
            decide(Some(&state), &bot(), "run2", false),
            Decision::Launch {
                started_by: bot().started_by("run2"),
                check_existing: Some(bot().started_by("run1")),
            }
        );
    }

    #[test]
    fn running_is_tracked_not_relaunched() {
        let state = BotState::Running {
            task_arn: "arn:t/1".into(),
        };
        assert_eq!(
            decide(Some(&state), &bot(), "run2", true),
            Decision::Track {
                task_arn: "arn:t/1".into()
            }
        );
    }

    #[test]
    fn succeeded_is_kept_even_with_retry_failed() {
        let state = BotState::Done {
            outcome: Outcome::Succeeded,
            task_arn: Some("arn:t/1".into()),
            started_by: None,
        };
        assert!(matches!(
            decide(Some(&state), &bot(), "r", true),
            Decision::Keep {
                outcome: Outcome::Succeeded,
                ..
            }
        ));
    }

    #[test]
    fn failed_is_relaunched_only_with_retry_failed() {
        let state = BotState::Done {
            outcome: Outcome::Failed { reason: "x".into() },
            task_arn: Some("arn:t/1".into()),
            started_by: Some("old".into()),
        };
        assert!(matches!(
            decide(Some(&state), &bot(), "r", false),
            Decision::Keep { .. }
        ));
        assert_eq!(
            decide(Some(&state), &bot(), "r", true),
            Decision::Launch {
                started_by: bot().started_by("r"),
                check_existing: None
            }
        );
    }

    #[test]
    fn launch_failed_is_relaunched_after_a_check() {
        let state = BotState::Done {
            outcome: Outcome::LaunchFailed {
                reason: "capacity".into(),
            },
            task_arn: None,
            started_by: Some("old".into()),
        };
        assert_eq!(
            decide(Some(&state), &bot(), "r", false),
            Decision::Launch {
                started_by: bot().started_by("r"),
                check_existing: Some("old".into())
            }
        );
    }
}
