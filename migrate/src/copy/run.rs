//! One copy from start to end: the temporaries made in order, the task followed, its log read,
//! and the temporaries removed on every way out but an abandoned task.

use super::error::CopyError;
use super::outcome::CopyOutcome;
use super::outcome::parse_log;
use super::request::{
    CopyClients, CopyEvent, CopyRequest, RunningCopy, STARTED_BY, TemporarySecret,
};
use super::task_definition::{self, CopyTaskSpec, LOG_GROUP};
use super::{logs, secret, task};
use crate::ecs_task::task_id;
use crate::events::EventSink;
use crate::interrupt::Interrupt;

/// The temporary resources made so far.
#[derive(Default)]
struct Temporaries {
    secret: Option<TemporarySecret>,
    task_definition: Option<String>,
}

impl Temporaries {
    /// Removes what exists; returns the problems (each says how to finish by hand).
    async fn remove(
        &mut self,
        clients: &CopyClients,
        events: &dyn EventSink<CopyEvent>,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(arn) = self.task_definition.take() {
            match task_definition::deregister(&clients.ecs, &arn).await {
                Ok(()) => events.emit(CopyEvent::Removed {
                    what: format!("task definition {arn}"),
                }),
                Err(p) => problems.push(crate::error_text::chain(&p)),
            }
        }
        if let Some(secret) = self.secret.take() {
            match secret::delete(&clients.secrets, &secret).await {
                Ok(()) => events.emit(CopyEvent::Removed {
                    what: format!("secret {}", secret.name),
                }),
                Err(p) => problems.push(crate::error_text::chain(&p)),
            }
        }
        for message in &problems {
            events.emit(CopyEvent::CleanupFailed {
                message: message.clone(),
            });
        }
        problems
    }
}

/// Runs the copy task to its end. The first Ctrl-C ([`Interrupt::trip`]) before the launch stops
/// the run there; after it, the task is followed to its end all the same, so that its temporary
/// resources can go. A second Ctrl-C returns at once with [`CopyError::Abandoned`].
pub async fn run_copy(
    clients: &CopyClients,
    request: &CopyRequest,
    interrupt: &Interrupt,
    events: &dyn EventSink<CopyEvent>,
) -> Result<CopyOutcome, CopyError> {
    let running = task::running_copies(&clients.ecs, &request.cluster).await?;
    if !running.is_empty() {
        return Err(CopyError::CopyRunning {
            cluster: request.cluster.clone(),
            tasks: running,
        });
    }
    logs::ensure_group(&clients.logs, LOG_GROUP, &request.tags).await?;
    events.emit(CopyEvent::LogGroupReady {
        group: LOG_GROUP.into(),
    });
    if interrupt.is_stopping() {
        return Err(CopyError::Interrupted);
    }
    let stamp = crate::state::utc_stamp();
    let name = secret::secret_name(&request.stack, &stamp);
    let secret = secret::create(
        &clients.secrets,
        &name,
        &request.source,
        &request.execution_role_arn,
        &request.tags,
    )
    .await?;
    events.emit(CopyEvent::SecretCreated {
        name: secret.name.clone(),
    });
    let mut temporaries = Temporaries {
        secret: Some(secret.clone()),
        task_definition: None,
    };
    let result = launch_and_follow(
        clients,
        request,
        &secret,
        &stamp,
        &mut temporaries,
        interrupt,
        events,
    )
    .await;
    if matches!(result, Err(CopyError::Abandoned(_))) {
        return result;
    }
    let problems = temporaries.remove(clients, events).await;
    result.map(|mut outcome| {
        outcome.cleanup_problems = problems;
        outcome
    })
}

async fn launch_and_follow(
    clients: &CopyClients,
    request: &CopyRequest,
    secret: &TemporarySecret,
    stamp: &str,
    temporaries: &mut Temporaries,
    interrupt: &Interrupt,
    events: &dyn EventSink<CopyEvent>,
) -> Result<CopyOutcome, CopyError> {
    let task_definition_arn = register(clients, request, secret, events).await?;
    temporaries.task_definition = Some(task_definition_arn.clone());
    if interrupt.is_stopping() {
        return Err(CopyError::Interrupted);
    }
    let task_arn = launch(clients, request, &task_definition_arn, stamp, events).await?;
    let log_stream = task_definition::log_stream(task_id(&task_arn));
    let tracked = task::track(
        &clients.ecs,
        &request.cluster,
        &task_arn,
        request.poll_interval,
        interrupt,
        events,
    )
    .await;
    let stop = match tracked {
        task::Tracked::Stopped(stop) => stop,
        task::Tracked::Abandoned { last_status } => {
            return Err(CopyError::Abandoned(Box::new(RunningCopy {
                cluster: request.cluster.clone(),
                task_arn,
                last_status,
                secret: secret.clone(),
                task_definition_arn,
                log_group: LOG_GROUP.into(),
                log_stream,
            })));
        }
    };
    let messages = read_log(clients, &log_stream, events).await;
    Ok(outcome(request, task_arn, log_stream, &messages, stop))
}

/// The temporary task definition: the copy script's container, both connections by reference.
async fn register(
    clients: &CopyClients,
    request: &CopyRequest,
    secret: &TemporarySecret,
    events: &dyn EventSink<CopyEvent>,
) -> Result<String, CopyError> {
    let spec = CopyTaskSpec {
        stack: &request.stack,
        image: &request.image,
        region: &request.region,
        execution_role_arn: &request.execution_role_arn,
        source_secret_arn: &secret.arn,
        target_secret_arn: &request.target_secret_arn,
        source_database: &request.source_database,
        target_database: &request.target_database,
        tags: &request.tags,
    };
    let arn = task_definition::register(&clients.ecs, &spec).await?;
    events.emit(CopyEvent::TaskDefinitionRegistered { arn: arn.clone() });
    Ok(arn)
}

async fn launch(
    clients: &CopyClients,
    request: &CopyRequest,
    task_definition_arn: &str,
    stamp: &str,
    events: &dyn EventSink<CopyEvent>,
) -> Result<String, CopyError> {
    let placement = task::Placement {
        cluster: &request.cluster,
        subnets: &request.subnets,
        security_groups: &request.security_groups,
        assign_public_ip: request.assign_public_ip,
    };
    let client_token = format!("{STARTED_BY}-{stamp}-{:08x}", rand::random::<u32>());
    let task_arn = task::launch(
        &clients.ecs,
        &placement,
        task_definition_arn,
        &client_token,
        &request.tags,
    )
    .await?;
    events.emit(CopyEvent::TaskLaunched {
        task_arn: task_arn.clone(),
    });
    Ok(task_arn)
}

/// The stopped task's log lines; none (with a warning) when the log cannot be read: the exit code
/// and the stopped reason still say how the copy ended.
async fn read_log(
    clients: &CopyClients,
    log_stream: &str,
    events: &dyn EventSink<CopyEvent>,
) -> Vec<String> {
    events.emit(CopyEvent::ReadingLog {
        stream: log_stream.to_owned(),
    });
    match logs::read_stream(&clients.logs, LOG_GROUP, log_stream).await {
        Ok(messages) => messages,
        Err(e) => {
            events.emit(CopyEvent::Warning {
                message: format!("reading the task's log {LOG_GROUP} {log_stream}: {e}"),
            });
            Vec::new()
        }
    }
}

/// The copy's outcome from its log and how the task stopped.
fn outcome(
    request: &CopyRequest,
    task_arn: String,
    log_stream: String,
    messages: &[String],
    stop: crate::ecs_task::StopInfo,
) -> CopyOutcome {
    let parsed = parse_log(messages.iter().map(String::as_str));
    let password = request.source.password.expose();
    // The contract says the script never prints a password; a broken script must not make this
    // tool print one either.
    let redact = |lines: Vec<String>| -> Vec<String> {
        if password.is_empty() {
            return lines;
        }
        lines
            .into_iter()
            .map(|l| l.replace(password, "<redacted>"))
            .collect()
    };
    let missing_note = stop
        .missing
        .then(|| "ECS no longer knows the task".to_owned());
    CopyOutcome {
        task_arn,
        log_group: LOG_GROUP.into(),
        log_stream,
        bots: parsed.bots,
        summary: parsed.summary,
        malformed: redact(parsed.malformed),
        log_tail: redact(parsed.tail),
        exit_code: stop.exit_code,
        stopped_reason: stop.stopped_reason.or(missing_note),
        container_reason: stop.container_reason,
        cleanup_problems: Vec::new(),
    }
}
