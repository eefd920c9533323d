//! The source connection as a temporary secret: the copy container gets it through the task
//! definition's `secrets`, so the password never appears in a task definition, an override or
//! DescribeTasks. A resource policy lets the execution role read it without any IAM change.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::types::Tag;

use super::error::CopyError;
use super::request::{SourceConnection, TemporarySecret};
use crate::error_text::{AwsError, AwsFailure as _};
use crate::secret::SecretValue;

/// The keys of the temporary secret's JSON; the container's `secrets` name them.
pub const KEY_USERNAME: &str = "username";
pub const KEY_PASSWORD: &str = "password";
pub const KEY_HOST: &str = "host";
pub const KEY_PORT: &str = "port";

/// `xtask/<stack>/copy-source-<utc>`: under the tool's prefix, so a person listing secrets sees
/// who made it.
pub fn secret_name(stack: &str, stamp: &str) -> String {
    format!("xtask/{stack}/copy-source-{stamp}")
}

/// Only the execution role may read it, and only its value.
pub fn resource_policy(execution_role_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CopyVectorsTaskReadsTheSourceConnection",
            "Effect": "Allow",
            "Principal": {"AWS": execution_role_arn},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }],
    })
    .to_string()
}

/// Names tried after `name` when it is taken (a copy left running, or one started in the same
/// second): `<name>-2` and on.
const NAME_ATTEMPTS: u32 = 5;

/// Creates the secret, then its policy. A secret whose policy could not be set is deleted again
/// before the error is returned.
pub async fn create(
    sm: &Client,
    name: &str,
    source: &SourceConnection,
    execution_role_arn: &str,
    tags: &[(String, String)],
) -> Result<TemporarySecret, CopyError> {
    // The secret string, password included, is zeroed when this function returns.
    let value = SecretValue::new(
        serde_json::json!({
            KEY_USERNAME: source.username,
            KEY_PASSWORD: source.password.expose(),
            KEY_HOST: source.host,
            KEY_PORT: source.port,
        })
        .to_string(),
    );
    let secret = create_unique(sm, name, value.expose(), tags).await?;
    let policy = sm
        .put_resource_policy()
        .secret_id(&secret.arn)
        .resource_policy(resource_policy(execution_role_arn))
        .block_public_policy(true)
        .send()
        .await;
    if let Err(e) = policy {
        let error = CopyError::aws("PutResourcePolicy", e);
        // The caller never saw the secret: it is this function's to remove.
        if let Err(problem) = delete(sm, &secret).await {
            return Err(CopyError::unexpected(
                "PutResourcePolicy",
                format!(
                    "{}; and then {}",
                    crate::error_text::chain(&error),
                    crate::error_text::chain(&problem)
                ),
            ));
        }
        return Err(error);
    }
    Ok(secret)
}

/// CreateSecret under `name`, or `name-2`, `name-3`, ... while the name is taken.
async fn create_unique(
    sm: &Client,
    name: &str,
    value: &str,
    tags: &[(String, String)],
) -> Result<TemporarySecret, CopyError> {
    let mut attempt = 1;
    loop {
        let candidate = if attempt == 1 {
            name.to_owned()
        } else {
            format!("{name}-{attempt}")
        };
        let created = sm
            .create_secret()
            .name(&candidate)
            .description(
                "Temporary: the restored cluster's connection for `cargo xtask copy-vectors`; \
                 deleted when the copy task stops",
            )
            .secret_string(value)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await;
        match created {
            Ok(out) => {
                return Ok(TemporarySecret {
                    arn: out.arn().unwrap_or(&candidate).to_owned(),
                    name: candidate,
                });
            }
            Err(e)
                if attempt < NAME_ATTEMPTS
                    && matches!(
                        e.as_service_error(),
                        Some(CreateSecretError::ResourceExistsException(_))
                    ) =>
            {
                attempt += 1;
            }
            Err(e) => return Err(CopyError::aws("CreateSecret", e)),
        }
    }
}

/// Deletes at once (no recovery window): the value is a copy of the recorded credentials.
pub async fn delete(sm: &Client, secret: &TemporarySecret) -> Result<(), CopyError> {
    sm.delete_secret()
        .secret_id(&secret.arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CopyError::Cleanup {
            what: format!("deleting the temporary secret {}", secret.name),
            how: format!(
                "delete it with `aws secretsmanager delete-secret --secret-id {} \
                 --force-delete-without-recovery`",
                secret.arn
            ),
            source: AwsError::new("DeleteSecret", e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_policy() {
        assert_eq!(
            secret_name("BedrockChatStack", "20261122T101500Z"),
            "xtask/BedrockChatStack/copy-source-20261122T101500Z"
        );
        let policy: serde_json::Value =
            serde_json::from_str(&resource_policy("arn:aws:iam::1:role/exec")).unwrap();
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Principal"]["AWS"], "arn:aws:iam::1:role/exec");
        assert_eq!(statement["Action"], "secretsmanager:GetSecretValue");
    }
}
