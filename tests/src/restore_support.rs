//! For `restore`'s tests: the fixture replaced by a guarded deploy (snapshot and credentials
//! recorded), and what RDS says about clusters and instances by identifier.

use std::path::PathBuf;

use aws_sdk_rds::types::{DbCluster, DbClusterSnapshot, DbInstance};
use serde_json::Value;

use crate::deployed::{Deployed, FAST, to_v1};
use crate::output;
use crate::xtask::{self, printed};

/// [`FAST`], and restore's own poll interval: the emulator's restores take a few polls.
pub fn restore_env() -> Vec<(&'static str, &'static str)> {
    let mut env = FAST.to_vec();
    env.push(("XTASK_RESTORE_POLL_MS", "50"));
    env
}

/// What the guarded deploy to v1 left behind for the restore path.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub record: PathBuf,
    pub snapshot: String,
    pub credentials_file: PathBuf,
    /// The replaced cluster's password, which the restored cluster keeps: never to be printed.
    pub password: String,
    /// The stack's cluster after the replacement.
    pub new_cluster: String,
}

/// `xtask deploy --on-replace both --migrate never` to v1: the cluster is replaced after a
/// manual snapshot and a credential record, and no migration runs.
pub async fn replace_with_safeguards(env: &Deployed) -> Replaced {
    let secret_arn = output(&env.outputs, "DbConfigSecretArn").to_owned();
    let run = xtask::run_with(
        &env.emulator,
        env.app.dir(),
        &to_v1("deploy", &["--on-replace", "both", "--migrate", "never"]),
        FAST,
    );
    assert_eq!(run.status.code(), Some(0), "{}", printed(&run));
    let record = crate::deployed::replacement_record_path(env.app.dir());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let cluster = &doc["clusters"][0];
    let credentials_file = PathBuf::from(cluster["credentials_file"].as_str().expect("a file"));
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(&credentials_file).unwrap()).unwrap();
    let secret = env
        .secrets()
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .expect("the stack's secret");
    let current: Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    let password = recorded["secret"]["password"]
        .as_str()
        .expect("a recorded password")
        .to_owned();
    assert_eq!(current["password"].as_str(), Some(password.as_str()));
    let clusters = env.resources_of_type("AWS::RDS::DBCluster").await;
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    Replaced {
        record,
        snapshot: cluster["snapshot"]["identifier"]
            .as_str()
            .expect("a snapshot")
            .to_owned(),
        credentials_file,
        password,
        new_cluster: clusters[0].1.clone(),
    }
}

/// Every RDS cluster, by identifier order.
pub async fn all_clusters(env: &Deployed) -> Vec<DbCluster> {
    let mut clusters = crate::stack::db_clusters(&env.rds()).await;
    clusters.sort_by(|a, b| a.db_cluster_identifier().cmp(&b.db_cluster_identifier()));
    clusters
}

/// The instance, or `None` when RDS does not know it.
pub async fn instance(env: &Deployed, identifier: &str) -> Option<DbInstance> {
    let all = env
        .rds()
        .describe_db_instances()
        .send()
        .await
        .expect("describe instances");
    all.db_instances()
        .iter()
        .find(|i| i.db_instance_identifier() == Some(identifier))
        .cloned()
}

/// The cluster snapshot, or `None` when RDS does not know it.
pub async fn cluster_snapshot(env: &Deployed, identifier: &str) -> Option<DbClusterSnapshot> {
    let out = env
        .rds()
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(identifier)
        .send()
        .await
        .ok()?;
    out.db_cluster_snapshots().first().cloned()
}

/// A cluster's tags as (key, value).
pub fn tags(cluster: &DbCluster) -> Vec<(String, String)> {
    cluster
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
