//! Reading the plan `check --json` prints: the plan itself, a resource's verdict, a verdict's
//! cause.

use serde_json::Value;

use crate::xtask::printed;

/// The JSON plan on a run's stdout.
pub fn plan_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("check --json printed no plan ({e}):\n{}", printed(output)))
}

/// The first verdict about a resource of this type.
pub fn resource<'a>(plan: &'a Value, resource_type: &str) -> &'a Value {
    plan["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["resource_type"] == resource_type)
        .unwrap_or_else(|| panic!("no {resource_type} in the plan: {plan:#}"))
}

/// The verdict's cause that names this property.
pub fn cause<'a>(verdict: &'a Value, property: &str) -> &'a Value {
    verdict["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .find(|c| c["property"] == property)
        .unwrap_or_else(|| panic!("no cause {property}: {verdict:#}"))
}
