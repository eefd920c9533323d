//! Checks the target against AWS before anything is scanned or launched. Without it a wrong
//! table fails mid-scan, and a wrong task definition or container name fails every RunTask (or,
//! for the container, may be accepted and run a task that embeds nothing).

use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_ecs::error::ProvideErrorMetadata;

use super::options::Clients;
use super::target::MigrationTarget;

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "table {0} not found: check --table (or the stack's DatabaseConversationTableName output) and --region"
    )]
    TableNotFound(String),
    #[error(
        "ECS cluster {0} not found (or not ACTIVE): check --cluster (or the EmbeddingClusterName output)"
    )]
    ClusterNotFound(String),
    #[error(
        "task definition {0} not found: check --task-definition (or the EmbeddingTaskDefinitionName output)"
    )]
    TaskDefinitionNotFound(String),
    #[error(
        "task definition {task_definition} has no container named {container} (it has: {found}); pass --container"
    )]
    ContainerNotFound {
        task_definition: String,
        container: String,
        found: String,
    },
    #[error("checking the migration target: {operation}: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
}

fn aws<E: ProvideErrorMetadata>(operation: &'static str, e: &E) -> PreflightError {
    PreflightError::Aws {
        operation,
        message: format!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or("(no message)")
        ),
    }
}

/// The table exists, the cluster is ACTIVE, the task definition exists and has the container.
pub async fn preflight(clients: &Clients, target: &MigrationTarget) -> Result<(), PreflightError> {
    match clients
        .dynamodb
        .describe_table()
        .table_name(&target.table)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) => {
            return Err(match e.as_service_error() {
                Some(DescribeTableError::ResourceNotFoundException(_)) => {
                    PreflightError::TableNotFound(target.table.clone())
                }
                _ => aws("DescribeTable", &e),
            });
        }
    }

    let clusters = clients
        .ecs
        .describe_clusters()
        .clusters(&target.cluster)
        .send()
        .await
        .map_err(|e| aws("DescribeClusters", &e))?;
    let active = clusters
        .clusters()
        .iter()
        .any(|c| c.status() == Some("ACTIVE"));
    if !active {
        return Err(PreflightError::ClusterNotFound(target.cluster.clone()));
    }

    let described = clients
        .ecs
        .describe_task_definition()
        .task_definition(&target.task_definition)
        .send()
        .await
        .map_err(|e| {
            // ECS answers ClientException ("Unable to describe task definition") for a missing one.
            if e.code() == Some("ClientException") {
                PreflightError::TaskDefinitionNotFound(target.task_definition.clone())
            } else {
                aws("DescribeTaskDefinition", &e)
            }
        })?;
    let names: Vec<&str> = described
        .task_definition()
        .map(|t| {
            t.container_definitions()
                .iter()
                .filter_map(|c| c.name())
                .collect()
        })
        .unwrap_or_default();
    if !names.contains(&target.container.as_str()) {
        return Err(PreflightError::ContainerNotFound {
            task_definition: target.task_definition.clone(),
            container: target.container.clone(),
            found: names.join(", "),
        });
    }
    Ok(())
}
