//! `.xtask/<stack>/replacement-<utc>.json`: what was done before a replacement, everything the
//! restore path (restore the snapshot, copy the vectors) needs later. No secret in it: the
//! credentials are in their own file, which this one names. Version 2 added the instances,
//! tables and unprotected resources (a version-1 record reads with those lists empty).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cluster::ClusterFacts;
use super::fate::DataFate;
use super::measure::Measure;
use super::snapshot::SnapshotFacts;
use super::table::BackupFacts;
use crate::CdkHookError;
use crate::plan::ReplacementPlan;
use migrate::state::write_private_file;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplacementRecord {
    pub version: u32,
    pub stack: String,
    pub change_set_id: Option<String>,
    pub recorded_at: String,
    /// The reviewed plan the safeguards were taken for.
    pub plan: ReplacementPlan,
    pub clusters: Vec<ProtectedCluster>,
    /// Standalone RDS instances and their manual DB snapshots.
    #[serde(default)]
    pub instances: Vec<ProtectedInstance>,
    /// DynamoDB tables and their on-demand backups.
    #[serde(default)]
    pub tables: Vec<ProtectedTable>,
    /// Gating resources no safeguard covers (S3 buckets, other types, Aurora members), and why.
    #[serde(default)]
    pub unprotected: Vec<UnprotectedResource>,
    /// Set when the deploy was interrupted while taking the safeguards: nothing was executed,
    /// and a snapshot may still be `creating`.
    #[serde(default)]
    pub interrupted: bool,
}

/// One replaced or removed cluster and its safeguards.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtectedCluster {
    pub logical_id: String,
    /// `null` in version-1 records (always a replacement then).
    #[serde(default)]
    pub fate: Option<DataFate>,
    pub old: ClusterFacts,
    pub snapshot: Option<SnapshotFacts>,
    pub secret_arn: Option<String>,
    pub credentials_file: Option<PathBuf>,
    /// Set when the user had rotation turned off so the recorded password stays valid.
    pub rotation_cancelled: bool,
}

/// A standalone RDS instance and its manual DB snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtectedInstance {
    pub logical_id: String,
    pub identifier: String,
    pub fate: DataFate,
    pub snapshot: Option<SnapshotFacts>,
}

/// A DynamoDB table and its on-demand backup (restore it with `RestoreTableFromBackup`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtectedTable {
    pub logical_id: String,
    pub table_name: String,
    pub table_arn: Option<String>,
    pub fate: DataFate,
    /// The item count DynamoDB last reported (updated about every six hours).
    pub item_count: Option<i64>,
    pub backup: Option<BackupFacts>,
}

/// A gating resource the deploy went ahead with, unprotected.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnprotectedResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub fate: DataFate,
    pub measure: Measure,
}

impl ReplacementRecord {
    /// The version this code writes.
    pub const VERSION: u32 = 2;

    /// Written 0600 like the credentials: it tells where they are.
    pub fn write(&self, path: &Path) -> Result<(), CdkHookError> {
        let text = serde_json::to_vec_pretty(self).map_err(|source| CdkHookError::Serialize {
            what: "replacement record",
            source,
        })?;
        Ok(write_private_file(path, &text)?)
    }
}
