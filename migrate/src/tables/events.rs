//! The table migration's progress, as events; the caller draws them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TablesEvent {
    /// A page of the source handled: items read, items written.
    Page { read: u64, written: u64 },
    /// The verification read this many source items more.
    Verified { read: u64 },
}
