//! Which safeguard fits a gating resource, by its type and its data's fate: plain data, decided
//! from the plan alone, so the prompt can say what each choice will do before anything is done.

use serde::{Deserialize, Serialize};

use super::fate::{DataFate, data_fate};
use crate::plan::{ReplacementPlan, ResourceVerdict};

pub const CLUSTER_TYPE: &str = "AWS::RDS::DBCluster";
pub const INSTANCE_TYPE: &str = "AWS::RDS::DBInstance";
pub const TABLE_TYPE: &str = "AWS::DynamoDB::Table";
pub const GLOBAL_TABLE_TYPE: &str = "AWS::DynamoDB::GlobalTable";
pub const BUCKET_TYPE: &str = "AWS::S3::Bucket";

/// What can be taken before the change set runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Measure {
    /// `CreateDBClusterSnapshot` (and the credentials can be recorded).
    ClusterSnapshot,
    /// A removed cluster whose DeletionPolicy Snapshot has CloudFormation keep a final snapshot:
    /// no manual one is needed (the credentials can still be recorded).
    ClusterFinalSnapshot,
    /// `CreateDBSnapshot` of a standalone RDS instance.
    InstanceSnapshot,
    /// An Aurora member instance: the cluster volume holds the data, not the instance.
    FollowsCluster { cluster: String },
    /// `CreateBackup`: an on-demand DynamoDB backup, which outlives the table.
    TableBackup,
    /// S3 has no snapshot: nothing can be taken; the bucket's objects go with it.
    BucketWithoutSnapshot,
    /// A guarded type this tool has no safeguard for.
    Unsupported,
}

impl Measure {
    /// A snapshot or backup the `snapshot` choice takes.
    pub fn takes_snapshot(&self) -> bool {
        matches!(
            self,
            Measure::ClusterSnapshot | Measure::InstanceSnapshot | Measure::TableBackup
        )
    }

    /// A cluster whose credentials the `credentials` choice records.
    pub fn records_credentials(&self) -> bool {
        matches!(
            self,
            Measure::ClusterSnapshot | Measure::ClusterFinalSnapshot
        )
    }
}

/// One gating resource with its data's fate and its safeguard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarded {
    pub logical_id: String,
    pub resource_type: String,
    /// From the change set, or looked up in the stack (`survey`); `None` before that.
    pub physical_id: Option<String>,
    pub fate: DataFate,
    pub measure: Measure,
    /// A fact worth showing (the bucket's object count, the table's item count), when read.
    pub size: Option<String>,
}

/// The safeguard of each gating resource, in plan order.
pub fn measures(plan: &ReplacementPlan) -> Vec<Guarded> {
    plan.gating()
        .map(|v| Guarded {
            logical_id: v.logical_id.clone(),
            resource_type: v.resource_type.clone(),
            physical_id: v.physical_id.clone(),
            fate: data_fate(v),
            measure: measure_of(plan, v),
            size: None,
        })
        .collect()
}

fn measure_of(plan: &ReplacementPlan, v: &ResourceVerdict) -> Measure {
    match v.resource_type.as_str() {
        CLUSTER_TYPE if data_fate(v) == DataFate::DestroyedWithSnapshot => {
            Measure::ClusterFinalSnapshot
        }
        CLUSTER_TYPE => Measure::ClusterSnapshot,
        // The writer of a replaced cluster follows it (`caused_by`); whether another instance
        // is a member is known only from RDS (`survey`).
        INSTANCE_TYPE => match following_cluster(plan, v) {
            Some(cluster) => Measure::FollowsCluster { cluster },
            None => Measure::InstanceSnapshot,
        },
        TABLE_TYPE | GLOBAL_TABLE_TYPE => Measure::TableBackup,
        BUCKET_TYPE => Measure::BucketWithoutSnapshot,
        _ => Measure::Unsupported,
    }
}

fn following_cluster(plan: &ReplacementPlan, v: &ResourceVerdict) -> Option<String> {
    let parent = v.caused_by.as_deref()?;
    plan.resources
        .iter()
        .find(|r| {
            r.logical_id == parent
                && r.nested_stack == v.nested_stack
                && r.resource_type == CLUSTER_TYPE
        })
        .map(|r| r.logical_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GuardClass;
    use crate::plan::{Action, Fate, Replacement, Sources};

    pub(crate) fn verdict(
        id: &str,
        ty: &str,
        action: Action,
        fate: Option<Fate>,
        caused_by: Option<&str>,
    ) -> ResourceVerdict {
        ResourceVerdict {
            logical_id: id.to_owned(),
            physical_id: None,
            resource_type: ty.to_owned(),
            nested_stack: None,
            action,
            replacement: if action == Action::Remove {
                Replacement::No
            } else {
                Replacement::Will
            },
            guard: if ty == CLUSTER_TYPE {
                GuardClass::MigrationTrigger
            } else {
                GuardClass::Stateful
            },
            causes: Vec::new(),
            fate,
            caused_by: caused_by.map(str::to_owned),
            renamed_to: None,
            renamed_from: None,
            successors: Vec::new(),
            sources: Sources::default(),
            member_of: None,
            data_fate: crate::plan::DataFate::default(),
        }
    }

    fn measure(plan: &ReplacementPlan, id: &str) -> (DataFate, Measure) {
        let g = measures(plan);
        let g = g.iter().find(|g| g.logical_id == id).unwrap();
        (g.fate, g.measure.clone())
    }

    #[test]
    fn each_kind_of_data_gets_its_safeguard() {
        use Action::{Modify, Remove};
        let plan = ReplacementPlan::new(
            "S".into(),
            None,
            vec![
                verdict(
                    "Replaced",
                    CLUSTER_TYPE,
                    Modify,
                    Some(Fate::Snapshotted),
                    None,
                ),
                verdict(
                    "Writer",
                    INSTANCE_TYPE,
                    Modify,
                    Some(Fate::Deleted),
                    Some("Replaced"),
                ),
                verdict("Gone", CLUSTER_TYPE, Remove, Some(Fate::Snapshotted), None),
                verdict("GoneToo", CLUSTER_TYPE, Remove, Some(Fate::Deleted), None),
                verdict("Db", INSTANCE_TYPE, Remove, Some(Fate::Deleted), None),
                verdict("Table", TABLE_TYPE, Remove, Some(Fate::Deleted), None),
                verdict("Kept", TABLE_TYPE, Remove, Some(Fate::Retained), None),
                verdict("NewKeys", TABLE_TYPE, Modify, Some(Fate::Deleted), None),
                verdict("Bucket", BUCKET_TYPE, Remove, None, None),
                verdict("Pool", "AWS::Cognito::UserPool", Modify, None, None),
            ],
        );
        let m = |id| measure(&plan, id);
        assert_eq!(
            m("Replaced"),
            (DataFate::Replaced, Measure::ClusterSnapshot)
        );
        assert_eq!(
            m("Writer").1,
            Measure::FollowsCluster {
                cluster: "Replaced".into()
            }
        );
        assert_eq!(
            m("Gone"),
            (
                DataFate::DestroyedWithSnapshot,
                Measure::ClusterFinalSnapshot
            )
        );
        assert_eq!(
            m("GoneToo"),
            (DataFate::Destroyed, Measure::ClusterSnapshot)
        );
        assert_eq!(m("Db"), (DataFate::Destroyed, Measure::InstanceSnapshot));
        assert_eq!(m("Table"), (DataFate::Destroyed, Measure::TableBackup));
        assert_eq!(m("Kept"), (DataFate::Orphaned, Measure::TableBackup));
        assert_eq!(m("NewKeys"), (DataFate::Replaced, Measure::TableBackup));
        assert_eq!(
            m("Bucket"),
            (DataFate::Destroyed, Measure::BucketWithoutSnapshot)
        );
        assert_eq!(m("Pool").1, Measure::Unsupported);
        assert!(Measure::ClusterFinalSnapshot.records_credentials());
        assert!(!Measure::ClusterFinalSnapshot.takes_snapshot());
        assert!(!Measure::BucketWithoutSnapshot.takes_snapshot());
    }
}
