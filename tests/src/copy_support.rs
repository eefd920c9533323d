//! For the copy-back path's tests: the starting point (v0 -> v1 with both safeguards, then a
//! temporary cluster made by `cargo xtask restore`), the emulator's stand-in for
//! the copy container (`tests/emulator/patches/copy_runner.py`), and what a copy leaves behind.

use std::collections::{BTreeMap, HashMap};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::deployed::{Deployed, deployed_with_bots};
use crate::restore_support::{Replaced, replace_with_safeguards, restore_env};
use crate::seed::{SeedPlan, SeededBot};
use crate::{Emulator, STACK, output, stack_outputs};

const PATH: &str = "/moto-api/emulator/copy-result";

/// What every case needs after the deploy and the restore.
pub struct Copying {
    pub env: Deployed,
    pub bots: Vec<SeededBot>,
    /// After the update.
    pub outputs: BTreeMap<String, String>,
    pub stack_secret: String,
    /// The recorded one and the stack secret's.
    pub passwords: [String; 2],
    pub temporary: String,
    /// What the guarded deploy recorded.
    pub replaced: Replaced,
}

impl Copying {
    pub fn assert_no_password(&self, what: &str, text: &str) {
        for password in &self.passwords {
            assert!(!text.contains(password.as_str()), "{what} holds a password");
        }
    }

    pub fn table(&self) -> &str {
        output(&self.outputs, "DatabaseConversationTableName")
    }
}

/// Fixture v0 with bots, deployed to v1 with both safeguards (no migration), and a temporary
/// cluster restored from the recorded snapshot by `cargo xtask restore`.
pub async fn deployed_and_restored() -> Copying {
    let seed = SeedPlan {
        with_knowledge: 3,
        without_knowledge: 1,
        ..SeedPlan::default()
    };
    let (env, bots) = deployed_with_bots(seed).await;
    let replaced = replace_with_safeguards(&env).await;
    // The update replaced more than the cluster in the emulator: read the outputs again.
    let outputs = stack_outputs(&env.cfn(), STACK).await;
    let stack_secret = output(&outputs, "DbConfigSecretArn").to_owned();
    let value = env
        .secrets()
        .get_secret_value()
        .secret_id(&stack_secret)
        .send()
        .await
        .expect("the stack's secret");
    let doc: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    let stack_password = doc["password"].as_str().unwrap().to_owned();
    let restored =
        crate::xtask::run_with(&env.emulator, env.app.dir(), &["restore"], &restore_env());
    let shown = crate::xtask::printed(&restored);
    assert_eq!(restored.status.code(), Some(0), "{shown}");
    let temporary = String::from_utf8_lossy(&restored.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("temporary cluster"))
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|| panic!("restore printed no temporary cluster: {shown}"));
    Copying {
        env,
        bots,
        outputs,
        stack_secret,
        passwords: [replaced.password.clone(), stack_password],
        temporary,
        replaced,
    }
}

/// What the next copy tasks print and exit with, after running `seconds`: per bot (id, source
/// rows, target rows); the exit code follows the script's contract (0 all match, 3 a mismatch)
/// unless given.
pub fn set_copy_result(
    emulator: &Emulator,
    bots: &[(&str, u64, u64)],
    exit_code: Option<i32>,
    seconds: f64,
) {
    let bots: Vec<Value> = bots
        .iter()
        .map(|(bot, source, target)| {
            json!({"bot": bot, "source_rows": source, "target_rows": target})
        })
        .collect();
    ureq::post(&format!("{}{PATH}", emulator.endpoint()))
        .send_json(json!({"bots": bots, "exit_code": exit_code, "seconds": seconds}))
        .expect("set the copy result");
}

/// The next copy tasks fail before any result line: these lines on their log, then `exit_code`.
pub fn set_copy_failure(emulator: &Emulator, exit_code: i32, lines: &[&str]) {
    ureq::post(&format!("{}{PATH}", emulator.endpoint()))
        .send_json(json!({"bots": [], "exit_code": exit_code, "stderr": lines, "summary": false, "seconds": 0.2}))
        .expect("set the copy failure");
}

/// Every copy task the emulator has seen: its task definition (ARN, execution role, container
/// definitions), cluster, `started_by`, overrides, network configuration, the secrets it
/// resolved, exit code and stopped reason.
pub fn copy_tasks(emulator: &Emulator) -> Vec<Value> {
    let state: Value = ureq::get(&format!("{}{PATH}", emulator.endpoint()))
        .call()
        .expect("read the copy runner")
        .body_mut()
        .read_json()
        .expect("copy runner JSON");
    state["tasks"].as_array().cloned().unwrap_or_default()
}

/// SyncStatus and LastExecId of every bot item, by SK.
pub async fn sync_states(config: &SdkConfig, table: &str) -> BTreeMap<String, (String, String)> {
    let ddb = aws_sdk_dynamodb::Client::new(config);
    let items = ddb.scan().table_name(table).send().await.expect("scan");
    let text = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    items
        .items()
        .iter()
        .filter(|i| text(i, "SK").contains("#BOT#"))
        .map(|i| {
            (
                text(i, "SK"),
                (text(i, "SyncStatus"), text(i, "LastExecId")),
            )
        })
        .collect()
}

/// The copy's temporaries that exist: active task definitions of the fixture stack's copy family,
/// and secrets named as the copy's source secret.
pub async fn leftovers(config: &SdkConfig) -> (Vec<String>, Vec<String>) {
    let definitions = aws_sdk_ecs::Client::new(config)
        .list_task_definitions()
        .family_prefix(format!("xtask-copy-vectors-{STACK}"))
        .send()
        .await
        .expect("list task definitions");
    let secrets = aws_sdk_secretsmanager::Client::new(config)
        .list_secrets()
        .send()
        .await
        .expect("list secrets");
    (
        definitions.task_definition_arns().to_vec(),
        secrets
            .secret_list()
            .iter()
            .filter_map(|s| s.name())
            .filter(|n| n.contains("copy-source"))
            .map(str::to_owned)
            .collect(),
    )
}
