//! `deploy` hands the migration's own flags to the migration it runs after replacing the vector
//! store: the pace (`--rate`, `--max-running`, `--segments`, `--max-attempts`) and the target's
//! overrides and `--assign-public-ip` reach it as typed values, not a re-parsed command line.

use serde_json::Value;
use tests::deployed::{FAST, V1_CDK_ARGS as V1, deployed_with_bots, state_files, with_cdk_args};
use tests::seed::SeedPlan;
use tests::task_runner;
use tests::xtask::{self, printed};

#[tokio::test(flavor = "multi_thread")]
async fn deploy_passes_the_migration_flags_to_its_migration() {
    let seed = SeedPlan {
        with_knowledge: 3,
        without_knowledge: 1,
        aliases: 0,
        ..SeedPlan::default()
    };
    let (env, _bots) = deployed_with_bots(seed).await;
    // Tasks that succeed, so the report's counts say the migration ran to its end.
    task_runner::configure(&env.emulator, 0.2, 0.0, 7);
    let flags = [
        "--on-replace",
        "both",
        "--yes",
        "--max-running",
        "50",
        "--rate",
        "10",
        "--segments",
        "3",
        "--max-attempts",
        "5",
        "--assign-public-ip",
        "--container",
        "Container",
    ];
    let run = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &with_cdk_args("deploy", &flags, V1),
        FAST,
    );
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(
        all.contains("re-embedding every bot"),
        "the deploy reached its migration: {all}"
    );
    assert!(
        all.contains(
            "10 RunTask/s, at most 50 running, 5 attempts per launch, 3 scan segments, public IPs"
        ),
        "the migration runs at the deploy's pace: {all}"
    );

    // The report of that migration: its target has the public IPs asked for, every bot embedded.
    let reports = state_files(env.app.dir(), "report-");
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report: Value = serde_json::from_slice(&std::fs::read(&reports[0]).unwrap()).unwrap();
    assert_eq!(report["target"]["assign_public_ip"], true, "{report:#}");
    assert_eq!(report["target"]["container"], "Container", "{report:#}");
    assert_eq!(report["counts"]["to_embed"], 3, "{report:#}");
    assert_eq!(report["counts"]["succeeded"], 3, "{report:#}");
}

#[test]
fn deploy_refuses_a_migration_flag_out_of_range_before_any_aws_call() {
    // No emulator: the flag is refused while parsing, so nothing is prepared or executed.
    let run = std::process::Command::new(xtask::binary())
        .args(["deploy", "--max-running", "0", "--yes"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(2), "{all}");
    assert!(all.contains("--max-running"), "{all}");
}
