//! A deploy whose update fails and rolls back: exit 1 with the failing resources and their
//! reasons, through either executor, and no migration on a rolled-back stack.

use tests::deployed::{Deployed, FAST, deployed_with_bots};
use tests::seed::SeedPlan;
use tests::task_runner::{self, fail_next_update};
use tests::xtask::{self, printed};

const REASON: &str = "KMS key is not accessible (emulated)";

async fn cluster(env: &Deployed) -> (String, String) {
    let mut clusters = env.resources_of_type("AWS::RDS::DBCluster").await;
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    clusters.remove(0)
}

async fn rolled_back_deploy(executor: &str) {
    let seed = SeedPlan {
        with_knowledge: 4,
        ..SeedPlan::default()
    };
    let (env, _) = deployed_with_bots(seed).await;
    let (logical, physical) = cluster(&env).await;
    fail_next_update(&env.emulator, &logical, REASON);

    let run = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &[
            "deploy",
            "--execute-with",
            executor,
            "--on-replace",
            "snapshot",
            "--yes",
            "--",
            "-c",
            "release=v1",
            "--no-previous-parameters",
        ],
        FAST,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{}", printed(&run));
    assert!(stderr.contains("UPDATE_ROLLBACK_COMPLETE"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{logical} AWS::RDS::DBCluster UPDATE_FAILED: {REASON}"
        )),
        "the failing resource and its reason: {stderr}"
    );
    assert!(stderr.contains("no migration was started"), "{stderr}");
    assert!(
        task_runner::started_per_bot(&env.emulator).is_empty(),
        "no task on a rolled-back stack"
    );
    assert_eq!(cluster(&env).await.1, physical, "the old cluster stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_through_the_cdk_cli_exits_1_with_the_failing_resource() {
    rolled_back_deploy("cdk").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_update_through_the_sdk_exits_1_with_the_failing_resource() {
    rolled_back_deploy("sdk").await;
}
