//! Which snapshot to restore: the replacement record `deploy` wrote (or `--snapshot`), and the
//! snapshot's state in RDS.

use std::path::{Path, PathBuf};

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::describe_db_cluster_snapshots::DescribeDBClusterSnapshotsError;

use super::RestoreError;
use crate::CdkHookError;
use crate::safeguard::ReplacementRecord;

/// What the restore starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSource {
    /// Identifier or ARN.
    pub snapshot: String,
    /// The record it was found in.
    pub record: Option<PathBuf>,
    /// The stack's logical id of the replaced cluster (its replacement has the same one).
    pub cluster_logical_id: Option<String>,
    /// The replaced cluster.
    pub old_cluster: Option<String>,
    /// The credentials recorded before the replacement: the restored cluster keeps the old
    /// password.
    pub credentials_file: Option<PathBuf>,
    /// The deploy stopped while the snapshot was being taken; it may still be `creating`.
    pub interrupted: bool,
}

/// The newest `replacement-<utc>.json` in the stack's state directory (the stamp sorts by time).
pub fn newest_record(stack_dir: &Path) -> Result<Option<PathBuf>, RestoreError> {
    let entries = match std::fs::read_dir(stack_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CdkHookError::io(stack_dir, e).into()),
    };
    let mut newest: Option<PathBuf> = None;
    for entry in entries {
        let path = entry.map_err(|e| CdkHookError::io(stack_dir, e))?.path();
        let is_record = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("replacement-") && n.ends_with(".json"));
        if is_record && newest.as_ref().is_none_or(|n| path > *n) {
            newest = Some(path);
        }
    }
    Ok(newest)
}

pub fn read_record(path: &Path) -> Result<ReplacementRecord, RestoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| CdkHookError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| CdkHookError::bad_input(path, format!("not a replacement record: {e}")).into())
}

/// The one snapshot a record names; none or several is an error that says to pass --snapshot.
pub fn source_from_record(
    path: &Path,
    record: &ReplacementRecord,
) -> Result<RestoreSource, RestoreError> {
    let with_snapshot: Vec<_> = record
        .clusters
        .iter()
        .filter(|c| c.snapshot.is_some())
        .collect();
    let cluster = match with_snapshot.as_slice() {
        [one] => *one,
        [] => {
            return Err(RestoreError::RecordWithoutSnapshot {
                record: path.to_owned(),
                clusters: record
                    .clusters
                    .iter()
                    .map(|c| c.old.identifier.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        several => {
            return Err(RestoreError::SeveralSnapshots {
                record: path.to_owned(),
                snapshots: several
                    .iter()
                    .filter_map(|c| c.snapshot.as_ref().map(|s| s.identifier.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let snapshot = cluster.snapshot.as_ref().expect("filtered on a snapshot");
    Ok(RestoreSource {
        snapshot: snapshot.identifier.clone(),
        record: Some(path.to_owned()),
        cluster_logical_id: Some(cluster.logical_id.clone()),
        old_cluster: Some(cluster.old.identifier.clone()),
        credentials_file: cluster.credentials_file.clone(),
        interrupted: record.interrupted,
    })
}

/// `--snapshot`: the record is used only when it names that snapshot (for the credentials).
pub fn source_for_snapshot(
    snapshot: &str,
    record: Option<(&Path, &ReplacementRecord)>,
) -> RestoreSource {
    let matching = record.and_then(|(path, record)| {
        record
            .clusters
            .iter()
            .find(|c| {
                c.snapshot
                    .as_ref()
                    .is_some_and(|s| s.identifier == snapshot || s.arn.as_deref() == Some(snapshot))
            })
            .map(|c| (path, record, c))
    });
    match matching {
        Some((path, record, cluster)) => RestoreSource {
            snapshot: snapshot.to_owned(),
            record: Some(path.to_owned()),
            cluster_logical_id: Some(cluster.logical_id.clone()),
            old_cluster: Some(cluster.old.identifier.clone()),
            credentials_file: cluster.credentials_file.clone(),
            interrupted: record.interrupted,
        },
        None => RestoreSource {
            snapshot: snapshot.to_owned(),
            record: None,
            cluster_logical_id: None,
            old_cluster: None,
            credentials_file: None,
            interrupted: false,
        },
    }
}

/// A cluster snapshot as RDS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotState {
    pub identifier: String,
    pub arn: Option<String>,
    pub status: String,
    pub source_cluster: Option<String>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub storage_encrypted: Option<bool>,
}

impl SnapshotState {
    pub fn is_available(&self) -> bool {
        self.status == "available"
    }

    /// Still being made (an interrupted deploy): worth waiting for.
    pub fn is_in_progress(&self) -> bool {
        matches!(self.status.as_str(), "creating" | "copying")
    }
}

/// `DescribeDBClusterSnapshots` for one snapshot (identifier or ARN).
pub async fn describe_snapshot(
    rds: &Client,
    snapshot: &str,
) -> Result<SnapshotState, RestoreError> {
    let not_found = || RestoreError::SnapshotNotFound {
        snapshot: snapshot.to_owned(),
    };
    let out = rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(snapshot)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(DescribeDBClusterSnapshotsError::DbClusterSnapshotNotFoundFault(_)) => not_found(),
            _ => RestoreError::aws("DescribeDBClusterSnapshots", e),
        })?;
    let s = out.db_cluster_snapshots().first().ok_or_else(not_found)?;
    Ok(SnapshotState {
        identifier: s
            .db_cluster_snapshot_identifier()
            .unwrap_or(snapshot)
            .to_owned(),
        arn: s.db_cluster_snapshot_arn().map(str::to_owned),
        status: s.status().unwrap_or("unknown").to_owned(),
        source_cluster: s.db_cluster_identifier().map(str::to_owned),
        engine: s.engine().map(str::to_owned),
        engine_version: s.engine_version().map(str::to_owned),
        storage_encrypted: s.storage_encrypted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(snapshots: &[Option<&str>]) -> ReplacementRecord {
        let clusters = snapshots
            .iter()
            .enumerate()
            .map(|(i, snapshot)| {
                serde_json::json!({
                    "logical_id": format!("Cluster{i}"),
                    "old": {"identifier": format!("old-{i}"), "arn": null, "endpoint": null,
                            "port": null, "engine": null, "engine_version": null,
                            "db_subnet_group": null, "vpc_security_group_ids": [],
                            "storage_encrypted": false, "master_user_secret_arn": null},
                    "snapshot": snapshot.map(|s| serde_json::json!(
                        {"identifier": s, "arn": format!("arn:aws:rds:us-east-1:1:cluster-snapshot:{s}"), "status": "available"})),
                    "secret_arn": null,
                    "credentials_file": format!("/state/credentials-{i}.json"),
                    "rotation_cancelled": false,
                })
            })
            .collect::<Vec<_>>();
        serde_json::from_value(serde_json::json!({
            "version": 1, "stack": "S", "change_set_id": null, "recorded_at": "20261122T101500Z",
            "plan": {"stack": "S", "change_set_id": null, "resources": [], "gated": true,
                     "migration_needed": true},
            "clusters": clusters,
        }))
        .expect("a record")
    }

    #[test]
    fn a_record_gives_its_one_snapshot_and_credentials() {
        let path = Path::new("/state/replacement-1.json");
        let source = source_from_record(path, &record(&[None, Some("snap-a")])).unwrap();
        assert_eq!(source.snapshot, "snap-a");
        assert_eq!(source.cluster_logical_id.as_deref(), Some("Cluster1"));
        assert_eq!(
            source.credentials_file.as_deref(),
            Some(Path::new("/state/credentials-1.json"))
        );
        let none = source_from_record(path, &record(&[None])).unwrap_err();
        assert!(none.to_string().contains("pass --snapshot"), "{none}");
        let two = source_from_record(path, &record(&[Some("a"), Some("b")])).unwrap_err();
        assert!(two.to_string().contains("a, b"), "{two}");
    }

    #[test]
    fn a_given_snapshot_uses_the_record_only_when_it_names_it() {
        let path = Path::new("/state/replacement-1.json");
        let rec = record(&[Some("snap-a")]);
        let by_arn = source_for_snapshot(
            "arn:aws:rds:us-east-1:1:cluster-snapshot:snap-a",
            Some((path, &rec)),
        );
        assert!(by_arn.credentials_file.is_some());
        let other = source_for_snapshot("snap-b", Some((path, &rec)));
        assert_eq!(other.credentials_file, None);
        assert_eq!(other.record, None);
    }

    #[test]
    fn the_newest_record_is_the_latest_stamp() {
        let dir = std::env::temp_dir().join(format!("cdk-hook-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(newest_record(&dir.join("missing")).unwrap(), None);
        for name in [
            "replacement-20261122T101500Z.json",
            "replacement-20261123T090000Z.json",
            "credentials-20261124T000000Z.json",
        ] {
            std::fs::write(dir.join(name), "{}").unwrap();
        }
        assert_eq!(
            newest_record(&dir).unwrap(),
            Some(dir.join("replacement-20261123T090000Z.json"))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
