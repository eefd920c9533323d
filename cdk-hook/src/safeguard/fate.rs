//! What a deploy does to a gating resource's data, in the words the safeguards are chosen by.
//! Read from the plan's own fields (the action, the replacement verdict, the old resource's
//! fate under DeletionPolicy / UpdateReplacePolicy) by one function, [`data_fate`], so that a
//! plan that carries its own per-resource fate can replace it in one place.

use serde::{Deserialize, Serialize};

use crate::plan::{Action, DataFate as PlanFate, Fate, ResourceVerdict};

/// The data's fate, per gating resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFate {
    /// A new physical resource takes its place (or may); the old one is deleted, retained or
    /// snapshotted by its UpdateReplacePolicy.
    Replaced,
    /// Removed from the stack and deleted (DeletionPolicy Delete, or a policy nobody could read:
    /// the safeguard assumes the worst).
    Destroyed,
    /// Removed and deleted after a final snapshot (DeletionPolicy Snapshot).
    DestroyedWithSnapshot,
    /// Removed from the stack but kept in the account with its data (DeletionPolicy Retain): the
    /// stack stops using it.
    Orphaned,
}

impl DataFate {
    pub fn is_removal(self) -> bool {
        self != DataFate::Replaced
    }

    /// The words the safeguard lines use.
    pub fn words(self) -> &'static str {
        match self {
            DataFate::Replaced => "replaced",
            DataFate::Destroyed => "destroyed",
            DataFate::DestroyedWithSnapshot => "destroyed with a final snapshot",
            DataFate::Orphaned => "orphaned (removed from the stack, kept in the account)",
        }
    }
}

/// The data fate of a gating verdict: the plan's own `data_fate` when the review set it; for a
/// verdict without one (a plan recorded by an older build), a Remove by its DeletionPolicy and
/// anything else (a replacement, a `may`, an `unknown`) as a replacement.
pub fn data_fate(v: &ResourceVerdict) -> DataFate {
    match v.data_fate {
        PlanFate::Replaced => return DataFate::Replaced,
        PlanFate::Destroyed => return DataFate::Destroyed,
        PlanFate::DestroyedWithSnapshot => return DataFate::DestroyedWithSnapshot,
        PlanFate::Orphaned => return DataFate::Orphaned,
        // Unknown: a Remove is taken as the worst (destroyed), anything else as a replacement.
        PlanFate::Unknown | PlanFate::Unchanged | PlanFate::FollowsCluster => {}
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
