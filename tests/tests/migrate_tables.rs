//! `cargo xtask migrate-tables` as a user meets it after the Bedrock Chat v2.10 -> v3 upgrade: the
//! fixture deployed at v2 with a v2 conversation table in the app's own item shapes, updated to
//! v3 with the CDK CLI (the v2 table leaves the stack and stays), then the migration, judged by
//! its JSON report and by reading the v3 tables. Every expected number comes from the seed.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Select};
use migrate::tables::TablesReport;
use migrate::tables::counts::NoteKind;
use migrate::tables::kinds::Kind;
use tests::deployed::{Deployed, files_in_state_dir, upgraded_to_v3};
use tests::seed_v2::{ItemKey, SeededV2, V2Plan};
use tests::{throughput_knob, xtask};

/// The v3 tables, from the stack's outputs as the app names them.
fn v3_tables(env: &Deployed) -> (String, String) {
    (
        env.outputs["ConversationTableNameV3"].clone(),
        env.outputs["BotTableNameV3"].clone(),
    )
}

fn migrate_args<'a>(v2_table: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "migrate-tables",
        "--stack",
        tests::STACK,
        "--from-table",
        v2_table,
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

/// The report `--json` printed.
fn report_of(output: &std::process::Output) -> TablesReport {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "--json printed no table report ({e}):\n{}",
            xtask::printed(output)
        )
    })
}

async fn user_items(env: &Deployed, table: &str, user: &str) -> i32 {
    env.ddb()
        .query()
        .table_name(table)
        .key_condition_expression("PK = :u")
        .expression_attribute_values(":u", AttributeValue::S(user.to_owned()))
        .select(Select::Count)
        .send()
        .await
        .expect("a user's items")
        .count()
}

async fn get(
    env: &Deployed,
    table: &str,
    pk: &str,
    sk: &str,
) -> Option<HashMap<String, AttributeValue>> {
    env.ddb()
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(pk.to_owned()))
        .key("SK", AttributeValue::S(sk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get an item")
        .item
}

/// Per kind, the report's counts against the seed's: every item read once; written (or already
/// in the target from an earlier run), skipped and malformed as the seed says; nothing left out.
fn assert_counts_match_the_seed(report: &TablesReport, seeded: &SeededV2) {
    for kind in [
        Kind::Conversation,
        Kind::RelatedDocument,
        Kind::Bot,
        Kind::Alias,
    ] {
        let expected = seeded.kind(kind.as_str());
        let got = report.counts.get(&kind).copied().unwrap_or_default();
        let line = format!("{}: report {got:?}, seed {expected:?}", kind.as_str());
        assert_eq!(got.read, expected.seeded, "read, {line}");
        assert_eq!(
            got.written + got.already_there,
            expected.written,
            "written, {line}"
        );
        assert_eq!(got.skipped, expected.skipped, "skipped, {line}");
        assert_eq!(got.malformed, expected.malformed, "malformed, {line}");
        assert_eq!(got.unwritten + got.rejected, 0, "left out, {line}");
    }
    let others = report.counts.get(&Kind::Other).map_or(0, |c| c.read);
    assert_eq!(others, 0, "the seed has no item of another kind");
}

/// The keys the report notes with `what`, as the seed names them.
fn noted(report: &TablesReport, what: NoteKind) -> BTreeSet<ItemKey> {
    report
        .notes
        .iter()
        .filter(|n| n.what == what)
        .map(|n| ItemKey {
            pk: n.key.pk.clone(),
            sk: n.key.sk.clone(),
        })
        .collect()
}

async fn assert_the_tables_hold_what_the_seed_expects(env: &Deployed, seeded: &SeededV2) {
    let (conversations, bots) = v3_tables(env);
    assert_eq!(
        env.item_count(&conversations).await,
        seeded.conversation_table_items(),
        "items in the v3 conversation table"
    );
    assert_eq!(
        env.item_count(&bots).await,
        seeded.bot_table_items(),
        "items in the v3 bot table"
    );
}

/// `--resume` (with `extra` flags and `envs`) as a user runs it after a cut: exit 0, verified,
/// the seed's counts, the tables holding what they should.
async fn resume_to_a_verified_end(
    env: &Deployed,
    v2_table: &str,
    seeded: &SeededV2,
    extra: &[&str],
    envs: &[(&str, &str)],
) {
    let mut flags = extra.to_vec();
    flags.push("--resume");
    let args = migrate_args(v2_table, &flags);
    let output = xtask::run_with(&env.emulator, env.app.dir(), &args, envs);
    assert_eq!(output.status.code(), Some(0), "{}", xtask::printed(&output));
    let report = report_of(&output);
    assert!(report.verification.as_ref().is_some_and(|v| v.agrees()));
    assert_counts_match_the_seed(&report, seeded);
    assert_the_tables_hold_what_the_seed_expects(env, seeded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_is_migrated_as_the_app_defines_it_and_the_odd_items_are_reported_by_key() {
    let (env, v2_table, seeded) = upgraded_to_v3(V2Plan::small()).await;
    let output = xtask::run(&env.emulator, env.app.dir(), &migrate_args(&v2_table, &[]));
    assert_eq!(output.status.code(), Some(0), "{}", xtask::printed(&output));
    let report = report_of(&output);
    assert!(
        report.success && report.complete,
        "{}",
        xtask::printed(&output)
    );
    assert!(
        report.verification.as_ref().is_some_and(|v| v.agrees()),
        "verification: {:?}",
        report.verification
    );
    assert_counts_match_the_seed(&report, &seeded);
    assert_the_tables_hold_what_the_seed_expects(&env, &seeded).await;

    // An alias of a bot no longer shared is skipped, and said so by its key; so is the stub bot
    // (no Title) as malformed.
    let expected_skipped: BTreeSet<ItemKey> = seeded.skipped.iter().cloned().collect();
    assert_eq!(noted(&report, NoteKind::Skipped), expected_skipped);
    let expected_malformed: BTreeSet<ItemKey> = seeded.malformed.iter().cloned().collect();
    assert_eq!(noted(&report, NoteKind::Malformed), expected_malformed);

    // The stub's user keeps every other item.
    let user = seeded.stub_user().expect("the seed has a stub bot");
    let (conversations, bots) = v3_tables(&env);
    let (due_conversations, due_bots) = seeded.written_per_user[user];
    assert_eq!(
        user_items(&env, &conversations, user).await as u64,
        due_conversations
    );
    assert_eq!(user_items(&env, &bots, user).await as u64, due_bots);

    assert_public_pinned_bots_are_shared_and_starred(&env, &seeded).await;
    // The migration never writes to its source.
    assert_eq!(env.item_count(&v2_table).await, seeded.total);
}

/// A public, pinned v2 bot becomes v3's shared (scope `all`) and starred bot, keyed `BOT#<id>`,
/// its `LastBotUsed` now `LastUsedTime`.
async fn assert_public_pinned_bots_are_shared_and_starred(env: &Deployed, seeded: &SeededV2) {
    let (_, bots) = v3_tables(env);
    assert!(!seeded.public_pinned.is_empty());
    for bot in &seeded.public_pinned {
        let sk = format!("BOT#{}", bot.bot_id);
        let item = get(env, &bots, &bot.user, &sk)
            .await
            .unwrap_or_else(|| panic!("no v3 bot {} {sk}", bot.user));
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        assert_eq!(text("SharedScope").as_deref(), Some("all"), "{item:?}");
        assert_eq!(text("SharedStatus").as_deref(), Some("shared"), "{item:?}");
        assert_eq!(text("IsStarred").as_deref(), Some("TRUE"), "{item:?}");
        assert_eq!(text("BotId").as_deref(), Some(bot.bot_id.as_str()));
        assert_eq!(text("ItemType"), Some(format!("{}#BOT", bot.user)));
        assert_eq!(
            item.get("LastUsedTime").and_then(|v| v.as_n().ok()),
            Some(&bot.last_bot_used),
            "{item:?}"
        );
        for gone in ["PublicBotId", "IsPinned", "LastBotUsed"] {
            assert!(!item.contains_key(gone), "{gone} left on {item:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_writes_are_retried_until_every_item_is_written() {
    let (env, v2_table, seeded) = upgraded_to_v3(V2Plan::small()).await;
    // Far below what DescribeTable promises for an on-demand table: the migration starts fast,
    // meets UnprocessedItems and throttling, and has to slow down.
    throughput_knob::set_write_limit(&env.emulator, Some(20.0));
    let output = xtask::run(&env.emulator, env.app.dir(), &migrate_args(&v2_table, &[]));
    let limit = throughput_knob::counts(&env.emulator);
    assert_eq!(output.status.code(), Some(0), "{}", xtask::printed(&output));
    let report = report_of(&output);
    assert!(
        limit.throttled + limit.unprocessed > 0,
        "the emulator never held a write back: {limit:?}"
    );
    let throttled = report.pace.conversations.throttled + report.pace.bots.throttled;
    assert!(
        throttled > 0,
        "the report counts no throttling: {:?}",
        report.pace
    );
    assert_counts_match_the_seed(&report, &seeded);
    assert_the_tables_hold_what_the_seed_expects(&env, &seeded).await;
    assert_eq!(
        limit.items_written,
        seeded.conversation_table_items() + seeded.bot_table_items(),
        "each item written once"
    );
}

/// The unfinished run's journal lines of the kind `type`.
fn journal_lines(dir: &Path, kind: &str) -> Vec<serde_json::Value> {
    let journals = files_in_state_dir(&dir.join(".xtask"), "tables-journal-");
    journals
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                // A line the kill cut short is not a checkpoint.
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .collect::<Vec<_>>()
        })
        .filter(|entry| entry["type"] == kind)
        .collect()
}

/// The keys the journal's pages note with `what` (`already_there`, `unwritten`, ...).
fn journal_notes(dir: &Path, what: &str) -> BTreeSet<ItemKey> {
    journal_lines(dir, "page")
        .iter()
        .flat_map(|page| page["notes"].as_array().cloned().unwrap_or_default())
        .filter(|note| note["what"] == what)
        .map(|note| ItemKey {
            pk: note["key"]["pk"].as_str().unwrap().to_owned(),
            sk: note["key"]["sk"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// The source items of the page the run is on: the page after its last checkpoint (one
/// segment, so its pages follow each other).
async fn page_in_progress(
    env: &Deployed,
    v2_table: &str,
    dir: &Path,
) -> Vec<HashMap<String, AttributeValue>> {
    let pages = journal_lines(dir, "page");
    let Some(next) = pages.last().map(|p| p["next"].clone()) else {
        return Vec::new();
    };
    let Some(next) = next.as_object() else {
        return Vec::new(); // read to its end
    };
    let start: HashMap<String, AttributeValue> = next
        .iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.as_str().unwrap().to_owned())))
        .collect();
    env.ddb()
        .scan()
        .table_name(v2_table)
        .segment(0)
        .total_segments(1)
        .set_exclusive_start_key(Some(start))
        .send()
        .await
        .expect("scan the page in progress")
        .items
        .unwrap_or_default()
}

/// Which of `keys` (PK, SK) `table` holds (BatchGetItem, 100 keys a call).
async fn held_keys(
    env: &Deployed,
    table: &str,
    keys: &[(String, String)],
) -> BTreeSet<(String, String)> {
    let mut held = BTreeSet::new();
    for chunk in keys.chunks(100) {
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for (pk, sk) in chunk {
            request = request.keys(HashMap::from([
                ("PK".to_owned(), AttributeValue::S(pk.clone())),
                ("SK".to_owned(), AttributeValue::S(sk.clone())),
            ]));
        }
        let answer = env
            .ddb()
            .batch_get_item()
            .request_items(table, request.build().unwrap())
            .send()
            .await
            .expect("look items up");
        assert!(
            answer.unprocessed_keys().is_none_or(|u| u.is_empty()),
            "the emulator answers every key"
        );
        for item in answer
            .responses()
            .and_then(|r| r.get(table))
            .into_iter()
            .flatten()
        {
            let text = |name: &str| item[name].as_s().unwrap().clone();
            held.insert((text("PK"), text("SK")));
        }
    }
    held
}

/// A bot of the page in progress that the run has already written to the v3 bot table, while
/// another item of that page is not written yet (so the page is not checkpointed, and cannot
/// be while the writes are held): (user, v3 SK). The resume must meet that bot again.
async fn written_bot_of_an_unfinished_page(
    env: &Deployed,
    v2_table: &str,
    seeded: &SeededV2,
) -> Option<(String, String)> {
    let (conversations, bots) = v3_tables(env);
    let (mut bot_keys, mut conversation_keys) = (Vec::new(), Vec::new());
    for item in page_in_progress(env, v2_table, env.app.dir()).await {
        let (pk, sk) = (item["PK"].as_s().unwrap(), item["SK"].as_s().unwrap());
        let key = ItemKey {
            pk: pk.clone(),
            sk: sk.clone(),
        };
        if seeded.malformed.contains(&key) {
            continue; // never written
        }
        if let Some(id) = sk.strip_prefix(&format!("{pk}#BOT#")) {
            bot_keys.push((pk.clone(), format!("BOT#{id}")));
        } else if !sk.starts_with(&format!("{pk}#BOT_ALIAS#")) {
            conversation_keys.push((pk.clone(), sk.clone()));
        }
    }
    let bots_held = held_keys(env, &bots, &bot_keys).await;
    let conversations_held = held_keys(env, &conversations, &conversation_keys).await;
    let unfinished =
        bots_held.len() < bot_keys.len() || conversations_held.len() < conversation_keys.len();
    unfinished.then(|| bots_held.into_iter().next()).flatten()
}

/// Waits (on the journal and the v3 tables, not the clock) until the run has checkpointed a page
/// and is partway through the next one, then kills it (SIGKILL) with its writes held, so the
/// page is still unfinished when it dies. Returns the bot it wrote from that page. The writes
/// are held only to confirm what a look without holding them saw: holding throttles the run.
async fn kill_in_the_middle_of_a_page(
    env: &Deployed,
    v2_table: &str,
    seeded: &SeededV2,
    mut child: std::process::Child,
) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        assert!(
            Instant::now() < deadline,
            "never saw a page partly written ({} checkpoints)",
            journal_lines(env.app.dir(), "page").len()
        );
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            panic!("the run ended before the kill: {}", xtask::printed(&output));
        }
        if written_bot_of_an_unfinished_page(env, v2_table, seeded)
            .await
            .is_some()
        {
            throughput_knob::hold_writes(&env.emulator, true);
            let found = written_bot_of_an_unfinished_page(env, v2_table, seeded).await;
            if let Some(found) = found {
                child.kill().expect("SIGKILL");
                child.wait().unwrap();
                throughput_knob::hold_writes(&env.emulator, false);
                return found;
            }
            throughput_knob::hold_writes(&env.emulator, false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_resumes_with_every_item_once_and_keeps_what_the_app_wrote_since() {
    // Pages of 1 MB, several of them, written slowly enough to be cut mid-page.
    let (env, v2_table, seeded) = upgraded_to_v3(V2Plan::with_items(3_000)).await;
    // About seven seconds a page: time to look at one half written, even on a busy machine.
    throughput_knob::set_write_limit(&env.emulator, Some(150.0));
    let args = migrate_args(&v2_table, &["--segments", "1"]);
    let first = xtask::spawn(&env.emulator, env.app.dir(), &args, &[]);
    let (user, sk) = kill_in_the_middle_of_a_page(&env, &v2_table, &seeded, first).await;
    let killed_run = throughput_knob::counts(&env.emulator);
    assert!(
        journal_lines(env.app.dir(), "finished").is_empty(),
        "killed before the end"
    );

    // The app, live on v3, changes that bot before the migration is resumed.
    throughput_knob::set_write_limit(&env.emulator, None);
    let (_, bots) = v3_tables(&env);
    let mut newer = get(&env, &bots, &user, &sk)
        .await
        .expect("the migrated bot");
    let renamed = AttributeValue::S("Renamed on v3 after go-live".into());
    newer.insert("Title".into(), renamed.clone());
    env.ddb()
        .put_item()
        .table_name(&bots)
        .set_item(Some(newer))
        .send()
        .await
        .expect("the app's newer version");

    resume_to_a_verified_end(&env, &v2_table, &seeded, &["--segments", "1"], &[]).await;
    let kept = get(&env, &bots, &user, &sk).await.expect("the bot");
    assert_eq!(
        kept.get("Title"),
        Some(&renamed),
        "the resume overwrote the app's version"
    );
    // The resume met it again (its page was not checkpointed) and said it left it: in the
    // journal, which notes every such item (the report lists the first 100 of each fate).
    let source_sk = format!("{user}#{sk}");
    let left = journal_notes(env.app.dir(), "already_there");
    assert!(
        left.contains(&ItemKey {
            pk: user.clone(),
            sk: source_sk.clone()
        }),
        "{source_sk} not noted already there: {left:?}"
    );

    // Every item written exactly once over both runs (the app's own write aside).
    let resumed_run = throughput_knob::counts(&env.emulator);
    assert_eq!(
        killed_run.items_written + resumed_run.items_written - 1,
        seeded.conversation_table_items() + seeded.bot_table_items(),
        "items written by the killed run {killed_run:?} and the resume {resumed_run:?}"
    );
}

/// Ctrl-C's cousin from a CI system (SIGTERM) while a run copies, with a second run started
/// meanwhile: the second is refused before it reads or writes anything, the first stops at a page
/// boundary (exit 143, its report says interrupted, its journal is not finished) and says how to
/// go on, and `--resume` completes it with every item once.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_is_refused_and_sigterm_stops_at_a_page_boundary_for_resume() {
    let (env, v2_table, seeded) = upgraded_to_v3(V2Plan::with_items(3_000)).await;
    throughput_knob::set_write_limit(&env.emulator, Some(150.0));
    let args = migrate_args(&v2_table, &["--segments", "2"]);
    let first = xtask::spawn(&env.emulator, env.app.dir(), &args, &[]);
    let deadline = Instant::now() + Duration::from_secs(240);
    while journal_lines(env.app.dir(), "page").is_empty() {
        assert!(Instant::now() < deadline, "no page checkpointed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let second = xtask::run(&env.emulator, env.app.dir(), &args);
    let refused = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{}", xtask::printed(&second));
    assert!(
        refused.contains("another run holds") && refused.contains(&format!("pid {}", first.id())),
        "the refusal names the run that holds the stack: {refused}"
    );
    assert!(second.stdout.is_empty(), "the refused run printed a report");

    let pid = nix::unistd::Pid::from_raw(first.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let stopped = first.wait_with_output().unwrap();
    // 128 + SIGTERM's number, as docs/guarantees.md says every interrupted command exits.
    assert_eq!(
        stopped.status.code(),
        Some(143),
        "{}",
        xtask::printed(&stopped)
    );
    let report = report_of(&stopped);
    assert!(report.interrupted && !report.complete && !report.success);
    assert!(
        String::from_utf8_lossy(&stopped.stderr).contains("cargo xtask migrate-tables --resume"),
        "{}",
        xtask::printed(&stopped)
    );
    assert!(journal_lines(env.app.dir(), "finished").is_empty());
    // Stopped at a page boundary: everything the journal counts as written is in the tables.
    let journaled: u64 = journal_lines(env.app.dir(), "page")
        .iter()
        .flat_map(|page| page["counts"].as_object().cloned().unwrap_or_default())
        .map(|(_, counts)| counts["written"].as_u64().unwrap_or(0))
        .sum();
    let (conversations, bots) = v3_tables(&env);
    let held = env.item_count(&conversations).await + env.item_count(&bots).await;
    assert_eq!(
        held, journaled,
        "items in the v3 tables against the journal's pages"
    );

    throughput_knob::set_write_limit(&env.emulator, None);
    resume_to_a_verified_end(&env, &v2_table, &seeded, &[], &[]).await;
}

/// Writes throttled on every attempt: the run reports each such item unwritten (by key, with what
/// to do), exits 1 and leaves its journal open, and `--resume` writes them and ends verified.
#[tokio::test(flavor = "multi_thread")]
async fn items_throttled_on_every_attempt_are_reported_unwritten_and_written_by_resume() {
    let (env, v2_table, seeded) = upgraded_to_v3(V2Plan::small()).await;
    // The retries' backoff shortened (the knobs of xtask/src/migrate_tables.rs): the attempts,
    // not a minute of waiting, are what this test is about.
    let quick = [
        ("MIGRATE_BACKOFF_BASE_MS", "10"),
        ("MIGRATE_TABLES_BACKOFF_MAX_MS", "50"),
    ];
    throughput_knob::hold_writes(&env.emulator, true);
    let args = migrate_args(&v2_table, &[]);
    let output = xtask::run_with(&env.emulator, env.app.dir(), &args, &quick);
    throughput_knob::hold_writes(&env.emulator, false);
    assert_eq!(output.status.code(), Some(1), "{}", xtask::printed(&output));
    let report = report_of(&output);
    let to_write = seeded.conversation_table_items() + seeded.bot_table_items();
    assert!(report.complete && !report.success);
    assert_eq!(report.total().unwritten, to_write, "every write held");
    let unwritten = noted(&report, NoteKind::Unwritten);
    assert_eq!(unwritten.len() as u64, to_write.min(100), "listed by key");
    assert!(
        report
            .notes
            .iter()
            .filter(|n| n.what == NoteKind::Unwritten)
            .all(|n| n.reason.as_deref().is_some_and(|r| r.contains("--resume"))),
        "each says how to write it"
    );
    assert!(
        report.verification.as_ref().is_some_and(|v| !v.agrees()),
        "the verification finds them missing"
    );
    assert!(
        journal_lines(env.app.dir(), "finished").is_empty(),
        "the journal stays open for --resume"
    );

    resume_to_a_verified_end(&env, &v2_table, &seeded, &[], &quick).await;
    assert_eq!(journal_lines(env.app.dir(), "finished").len(), 1);
}
