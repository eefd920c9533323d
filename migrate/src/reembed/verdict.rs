//! How the re-embed reads one bot's verdict once its task stopped: the bot item's own
//! `SyncStatus` for this very task (`LastExecId`), and how the task stopped when the bot does
//! not say (docs/bedrock-chat-contract.md, "The embedding task").

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::bot::BotKey;
use super::outcome::Outcome;
use crate::ecs_task::StopInfo;
use crate::error_text::AwsError;

/// The outcome of a stopped task: success only when the bot itself says SUCCEEDED for this very
/// task (`LastExecId`), since an exit code 0 or an earlier run's status proves nothing.
pub fn verdict(
    item: Option<&HashMap<String, AttributeValue>>,
    task_id: &str,
    stop: &StopInfo,
) -> Outcome {
    let Some(item) = item else {
        return Outcome::Failed {
            reason: "the bot item no longer exists".into(),
        };
    };
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    };
    let status = text("SyncStatus");
    let reason = text("SyncStatusReason").filter(|r| !r.is_empty());
    let ours = text("LastExecId") == Some(task_id);
    match (status, ours) {
        (Some("SUCCEEDED"), true) => Outcome::Succeeded,
        (Some("FAILED"), true) => Outcome::Failed {
            reason: reason
                .unwrap_or("SyncStatus FAILED without a reason")
                .to_owned(),
        },
        _ => {
            let mut parts = Vec::new();
            if stop.missing {
                parts.push("ECS no longer knows the task".to_owned());
            }
            if let Some(r) = &stop.stopped_reason {
                parts.push(format!("task stopped: {r}"));
            }
            if let Some(code) = stop.exit_code {
                parts.push(format!("exit code {code}"));
            }
            if let Some(r) = &stop.container_reason {
                parts.push(r.clone());
            }
            let status = status.unwrap_or("missing");
            if ours {
                parts.push(format!("SyncStatus still {status}"));
            } else {
                parts.push(format!(
                    "the task never recorded its run on the bot (SyncStatus {status}, LastExecId {})",
                    text("LastExecId").unwrap_or("missing")
                ));
            }
            Outcome::Failed {
                reason: parts.join("; "),
            }
        }
    }
}

pub(crate) async fn read_bot(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    bot: &BotKey,
) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
    let out = ddb
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(bot.pk.clone()))
        .key("SK", AttributeValue::S(bot.sk.clone()))
        .consistent_read(true)
        .projection_expression("#s, #r, #e")
        .expression_attribute_names("#s", "SyncStatus")
        .expression_attribute_names("#r", "SyncStatusReason")
        .expression_attribute_names("#e", "LastExecId")
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", e))?;
    Ok(out.item)
}
