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
pub use error::{NotTemporaryReason, RestoreError};
pub use naming::{
    PURPOSE_RESTORE, PURPOSE_TAG_KEY, SOURCE_SNAPSHOT_TAG_KEY, STACK_TAG_KEY, temporary_identifier,
    writer_identifier,
};
pub use source::{
    RestoreSource, SnapshotState, describe_snapshot, newest_record, read_record,
    source_for_snapshot, source_from_record,
};
pub use target::{ServerlessScaling, StackCluster, stack_cluster};
pub use temporary::{TemporaryCluster, list_temporary, temporary_cluster};
