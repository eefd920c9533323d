//! The words for each gating resource's safeguard, shown before anyone decides: what happens to
//! the data, what the tool can take, and, plainly, what it cannot.

use cdk_hook::safeguard::{DataFate, Guarded, Measure};

/// One line per gating resource: `LOGICAL (TYPE PHYSICAL) is FATE: SAFEGUARD`.
pub fn line(g: &Guarded) -> String {
    let physical = g
        .physical_id
        .as_deref()
        .map(|p| format!(" {p}"))
        .unwrap_or_default();
    format!(
        "{} ({}{physical}) is {}: {}",
        g.logical_id,
        g.resource_type,
        g.fate.words(),
        safeguard_words(g)
    )
}

fn safeguard_words(g: &Guarded) -> String {
    let size = g
        .size
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    match &g.measure {
        Measure::ClusterSnapshot => "a manual cluster snapshot (CreateDBClusterSnapshot; it outlives \
             the cluster) can be taken, and the credentials recorded for a restore"
            .to_owned(),
        Measure::ClusterFinalSnapshot => "its DeletionPolicy Snapshot already has CloudFormation take a \
             final snapshot before deleting it, so no manual snapshot is taken; the credentials can \
             be recorded for a restore"
            .to_owned(),
        Measure::InstanceSnapshot => {
            "a manual DB snapshot (CreateDBSnapshot; it outlives the instance) can be taken".to_owned()
        }
        Measure::FollowsCluster { cluster } => format!(
            "an Aurora member of cluster {cluster}: the cluster volume holds the data, not the \
             instance, so there is nothing to take for it"
        ),
        Measure::TableBackup => format!(
            "an on-demand backup (CreateBackup; it outlives the table, and RestoreTableFromBackup \
             makes a new table from it) can be taken{size}"
        ),
        Measure::BucketWithoutSnapshot => bucket_words(g),
        Measure::Unsupported => format!(
            "this tool has no safeguard for {}: back it up yourself before you continue",
            g.resource_type
        ),
    }
}

fn bucket_words(g: &Guarded) -> String {
    let name = g.physical_id.as_deref().unwrap_or("BUCKET");
    let objects = match &g.size {
        Some(size) => format!("it holds {size}"),
        None => format!(
            "its object count was not read (`aws s3 ls s3://{name} --recursive --summarize` counts them)"
        ),
    };
    let after = match g.fate {
        DataFate::Orphaned => "the bucket stays in the account, but the stack stops using it",
        _ => "whatever the bucket holds is lost with it",
    };
    format!(
        "S3 has no snapshot, so nothing can be taken for it: {after}; {objects}. Copy what you \
         need first (`aws s3 sync s3://{name} DIR`)"
    )
}

/// What the snapshot choice takes, for the menu: `the manual cluster snapshot` when it is one,
/// `the 3 snapshots and backups listed above` when there are several.
pub fn snapshot_nouns(guarded: &[Guarded]) -> String {
    let taken: Vec<&Guarded> = guarded
        .iter()
        .filter(|g| g.measure.takes_snapshot())
        .collect();
    match taken.as_slice() {
        [one] => match one.measure {
            Measure::ClusterSnapshot => "the manual cluster snapshot",
            Measure::InstanceSnapshot => "the manual DB snapshot",
            _ => "the on-demand backup",
        }
        .to_owned(),
        several => format!("the {} snapshots and backups listed above", several.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(ty: &str, id: Option<&str>, fate: DataFate, measure: Measure) -> Guarded {
        Guarded {
            logical_id: "Res".into(),
            resource_type: ty.into(),
            physical_id: id.map(str::to_owned),
            fate,
            measure,
            size: None,
        }
    }

    #[test]
    fn a_removed_cluster_with_a_snapshot_policy_says_the_policy_keeps_a_snapshot() {
        let g = guarded(
            "AWS::RDS::DBCluster",
            Some("vectorstore-abc"),
            DataFate::DestroyedWithSnapshot,
            Measure::ClusterFinalSnapshot,
        );
        let l = line(&g);
        assert!(
            l.starts_with(
                "Res (AWS::RDS::DBCluster vectorstore-abc) is destroyed with a final snapshot: \
                 its DeletionPolicy Snapshot already has CloudFormation take a final snapshot"
            ),
            "{l}"
        );
        assert!(l.contains("no manual snapshot is taken"), "{l}");
    }

    #[test]
    fn a_bucket_says_plainly_that_s3_has_no_snapshot() {
        let mut g = guarded(
            "AWS::S3::Bucket",
            Some("docs-bucket"),
            DataFate::Destroyed,
            Measure::BucketWithoutSnapshot,
        );
        let l = line(&g);
        assert!(
            l.contains("is destroyed: S3 has no snapshot, so nothing can be taken for it"),
            "{l}"
        );
        assert!(l.contains("lost with it"), "{l}");
        assert!(
            l.contains("`aws s3 ls s3://docs-bucket --recursive --summarize`"),
            "{l}"
        );
        assert!(l.contains("`aws s3 sync s3://docs-bucket DIR`"), "{l}");
        g.fate = DataFate::Orphaned;
        g.size = Some("at least 1000 objects".into());
        let l = line(&g);
        assert!(l.contains("stays in the account"), "{l}");
        assert!(l.contains("it holds at least 1000 objects"), "{l}");
    }

    #[test]
    fn tables_members_and_other_types() {
        let mut table = guarded(
            "AWS::DynamoDB::Table",
            Some("t"),
            DataFate::Orphaned,
            Measure::TableBackup,
        );
        table.size = Some("12 items as DynamoDB last counted".into());
        let l = line(&table);
        assert!(
            l.contains("is orphaned (removed from the stack, kept in the account)"),
            "{l}"
        );
        assert!(l.contains("RestoreTableFromBackup"), "{l}");
        assert!(l.ends_with("(12 items as DynamoDB last counted)"), "{l}");
        let member = guarded(
            "AWS::RDS::DBInstance",
            None,
            DataFate::Replaced,
            Measure::FollowsCluster {
                cluster: "Cluster".into(),
            },
        );
        assert!(line(&member).contains("an Aurora member of cluster Cluster"));
        let pool = guarded(
            "AWS::Cognito::UserPool",
            None,
            DataFate::Replaced,
            Measure::Unsupported,
        );
        assert!(line(&pool).contains("no safeguard for AWS::Cognito::UserPool"));
    }

    #[test]
    fn the_menu_names_what_the_snapshot_choice_takes() {
        let cluster = guarded("C", None, DataFate::Replaced, Measure::ClusterSnapshot);
        let table = guarded("T", None, DataFate::Destroyed, Measure::TableBackup);
        assert_eq!(
            snapshot_nouns(std::slice::from_ref(&cluster)),
            "the manual cluster snapshot"
        );
        assert_eq!(
            snapshot_nouns(&[cluster, table.clone(), table]),
            "the 3 snapshots and backups listed above"
        );
    }
}
