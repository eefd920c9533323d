//! The emulator's AWS-like limits (`tests/emulator/patches/aws_limits.py`): off unless turned on,
//! and when on, RunTask beyond the RunTask API bucket answers ThrottlingException "Rate exceeded",
//! as ECS does.

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::LaunchType;
use serde_json::json;
use tests::Emulator;

/// Sends `calls` RunTask calls at once and returns the error code and message of each answer.
/// No cluster exists: an answer that got past the limits is ClusterNotFoundException.
async fn burst_of_run_tasks(emulator: &Emulator, calls: usize) -> Vec<(String, String)> {
    let config = emulator.sdk_config().await;
    // The SDK's own retries would hide the throttling this test looks for.
    let ecs = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&config)
            .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled())
            .build(),
    );
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let ecs = ecs.clone();
        set.spawn(async move {
            let err = ecs
                .run_task()
                .cluster("no-such-cluster")
                .launch_type(LaunchType::Fargate)
                .task_definition("embedding:1")
                .send()
                .await
                .expect_err("there is no cluster");
            (
                err.code().unwrap_or_default().to_owned(),
                err.message().unwrap_or_default().to_owned(),
            )
        });
    }
    set.join_all().await
}

fn throttled(answers: &[(String, String)]) -> usize {
    answers
        .iter()
        .filter(|(code, message)| code == "ThrottlingException" && message == "Rate exceeded")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_task_beyond_the_bucket_is_throttled_only_with_the_limits_on() {
    let emulator = Emulator::start();
    let off = burst_of_run_tasks(&emulator, 30).await;
    assert_eq!(throttled(&off), 0, "the limits are off by default: {off:?}");

    ureq::post(&format!(
        "{}/moto-api/emulator/aws-limits",
        emulator.endpoint()
    ))
    .send_json(json!({"enabled": true, "reset": true}))
    .expect("turn the limits on");
    let on = burst_of_run_tasks(&emulator, 30).await;
    // The bucket holds 20 and refills at 20/s: a burst of 30 within a few hundred ms leaves
    // several calls without a token.
    assert!(throttled(&on) >= 5, "{on:?}");
    assert!(
        on.iter()
            .all(|(code, _)| code == "ThrottlingException" || code == "ClusterNotFoundException"),
        "{on:?}"
    );
}
