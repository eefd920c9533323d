//! `cargo xtask outputs`: the migration target from the stack outputs (which `cdk-hook` reads),
//! matched by logical-id prefix because CDK appends an 8-hex construct hash to the ids.

use std::fmt;
use std::process::ExitCode;

use anyhow::Context;
use aws_config::SdkConfig;
use migrate::reembed::{MigrationTarget, VectorStore};

use crate::flags::{OutputFormat, Outputs, TargetOverrides};

pub const TABLE_PREFIX: &str = "DatabaseConversationTableName";
pub const CLUSTER_PREFIX: &str = "EmbeddingClusterName";
pub const TASK_DEFINITION_PREFIX: &str = "EmbeddingTaskDefinitionName";
pub const SECURITY_GROUP_PREFIX: &str = "EmbeddingTaskSecurityGroupId";
pub const SUBNET_PREFIX: &str = "PrivateSubnetId";

/// Every output that could not be resolved, so one run names all of them.
#[derive(Debug, PartialEq, Eq)]
pub struct ResolveError {
    pub problems: Vec<String>,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cannot resolve the migration target from the stack outputs:"
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        write!(
            f,
            "give the values with --table, --cluster, --task-definition, --subnets, --security-groups"
        )
    }
}

impl std::error::Error for ResolveError {}

/// The one output whose logical id starts with `prefix`; none or several is a problem naming the
/// candidates (every output id when none matches, to spot a renamed one).
fn by_prefix<'a>(outputs: &'a [(String, String)], prefix: &str) -> Result<&'a str, String> {
    let matches: Vec<&(String, String)> = outputs
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .collect();
    match matches.as_slice() {
        [(_, value)] => Ok(value),
        [] => Err(format!(
            "no output starts with {prefix}; outputs: {}",
            list_ids(outputs.iter())
        )),
        several => Err(format!(
            "several outputs start with {prefix}: {}",
            list_ids(several.iter().copied())
        )),
    }
}

fn list_ids<'a>(ids: impl Iterator<Item = &'a (String, String)>) -> String {
    let ids: Vec<&str> = ids.map(|(k, _)| k.as_str()).collect();
    if ids.is_empty() {
        "(none)".to_owned()
    } else {
        ids.join(", ")
    }
}

/// `PrivateSubnetId0`, `PrivateSubnetId1`, ... in numeric order.
fn subnets(outputs: &[(String, String)]) -> Result<Vec<String>, String> {
    let mut found: Vec<(u32, &str)> = outputs
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix(SUBNET_PREFIX)?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse().ok().map(|n| (n, v.as_str())))?
        })
        .collect();
    if found.is_empty() {
        return Err(format!(
            "no output named {SUBNET_PREFIX}<N>; outputs: {}",
            list_ids(outputs.iter())
        ));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, v)| v.to_owned()).collect())
}

/// The target from `outputs` (logical id, value), each value replaced by its flag when given.
/// `assign_public_ip` is not an output: the caller sets it.
pub fn resolve_target(
    outputs: &[(String, String)],
    overrides: &TargetOverrides,
) -> Result<MigrationTarget, ResolveError> {
    let mut problems = Vec::new();
    let mut pick = |flag: &Option<String>, prefix: &str| match flag {
        Some(v) => v.clone(),
        None => by_prefix(outputs, prefix)
            .map(str::to_owned)
            .unwrap_or_else(|p| {
                problems.push(p);
                String::new()
            }),
    };
    let table = pick(&overrides.table, TABLE_PREFIX);
    let cluster = pick(&overrides.cluster, CLUSTER_PREFIX);
    let task_definition = pick(&overrides.task_definition, TASK_DEFINITION_PREFIX);
    let security_groups = if overrides.security_groups.is_empty() {
        vec![pick(&None, SECURITY_GROUP_PREFIX)]
    } else {
        overrides.security_groups.clone()
    };
    let subnets = if overrides.subnets.is_empty() {
        subnets(outputs).unwrap_or_else(|p| {
            problems.push(p);
            Vec::new()
        })
    } else {
        overrides.subnets.clone()
    };
    if !problems.is_empty() {
        return Err(ResolveError { problems });
    }
    Ok(MigrationTarget {
        table,
        cluster,
        task_definition,
        container: overrides.container.clone(),
        subnets,
        security_groups,
        assign_public_ip: false,
    })
}

fn fully_overridden(o: &TargetOverrides) -> bool {
    o.table.is_some()
        && o.cluster.is_some()
        && o.task_definition.is_some()
        && !o.subnets.is_empty()
        && !o.security_groups.is_empty()
}

/// The outputs of `stack` as (logical id, value), read by `cdk-hook`.
pub async fn stack_outputs(
    config: &SdkConfig,
    stack: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    cdk_hook::outputs::stack_outputs(&cfn, stack)
        .await
        .with_context(|| format!("reading the outputs of stack {stack} (check --stack)"))
}

/// The target for `stack`: flags first, the stack outputs for the rest (no AWS call when every
/// value is given).
pub async fn load_target(
    config: &SdkConfig,
    stack: &str,
    overrides: &TargetOverrides,
) -> anyhow::Result<MigrationTarget> {
    let outputs = if fully_overridden(overrides) {
        Vec::new()
    } else {
        stack_outputs(config, stack).await?
    };
    let target = resolve_target(&outputs, overrides).with_context(|| {
        format!("the outputs of stack {stack} do not name the migration target")
    })?;
    target.validate()?;
    Ok(target)
}

/// The output Bedrock Chat publishes for the vector store's endpoint.
const DB_HOSTNAME_PREFIX: &str = "DbConfigHostname";

/// The vector store the migration embeds into: the stack's `AWS::RDS::DBCluster` (the vector-store
/// one when there are several) and its endpoint output. `None` when the stack has no cluster or
/// does not exist (a target given entirely by flags). Other failures are errors: a journal must
/// not be judged against a store that could not be read.
pub async fn vector_store(
    config: &SdkConfig,
    stack: &str,
    replaced_by: Option<String>,
) -> anyhow::Result<Option<VectorStore>> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let clusters =
        match cdk_hook::stack::resources_of_type(&cfn, stack, "AWS::RDS::DBCluster").await {
            Ok(clusters) => clusters,
            Err(e) if e.to_string().contains("does not exist") => return Ok(None),
            Err(e) => return Err(e).context(format!("the vector store of stack {stack}")),
        };
    let preferred: Vec<&(String, String)> = clusters
        .iter()
        .filter(|(logical, _)| logical.starts_with("VectorStore"))
        .collect();
    let mut ids: Vec<&str> = if preferred.is_empty() {
        clusters.iter().map(|(_, id)| id.as_str()).collect()
    } else {
        preferred.iter().map(|(_, id)| id.as_str()).collect()
    };
    if ids.is_empty() {
        return Ok(None);
    }
    ids.sort_unstable();
    let endpoint = stack_outputs(config, stack)
        .await?
        .into_iter()
        .find(|(k, _)| k.starts_with(DB_HOSTNAME_PREFIX))
        .map(|(_, v)| v);
    Ok(Some(VectorStore {
        cluster_identifier: ids.join("+"),
        endpoint,
        replaced_by,
    }))
}

pub fn run(args: Outputs) -> anyhow::Result<ExitCode> {
    let rt = crate::aws::runtime()?;
    let target = rt.block_on(async {
        let config = crate::aws::sdk_config(&args.stack.aws).await;
        load_target(&config, &args.stack.name, &args.target).await
    })?;
    print!("{}", render(&target, args.format));
    Ok(ExitCode::SUCCESS)
}

pub fn render(target: &MigrationTarget, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(target).expect("target serializes");
            s.push('\n');
            s
        }
        OutputFormat::Env => rows(target)
            .into_iter()
            .map(|(k, v)| format!("MIGRATE_{}={}\n", k.to_uppercase(), shell_quote(&v)))
            .collect(),
        OutputFormat::Table => {
            let width = rows(target).iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            rows(target)
                .into_iter()
                .map(|(k, v)| format!("{k:<width$}  {v}\n"))
                .collect()
        }
    }
}

fn rows(t: &MigrationTarget) -> Vec<(&'static str, String)> {
    vec![
        ("table", t.table.clone()),
        ("cluster", t.cluster.clone()),
        ("task_definition", t.task_definition.clone()),
        ("container", t.container.clone()),
        ("subnets", t.subnets.join(",")),
        ("security_groups", t.security_groups.join(",")),
    ]
}

/// Single quotes keep every byte literal in POSIX shells; an embedded quote is closed, escaped and
/// reopened.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> Vec<(String, String)> {
        [
            ("DatabaseConversationTableName5C9E2A1B", "ConvTable"),
            ("EmbeddingClusterNameA1B2C3D4", "Cluster"),
            ("EmbeddingTaskDefinitionName0F0F0F0F", "TaskDef"),
            ("EmbeddingTaskSecurityGroupId12345678", "sg-1"),
            ("PrivateSubnetId1", "subnet-b"),
            ("PrivateSubnetId0", "subnet-a"),
            ("DbConfigHostname", "db.local"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn no_overrides() -> TargetOverrides {
        TargetOverrides {
            container: "Container".into(),
            ..TargetOverrides::default()
        }
    }

    #[test]
    fn resolves_every_value_by_prefix() {
        let t = resolve_target(&outputs(), &no_overrides()).unwrap();
        assert_eq!(t.table, "ConvTable");
        assert_eq!(t.cluster, "Cluster");
        assert_eq!(t.task_definition, "TaskDef");
        assert_eq!(t.security_groups, ["sg-1"]);
        assert_eq!(t.subnets, ["subnet-a", "subnet-b"]);
        assert_eq!(t.container, "Container");
    }

    #[test]
    fn missing_output_lists_the_candidates() {
        let outs: Vec<_> = outputs()
            .into_iter()
            .filter(|(k, _)| !k.starts_with(CLUSTER_PREFIX))
            .collect();
        let err = resolve_target(&outs, &no_overrides()).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(err.problems[0].contains("no output starts with EmbeddingClusterName"));
        assert!(err.problems[0].contains("DbConfigHostname"));
        // A flag makes the missing output irrelevant.
        let o = TargetOverrides {
            cluster: Some("Mine".into()),
            ..no_overrides()
        };
        assert_eq!(resolve_target(&outs, &o).unwrap().cluster, "Mine");
    }

    #[test]
    fn several_matches_are_an_error_naming_them() {
        let mut outs = outputs();
        outs.push(("EmbeddingClusterNameDEADBEEF".into(), "Other".into()));
        let err = resolve_target(&outs, &no_overrides()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("several outputs start with EmbeddingClusterName"),
            "{text}"
        );
        assert!(text.contains("EmbeddingClusterNameA1B2C3D4"), "{text}");
        assert!(text.contains("EmbeddingClusterNameDEADBEEF"), "{text}");
    }

    #[test]
    fn subnets_come_in_numeric_order_and_overrides_win() {
        let mut outs = outputs();
        outs.push(("PrivateSubnetId10".into(), "subnet-k".into()));
        outs.push(("PrivateSubnetIdFoo".into(), "ignored".into()));
        let t = resolve_target(&outs, &no_overrides()).unwrap();
        assert_eq!(t.subnets, ["subnet-a", "subnet-b", "subnet-k"]);
        let o = TargetOverrides {
            subnets: vec!["s-x".into()],
            security_groups: vec!["sg-x".into(), "sg-y".into()],
            ..no_overrides()
        };
        let t = resolve_target(&outs, &o).unwrap();
        assert_eq!(t.subnets, ["s-x"]);
        assert_eq!(t.security_groups, ["sg-x", "sg-y"]);
    }

    #[test]
    fn empty_outputs_report_every_problem() {
        let err = resolve_target(&[], &no_overrides()).unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
    }

    #[test]
    fn env_format_is_shell_safe() {
        let mut t = resolve_target(&outputs(), &no_overrides()).unwrap();
        t.table = "it's".into();
        let env = render(&t, OutputFormat::Env);
        assert!(env.contains("MIGRATE_TABLE='it'\\''s'\n"), "{env}");
        assert!(
            env.contains("MIGRATE_SUBNETS='subnet-a,subnet-b'\n"),
            "{env}"
        );
    }
}
