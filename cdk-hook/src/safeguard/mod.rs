//! The safeguards the migration guide asks for before a replacement deletes the vector store: a
//! manual snapshot of the old cluster (automated backups die with it), a private record of its
//! credentials (the stack's secret follows the new cluster), and a record of what was done, which
//! the restore path reads later.

mod cluster;
mod credentials;
mod files;
mod record;

pub(crate) use cluster::find_cluster;
pub use cluster::{
    ClusterFacts, SnapshotFacts, TOOL_TAG_KEY, TOOL_TAG_VALUE, create_cluster_snapshot,
    describe_cluster, snapshot_identifier, wait_snapshot_available,
};
pub use credentials::{
    RotationState, SecretSource, SecretValue, cancel_rotation, find_secret, read_secret,
    record_credentials, rotation_state,
};
pub use files::{create_private_dir, utc_stamp, write_private_file};
pub use record::{ProtectedCluster, ReplacementRecord};
