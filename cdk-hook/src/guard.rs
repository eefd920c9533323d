//! Which resource types are worth stopping a deploy for. Data, not scattered `if`s: the defaults
//! below, extended by a JSON file or by flags, and looked up by one function.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::CdkHookError;

/// How much a replacement or removal of a resource type matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardClass {
    /// Its replacement loses the data the migration rebuilds (the Aurora vector store).
    MigrationTrigger,
    /// Holds state worth a warning and a gate (tables, buckets, user pools, ...).
    Stateful,
    /// Never gates, whatever its change set says.
    None,
}

impl GuardClass {
    pub fn is_guarded(self) -> bool {
        self != GuardClass::None
    }
}

pub const DEFAULT_MIGRATION_TRIGGER: &[&str] = &["AWS::RDS::DBCluster"];

pub const DEFAULT_STATEFUL: &[&str] = &[
    "AWS::RDS::DBInstance",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
    "AWS::Cognito::UserPool",
];

/// CDK adds it to every stack and its change is `Conditional` in nearly every deploy: a config
/// that lists it by mistake must not turn every deploy into a gate.
const NEVER_GUARDED: &[&str] = &["AWS::CDK::Metadata"];

/// The guarded types. `Default` gives the table of docs/change-sets.md ("Guarded types are data").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardConfig {
    pub migration_trigger: BTreeSet<String>,
    pub stateful: BTreeSet<String>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            migration_trigger: DEFAULT_MIGRATION_TRIGGER
                .iter()
                .map(|s| s.to_string())
                .collect(),
            stateful: DEFAULT_STATEFUL.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The file format of `--guard-config`: both lists extend the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuardFile {
    #[serde(default)]
    migration_trigger: Vec<String>,
    #[serde(default)]
    stateful: Vec<String>,
}

impl GuardConfig {
    /// Extends the lists from `{"migration_trigger": [...], "stateful": [...]}`.
    pub fn extend_from_json(&mut self, json: &str) -> Result<(), CdkHookError> {
        let file: GuardFile = serde_json::from_str(json).map_err(|e| {
            CdkHookError::GuardConfig(format!(
                "{e} (expected {{\"migration_trigger\": [...], \"stateful\": [...]}})"
            ))
        })?;
        for ty in file.migration_trigger {
            self.add_migration_trigger(&ty)?;
        }
        for ty in file.stateful {
            self.add_stateful(&ty)?;
        }
        Ok(())
    }

    pub fn add_stateful(&mut self, resource_type: &str) -> Result<(), CdkHookError> {
        validate_type(resource_type)?;
        if !self.migration_trigger.contains(resource_type) {
            self.stateful.insert(resource_type.to_owned());
        }
        Ok(())
    }

    pub fn add_migration_trigger(&mut self, resource_type: &str) -> Result<(), CdkHookError> {
        validate_type(resource_type)?;
        self.stateful.remove(resource_type);
        self.migration_trigger.insert(resource_type.to_owned());
        Ok(())
    }

    pub fn class_of(&self, resource_type: &str) -> GuardClass {
        if NEVER_GUARDED.contains(&resource_type) {
            GuardClass::None
        } else if self.migration_trigger.contains(resource_type) {
            GuardClass::MigrationTrigger
        } else if self.stateful.contains(resource_type) {
            GuardClass::Stateful
        } else {
            GuardClass::None
        }
    }
}

/// A typo such as `AWS::RDS:DBCluster` would silently guard nothing.
fn validate_type(resource_type: &str) -> Result<(), CdkHookError> {
    let parts: Vec<&str> = resource_type.split("::").collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        Ok(())
    } else {
        Err(CdkHookError::GuardConfig(format!(
            "{resource_type:?} is not a CloudFormation resource type (Vendor::Service::Resource)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_extension() {
        let mut g = GuardConfig::default();
        assert_eq!(
            g.class_of("AWS::RDS::DBCluster"),
            GuardClass::MigrationTrigger
        );
        assert_eq!(g.class_of("AWS::DynamoDB::Table"), GuardClass::Stateful);
        assert_eq!(g.class_of("AWS::Lambda::Function"), GuardClass::None);
        g.extend_from_json(r#"{"stateful": ["AWS::Elasticsearch::Domain", "AWS::CDK::Metadata"]}"#)
            .unwrap();
        g.add_migration_trigger("AWS::DynamoDB::Table").unwrap();
        assert_eq!(
            g.class_of("AWS::Elasticsearch::Domain"),
            GuardClass::Stateful
        );
        assert_eq!(
            g.class_of("AWS::DynamoDB::Table"),
            GuardClass::MigrationTrigger
        );
        assert_eq!(g.class_of("AWS::CDK::Metadata"), GuardClass::None);
    }

    #[test]
    fn bad_config_is_an_error() {
        let mut g = GuardConfig::default();
        assert!(
            g.extend_from_json(r#"{"stateful": ["AWS::RDS:DBCluster"]}"#)
                .is_err()
        );
        assert!(g.extend_from_json(r#"{"statefull": []}"#).is_err());
        assert!(g.extend_from_json("[1]").is_err());
    }
}
