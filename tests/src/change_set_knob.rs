//! The emulator's change-set knob (`tests/emulator/patches/cloudformation_change_sets.py`):
//! DescribeChangeSet's page size, and overrides that make its answer disagree with the templates.

use serde_json::Value;

use crate::Emulator;

/// Posts `knobs` (`{"page_size": N}`, `{"overrides": [...]}`) to
/// `/moto-api/emulator/change-sets`; later DescribeChangeSet answers follow them.
pub fn set(emulator: &Emulator, knobs: Value) {
    ureq::post(&format!(
        "{}/moto-api/emulator/change-sets",
        emulator.endpoint()
    ))
    .send_json(&knobs)
    .expect("set the change-set knobs");
}
