//! `cargo xtask deploy` of a change that destroys a DynamoDB table (the fixture's
//! `-c dropTable=1` removes its websocket session table, DeletionPolicy Delete): the on-demand
//! backup is taken first when asked, waited for until AVAILABLE, recorded, and restores into a
//! new table with every item after the table is gone; without a decision, or when the backup
//! fails, nothing is executed.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use tests::deployed::{
    DROP_TABLE_CDK_ARGS as DROP, Deployed, FAST, deployed_with_bots, with_cdk_args,
};
use tests::seed::SeedPlan;
use tests::xtask::{self, printed};

const SESSION_TABLE: &str = "DatabaseWebsocketSessionTable";
const ITEMS: usize = 30;

fn deploy(env: &Deployed, flags: &[&str]) -> std::process::Output {
    xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &with_cdk_args("deploy", flags, DROP),
        FAST,
    )
}

/// The fixture at v0 with `ITEMS` sessions in its websocket session table; returns its name.
async fn deployed_with_sessions() -> (Deployed, String) {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let table = session_table(&env).await.expect("v0 has the session table");
    let ddb = env.ddb();
    for i in 0..ITEMS {
        ddb.put_item()
            .table_name(&table)
            .item(
                "ConnectionId",
                AttributeValue::S(format!("connection-{i:03}")),
            )
            .item("MessagePartId", AttributeValue::N(i.to_string()))
            .item("Body", AttributeValue::S(format!("message part {i}")))
            .send()
            .await
            .expect("put a session item");
    }
    (env, table)
}

async fn session_table(env: &Deployed) -> Option<String> {
    env.resources_of_type("AWS::DynamoDB::Table")
        .await
        .into_iter()
        .find(|(logical, _)| logical.starts_with(SESSION_TABLE))
        .map(|(_, physical)| physical)
}

async fn table_exists(env: &Deployed, table: &str) -> bool {
    env.ddb()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
}

async fn backup_count(env: &Deployed) -> usize {
    env.ddb()
        .list_backups()
        .send()
        .await
        .expect("list backups")
        .backup_summaries()
        .len()
}

/// Every item of a table, as sorted `ConnectionId=Body` pairs.
async fn items(env: &Deployed, table: &str) -> Vec<String> {
    let out = env
        .ddb()
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan");
    let text = |item: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let mut all: Vec<String> = out
        .items()
        .iter()
        .map(|i| format!("{}={}", text(i, "ConnectionId"), text(i, "Body")))
        .collect();
    all.sort();
    all
}

fn the_record(env: &Deployed) -> Value {
    tests::deployed::the_replacement_record(env.app.dir())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destroyed_table_is_backed_up_first_recorded_and_restored_with_its_items() {
    let (env, table) = deployed_with_sessions().await;
    let before = items(&env, &table).await;
    assert_eq!(before.len(), ITEMS);

    let run = deploy(&env, &["--on-replace", "backup", "--yes"]);
    let all = printed(&run);
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(
        all.contains(&format!(
            "(AWS::DynamoDB::Table {table}) is destroyed: an on-demand backup"
        )),
        "the safeguard line: {all}"
    );
    // Taken and waited for before the change set ran (the emulator keeps it CREATING a while).
    let backup_line = all
        .find("is available (arn:")
        .expect("the backup is available");
    let executed = all
        .find("execute change set")
        .expect("then the change set runs");
    assert!(backup_line < executed, "{all}");
    assert!(all.contains("no migration needed"), "{all}");
    assert!(
        !table_exists(&env, &table).await,
        "the deploy destroyed the table"
    );
    assert_eq!(session_table(&env).await, None);

    let record = the_record(&env);
    assert_eq!(record["version"], 2);
    assert_eq!(record["clusters"], serde_json::json!([]));
    let recorded = &record["tables"][0];
    assert_eq!(recorded["table_name"], table.as_str());
    assert_eq!(recorded["fate"], "destroyed");
    assert!(
        recorded["logical_id"]
            .as_str()
            .unwrap()
            .starts_with(SESSION_TABLE)
    );
    assert_eq!(recorded["backup"]["status"], "AVAILABLE");
    let backup_arn = recorded["backup"]["arn"]
        .as_str()
        .expect("the backup's ARN");
    assert!(
        recorded["backup"]["name"]
            .as_str()
            .unwrap()
            .starts_with("xtask-BedrockChatStack-"),
        "{recorded:#}"
    );

    // The backup outlives its table: restored into a new table, every item is there.
    let restored = "restored-websocket-sessions";
    env.ddb()
        .restore_table_from_backup()
        .backup_arn(backup_arn)
        .target_table_name(restored)
        .send()
        .await
        .expect("RestoreTableFromBackup");
    assert_eq!(items(&env, restored).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_decision_or_with_a_failing_backup_nothing_is_executed() {
    let (env, table) = deployed_with_sessions().await;

    // No terminal, no flag: refused, the safeguard said, nothing made or executed.
    let refused = deploy(&env, &[]);
    let all = printed(&refused);
    assert_eq!(refused.status.code(), Some(3), "{all}");
    assert!(
        all.contains("pass --on-replace snapshot|credentials|both|proceed|abort"),
        "{all}"
    );
    assert!(
        all.contains("is destroyed: an on-demand backup (CreateBackup"),
        "{all}"
    );
    assert!(all.contains("change set was deleted"), "{all}");

    // A choice that protects nothing here (no cluster to record) is refused too.
    let credentials = deploy(&env, &["--on-replace", "credentials"]);
    let all = printed(&credentials);
    assert_eq!(credentials.status.code(), Some(3), "{all}");
    assert!(
        all.contains("--on-replace credentials records an RDS cluster's credentials, and nothing here has one"),
        "{all}"
    );

    // The emulator makes backups as AWS does: CREATING first, and not restorable until AVAILABLE.
    let ddb = env.ddb();
    let early = ddb
        .create_backup()
        .table_name(&table)
        .backup_name("early")
        .send()
        .await
        .expect("CreateBackup");
    let details = early.backup_details().expect("backup details");
    assert_eq!(details.backup_status().as_str(), "CREATING");
    let too_soon = ddb
        .restore_table_from_backup()
        .backup_arn(details.backup_arn())
        .target_table_name("too-soon")
        .send()
        .await
        .expect_err("a CREATING backup is not restorable");
    assert!(
        format!("{:?}", too_soon.into_service_error()).contains("BackupInUse"),
        "BackupInUseException"
    );
    ddb.delete_backup()
        .backup_arn(details.backup_arn())
        .send()
        .await
        .expect("DeleteBackup");

    // The backup fails (CreateBackup throttled on every attempt): nothing is executed.
    ureq::post(&format!(
        "{}/moto-api/emulator/faults",
        env.emulator.endpoint()
    ))
    .send_json(serde_json::json!({"seed": 1, "rules": [
        {"service": "dynamodb", "operation": "CreateBackup", "kind": "throttle", "share": 1.0}
    ]}))
    .expect("configure faults");
    let failed = deploy(&env, &["--on-replace", "both", "--yes"]);
    let all = printed(&failed);
    assert_eq!(failed.status.code(), Some(1), "{all}");
    assert!(
        all.contains("backup of table") && all.contains("nothing was executed"),
        "{all}"
    );
    assert!(all.contains("the change set was deleted"), "{all}");

    assert!(
        table_exists(&env, &table).await,
        "nothing executed: the table is there"
    );
    assert_eq!(items(&env, &table).await.len(), ITEMS);
    assert_eq!(backup_count(&env).await, 0, "no backup made");
    assert_eq!(env.change_set_count().await, 0, "every change set deleted");
}
