//! The shared test harness: a local AWS emulator per test, the environment that points the SDK
//! and the CDK CLI at it, the fixture CDK app, and the `xtask` binary under test.
//!
//! Tests run in parallel without sharing state: each owns its emulator (own port, own moto
//! process) and its own copy of the fixture app (the CDK CLI locks its `cdk.out`).

pub mod change_set_knob;
pub mod copy_support;
pub mod deployed;
pub mod emulator;
pub mod fixture;
pub mod plan_json;
pub mod postgres;
pub mod restore_support;
pub mod scratch;
pub mod seed;
pub mod seed_v2;
pub mod seed_v2_items;
pub mod stack;
pub mod task_runner;
pub mod throughput_knob;
pub mod vectors;
pub mod xtask;

pub use emulator::Emulator;
pub use fixture::{FixtureApp, Release};

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The stack name of the fixture app (and of Bedrock Chat).
pub const STACK: &str = "BedrockChatStack";

/// The stack's outputs, by output key.
pub async fn stack_outputs(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> std::collections::BTreeMap<String, String> {
    let answer = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .expect("describe the stack");
    answer.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_string(),
                o.output_value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The one output whose key starts with `prefix` (CDK appends an 8-hex construct hash).
pub fn output<'a>(
    outputs: &'a std::collections::BTreeMap<String, String>,
    prefix: &str,
) -> &'a str {
    let found: Vec<_> = outputs
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one output {prefix}*, got {found:?}"
    );
    found[0].1
}
