//! What a deploy does to a gating resource's data, in the words the safeguards are chosen by.
//! Read from the plan's own fields (the action, the replacement verdict, the old resource's
//! fate under DeletionPolicy / UpdateReplacePolicy) by one function, [`data_fate`], so that a
//! plan that carries its own per-resource fate can replace it in one place.

pub use crate::plan::DataFate;
use crate::plan::{Action, Fate, ResourceVerdict};

/// The data fate of a gating verdict, always one of `Replaced`, `Destroyed`,
/// `DestroyedWithSnapshot` or `Orphaned` (the plan's own type, one `DataFate` for the crate): the
/// plan's own `data_fate` when the review set it; for a verdict without one (a plan recorded by an
/// older build), a Remove by its DeletionPolicy and anything else (a replacement, a `may`, an
/// `unknown`) as a replacement.
pub fn data_fate(v: &ResourceVerdict) -> DataFate {
    match v.data_fate {
        known @ (DataFate::Replaced
        | DataFate::Destroyed
        | DataFate::DestroyedWithSnapshot
        | DataFate::Orphaned) => return known,
        // Unknown: a Remove is taken as the worst (destroyed), anything else as a replacement.
        // `New` and the others never gate; should one reach here, it is read from its action.
        DataFate::Unknown | DataFate::Unchanged | DataFate::New | DataFate::FollowsCluster => {}
    }
    if v.action != Action::Remove {
        return DataFate::Replaced;
    }
    match v.fate {
        Some(Fate::Snapshotted) => DataFate::DestroyedWithSnapshot,
        Some(Fate::Retained) => DataFate::Orphaned,
        Some(Fate::Deleted | Fate::Unknown) | None => DataFate::Destroyed,
    }
}
