//! The starting point most integration tests share: an emulator, the fixture app deployed at v0,
//! its outputs, and seeded bots; for the table migration, the fixture upgraded from v2 to v3 with
//! a seeded v2 table.

use std::collections::BTreeMap;

use crate::seed::{SeedPlan, SeededBot, seed_bots};
use crate::seed_v2::{SeededV2, V2Plan, seed_v2};
use crate::{Emulator, FixtureApp, Release, STACK, output, stack_outputs};

/// Poll fast: the emulator's tasks run for a fraction of a second and its snapshots are
/// available at once.
pub const FAST: &[(&str, &str)] = &[
    ("MIGRATE_POLL_INTERVAL_MS", "100"),
    ("MIGRATE_BACKOFF_BASE_MS", "50"),
    ("XTASK_SNAPSHOT_POLL_MS", "100"),
    ("XTASK_STACK_POLL_MS", "100"),
];

/// The CDK arguments of the update to v1, which replaces the cluster (moto mishandles the
/// bootstrap version's UsePreviousValue, hence `--no-previous-parameters`).
pub const V1_CDK_ARGS: &[&str] = &["-c", "release=v1", "--no-previous-parameters"];

/// The CDK arguments of an update that removes the websocket session table (DeletionPolicy
/// Delete): a guarded DynamoDB table destroyed.
pub const DROP_TABLE_CDK_ARGS: &[&str] = &["-c", "dropTable=1", "--no-previous-parameters"];

/// `COMMAND FLAGS -- CDK`: xtask's arguments, then the CDK CLI's.
pub fn with_cdk_args<'a>(command: &'a str, flags: &[&'a str], cdk: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command];
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(cdk);
    args
}

/// `COMMAND FLAGS -- <V1_CDK_ARGS>`: a check or deploy of the update to v1.
pub fn to_v1<'a>(command: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    with_cdk_args(command, flags, V1_CDK_ARGS)
}

pub struct Deployed {
    pub emulator: Emulator,
    pub app: FixtureApp,
    pub config: aws_config::SdkConfig,
    pub outputs: BTreeMap<String, String>,
}

impl Deployed {
    pub fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    pub fn rds(&self) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&self.config)
    }

    pub fn ddb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }

    /// (logical id, physical id) of the stack's resources of one type.
    pub async fn resources_of_type(&self, resource_type: &str) -> Vec<(String, String)> {
        crate::stack::resources_of_type(&self.cfn(), resource_type).await
    }

    /// The stack's change sets (a stopped or finished deploy leaves none).
    pub async fn change_set_count(&self) -> usize {
        crate::stack::change_set_count(&self.cfn()).await
    }

    /// Items in a table: a consistent count over every page.
    pub async fn item_count(&self, table: &str) -> u64 {
        let mut total = 0;
        let mut start = None;
        loop {
            let page = self
                .ddb()
                .scan()
                .table_name(table)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("count a table");
            total += page.count() as u64;
            start = page.last_evaluated_key;
            if start.is_none() {
                return total;
            }
        }
    }

    /// Whether every RDS cluster is encrypted: the fixture's v1 (v0 has none encrypted).
    pub async fn clusters_encrypted(&self) -> bool {
        crate::stack::db_clusters(&self.rds())
            .await
            .iter()
            .all(|c| c.storage_encrypted() == Some(true))
    }
}

/// The fixture at v0 with `plan`'s bots in its conversation table.
pub async fn deployed_with_bots(plan: SeedPlan) -> (Deployed, Vec<SeededBot>) {
    let emulator = Emulator::start();
    let app = FixtureApp::deployed(&emulator, Release::V0);
    let config = emulator.sdk_config().await;
    let outputs = stack_outputs(&aws_sdk_cloudformation::Client::new(&config), STACK).await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let bots = seed_bots(
        &ddb,
        output(&outputs, "DatabaseConversationTableName"),
        plan,
    )
    .await;
    (
        Deployed {
            emulator,
            app,
            config,
            outputs,
        },
        bots,
    )
}

/// The files `xtask` wrote for the stack in `dir`'s state directory (`dir/.xtask/<stack>/`) whose
/// names start with `prefix` (`report-`, `journal-`, ...; `""` for all), oldest first (their
/// names start with the time). None when the directory is not there.
pub fn state_files(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    files_in_state_dir(&dir.join(".xtask"), prefix)
}

/// [`state_files`] of a state directory given by `--state-dir`: `state_dir/<stack>/`.
pub fn files_in_state_dir(state_dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let state = state_dir.join(STACK);
    let entries = match std::fs::read_dir(&state) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", state.display()),
    };
    let mut files: Vec<_> = entries
        .map(|e| e.expect("a state file").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// The one replacement record a deploy wrote in `dir`'s state directory.
pub fn replacement_record_path(dir: &std::path::Path) -> std::path::PathBuf {
    let mut records = state_files(dir, "replacement-");
    assert_eq!(records.len(), 1, "one replacement record: {records:?}");
    records.remove(0)
}

/// [`replacement_record_path`], parsed.
pub fn the_replacement_record(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(replacement_record_path(dir)).expect("the record");
    serde_json::from_str(&text).expect("the replacement record is JSON")
}

/// The fixture deployed at v2 (Bedrock Chat v2.10's tables) with `plan`'s items in its
/// conversation table, then updated to v3 with the CDK CLI as a user updates it (the v2 table
/// leaves the stack and stays, Retain). Returns the v2 table's name with what the seed expects;
/// `outputs` are the v3 stack's.
pub async fn upgraded_to_v3(plan: V2Plan) -> (Deployed, String, SeededV2) {
    let (mut deployed, v2_table, seeded) = deployed_v2(plan, &[]).await;
    deployed.app.deploy(&deployed.emulator, Release::V3);
    deployed.outputs = stack_outputs(&deployed.cfn(), STACK).await;
    (deployed, v2_table, seeded)
}

/// The fixture at v2 (with `context`, e.g. `v2Table=delete`) and its conversation table seeded
/// in the app's v2.10 shapes; returns the v2 table's name, as the app's guide reads it before
/// the upgrade (the stack-level output `ConversationTableName`, export
/// `BedrockClaudeChatConversationTableName`).
pub async fn deployed_v2(plan: V2Plan, context: &[&str]) -> (Deployed, String, SeededV2) {
    let emulator = Emulator::start();
    let app = FixtureApp::new();
    app.bootstrap(&emulator);
    let mut contexts = vec![Release::V2.context()];
    contexts.extend_from_slice(context);
    app.deploy_with_context(&emulator, &contexts);
    let config = emulator.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let outputs = stack_outputs(&cfn, STACK).await;
    let v2_table = outputs["ConversationTableName"].clone();
    let seeded = seed_v2(&aws_sdk_dynamodb::Client::new(&config), &v2_table, plan).await;
    let deployed = Deployed {
        emulator,
        app,
        config,
        outputs,
    };
    // A seed the emulator lost part of would be blamed on the migration: count it first.
    assert_eq!(
        deployed.item_count(&v2_table).await,
        seeded.total,
        "items in the seeded v2 table"
    );
    (deployed, v2_table, seeded)
}
