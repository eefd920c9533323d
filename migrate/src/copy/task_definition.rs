//! The temporary task definition: one `copy` container running `copy_vectors.sh` with both
//! connections injected by ECS from Secrets Manager (`secrets`), never as plain values.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, NetworkMode,
    Secret, Tag,
};

use super::error::CopyError;
use super::secret::{KEY_HOST, KEY_PASSWORD, KEY_PORT, KEY_USERNAME};
use crate::error_text::{AwsError, AwsFailure as _};

/// The script the container runs, as the third engineer's contract defines it.
pub const COPY_SCRIPT: &str = include_str!("copy_vectors.sh");
/// The container's name; with the prefix below it makes the log stream `copy/copy/<task id>`.
pub const CONTAINER_NAME: &str = "copy";
pub const LOG_STREAM_PREFIX: &str = "copy";
/// The tool's log group for every copy task.
pub const LOG_GROUP: &str = "/xtask/copy-vectors";
/// A psql client moving rows needs little: the smallest Fargate size with room for psql's buffers.
const TASK_CPU: &str = "512";
const TASK_MEMORY_MIB: i32 = 1024;

/// `xtask-copy-vectors-<stack>`.
pub fn family(stack: &str) -> String {
    format!("xtask-copy-vectors-{stack}")
}

/// The log stream awslogs writes for a task of this definition.
pub fn log_stream(task_id: &str) -> String {
    format!("{LOG_STREAM_PREFIX}/{CONTAINER_NAME}/{task_id}")
}

/// The contract's secret variables, each as ECS's `valueFrom`: `<secret-arn>:<json-key>::`
/// (the two empty fields: the current version).
pub fn secret_refs(source_secret_arn: &str, target_secret_arn: &str) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    for (side, arn) in [("SOURCE", source_secret_arn), ("TARGET", target_secret_arn)] {
        for (variable, key) in [
            ("HOST", KEY_HOST),
            ("PORT", KEY_PORT),
            ("USERNAME", KEY_USERNAME),
            ("PASSWORD", KEY_PASSWORD),
        ] {
            refs.push((format!("{side}_{variable}"), format!("{arn}:{key}::")));
        }
    }
    refs
}

/// What the task definition is built from.
#[derive(Debug, Clone)]
pub struct CopyTaskSpec<'a> {
    pub stack: &'a str,
    pub image: &'a str,
    pub region: &'a str,
    pub execution_role_arn: &'a str,
    pub source_secret_arn: &'a str,
    pub target_secret_arn: &'a str,
    pub source_database: &'a str,
    pub target_database: &'a str,
    pub tags: &'a [(String, String)],
}

pub fn container(spec: &CopyTaskSpec<'_>) -> Result<ContainerDefinition, CopyError> {
    let build = |what: &str, e: aws_sdk_ecs::error::BuildError| {
        CopyError::unexpected(
            "RegisterTaskDefinition",
            format!("building the {what}: {e}"),
        )
    };
    let secrets = secret_refs(spec.source_secret_arn, spec.target_secret_arn)
        .into_iter()
        .map(|(name, value_from)| {
            Secret::builder()
                .name(name)
                .value_from(value_from)
                .build()
                .map_err(|e| build("container secrets", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let logs = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", LOG_GROUP)
        .options("awslogs-region", spec.region)
        .options("awslogs-stream-prefix", LOG_STREAM_PREFIX)
        .build()
        .map_err(|e| build("log configuration", e))?;
    Ok(ContainerDefinition::builder()
        .name(CONTAINER_NAME)
        .image(spec.image)
        .essential(true)
        // All of the task's memory, stated on the container too: ECS takes the task's alone, but
        // the emulator (moto) fails RunTask for a container without its own (docs/emulator.md).
        .memory(TASK_MEMORY_MIB)
        .set_command(Some(vec!["sh".into(), "-c".into(), COPY_SCRIPT.into()]))
        .environment(
            KeyValuePair::builder()
                .name("SOURCE_DBNAME")
                .value(spec.source_database)
                .build(),
        )
        .environment(
            KeyValuePair::builder()
                .name("TARGET_DBNAME")
                .value(spec.target_database)
                .build(),
        )
        .set_secrets(Some(secrets))
        .log_configuration(logs)
        .build())
}

/// Registers a new revision of the family; returns its ARN.
pub async fn register(ecs: &Client, spec: &CopyTaskSpec<'_>) -> Result<String, CopyError> {
    let out = ecs
        .register_task_definition()
        .family(family(spec.stack))
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu(TASK_CPU)
        .memory(TASK_MEMORY_MIB.to_string())
        .execution_role_arn(spec.execution_role_arn)
        .container_definitions(container(spec)?)
        .set_tags(Some(
            spec.tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| CopyError::aws("RegisterTaskDefinition", e))?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_owned)
        .ok_or_else(|| {
            CopyError::unexpected(
                "RegisterTaskDefinition",
                "the answer names no task definition",
            )
        })
}

pub async fn deregister(ecs: &Client, arn: &str) -> Result<(), CopyError> {
    ecs.deregister_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CopyError::Cleanup {
            what: format!("deregistering the temporary task definition {arn}"),
            how: format!(
                "deregister it with `aws ecs deregister-task-definition --task-definition {arn}`"
            ),
            source: AwsError::new("DeregisterTaskDefinition", e),
        })
}

/// The execution role of the embedding task definition, if it has one: the role that already
/// pulls Bedrock Chat's images and writes its logs.
pub async fn embedding_execution_role(
    ecs: &Client,
    task_definition: &str,
) -> Result<Option<String>, CopyError> {
    let out = ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(|e| CopyError::aws("DescribeTaskDefinition", e))?;
    Ok(out
        .task_definition()
        .and_then(|t| t.execution_role_arn())
        .filter(|r| !r.trim().is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_variable_is_a_secret_reference() {
        let refs = secret_refs("arn:src", "arn:tgt");
        let names: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "SOURCE_HOST",
                "SOURCE_PORT",
                "SOURCE_USERNAME",
                "SOURCE_PASSWORD",
                "TARGET_HOST",
                "TARGET_PORT",
                "TARGET_USERNAME",
                "TARGET_PASSWORD"
            ]
        );
        // Each one the contract's header names.
        for name in names {
            assert!(COPY_SCRIPT.contains(name), "{name} is not in the contract");
        }
        assert!(refs.contains(&("SOURCE_PASSWORD".into(), "arn:src:password::".into())));
        assert!(refs.contains(&("TARGET_HOST".into(), "arn:tgt:host::".into())));
    }

    #[test]
    fn the_container_holds_no_plain_connection_value() {
        let tags = [("k".to_owned(), "v".to_owned())];
        let spec = CopyTaskSpec {
            stack: "S",
            image: "postgres:16-alpine",
            region: "eu-west-1",
            execution_role_arn: "arn:role",
            source_secret_arn: "arn:src",
            target_secret_arn: "arn:tgt",
            source_database: "postgres",
            target_database: "vectors",
            tags: &tags,
        };
        let c = container(&spec).unwrap();
        let env: Vec<(&str, &str)> = c
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
            .collect();
        assert_eq!(
            env,
            [("SOURCE_DBNAME", "postgres"), ("TARGET_DBNAME", "vectors")]
        );
        assert_eq!(c.command()[..2], ["sh".to_owned(), "-c".to_owned()]);
        assert_eq!(c.secrets().len(), 8);
        let logs = c.log_configuration().unwrap().options().unwrap();
        assert_eq!(logs["awslogs-group"], LOG_GROUP);
        assert_eq!(logs["awslogs-region"], "eu-west-1");
        assert_eq!(log_stream("abc"), "copy/copy/abc");
    }
}
