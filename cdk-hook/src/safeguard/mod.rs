//! The safeguards the migration guide asks for before a replacement deletes the vector store: a
//! manual snapshot of the old cluster (automated backups die with it), a private record of its
//! credentials (the stack's secret follows the new cluster), and a record of what was done, which
//! the restore path reads later. The same for every other kind of data that gates: a standalone
//! RDS instance's manual DB snapshot, a DynamoDB table's on-demand backup; an S3 bucket has no
//! snapshot, which is said, not hidden (`measure` decides which fits, `survey` reads the facts).

mod cluster;
mod credentials;
mod fate;
mod instance;
mod measure;
mod record;
mod snapshot;
mod survey;
mod table;
mod wait;

pub(crate) use cluster::find_cluster;
pub use cluster::{ClusterFacts, describe_cluster};
pub use credentials::{
    RotationState, SecretSource, SecretValue, cancel_rotation, find_secret, read_secret,
    record_credentials, rotation_state,
};
pub use fate::{DataFate, data_fate};
pub use instance::instance_cluster;
pub use measure::{Guarded, Measure, measures};
pub use record::{
    ProtectedCluster, ProtectedInstance, ProtectedTable, ReplacementRecord, UnprotectedResource,
};
pub use snapshot::{
    SnapshotFacts, SnapshotOf, TOOL_TAG_KEY, TOOL_TAG_VALUE, create_snapshot, snapshot_identifier,
    wait_snapshot_available,
};
pub use survey::{SurveyClients, survey};
pub use table::{
    BackupFacts, backup_name, create_table_backup, describe_table, wait_backup_available,
};
