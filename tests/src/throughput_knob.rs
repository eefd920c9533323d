//! The emulator's DynamoDB write limit (`tests/emulator/patches/dynamodb_throughput.py`): set it,
//! and read what it did (items written per table, throttled answers, items handed back).

use serde_json::{Value, json};

use crate::Emulator;

const PATH: &str = "/moto-api/emulator/dynamodb-throughput";

/// Holds every table's writes to `units` write units a second (`None`: no limit); the buckets
/// start full and the counters start at zero.
pub fn set_write_limit(emulator: &Emulator, units: Option<f64>) {
    let body = json!({"write_units_per_second": units, "reset": true});
    ureq::post(&format!("{}{PATH}", emulator.endpoint()))
        .send_json(&body)
        .expect("set the DynamoDB write limit");
}

/// What the limit did since it was set.
#[derive(Debug, Clone, Default)]
pub struct ThroughputCounts {
    /// Items written, all tables.
    pub items_written: u64,
    /// Answers that were `ProvisionedThroughputExceededException`.
    pub throttled: u64,
    /// Items handed back in `UnprocessedItems`.
    pub unprocessed: u64,
    /// BatchWriteItem answers with `UnprocessedItems`.
    pub partial_batches: u64,
}

pub fn counts(emulator: &Emulator) -> ThroughputCounts {
    let state: Value = ureq::get(&format!("{}{PATH}", emulator.endpoint()))
        .call()
        .expect("read the DynamoDB write limit")
        .body_mut()
        .read_json()
        .expect("the knob's JSON");
    let number = |name: &str| state[name].as_u64().unwrap_or_default();
    ThroughputCounts {
        items_written: number("items_written"),
        throttled: number("throttled"),
        unprocessed: number("unprocessed"),
        partial_batches: number("partial_batches"),
    }
}

/// Throttles every DynamoDB write while `on` (not an AWS behaviour): a run's writes stand still,
/// so a test can look at what it wrote and kill it at a known point. The counters go on.
pub fn hold_writes(emulator: &Emulator, on: bool) {
    ureq::post(&format!("{}{PATH}", emulator.endpoint()))
        .send_json(json!({"hold": on}))
        .expect("hold the DynamoDB writes");
}
