//! The CDK CLI side: `cdk deploy --method=prepare-change-set` through `xshell`, and reading the
//! synthesized template the change set was made from out of `cdk.out`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use xshell::{Shell, cmd};

use crate::CdkHookError;

/// Where the CDK CLI's own output goes: it is the progress display of the slow part (synth,
/// asset publishing), so it streams as it comes.
#[derive(Clone, Default)]
pub enum CdkOutput {
    /// Both streams go to ours.
    #[default]
    Inherit,
    /// Its stdout goes to our stderr, keeping our stdout clean for `--json`.
    ToStderr,
    /// Each line (from either stream) goes to the callback.
    Lines(Arc<dyn Fn(&str) + Send + Sync>),
}

impl std::fmt::Debug for CdkOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CdkOutput::Inherit => "Inherit",
            CdkOutput::ToStderr => "ToStderr",
            CdkOutput::Lines(_) => "Lines(..)",
        })
    }
}

/// `cdk deploy STACK --method=prepare-change-set --change-set-name NAME [extra args]`.
#[derive(Debug, Clone)]
pub struct PrepareRequest {
    /// The CDK app directory (with `cdk.json`).
    pub app_dir: PathBuf,
    /// The stack as the CDK app names it.
    pub stack: String,
    pub change_set_name: String,
    /// Extra arguments for `cdk deploy` (`-c k=v`, `--profile`, ...).
    pub cdk_args: Vec<String>,
    /// Exported to the CLI as `AWS_REGION`/`AWS_DEFAULT_REGION` when set.
    pub region: Option<String>,
    pub output: CdkOutput,
}

/// A change-set name no other run uses (CloudFormation names: letters, digits, dashes).
pub fn unique_change_set_name(prefix: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}",
        now.as_secs(),
        now.subsec_nanos() % 1_000_000
    )
}

/// Runs the CDK CLI to synthesize, publish assets and create (not execute) the change set.
pub async fn prepare_change_set(req: &PrepareRequest) -> Result<(), CdkHookError> {
    if !req.app_dir.join("cdk.json").is_file() {
        return Err(CdkHookError::NotACdkApp(req.app_dir.clone()));
    }
    let sh = Shell::new().map_err(|e| CdkHookError::CdkSpawn(std::io::Error::other(e)))?;
    sh.change_dir(&req.app_dir);
    let method = [
        "--method=prepare-change-set",
        "--change-set-name",
        &req.change_set_name,
    ];
    let cmd = cdk_deploy(
        &sh,
        &req.stack,
        &method,
        &req.cdk_args,
        req.region.as_deref(),
    );
    tracing::info!(command = %cmd, dir = %req.app_dir.display(), "preparing the change set");
    run(cmd, &req.output, "prepare-change-set").await
}

/// `npx cdk deploy STACK METHOD... [--require-approval never] EXTRA...` with the region exported.
/// The review (and the user's answer) is the approval: the CLI gets no stdin to ask on.
pub(crate) fn cdk_deploy<'a>(
    sh: &'a Shell,
    stack: &str,
    method: &[&str],
    extra: &[String],
    region: Option<&str>,
) -> xshell::Cmd<'a> {
    let approval: &[&str] = if extra.iter().any(|a| a.starts_with("--require-approval")) {
        &[]
    } else {
        &["--require-approval", "never"]
    };
    let cmd = cmd!(
        sh,
        "npx cdk deploy {stack} {method...} {approval...} {extra...}"
    );
    match region {
        Some(region) => cmd
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region),
        None => cmd,
    }
}

/// Runs a CDK CLI command to its end with its output routed as asked; a non-zero exit is
/// `CdkFailed` naming the deploy method.
pub(crate) async fn run(
    cmd: xshell::Cmd<'_>,
    output: &CdkOutput,
    method: &'static str,
) -> Result<(), CdkHookError> {
    let mut command = tokio::process::Command::from(std::process::Command::from(cmd));
    command.kill_on_drop(true).stdin(Stdio::null());
    let status = match output {
        CdkOutput::Inherit => spawn(&mut command)?.wait().await,
        CdkOutput::ToStderr => {
            command.stdout(Stdio::from(std::io::stderr()));
            spawn(&mut command)?.wait().await
        }
        CdkOutput::Lines(sink) => {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = spawn(&mut command)?;
            let out = child.stdout.take().map(|s| forward(s, sink.clone()));
            let err = child.stderr.take().map(|s| forward(s, sink.clone()));
            let status = child.wait().await;
            for task in [out, err].into_iter().flatten() {
                let _ = task.await;
            }
            status
        }
    }
    .map_err(CdkHookError::CdkSpawn)?;
    if status.success() {
        Ok(())
    } else {
        Err(CdkHookError::cdk_exit(method, status.code()))
    }
}

fn spawn(command: &mut tokio::process::Command) -> Result<tokio::process::Child, CdkHookError> {
    command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CdkHookError::NpxMissing,
        _ => CdkHookError::CdkSpawn(e),
    })
}

fn forward<R>(stream: R, sink: Arc<dyn Fn(&str) + Send + Sync>) -> tokio::task::JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink(&line);
        }
    })
}

/// A synthesized stack: its CloudFormation name and template.
#[derive(Debug, Clone)]
pub struct SynthesizedStack {
    /// The CloudFormation stack name (the artifact's `stackName`, which may differ from its id).
    pub stack_name: String,
    pub template_path: PathBuf,
    pub template: Value,
}

/// Finds the stack's template in `<app-dir>/cdk.out` through `manifest.json` (artifact id,
/// display name or CloudFormation name), descending into nested assemblies (stages); falls
/// back to `<Stack>.template.json`.
pub fn synthesized_template(app_dir: &Path, stack: &str) -> Result<SynthesizedStack, CdkHookError> {
    let cdk_out = app_dir.join("cdk.out");
    let (stack_name, template_path) = find_in_assembly(&cdk_out, stack, 0).unwrap_or_else(|| {
        (
            stack.to_owned(),
            cdk_out.join(format!("{stack}.template.json")),
        )
    });
    if !template_path.is_file() {
        return Err(CdkHookError::TemplateNotSynthesized {
            stack: stack.to_owned(),
            cdk_out,
        });
    }
    let text =
        std::fs::read_to_string(&template_path).map_err(|e| CdkHookError::io(&template_path, e))?;
    let template = crate::template_diff::parse_template(&template_path, &text)?;
    Ok(SynthesizedStack {
        stack_name,
        template_path,
        template,
    })
}

fn find_in_assembly(dir: &Path, stack: &str, depth: usize) -> Option<(String, PathBuf)> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let manifest: Value = serde_json::from_str(&text).ok()?;
    let artifacts = manifest.get("artifacts")?.as_object()?;
    let str_at = |a: &Value, p: &str| a.pointer(p).and_then(Value::as_str).map(str::to_owned);
    for (id, artifact) in artifacts {
        if artifact.get("type").and_then(Value::as_str) != Some("aws:cloudformation:stack") {
            continue;
        }
        let stack_name = str_at(artifact, "/properties/stackName").unwrap_or_else(|| id.clone());
        let display = str_at(artifact, "/displayName");
        if id == stack || stack_name == stack || display.as_deref() == Some(stack) {
            let file = str_at(artifact, "/properties/templateFile")?;
            return Some((stack_name, dir.join(file)));
        }
    }
    if depth < 4 {
        for artifact in artifacts.values() {
            if artifact.get("type").and_then(Value::as_str) == Some("cdk:cloud-assembly") {
                let sub = str_at(artifact, "/properties/directoryName")?;
                if let Some(found) = find_in_assembly(&dir.join(sub), stack, depth + 1) {
                    return Some(found);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_maps_display_name_to_stack_name() {
        let dir = tempdir();
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"artifacts": {"App": {"type": "aws:cloudformation:stack", "displayName": "BedrockChatStack",
                "properties": {"templateFile": "App.template.json", "stackName": "bedrock-chat-prod"}}}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("App.template.json"), r#"{"Resources": {}}"#).unwrap();
        let s = synthesized_template(dir.parent().unwrap(), "BedrockChatStack").unwrap();
        assert_eq!(s.stack_name, "bedrock-chat-prod");
        let missing = synthesized_template(dir.parent().unwrap(), "Other").unwrap_err();
        assert!(
            matches!(missing, CdkHookError::TemplateNotSynthesized { .. }),
            "{missing}"
        );
    }

    #[tokio::test]
    async fn app_dir_without_cdk_json_is_a_typed_error() {
        let dir = tempdir();
        let req = PrepareRequest {
            app_dir: dir.clone(),
            stack: "S".into(),
            change_set_name: "n".into(),
            cdk_args: vec![],
            region: None,
            output: CdkOutput::Inherit,
        };
        assert!(matches!(
            prepare_change_set(&req).await,
            Err(CdkHookError::NotACdkApp(_))
        ));
    }

    /// `<tmp>/<unique>/cdk.out`, created.
    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir()
            .join(unique_change_set_name("cdk-hook-test"))
            .join("cdk.out");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
