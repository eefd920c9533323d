//! The copy's source: the temporary cluster `cargo xtask restore` made, and the replaced cluster's
//! login from the credential file that `deploy` recorded.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cdk_hook::restore::{self, RestoreError, TemporaryCluster, list_temporary};
use cdk_hook::safeguard::{ProtectedCluster, SecretValue};

/// `--from`, which must be one of the tool's restored clusters for this stack, else the only one.
pub async fn temporary_cluster(
    rds: &aws_sdk_rds::Client,
    stack: &str,
    from: Option<&str>,
) -> anyhow::Result<TemporaryCluster> {
    let cluster = match from {
        Some(id) => named_cluster(rds, stack, id).await?,
        None => {
            let found = list_temporary(rds, stack).await?;
            match <[TemporaryCluster; 1]>::try_from(found) {
                Ok([only]) => only,
                Err(found) if found.is_empty() => bail!(
                    "no temporary cluster for stack {stack}: restore the replaced cluster's \
                     snapshot first with `cargo xtask restore --stack {stack}`"
                ),
                Err(found) => bail!(
                    "several temporary clusters for stack {stack}; choose one with --from:\n{}",
                    found.iter().map(describe).collect::<Vec<_>>().join("\n")
                ),
            }
        }
    };
    if cluster.status != "available" {
        bail!(
            "the temporary cluster {} is {}, not available: wait for the restore to finish \
             (`cargo xtask restore --list`)",
            cluster.facts.identifier,
            cluster.status
        );
    }
    Ok(cluster)
}

/// One of the tool's restored clusters of `stack`; any other is refused, naming why.
async fn named_cluster(
    rds: &aws_sdk_rds::Client,
    stack: &str,
    id: &str,
) -> anyhow::Result<TemporaryCluster> {
    match restore::temporary_cluster(rds, stack, id).await {
        Ok(cluster) => Ok(cluster),
        Err(RestoreError::NotTemporary { cluster, reason }) => bail!(
            "refusing to copy from {cluster}: {reason}; `cargo xtask restore --list` shows the \
             clusters `cargo xtask restore` made"
        ),
        Err(e) => Err(e).with_context(|| format!("--from {id}")),
    }
}

fn describe(c: &TemporaryCluster) -> String {
    format!(
        "  {} ({}, from snapshot {})",
        c.facts.identifier,
        c.status,
        c.source_snapshot.as_deref().unwrap_or("?")
    )
}

/// `--credentials`, else the credential file named by the newest replacement record (for the
/// cluster whose snapshot the temporary cluster was restored from, when the record has several).
pub fn credentials_file(
    state_dir: &Path,
    stack: &str,
    flag: Option<&Path>,
    cluster: &TemporaryCluster,
) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path.to_owned());
    }
    let stack_dir = migrate::state::stack_dir(state_dir, stack);
    let record_path = restore::newest_record(&stack_dir)?.with_context(|| {
        format!(
            "no replacement record (replacement-*.json) in {}; pass --credentials FILE",
            stack_dir.display()
        )
    })?;
    let record = restore::read_record(&record_path)?;
    let recorded: Vec<&ProtectedCluster> = record
        .clusters
        .iter()
        .filter(|c| c.credentials_file.is_some())
        .collect();
    let from_snapshot = cluster.source_snapshot.as_deref().and_then(|snapshot| {
        recorded.iter().find(|c| {
            c.snapshot
                .as_ref()
                .is_some_and(|s| s.identifier == snapshot || s.arn.as_deref() == Some(snapshot))
        })
    });
    let chosen = match (from_snapshot, recorded.as_slice()) {
        (Some(c), _) => *c,
        (None, [only]) => *only,
        (None, []) => bail!(
            "the replacement record {} names no credential file (the deploy did not record the \
             credentials); pass --credentials FILE",
            record_path.display()
        ),
        (None, _) => bail!(
            "the replacement record {} names several credential files and none matches the \
             snapshot of {}; pass --credentials FILE",
            record_path.display(),
            cluster.facts.identifier
        ),
    };
    Ok(chosen
        .credentials_file
        .clone()
        .expect("filtered on credentials_file"))
}

/// The replaced cluster's login from a credential file (`{"secret": {"username", "password",
/// ...}}`, as `deploy` writes it). Error messages never quote the file's content.
pub fn read_login(path: &Path) -> anyhow::Result<(String, SecretValue)> {
    let text = SecretValue::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the credential file {}", path.display()))?,
    );
    let Ok(document) = serde_json::from_str::<serde_json::Value>(text.expose()) else {
        bail!("the credential file {} is not JSON", path.display());
    };
    let field = |name: &str| {
        document
            .get("secret")
            .and_then(|s| s.get(name))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => Ok((username, SecretValue::new(password))),
        _ => bail!(
            "the credential file {} has no secret.username and secret.password",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_is_read_and_errors_never_quote_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-copy-login-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.json");
        std::fs::write(
            &good,
            r#"{"secret": {"username": "postgres", "password": "s3cr3t-pw", "host": "old"}}"#,
        )
        .unwrap();
        let (user, password) = read_login(&good).unwrap();
        assert_eq!(user, "postgres");
        assert_eq!(password.expose(), "s3cr3t-pw");

        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"secret": "s3cr3t-pw"}"#).unwrap();
        let err = format!("{:#}", read_login(&bad).unwrap_err());
        assert!(err.contains("no secret.username"), "{err}");
        std::fs::write(&bad, "s3cr3t-pw not json").unwrap();
        let err = format!("{:#}", read_login(&bad).unwrap_err());
        assert!(!err.contains("s3cr3t"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
