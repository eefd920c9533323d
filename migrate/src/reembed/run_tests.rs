use crate::reembed::journal::EmbedJournalError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::types::Task;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

use super::*;
use crate::events::NoEvents;
use crate::reembed::journal::Entry;
use crate::reembed::target::MigrationTarget;

fn target() -> MigrationTarget {
    crate::reembed::launch::tests::target()
}

fn bot_item(user: &str, id: &str, urls: usize) -> HashMap<String, Av> {
    let list = (0..urls).map(|i| Av::S(format!("https://x/{i}"))).collect();
    HashMap::from([
        ("PK".into(), Av::S(user.into())),
        ("SK".into(), Av::S(format!("{user}#BOT#{id}"))),
        (
            "Knowledge".into(),
            Av::M(HashMap::from([("source_urls".into(), Av::L(list))])),
        ),
    ])
}

/// A fake AWS: one scan page, RunTask answers `arn:task/c/<n>`, tasks stop on the first look and
/// the bot records success for its task (or failure for ids starting with "bad").
struct Fake {
    rules: Vec<Rule>,
    launched: Arc<Mutex<Vec<String>>>,
}

fn fake() -> Fake {
    let items = vec![
        bot_item("u1", "a", 2),
        bot_item("u1", "b", 0),
        bot_item("u2", "c", 1),
        bot_item("u2", "bad", 1),
        HashMap::from([("PK".into(), Av::S("u3".into()))]),
    ];
    let scan = mock!(aws_sdk_dynamodb::Client::scan)
        .then_output(move || ScanOutput::builder().set_items(Some(items.clone())).build());
    let launched = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = launched.clone();
    let run = mock!(aws_sdk_ecs::Client::run_task).then_compute_output(move |r| {
        let sk = r.overrides().unwrap().container_overrides()[0].command()[2].clone();
        let mut log = log.lock().unwrap();
        log.push(sk);
        RunTaskOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn(format!("arn:task/c/{}", log.len()))
                    .build(),
            )
            .build()
    });
    let describe = mock!(aws_sdk_ecs::Client::describe_tasks).then_compute_output(|r| {
        let tasks = r
            .tasks()
            .iter()
            .map(|a| Task::builder().task_arn(a).last_status("STOPPED").build())
            .collect();
        DescribeTasksOutput::builder()
            .set_tasks(Some(tasks))
            .build()
    });
    let launched_for_get = launched.clone();
    let get = mock!(aws_sdk_dynamodb::Client::get_item).then_compute_output(move |r| {
        let key = r.key().unwrap();
        let keys = crate::reembed::BotKey::new(
            key["PK"].as_s().unwrap().clone(),
            key["SK"].as_s().unwrap().clone(),
        )
        .keys_json();
        let log = launched_for_get.lock().unwrap();
        // The last launch of this bot is the task that "ran".
        let n = log.iter().rposition(|k| *k == keys).map_or(0, |i| i + 1);
        let status = if keys.contains("#BOT#bad") {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        GetItemOutput::builder()
            .set_item(Some(HashMap::from([
                ("SyncStatus".into(), Av::S(status.into())),
                ("SyncStatusReason".into(), Av::S("no luck".into())),
                ("LastExecId".into(), Av::S(n.to_string())),
            ])))
            .build()
    });
    Fake {
        rules: vec![scan, run, describe, get],
        launched,
    }
}

fn clients(f: &Fake) -> Clients {
    Clients {
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &f.rules[..]),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &f.rules[..]),
    }
}

fn options(dir: &std::path::Path) -> MigrationOptions {
    MigrationOptions {
        state_dir: dir.to_owned(),
        segments: 1,
        poll_interval: Duration::from_millis(10),
        backoff_base: Duration::from_millis(1),
        ..MigrationOptions::default()
    }
}

fn row_of(report: &MigrationReport, id: &str) -> BotRow {
    report
        .bots
        .iter()
        .map(Result::unwrap)
        .find(|r| r.bot_id.as_deref() == Some(id))
        .unwrap()
}

fn outcome_of(report: &MigrationReport, id: &str) -> crate::reembed::OutcomeKind {
    row_of(report, id).outcome
}

#[tokio::test(start_paused = true)]
async fn a_full_run_reports_every_bot() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let report = run_migration(
        &clients(&f),
        &target(),
        &options(dir.path()),
        Arc::new(NoEvents),
        &Interrupt::new(),
    )
    .await
    .unwrap();
    let c = report.counts;
    assert_eq!((c.found, c.to_embed, c.skipped, c.malformed), (5, 3, 1, 1));
    assert_eq!((c.succeeded, c.failed, c.launched), (2, 1, 3));
    assert_eq!(outcome_of(&report, "a"), "succeeded");
    assert_eq!(outcome_of(&report, "b"), "skipped");
    let bad = row_of(&report, "bad");
    assert_eq!(bad.reason.as_deref(), Some("no luck"));
    assert_eq!(
        report.bots.len(),
        5,
        "one row per item, the malformed one included"
    );
    assert!(!report.success());
    let journal = crate::reembed::journal_state::read(report.journal.as_deref().unwrap()).unwrap();
    assert!(journal.finished);
    assert_eq!(f.launched.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn dry_run_launches_nothing() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let opts = MigrationOptions {
        dry_run: true,
        ..options(dir.path())
    };
    let report = run_migration(
        &clients(&f),
        &target(),
        &opts,
        Arc::new(NoEvents),
        &Interrupt::new(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.planned, 3);
    assert!(report.journal.is_none());
    assert!(f.launched.lock().unwrap().is_empty());
    assert!(!dir.path().join("BedrockChatStack").exists());
}

#[tokio::test(start_paused = true)]
async fn interrupted_before_launch_keeps_the_journal_open() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let interrupt = Interrupt::new();
    assert_eq!(interrupt.trip(), 1);
    let report = run_migration(
        &clients(&f),
        &target(),
        &options(dir.path()),
        Arc::new(NoEvents),
        &interrupt,
    )
    .await
    .unwrap();
    assert!(report.interrupted);
    assert_eq!(report.counts.not_launched, 3);
    assert!(!report.success());
    assert!(f.launched.lock().unwrap().is_empty());
    let journal = crate::reembed::journal_state::read(report.journal.as_deref().unwrap()).unwrap();
    assert!(!journal.finished);
    assert_eq!(interrupt.trip(), 2);
    assert!(interrupt.is_aborted());
}

#[tokio::test(start_paused = true)]
async fn resume_launches_only_what_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let t = target();
    let key = |u: &str, id: &str| crate::reembed::BotKey::new(u, format!("{u}#BOT#{id}"));
    // Earlier run: a succeeded, c still running, bad failed; nothing for the rest.
    let path = {
        let j = crate::reembed::journal::Journal::create(dir.path(), &opts.stack, &t, None, "old")
            .unwrap();
        for (k, arn) in [
            (key("u1", "a"), "arn:task/c/9"),
            (key("u2", "c"), "arn:task/c/8"),
        ] {
            j.append(
                &Entry::Intent {
                    pk: k.pk.clone(),
                    sk: k.sk.clone(),
                    started_by: "x".into(),
                },
                true,
            )
            .unwrap();
            j.append(
                &Entry::Launched {
                    pk: k.pk.clone(),
                    sk: k.sk.clone(),
                    task_arn: arn.into(),
                },
                true,
            )
            .unwrap();
        }
        let a = key("u1", "a");
        j.append(
            &Entry::Outcome {
                pk: a.pk,
                sk: a.sk,
                outcome: Outcome::Succeeded,
                task_arn: None,
            },
            false,
        )
        .unwrap();
        let bad = key("u2", "bad");
        j.append(
            &Entry::Outcome {
                pk: bad.pk,
                sk: bad.sk,
                outcome: Outcome::Failed {
                    reason: "old".into(),
                },
                task_arn: None,
            },
            false,
        )
        .unwrap();
        j.path().to_owned()
    };
    let f = fake();
    let found =
        crate::reembed::journal_state::find_latest(dir.path(), &opts.stack, &t.fingerprint())
            .unwrap()
            .unwrap();
    assert_eq!(found.path, path);
    let resume = MigrationOptions {
        resume: Resume::Journal(path.clone()),
        ..opts.clone()
    };
    let report = run_migration(
        &clients(&f),
        &t,
        &resume,
        Arc::new(NoEvents),
        &Interrupt::new(),
    )
    .await
    .unwrap();
    // Nothing left to launch: a kept, c tracked, bad kept as failed.
    assert!(f.launched.lock().unwrap().is_empty());
    assert_eq!(outcome_of(&report, "a"), "succeeded");
    assert_eq!(outcome_of(&report, "bad"), "failed");
    // c's task 8 is not the one the bot recorded (none launched here): failed, with the reason.
    assert_eq!(outcome_of(&report, "c"), "failed");

    let f = fake();
    let retry = MigrationOptions {
        retry_failed: true,
        ..resume
    };
    let report = run_migration(
        &clients(&f),
        &t,
        &retry,
        Arc::new(NoEvents),
        &Interrupt::new(),
    )
    .await
    .unwrap();
    let launched = f.launched.lock().unwrap().clone();
    assert_eq!(launched.len(), 2, "{launched:?}");
    assert!(launched.iter().all(|k| !k.contains("#BOT#a\"")));
    assert_eq!(outcome_of(&report, "c"), "succeeded");

    let other = MigrationTarget {
        table: "Other".into(),
        ..t
    };
    let err = run_migration(
        &clients(&fake()),
        &other,
        &retry,
        Arc::new(NoEvents),
        &Interrupt::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            MigrateError::Journal(EmbedJournalError::OtherTarget { .. })
        ),
        "{err}"
    );
}

/// A run against the fake AWS with RunTask throttling bot `c` on every attempt, at most
/// `max_attempts` of them: the fake, the throttling rule (it counts the attempts), the options
/// and the report.
async fn run_throttling_bot_c(
    dir: &std::path::Path,
    max_attempts: u32,
) -> (Fake, Rule, MigrationOptions, MigrationReport) {
    let opts = MigrationOptions {
        max_attempts,
        ..options(dir)
    };
    let f = fake();
    let (throttled, clients) = throttling_bot_c(&f);
    let report = run(&clients, &opts).await;
    (f, throttled, opts, report)
}

/// A whole run, without events or interrupt, that must not fail.
async fn run(clients: &Clients, opts: &MigrationOptions) -> MigrationReport {
    run_migration(
        clients,
        &target(),
        opts,
        Arc::new(NoEvents),
        &Interrupt::new(),
    )
    .await
    .unwrap()
}

/// The fake AWS of `f` with `first` tried before its rules.
fn clients_with(first: &Rule, f: &Fake) -> Clients {
    let rules: Vec<Rule> = std::iter::once(first.clone())
        .chain(f.rules.clone())
        .collect();
    Clients {
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &rules[..]),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules[..]),
    }
}

/// The fake AWS of `f`, but RunTask answers ThrottlingException "Rate exceeded" for bot `c`, on
/// every attempt; the rule counts them.
fn throttling_bot_c(f: &Fake) -> (Rule, Clients) {
    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::run_task::RunTaskError;
    let throttled = mock!(aws_sdk_ecs::Client::run_task)
        .match_requests(|r| {
            r.overrides().unwrap().container_overrides()[0].command()[2].contains("#BOT#c")
        })
        .then_error(|| {
            RunTaskError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        });
    let clients = clients_with(&throttled, f);
    (throttled, clients)
}

/// RunTask kept refusing one bot: the journal stays open, and the resume the run advises
/// launches that bot only, never again the ones that succeeded.
#[tokio::test(start_paused = true)]
async fn a_launch_failure_keeps_the_journal_open_for_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (f, _, opts, report) = run_throttling_bot_c(dir.path(), 2).await;
    assert_eq!(outcome_of(&report, "c"), "launch_failed");
    assert_eq!(f.launched.lock().unwrap().len(), 2);
    let found = crate::reembed::journal_state::find_latest(
        dir.path(),
        &opts.stack,
        &target().fingerprint(),
    )
    .unwrap()
    .unwrap();
    assert!(!found.finished, "resumable without --retry-failed");

    // The resume first asks ECS whether a refused call started a task anyway: none did.
    let f = fake();
    let list = mock!(aws_sdk_ecs::Client::list_tasks)
        .then_output(|| aws_sdk_ecs::operation::list_tasks::ListTasksOutput::builder().build());
    let resuming = clients_with(&list, &f);
    let resume = MigrationOptions {
        resume: Resume::Journal(found.path),
        ..opts
    };
    let report = run(&resuming, &resume).await;
    let launched = f.launched.lock().unwrap().clone();
    assert_eq!(launched.len(), 1, "{launched:?}");
    assert!(launched[0].contains("#BOT#c"));
    assert_eq!(outcome_of(&report, "c"), "succeeded");
    assert_eq!(outcome_of(&report, "a"), "succeeded");
    assert_eq!(
        list.num_calls(),
        2,
        "running by startedBy, stopped by family"
    );
}

/// A launch that ran out of attempts reads, in the report, as the service's code and message, how
/// many attempts were made and what to do: not the SDK error's debug dump (the raw response's
/// headers and extensions, about 1,500 characters).
#[tokio::test(start_paused = true)]
async fn a_throttled_launch_reports_one_readable_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (_, throttled, _, report) = run_throttling_bot_c(dir.path(), 3).await;
    assert_eq!(throttled.num_calls(), 3);
    let row = row_of(&report, "c");
    assert_eq!(row.outcome, crate::reembed::OutcomeKind::LaunchFailed);
    let reason = row.reason.unwrap();
    assert_eq!(
        reason,
        "gave up after 3 attempts: ThrottlingException: Rate exceeded. ECS throttled RunTask on \
         every attempt: lower --rate, then launch it again with `cargo xtask migrate --resume`"
    );
    let json =
        serde_json::to_value(report.bots.iter().map(Result::unwrap).collect::<Vec<_>>()).unwrap();
    let in_file = json
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bot_id"] == "c")
        .unwrap();
    assert_eq!(in_file["outcome"], "launch_failed");
    assert_eq!(in_file["reason"], reason.as_str());
}
