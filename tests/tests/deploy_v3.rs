//! `cargo xtask deploy` of Bedrock Chat's v2.10 -> v3 upgrade as an operator runs it: the plan
//! says the v2 conversation table is orphaned and the app moves to the v3 tables, the on-demand
//! backup is taken, the v2 table is recorded, the reviewed change set runs, and the table
//! migration follows by itself. An export another stack imports, or a v2 table the upgrade would
//! delete (a deploy from below v2.10), stops the deploy before anything runs.

use migrate::tables::kinds::Kind;
use tests::deployed::{Deployed, FAST, deployed_v2, state_files, with_cdk_args};
use tests::seed_v2::V2Plan;
use tests::xtask::{self, printed};

const TO_V3: &[&str] = &["-c", "release=v3", "--no-previous-parameters"];

fn run(env: &Deployed, command: &str, flags: &[&str]) -> std::process::Output {
    xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &with_cdk_args(command, flags, TO_V3),
        FAST,
    )
}

/// The stack's DynamoDB tables by logical id.
async fn tables(env: &Deployed) -> Vec<String> {
    env.resources_of_type("AWS::DynamoDB::Table")
        .await
        .into_iter()
        .map(|(logical, _)| logical)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_v3_upgrade_is_backed_up_recorded_executed_and_migrated() {
    let (env, v2_table, seeded) = deployed_v2(V2Plan::small(), &[]).await;
    let out = run(&env, "deploy", &["--on-replace", "both", "--yes"]);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ORPHANED: DatabaseConversationTable03F3FD7A"),
        "the plan names the orphaned v2 table:\n{text}"
    );
    assert!(
        text.contains("the app moves to new, empty tables (DatabaseBotTableV3201CEEA9, DatabaseConversationTableV3C1D85773"),
        "the finding names the v3 tables:\n{text}"
    );
    assert!(
        text.contains("`cargo xtask deploy` does it after the update"),
        "{text}"
    );
    assert!(
        !text.contains("re-embed"),
        "no word of a re-embed on this upgrade:\n{text}"
    );
    assert!(
        text.contains(&format!("the v2 conversation table {v2_table}")),
        "{text}"
    );
    assert!(
        text.contains("verified every item is in the new tables"),
        "{text}"
    );
    // The backup of the table the app leaves, before anything ran.
    let backups = env
        .ddb()
        .list_backups()
        .table_name(&v2_table)
        .send()
        .await
        .expect("list backups");
    assert_eq!(backups.backup_summaries().len(), 1, "{text}");
    // The stack moved to the v3 tables; the v2 table stays in the account with its items.
    let now = tables(&env).await;
    assert!(
        now.iter().any(|t| t.starts_with("DatabaseBotTableV3"))
            && !now.iter().any(|t| t == "DatabaseConversationTable03F3FD7A"),
        "{now:?}"
    );
    assert_eq!(
        env.item_count(&v2_table).await,
        seeded.total,
        "the source is untouched"
    );
    let outputs = tests::stack_outputs(&env.cfn(), tests::STACK).await;
    let bots_table = &outputs["BotTableNameV3"];
    let conversations_table = &outputs["ConversationTableNameV3"];
    assert_eq!(env.item_count(bots_table).await, seeded.bot_table_items());
    assert_eq!(
        env.item_count(conversations_table).await,
        seeded.conversation_table_items()
    );
    // The record and the report, beside the deploy's other state.
    for prefix in ["tables-source-", "tables-report-", "tables-journal-"] {
        assert_eq!(
            state_files(env.app.dir(), prefix).len(),
            1,
            "one {prefix}* file"
        );
    }
    let report: migrate::tables::TablesReport = serde_json::from_slice(
        &std::fs::read(&state_files(env.app.dir(), "tables-report-")[0]).unwrap(),
    )
    .unwrap();
    assert!(report.success, "{report:?}");
    assert_eq!(
        report.counts[&Kind::Bot].written,
        seeded.kind(Kind::Bot.as_str()).written
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_another_stack_imports_stops_check_and_deploy() {
    let (env, v2_table, _) = deployed_v2(V2Plan::small(), &[]).await;
    // A published API of the app: a stack that imports the conversation table's export.
    let importer = serde_json::json!({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": {"Fn::ImportValue": "BedrockClaudeChatConversationTableName"}}}}
    });
    env.cfn()
        .create_stack()
        .stack_name("ApiPublishmentStack01JQ9X7Y6Z")
        .template_body(importer.to_string())
        .send()
        .await
        .expect("create the importing stack");

    let check = run(&env, "check", &[]);
    let text = printed(&check);
    assert_eq!(check.status.code(), Some(3), "{text}");
    assert!(
        text.contains("EXPORT IN USE: BedrockClaudeChatConversationTableName (output ConversationTableName) is imported by ApiPublishmentStack01JQ9X7Y6Z"),
        "{text}"
    );
    assert!(text.contains("Bedrock Chat's published APIs"), "{text}");

    let deploy = run(&env, "deploy", &["--on-replace", "both", "--yes"]);
    let text = printed(&deploy);
    assert_eq!(deploy.status.code(), Some(3), "{text}");
    assert!(text.contains("stopped:"), "{text}");
    assert_eq!(env.change_set_count().await, 0, "the change set is deleted");
    assert!(
        tables(&env)
            .await
            .iter()
            .any(|t| t == "DatabaseConversationTable03F3FD7A"),
        "nothing ran: the stack is still at v2"
    );
    assert!(
        env.ddb()
            .list_backups()
            .table_name(&v2_table)
            .send()
            .await
            .unwrap()
            .backup_summaries()
            .is_empty(),
        "no safeguard is taken for a deploy that cannot run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_that_deletes_the_v2_table_stops_before_anything_runs() {
    let (env, v2_table, seeded) = deployed_v2(V2Plan::small(), &["v2Table=delete"]).await;
    let out = run(&env, "deploy", &["--on-replace", "both", "--yes"]);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("stopped: this upgrade removes the v2 conversation table DatabaseConversationTable03F3FD7A and deletes it"),
        "{text}"
    );
    assert!(text.contains("Deploy Bedrock Chat v2.10.0 first"), "{text}");
    assert_eq!(env.change_set_count().await, 0);
    assert_eq!(env.item_count(&v2_table).await, seeded.total);
}
