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
pub mod workspace;
pub mod xtask;

pub use emulator::Emulator;
pub use fixture::{FixtureApp, Release};
pub use stack::{STACK, output, stack_outputs};
pub use workspace::project_root;
