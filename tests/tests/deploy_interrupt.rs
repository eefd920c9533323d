//! Ctrl-C or SIGTERM (a cancelled CI job) while the deploy waits for its snapshot: the deploy
//! stops with the signal's exit code (130, 143), executes nothing, deletes its change set, and
//! records the snapshot that RDS goes on making, so the next run knows where it stands.

use std::io::{BufRead, BufReader, Read};

use tests::deployed::{FAST, deployed_with_bots, to_v1};
use tests::seed::SeedPlan;
use tests::xtask::{self};

use nix::sys::signal::Signal;

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_the_snapshot_wait_executes_nothing_and_records_the_snapshot() {
    signal_during_the_snapshot_wait(Signal::SIGINT, 130).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_the_snapshot_wait_executes_nothing_and_records_the_snapshot() {
    signal_during_the_snapshot_wait(Signal::SIGTERM, 143).await;
}

async fn signal_during_the_snapshot_wait(signal: Signal, code: i32) {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    // Snapshots stay `creating` for as long as this test needs.
    ureq::post(&format!(
        "{}/moto-api/emulator/snapshots",
        env.emulator.endpoint()
    ))
    .send_json(serde_json::json!({"creating_polls": 1_000_000}))
    .expect("slow snapshots");

    let mut child = xtask::spawn(
        &env.emulator,
        env.app.dir(),
        &to_v1("deploy", &["--on-replace", "snapshot", "--yes"]),
        FAST,
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the deploy ended before the snapshot wait: {seen}");
        }
        seen.push_str(&line);
        if line.contains("waiting until it is available") {
            break;
        }
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code), "{seen}");
    assert!(
        seen.contains("interrupted:") && seen.contains("nothing was executed"),
        "{seen}"
    );

    assert_eq!(
        env.change_set_count().await,
        0,
        "the change set was deleted"
    );
    assert!(
        !env.clusters_encrypted().await,
        "nothing executed: still v0"
    );

    let files = tests::deployed::state_files(env.app.dir(), "");
    eprintln!("files left after {signal} to deploy: {files:?}, change sets 0");
    let record = tests::deployed::the_replacement_record(env.app.dir());
    assert_eq!(record["interrupted"], true);
    let snapshot = record["clusters"][0]["snapshot"]["identifier"]
        .as_str()
        .expect("the snapshot in progress is recorded");
    assert_eq!(record["clusters"][0]["snapshot"]["status"], "creating");
    let described = env
        .rds()
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(snapshot)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.db_cluster_snapshots().len(),
        1,
        "it exists in RDS"
    );
}
