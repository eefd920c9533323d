use std::fs::OpenOptions;
use std::io::Write;

use super::*;
use crate::reembed::bot::BotKey;
use crate::reembed::journal_state::{
    BotState, find_latest, find_unfinished_elsewhere, read, summarize,
};

fn target(table: &str) -> MigrationTarget {
    MigrationTarget {
        table: table.into(),
        cluster: "c".into(),
        task_definition: "td".into(),
        container: "Container".into(),
        subnets: vec!["s".into()],
        security_groups: vec!["g".into()],
        assign_public_ip: false,
    }
}

fn key(n: u32) -> BotKey {
    BotKey::new("u", format!("u#BOT#b{n}"))
}

fn intent(j: &Journal, k: &BotKey, sb: &str) {
    j.append(
        &Entry::Intent {
            pk: k.pk.clone(),
            sk: k.sk.clone(),
            started_by: sb.into(),
        },
        true,
    )
    .unwrap();
}

fn launched(j: &Journal, k: &BotKey, arn: &str) {
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

#[test]
fn round_trip_folds_bot_states() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("T");
    let j = Journal::create(dir.path(), "Stack", &t, None, "run1").unwrap();
    intent(&j, &key(1), "sb1");
    intent(&j, &key(2), "sb2");
    launched(&j, &key(2), "arn:task/c/2");
    intent(&j, &key(3), "sb3");
    launched(&j, &key(3), "arn:task/c/3");
    j.append(
        &Entry::Outcome {
            pk: "u".into(),
            sk: key(3).sk,
            outcome: Outcome::Succeeded,
            task_arn: None,
        },
        false,
    )
    .unwrap();
    intent(&j, &key(4), "sb4");
    for _ in 0..2 {
        j.append(
            &Entry::Outcome {
                pk: "u".into(),
                sk: key(4).sk,
                outcome: Outcome::LaunchFailed {
                    reason: "capacity".into(),
                },
                task_arn: None,
            },
            false,
        )
        .unwrap();
    }

    let state = read(j.path()).unwrap();
    assert_eq!(state.fingerprint, t.fingerprint());
    assert_eq!(state.target, t);
    assert_eq!(state.run_ids, ["run1"]);
    assert!(!state.finished);
    assert!(!state.truncated_tail);
    assert_eq!(
        *state.bot(&key(1)).unwrap(),
        BotState::Intent {
            started_by: "sb1".into()
        }
    );
    assert_eq!(
        *state.bot(&key(2)).unwrap(),
        BotState::Running {
            task_arn: "arn:task/c/2".into(),
        }
    );
    assert_eq!(
        *state.bot(&key(3)).unwrap(),
        BotState::Done {
            outcome: Outcome::Succeeded,
            task_arn: Some("arn:task/c/3".into()),
            started_by: None
        }
    );
    // A launch failure keeps the startedBy its RunTask used, even through a later failure that
    // had no intent of its own (the check for an earlier task failed).
    assert_eq!(
        *state.bot(&key(4)).unwrap(),
        BotState::Done {
            outcome: Outcome::LaunchFailed {
                reason: "capacity".into()
            },
            task_arn: None,
            started_by: Some("sb4".into())
        }
    );
    j.finish().unwrap();
    assert!(read(j.path()).unwrap().finished);
}

#[cfg(unix)]
#[test]
fn state_dir_and_journal_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".xtask");
    let j = Journal::create(&state_dir, "Stack", &target("T"), None, "r").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state_dir), 0o700);
    assert_eq!(mode(&state_dir.join("Stack")), 0o700);
    assert_eq!(mode(j.path()), 0o600);
    let name = j.path().file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("journal-") && name.ends_with("Z.jsonl"),
        "{name}"
    );
}

#[test]
fn truncated_last_line_is_ignored_then_cut_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("T");
    let path = {
        let j = Journal::create(dir.path(), "S", &t, None, "run1").unwrap();
        intent(&j, &key(1), "sb1");
        launched(&j, &key(1), "arn:task/c/1");
        j.path().to_owned()
    };
    // A torn write: half of a `launched` line for bot 2, no newline.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"type":"launched","pk":"u","sk":"u#BO"#)
        .unwrap();
    drop(f);

    let state = read(&path).unwrap();
    assert!(state.truncated_tail);
    assert_eq!(state.bots.len(), 1);

    let (j, _) = Journal::reopen(&path, &t, None, "run2").unwrap();
    intent(&j, &key(2), "sb2");
    let state = read(&path).unwrap();
    assert!(!state.truncated_tail);
    assert_eq!(state.run_ids, ["run1", "run2"]);
    assert_eq!(state.bots.len(), 2);
}

#[test]
fn a_whole_last_line_without_its_line_end_is_ended_not_joined_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("T");
    let path = {
        let j = Journal::create(dir.path(), "S", &t, None, "run1").unwrap();
        j.path().to_owned()
    };
    // A crash between the entry and its `\n`: the entry parses, the line is not ended.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"type":"intent","pk":"u","sk":"u#BOT#b","started_by":"sb"}"#)
        .unwrap();
    drop(f);
    let state = read(&path).unwrap();
    assert!(state.unterminated_tail && !state.truncated_tail);
    assert_eq!(state.bots.len(), 1);

    let (j, _) = Journal::reopen(&path, &t, None, "run2").unwrap();
    intent(&j, &key(2), "sb2");
    let state = read(&path).expect("every line is whole after the reopen");
    assert!(!state.unterminated_tail);
    assert_eq!(state.bots.len(), 2);
    assert_eq!(state.run_ids, ["run1", "run2"]);
}

#[test]
fn a_journal_of_another_vector_store_is_never_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("T");
    let store = |id: &str, by: Option<&str>| crate::reembed::VectorStore {
        cluster_identifier: id.into(),
        endpoint: Some(format!("{id}.cluster.example")),
        replaced_by: by.map(str::to_owned),
    };
    let old = store("db-old", None);
    let j = Journal::create(dir.path(), "S", &t, Some(&old), "r1").unwrap();
    let path = j.path().to_owned();
    drop(j);
    let new = store("db-new", Some("arn:changeSet/x"));
    let err = Journal::reopen(&path, &t, Some(&new), "r2").unwrap_err();
    assert!(
        matches!(err, EmbedJournalError::OtherVectorStore { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("db-old") && message.contains("db-new") && message.contains("--fresh"),
        "{message}"
    );
    // Unnamed on one side only is not the same store either.
    assert!(Journal::reopen(&path, &t, None, "r2").is_err());
    // The same store resumes, whoever replaced it.
    let same = store("db-old", Some("arn:changeSet/y"));
    Journal::reopen(&path, &t, Some(&same), "r3").unwrap();
    assert_eq!(read(&path).unwrap().vector_store, Some(old));
}

#[test]
fn a_bad_line_in_the_middle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::create(dir.path(), "S", &target("T"), None, "r").unwrap();
    let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
    f.write_all(b"not json\n").unwrap();
    drop(f);
    intent(&j, &key(1), "sb");
    assert!(matches!(
        read(j.path()),
        Err(JournalError::Corrupt { line: 2, .. })
    ));
}

#[test]
fn reopen_refuses_another_targets_journal() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::create(dir.path(), "S", &target("T"), None, "r").unwrap();
    let err = Journal::reopen(j.path(), &target("Other"), None, "r2").unwrap_err();
    assert!(matches!(err, EmbedJournalError::OtherTarget { .. }));
    assert!(
        err.to_string().contains("another migration target"),
        "{err}"
    );
}

#[test]
fn an_unfinished_journal_of_another_target_is_found_and_a_finished_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mine, theirs) = (target("T"), target("Other"));
    Journal::create(dir.path(), "S", &mine, None, "r1").unwrap();
    let elsewhere = |t: &MigrationTarget| {
        find_unfinished_elsewhere(dir.path(), "S", &t.fingerprint())
            .unwrap()
            .map(|s| s.path)
    };
    assert_eq!(elsewhere(&mine), None, "its own journal is not elsewhere");
    let other = Journal::create(dir.path(), "S", &theirs, None, "r2").unwrap();
    assert_eq!(elsewhere(&mine).as_deref(), Some(other.path()));
    other.finish().unwrap();
    assert_eq!(
        elsewhere(&mine),
        None,
        "a finished run has no task left to see"
    );
}

#[test]
fn find_latest_picks_the_newest_of_the_same_target() {
    let dir = tempfile::tempdir().unwrap();
    assert!(find_latest(dir.path(), "S", "x").unwrap().is_none());
    let t = target("T");
    let first = Journal::create(dir.path(), "S", &t, None, "r1").unwrap();
    let second = Journal::create(dir.path(), "S", &t, None, "r2").unwrap();
    let other = Journal::create(dir.path(), "S", &target("Other"), None, "r3").unwrap();
    // Same second: the names get a counter and still sort in creation order.
    assert!(first.path() < second.path());
    let found = find_latest(dir.path(), "S", &t.fingerprint())
        .unwrap()
        .unwrap();
    assert_eq!(found.path, second.path());
    assert_eq!(
        (
            found.launched,
            found.succeeded,
            found.failed,
            found.finished
        ),
        (0, 0, 0, false)
    );
    let found = find_latest(dir.path(), "S", &target("Other").fingerprint())
        .unwrap()
        .unwrap();
    assert_eq!(found.path, other.path());
    assert!(
        find_latest(dir.path(), "Elsewhere", &t.fingerprint())
            .unwrap()
            .is_none()
    );
}

#[test]
fn summary_counts_each_bot_by_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = target("T");
    let j = Journal::create(dir.path(), "S", &t, None, "r1").unwrap();
    let outcome = |k: &BotKey, outcome: Outcome| {
        j.append(
            &Entry::Outcome {
                pk: k.pk.clone(),
                sk: k.sk.clone(),
                outcome,
                task_arn: None,
            },
            false,
        )
        .unwrap()
    };
    let failed = || Outcome::Failed { reason: "x".into() };
    intent(&j, &key(1), "sb1");
    launched(&j, &key(1), "arn:task/c/1");
    intent(&j, &key(2), "sb2");
    outcome(&key(2), Outcome::Succeeded);
    outcome(
        &key(3),
        Outcome::LaunchFailed {
            reason: "capacity".into(),
        },
    );
    // Failed, then relaunched by --retry-failed: launched again.
    intent(&j, &key(4), "sb4");
    outcome(&key(4), failed());
    intent(&j, &key(4), "sb4b");
    j.finish().unwrap();
    let summary = summarize(j.path()).unwrap();
    assert_eq!(
        (summary.launched, summary.succeeded, summary.failed),
        (2, 1, 1)
    );
    assert!(summary.finished);
    assert_eq!(summary.fingerprint, t.fingerprint());
    let state = read(j.path()).unwrap();
    assert_eq!(state.bots.len(), 4);
}
