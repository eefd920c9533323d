//! `.xtask/<stack>/replacement-<utc>.json`: what was done before a replacement, everything the
//! restore path (restore the snapshot, copy the vectors) needs later. No secret in it: the
//! credentials are in their own file, which this one names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cluster::{ClusterFacts, SnapshotFacts};
use super::files::write_private_file;
use crate::CdkHookError;
use crate::plan::ReplacementPlan;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplacementRecord {
    pub version: u32,
    pub stack: String,
    pub change_set_id: Option<String>,
    pub recorded_at: String,
    /// The reviewed plan the safeguards were taken for.
    pub plan: ReplacementPlan,
    pub clusters: Vec<ProtectedCluster>,
    /// Set when the deploy was interrupted while taking the safeguards: nothing was executed,
    /// and a snapshot may still be `creating`.
    #[serde(default)]
    pub interrupted: bool,
}

/// One replaced cluster and its safeguards.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProtectedCluster {
    pub logical_id: String,
    pub old: ClusterFacts,
    pub snapshot: Option<SnapshotFacts>,
    pub secret_arn: Option<String>,
    pub credentials_file: Option<PathBuf>,
    /// Set when the user had rotation turned off so the recorded password stays valid.
    pub rotation_cancelled: bool,
}

impl ReplacementRecord {
    /// Written 0600 like the credentials: it tells where they are.
    pub fn write(&self, path: &Path) -> Result<(), CdkHookError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| CdkHookError::Aws {
            operation: "serializing the replacement record",
            message: e.to_string(),
        })?;
        write_private_file(path, &text)
    }
}
