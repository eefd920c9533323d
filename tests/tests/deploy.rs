//! `cargo xtask deploy` against the emulator with the real CDK CLI, fixture v0 -> v1: the
//! safeguards before the cluster replacement, a stop that leaves everything as it was, a plain
//! deploy without a prompt, and a change set that went stale before execution.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tests::deployed::{
    Deployed, FAST, V1_CDK_ARGS as V1, deployed_with_bots, to_v1, with_cdk_args,
};
use tests::seed::SeedPlan;
use tests::xtask::{self, printed};
use tests::{STACK, output, stack_outputs, task_runner};

fn deploy(env: &Deployed, flags: &[&str], cdk: &[&str]) -> std::process::Output {
    xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &with_cdk_args("deploy", flags, cdk),
        FAST,
    )
}

/// Physical ids of the stack's resources of one type.
async fn resources_of_type(env: &Deployed, resource_type: &str) -> Vec<String> {
    let found = env.resources_of_type(resource_type).await;
    found.into_iter().map(|(_, physical)| physical).collect()
}

async fn cluster_ids(env: &Deployed) -> Vec<String> {
    resources_of_type(env, "AWS::RDS::DBCluster").await
}

/// Manual cluster snapshots: (identifier, cluster, status, tag keys).
async fn manual_snapshots(env: &Deployed) -> Vec<(String, String, String, Vec<String>)> {
    let out = env
        .rds()
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe cluster snapshots");
    out.db_cluster_snapshots()
        .iter()
        .map(|s| {
            (
                s.db_cluster_snapshot_identifier()
                    .unwrap_or_default()
                    .into(),
                s.db_cluster_identifier().unwrap_or_default().into(),
                s.status().unwrap_or_default().into(),
                s.tag_list()
                    .iter()
                    .filter_map(|t| t.key().map(str::to_owned))
                    .collect(),
            )
        })
        .collect()
}

async fn secret_password(env: &Deployed) -> String {
    let arn = output(&env.outputs, "DbConfigSecretArn");
    let value = env
        .secrets()
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .expect("get the secret");
    let doc: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    let password = doc["password"].as_str().expect("a password").to_owned();
    assert!(password.len() >= 16, "a generated password");
    password
}

/// Everything a stopped deploy must leave as it was: stack status, update time and outputs,
/// the clusters, the change sets, the manual snapshots.
async fn world(env: &Deployed) -> String {
    let cfn = env.cfn();
    let stack = cfn
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    let stack = &stack.stacks()[0];
    let change_sets: BTreeSet<String> = cfn
        .list_change_sets()
        .stack_name(STACK)
        .send()
        .await
        .unwrap()
        .summaries()
        .iter()
        .filter_map(|c| c.change_set_id().map(str::to_owned))
        .collect();
    format!(
        "status {:?} updated {:?}\noutputs {:?}\nclusters {:?}\nchange sets {change_sets:?}\nsnapshots {:?}",
        stack.stack_status(),
        stack.last_updated_time(),
        stack_outputs(&cfn, STACK).await,
        cluster_ids(env).await,
        manual_snapshots(env).await,
    )
}

/// What a deploy left in the stack's state directory, less the run lock (every run takes it and
/// leaves the file, which names its last holder and holds no data).
fn state_files(env: &Deployed) -> Vec<PathBuf> {
    let mut files = tests::deployed::state_files(env.app.dir(), "");
    files.retain(|p| p.file_name().is_none_or(|n| n != "lock"));
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_no_password(password: &str, what: &str, text: &str) {
    assert!(
        !text.contains(password),
        "{what} contains the database password"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_with_both_safeguards_snapshots_records_replaces_and_migrates() {
    let seed = SeedPlan {
        with_knowledge: 6,
        without_knowledge: 3,
        aliases: 2,
        ..SeedPlan::default()
    };
    let (env, bots) = deployed_with_bots(seed).await;
    task_runner::configure(&env.emulator, 0.2, 0.0, 7);
    let password = secret_password(&env).await;
    let old = cluster_ids(&env).await;
    assert_eq!(old.len(), 1);

    let run = deploy(&env, &["--on-replace", "both", "--yes"], V1);
    let all = printed(&run);
    assert_no_password(&password, "the deploy's output", &all);
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(all.contains("StorageEncrypted"), "the plan is shown: {all}");

    // The snapshot: manual, of the old cluster, available, tagged as the tool's.
    let mine = tool_snapshots(&env).await;
    assert_eq!(mine.len(), 1, "{:?}", manual_snapshots(&env).await);
    assert_eq!(mine[0].1, old[0], "a snapshot of the old cluster");
    assert_eq!(mine[0].2, "available");

    // The credential file: 0600, the secret's password.
    let files = state_files(&env);
    let credentials = tests::deployed::state_files(env.app.dir(), "credentials-");
    assert_eq!(credentials.len(), 1, "{files:?}");
    #[cfg(unix)]
    assert_eq!(mode(&credentials[0]), 0o600);
    #[cfg(unix)]
    assert_eq!(mode(credentials[0].parent().unwrap()), 0o700);
    let recorded = read_json(&credentials[0]);
    assert!(
        recorded["secret"]["password"].as_str() == Some(password.as_str()),
        "the recorded password matches the secret's"
    );

    // The record: what the restore path needs.
    let record = tests::deployed::the_replacement_record(env.app.dir());
    assert_eq!(record["stack"], STACK);
    assert!(
        record["change_set_id"]
            .as_str()
            .unwrap()
            .contains("changeSet")
    );
    let cluster = &record["clusters"][0];
    assert_eq!(cluster["old"]["identifier"], old[0].as_str());
    assert!(cluster["old"]["endpoint"].is_string(), "{cluster:#}");
    assert_eq!(cluster["snapshot"]["identifier"], mine[0].0.as_str());
    assert_eq!(
        cluster["secret_arn"],
        output(&env.outputs, "DbConfigSecretArn")
    );
    let named_file = PathBuf::from(cluster["credentials_file"].as_str().unwrap());
    assert_eq!(
        named_file.canonicalize().unwrap(),
        credentials[0].canonicalize().unwrap(),
        "the record names the credential file"
    );
    assert_eq!(record["plan"]["migration_needed"], true);

    // The stack is on v1 with a new, encrypted cluster; the old one is gone.
    let new = cluster_ids(&env).await;
    assert_eq!(new.len(), 1);
    assert_ne!(new[0], old[0], "the cluster was replaced");
    let described = env
        .rds()
        .describe_db_clusters()
        .db_cluster_identifier(&new[0])
        .send()
        .await
        .unwrap();
    assert_eq!(described.db_clusters()[0].storage_encrypted(), Some(true));

    // The migration ran: one task per bot with knowledge.
    let started = task_runner::started_per_bot(&env.emulator);
    assert_eq!(started.len(), bots.len(), "{started:?}");
    assert!(
        started.values().all(|tasks| tasks.len() == 1),
        "{started:?}"
    );

    // No file the run wrote but the credential file holds the password.
    for file in files.iter().filter(|f| !credentials.contains(f)) {
        assert_no_password(
            &password,
            &file.display().to_string(),
            &std::fs::read_to_string(file).unwrap_or_default(),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn abort_and_a_run_without_terminal_or_flag_leave_everything_as_before() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let before = world(&env).await;

    let refused = deploy(&env, &[], V1);
    assert_eq!(refused.status.code(), Some(3), "{}", printed(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--on-replace snapshot|credentials|both|proceed|abort"),
        "names the flag: {stderr}"
    );
    assert!(stderr.contains("change set was deleted"), "{stderr}");
    assert_eq!(
        world(&env).await,
        before,
        "no terminal, no flag: nothing changed"
    );

    let aborted = deploy(&env, &["--on-replace", "abort"], V1);
    assert_eq!(aborted.status.code(), Some(3), "{}", printed(&aborted));
    assert_eq!(world(&env).await, before, "abort: nothing changed");
    assert!(state_files(&env).is_empty(), "{:?}", state_files(&env));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_without_guarded_replacement_executes_without_a_prompt() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let clusters = cluster_ids(&env).await;

    // The SDK executor, following the stack events itself.
    let run = deploy(
        &env,
        &["--execute-with", "sdk"],
        &["-c", "note=hello", "--no-previous-parameters"],
    );
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(!all.contains("What now"), "no prompt: {all}");
    assert!(all.contains("no migration needed"), "{all}");
    assert!(
        all.contains("DeployNote"),
        "the stack events are shown: {all}"
    );

    assert_eq!(
        resources_of_type(&env, "AWS::SSM::Parameter").await.len(),
        1,
        "the change was executed"
    );
    assert_eq!(cluster_ids(&env).await, clusters);
    assert!(manual_snapshots(&env).await.is_empty());
    assert!(state_files(&env).is_empty(), "no safeguard, no record");
}

fn kept_change_set(env: &Deployed) -> String {
    let check = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &to_v1("check", &["--keep-change-set"]),
        FAST,
    );
    assert_eq!(check.status.code(), Some(3), "{}", printed(&check));
    String::from_utf8_lossy(&check.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("change set kept: "))
        .unwrap_or_else(|| panic!("no kept change set: {}", printed(&check)))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_change_set_is_reviewed_again_and_executed_and_a_stale_one_is_refused() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let old = cluster_ids(&env).await;

    // Kept, then made stale by another update of the stack.
    let stale = kept_change_set(&env);
    let other = deploy(
        &env,
        &["--execute-with", "sdk"],
        &["-c", "note=meanwhile", "--no-previous-parameters"],
    );
    assert_eq!(other.status.code(), Some(0), "{}", printed(&other));
    let refused = deploy(&env, &["--change-set", &stale, "--on-replace", "both"], &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", printed(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("no longer exists") && stderr.contains("Nothing was executed"),
        "{stderr}"
    );
    assert_eq!(cluster_ids(&env).await, old, "nothing executed");
    assert!(
        manual_snapshots(&env).await.is_empty(),
        "no safeguard taken"
    );

    // Kept and still current: reviewed again (the plan is shown), then executed by its id.
    let kept = kept_change_set(&env);
    let run = deploy(
        &env,
        &[
            "--change-set",
            &kept,
            "--on-replace",
            "snapshot",
            "--migrate",
            "never",
        ],
        &[],
    );
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(all.contains("StorageEncrypted"), "reviewed again: {all}");
    assert!(all.contains(&kept), "executed by its id: {all}");
    assert_ne!(cluster_ids(&env).await, old, "replaced");
    assert_eq!(tool_snapshots(&env).await.len(), 1);
}

/// The manual snapshots the tool made (the cluster's UpdateReplacePolicy makes its own too).
async fn tool_snapshots(env: &Deployed) -> Vec<(String, String, String, Vec<String>)> {
    let mut all = manual_snapshots(env).await;
    all.retain(|s| s.3.iter().any(|k| k == "cdk-hook:made-by"));
    all
}
