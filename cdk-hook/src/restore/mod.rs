//! The copy-back path's temporary clusters: a snapshot of the replaced cluster restored beside the
//! new one. Everything here is tagged so that listing and cleanup never touch a cluster this tool
//! did not make.
//!
//! The steps are separate plain-value functions so that the CLI can show each one: where the
//! snapshot comes from ([`source`]), the stack's current cluster it is restored beside
//! ([`target`]), the restore and its writer ([`create`]), and the cleanup ([`cleanup`]).

mod cleanup;
mod create;
mod error;
mod naming;
mod source;
mod target;
mod temporary;

pub use cleanup::{CleanupProgress, cleanup_candidates, delete_temporary};
pub use create::{
    DEFAULT_SCALING, RestoreProgress, RestoreRequest, WRITER_INSTANCE_CLASS, restore_temporary,
    wait_available,
};
pub use error::RestoreError;
pub use naming::{temporary_identifier, writer_identifier};
pub use source::{
    RestoreSource, SnapshotState, describe_snapshot, newest_record, read_record,
    source_for_snapshot, source_from_record,
};
pub use target::{ServerlessScaling, StackCluster, stack_cluster};
pub use temporary::{NotTemporaryReason, TemporaryCluster, list_temporary, temporary_cluster};

/// Which stack a temporary cluster was restored for (the tool tag says who made it).
pub const STACK_TAG_KEY: &str = "cdk-hook:stack";
/// Why the tool made it, so that other tool-made clusters (none today) are never mistaken for it.
pub const PURPOSE_TAG_KEY: &str = "cdk-hook:purpose";
pub const PURPOSE_RESTORE: &str = "restore";
/// The snapshot it was restored from.
pub const SOURCE_SNAPSHOT_TAG_KEY: &str = "cdk-hook:source-snapshot";
