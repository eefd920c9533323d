//! A DynamoDB table's on-demand backup (`CreateBackup`). The backup outlives the table: after
//! the table is deleted, `RestoreTableFromBackup` makes a new table from it.
//!
//! DynamoDB's own backups take no tags (only backups made through AWS Backup with its advanced
//! DynamoDB features do: <https://docs.aws.amazon.com/aws-backup/latest/devguide/tags-on-backups.html>),
//! so this tool marks its backups by name (`xtask-<stack>-<table>-<utc>`) and by the replacement
//! record that lists them.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::describe_backup::DescribeBackupError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use serde::{Deserialize, Serialize};

use super::wait::{Observed, Target, wait_until_ready};
use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;

/// An on-demand backup as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFacts {
    pub name: String,
    pub arn: String,
    pub status: String,
}

/// `xtask-<stack>-<table>-<utc>` made into a valid backup name: 3 to 255 characters of
/// `[a-zA-Z0-9_.-]`.
pub fn backup_name(stack: &str, table: &str, utc_stamp: &str) -> String {
    let raw = format!("xtask-{stack}-{table}-{utc_stamp}");
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(255);
    name
}

/// The table's ARN and its item count as DynamoDB last counted it (`DescribeTable` updates it
/// about every six hours: a size to show, not a figure to check against).
pub async fn describe_table(
    ddb: &Client,
    table: &str,
) -> Result<(Option<String>, Option<i64>), CdkHookError> {
    match ddb.describe_table().table_name(table).send().await {
        Ok(out) => {
            let t = out.table();
            Ok((
                t.and_then(|t| t.table_arn()).map(str::to_owned),
                t.and_then(|t| t.item_count()),
            ))
        }
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeTableError::ResourceNotFoundException(_))
            ) =>
        {
            Err(CdkHookError::TableNotFound {
                table: table.to_owned(),
            })
        }
        Err(e) => Err(CdkHookError::aws("DescribeTable", e)),
    }
}

/// `CreateBackup`; returns the backup's ARN.
pub async fn create_table_backup(
    ddb: &Client,
    table: &str,
    name: &str,
) -> Result<String, CdkHookError> {
    let out = ddb
        .create_backup()
        .table_name(table)
        .backup_name(name)
        .send()
        .await
        .map_err(|e| CdkHookError::aws("CreateBackup", e))?;
    out.backup_details()
        .map(|d| d.backup_arn().to_owned())
        .ok_or_else(|| {
            CdkHookError::unexpected(
                "CreateBackup",
                format!("no backup ARN in the answer for table {table}"),
            )
        })
}

/// Polls `DescribeBackup` until the backup is `AVAILABLE`.
pub async fn wait_backup_available(
    ddb: &Client,
    name: &str,
    arn: &str,
    poll: Duration,
    timeout: Duration,
    on_progress: impl FnMut(&str, Option<i32>),
) -> Result<BackupFacts, CdkHookError> {
    let target = Target {
        kind: "backup",
        name,
        ready: "AVAILABLE",
        pending: &["CREATING"],
    };
    let seen =
        wait_until_ready(target, poll, timeout, || look_backup(ddb, arn), on_progress).await?;
    Ok(BackupFacts {
        name: name.to_owned(),
        arn: arn.to_owned(),
        status: seen.status,
    })
}

async fn look_backup(ddb: &Client, arn: &str) -> Result<Observed, CdkHookError> {
    match ddb.describe_backup().backup_arn(arn).send().await {
        Ok(out) => Ok(out
            .backup_description()
            .and_then(|d| d.backup_details())
            .map_or_else(Observed::missing, |d| Observed {
                status: d.backup_status().as_str().to_owned(),
                percent: None,
                arn: Some(d.backup_arn().to_owned()),
            })),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeBackupError::BackupNotFoundException(_))
            ) =>
        {
            Ok(Observed::missing())
        }
        Err(e) => Err(CdkHookError::aws("DescribeBackup", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::backup_name;

    #[test]
    fn backup_names_are_valid_dynamodb_names() {
        assert_eq!(
            backup_name("BedrockChatStack", "Bedrock:Table/1", "20261201T110000Z"),
            "xtask-BedrockChatStack-Bedrock-Table-1-20261201T110000Z"
        );
        assert!(backup_name(&"s".repeat(300), "t", "u").len() <= 255);
    }
}
