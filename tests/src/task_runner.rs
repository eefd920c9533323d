//! The emulator's admin knobs: the embedding-container stand-in
//! (`tests/emulator/patches/ecs_task_runner.py`) with its record of every embedding task started
//! per bot, and a failing update (`cloudformation_change_sets.py`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::Emulator;

const PATH: &str = "/moto-api/emulator/task-runner";

/// Sets how long a task runs and which share fails (deterministic for a seed).
pub fn configure(emulator: &Emulator, seconds: f64, failure_rate: f64, seed: u64) {
    let body = json!({"seconds": seconds, "failure_rate": failure_rate, "seed": seed});
    ureq::post(&format!("{}{PATH}", emulator.endpoint()))
        .send_json(&body)
        .expect("configure the task runner");
}

/// Task ids started per bot, keyed `<PK>|<SK>`.
pub fn started_per_bot(emulator: &Emulator) -> BTreeMap<String, Vec<String>> {
    let state: Value = ureq::get(&format!("{}{PATH}", emulator.endpoint()))
        .call()
        .expect("read the task runner")
        .body_mut()
        .read_json()
        .expect("task runner JSON");
    serde_json::from_value(state["started"].clone()).expect("started map")
}

/// Makes the next executed change set fail on `logical_id` with `reason`, and the stack roll back
/// (`tests/emulator/patches/cloudformation_change_sets.py`).
pub fn fail_next_update(emulator: &Emulator, logical_id: &str, reason: &str) {
    let body = json!({"logical_id": logical_id, "reason": reason});
    ureq::post(&format!(
        "{}/moto-api/emulator/failing-update",
        emulator.endpoint()
    ))
    .send_json(&body)
    .expect("arm the failing update");
}
