//! The credential record of a replaced or removed cluster, and its secret's rotation (a rotation
//! would make the recorded password stale; it is turned off only with consent).

use std::path::PathBuf;

use cdk_hook::safeguard::{self, ProtectedCluster};
use console::style;

use super::run::SafeguardRun;

pub(super) async fn credentials(
    run: &SafeguardRun<'_>,
    protected: &mut ProtectedCluster,
    path: PathBuf,
    stamp: &str,
) -> anyhow::Result<()> {
    let output = run
        .outputs
        .iter()
        .find(|(k, _)| k.starts_with("DbConfigSecretArn"))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let stack = &run.plan.stack;
    let attachments = cdk_hook::stack::resources_of_type(
        run.cfn,
        stack,
        "AWS::SecretsManager::SecretTargetAttachment",
    )
    .await?;
    let secrets =
        cdk_hook::stack::resources_of_type(run.cfn, stack, "AWS::SecretsManager::Secret").await?;
    let (arn, source) = safeguard::find_secret(output, &protected.old, &attachments, &secrets)?;
    let value = safeguard::read_secret(run.secrets, &arn).await?;
    safeguard::record_credentials(
        &path,
        &arn,
        &source,
        &protected.old.identifier,
        &value,
        stamp,
    )?;
    drop(value);
    eprintln!(
        "{} {} (mode 0600; it holds the database password: keep it out of git)",
        style("credentials recorded").green().bold(),
        path.display()
    );
    protected.secret_arn = Some(arn.clone());
    protected.credentials_file = Some(path);
    protected.rotation_cancelled = rotation(run, &arn).await?;
    Ok(())
}

/// A rotation would make the recorded password stale; it is turned off only with consent.
async fn rotation(run: &SafeguardRun<'_>, arn: &str) -> anyhow::Result<bool> {
    let state = safeguard::rotation_state(run.secrets, arn).await?;
    if !state.enabled {
        return Ok(false);
    }
    eprintln!(
        "{} secret {arn} rotates: the next rotation makes the recorded password stale",
        style("warning:").yellow().bold()
    );
    let consent = run.disable_rotation
        || (run.interactive
            && dialoguer::Confirm::new()
                .with_prompt("Turn rotation off for this secret (CancelRotateSecret)?")
                .default(false)
                .interact()?);
    if !consent {
        eprintln!("rotation left on (pass --disable-rotation to turn it off)");
        return Ok(false);
    }
    safeguard::cancel_rotation(run.secrets, arn).await?;
    eprintln!("rotation turned off for {arn}");
    Ok(true)
}
