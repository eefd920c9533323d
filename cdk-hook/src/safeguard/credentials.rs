//! The old cluster's credentials: find its secret, read it, write it to a private file. The
//! secret's value only ever travels inside [`SecretValue`] (the workspace's one secret type,
//! `migrate::secret`), whose `Debug` is redacted and which has no `Display`, so it cannot reach a
//! log line or a progress message by accident.

use std::path::Path;

use aws_sdk_secretsmanager::Client;
use serde::Serialize;
use serde_json::Value;

use super::cluster::ClusterFacts;
use crate::CdkHookError;
use migrate::error_text::AwsFailure as _;
pub use migrate::secret::SecretValue;
use migrate::state::write_private_file;

/// Where the secret's ARN came from, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum SecretSource {
    /// The stack output Bedrock Chat publishes (`DbConfigSecretArn`).
    StackOutput(String),
    /// The RDS-managed master user secret of the cluster.
    MasterUserSecret,
    /// The stack's `AWS::SecretsManager::SecretTargetAttachment` or its one secret.
    StackResource(String),
}

/// Picks the cluster's secret: the stack output, else the cluster's managed master secret, else
/// the stack's secret attachment, else the stack's only secret. Several candidates of the last
/// kind are not guessed between.
pub fn find_secret(
    output: Option<(&str, &str)>,
    cluster: &ClusterFacts,
    attachments: &[(String, String)],
    secrets: &[(String, String)],
) -> Result<(String, SecretSource), CdkHookError> {
    if let Some((name, arn)) = output.filter(|(_, arn)| !arn.is_empty()) {
        return Ok((arn.to_owned(), SecretSource::StackOutput(name.to_owned())));
    }
    if let Some(arn) = &cluster.master_user_secret_arn {
        return Ok((arn.clone(), SecretSource::MasterUserSecret));
    }
    for candidates in [attachments, secrets] {
        if let [(logical, arn)] = candidates {
            return Ok((arn.clone(), SecretSource::StackResource(logical.clone())));
        }
    }
    Err(CdkHookError::SecretNotFound {
        cluster: cluster.identifier.clone(),
        tried: format!(
            "output DbConfigSecretArn, the cluster's MasterUserSecret, {} secret attachment(s) and {} secret(s) in the stack",
            attachments.len(),
            secrets.len()
        ),
    })
}

pub async fn read_secret(sm: &Client, arn: &str) -> Result<SecretValue, CdkHookError> {
    let out = sm
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| CdkHookError::aws("GetSecretValue", e))?;
    out.secret_string()
        .map(|s| SecretValue::new(s.to_owned()))
        .ok_or_else(|| {
            CdkHookError::unexpected(
                "GetSecretValue",
                format!("secret {arn} has no string value"),
            )
        })
}

/// Writes the credential file (0600 from creation, never overwriting): the secret as stored
/// (parsed when it is JSON, as RDS secrets are), with where it came from.
pub fn record_credentials(
    path: &Path,
    secret_arn: &str,
    source: &SecretSource,
    cluster: &str,
    secret: &SecretValue,
    recorded_at: &str,
) -> Result<(), CdkHookError> {
    let value = serde_json::from_str::<Value>(secret.expose())
        .unwrap_or_else(|_| Value::String(secret.expose().to_owned()));
    let document = serde_json::json!({
        "secret_arn": secret_arn,
        "source": source,
        "cluster": cluster,
        "recorded_at": recorded_at,
        "secret": value,
    });
    let text = serde_json::to_vec_pretty(&document).map_err(|source| CdkHookError::Serialize {
        what: "credential record",
        source,
    })?;
    Ok(write_private_file(path, &text)?)
}

/// Whether Secrets Manager rotates the secret, which would make a recorded password stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationState {
    pub enabled: bool,
    pub lambda_arn: Option<String>,
}

pub async fn rotation_state(sm: &Client, arn: &str) -> Result<RotationState, CdkHookError> {
    let out = sm
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| CdkHookError::aws("DescribeSecret", e))?;
    Ok(RotationState {
        enabled: out.rotation_enabled().unwrap_or(false),
        lambda_arn: out.rotation_lambda_arn().map(str::to_owned),
    })
}

/// `CancelRotateSecret`: turns rotation off; the caller has the user's consent.
pub async fn cancel_rotation(sm: &Client, arn: &str) -> Result<(), CdkHookError> {
    sm.cancel_rotate_secret()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| CdkHookError::aws("CancelRotateSecret", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(master: Option<&str>) -> ClusterFacts {
        ClusterFacts {
            identifier: "c1".into(),
            arn: None,
            endpoint: None,
            port: None,
            engine: None,
            engine_version: None,
            db_subnet_group: None,
            vpc_security_group_ids: vec![],
            storage_encrypted: None,
            master_user_secret_arn: master.map(str::to_owned),
        }
    }

    fn pair(l: &str, p: &str) -> (String, String) {
        (l.to_owned(), p.to_owned())
    }

    #[test]
    fn secret_sources_in_order_and_no_guess_between_several() {
        let out = Some(("DbConfigSecretArn", "arn:out"));
        let att = [pair("Att", "arn:att")];
        let two = [pair("A", "arn:a"), pair("B", "arn:b")];
        let found = |o, c: &ClusterFacts, a: &[(String, String)], s: &[(String, String)]| {
            find_secret(o, c, a, s).map(|(arn, _)| arn)
        };
        assert_eq!(
            found(out, &cluster(Some("arn:m")), &att, &two).unwrap(),
            "arn:out"
        );
        assert_eq!(
            found(None, &cluster(Some("arn:m")), &att, &two).unwrap(),
            "arn:m"
        );
        assert_eq!(found(None, &cluster(None), &att, &two).unwrap(), "arn:att");
        assert_eq!(
            found(None, &cluster(None), &[], &two[..1]).unwrap(),
            "arn:a"
        );
        let err = found(None, &cluster(None), &[], &two).unwrap_err();
        assert!(matches!(err, CdkHookError::SecretNotFound { .. }), "{err}");
    }

    #[test]
    fn secret_value_debug_is_redacted() {
        let s = SecretValue::new(r#"{"password":"hunter2"}"#.into());
        assert_eq!(format!("{s:?}"), "SecretValue(<redacted>)");
    }
}
