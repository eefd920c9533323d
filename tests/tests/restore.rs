//! `cargo xtask restore` against the emulator with the real CDK CLI: after a guarded deploy
//! replaced the fixture's cluster (v0 -> v1), the recorded snapshot is restored into a temporary
//! cluster beside the new one, listed, and cleaned up; clusters the tool did not make are refused.

use std::process::Output;

use tests::deployed::{Deployed, deployed_with_bots};
use tests::restore_support::{
    Replaced, all_clusters, cluster_snapshot, instance, replace_with_safeguards, restore_env, tags,
};
use tests::seed::SeedPlan;
use tests::xtask::{self, printed};

fn restore(env: &Deployed, args: &[&str]) -> Output {
    let mut all = vec!["restore"];
    all.extend_from_slice(args);
    xtask::run_with(&env.emulator, env.app.dir(), &all, &restore_env())
}

fn assert_no_password(replaced: &Replaced, run: &Output) {
    let all = printed(run);
    assert!(
        !all.contains(&replaced.password),
        "a run printed the database password"
    );
}

async fn cluster_ids(env: &Deployed) -> Vec<String> {
    all_clusters(env)
        .await
        .iter()
        .filter_map(|c| c.db_cluster_identifier().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_makes_a_tagged_temporary_cluster_beside_the_new_one_and_cleans_up_only_its_own() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;

    // No record yet: nothing to restore, and the error says how to get one.
    let no_record = restore(&env, &["--state-dir", "empty-state"]);
    let stderr = String::from_utf8_lossy(&no_record.stderr);
    assert_eq!(no_record.status.code(), Some(1), "{}", printed(&no_record));
    assert!(
        stderr.contains("no replacement record")
            && stderr.contains("--on-replace snapshot|both")
            && stderr.contains("--snapshot"),
        "{stderr}"
    );

    let replaced = replace_with_safeguards(&env).await;
    let new = all_clusters(&env)
        .await
        .into_iter()
        .find(|c| c.db_cluster_identifier() == Some(replaced.new_cluster.as_str()))
        .expect("the stack's new cluster");

    // Restore: from the recorded snapshot, into the new cluster's network, same engine.
    let run = restore(&env, &[]);
    assert_no_password(&replaced, &run);
    assert_eq!(run.status.code(), Some(0), "{}", printed(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&replaced.snapshot),
        "names the snapshot: {stderr}"
    );
    assert!(
        stderr.contains(new.db_subnet_group().unwrap()),
        "names the subnet group: {stderr}"
    );

    let temporary: Vec<_> = all_clusters(&env)
        .await
        .into_iter()
        .filter(|c| c.db_cluster_identifier() != Some(replaced.new_cluster.as_str()))
        .collect();
    assert_eq!(temporary.len(), 1, "one cluster restored: {temporary:?}");
    let temp = &temporary[0];
    let temp_id = temp.db_cluster_identifier().unwrap().to_owned();
    assert!(temp_id.starts_with("xtask-bedrockchatstack-"), "{temp_id}");
    assert_eq!(temp.status(), Some("available"));
    assert_eq!(temp.db_subnet_group(), new.db_subnet_group());
    let groups = |c: &aws_sdk_rds::types::DbCluster| -> Vec<String> {
        c.vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
            .collect()
    };
    assert!(!groups(&new).is_empty());
    assert_eq!(
        groups(temp),
        groups(&new),
        "the new cluster's security groups"
    );
    assert_eq!(temp.engine(), new.engine());
    assert_eq!(temp.engine_version(), new.engine_version());
    // The new cluster's capacity range; without one (the emulator provisions none), the default.
    let range = |s: &aws_sdk_rds::types::ServerlessV2ScalingConfigurationInfo| {
        (s.min_capacity().unwrap(), s.max_capacity().unwrap())
    };
    let scaling = range(
        temp.serverless_v2_scaling_configuration()
            .expect("a serverless v2 range"),
    );
    let expected = new
        .serverless_v2_scaling_configuration()
        .map(range)
        .unwrap_or((0.5, 4.0));
    assert_eq!(scaling, expected);
    let temp_tags = tags(temp);
    for expected in [
        ("cdk-hook:made-by", "cargo-xtask-deploy"),
        ("cdk-hook:stack", "BedrockChatStack"),
        ("cdk-hook:purpose", "restore"),
        ("cdk-hook:source-snapshot", replaced.snapshot.as_str()),
    ] {
        assert!(
            temp_tags
                .iter()
                .any(|(k, v)| (k.as_str(), v.as_str()) == expected),
            "{expected:?} in {temp_tags:?}"
        );
    }
    let members: Vec<_> = temp
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier().map(str::to_owned))
        .collect();
    assert_eq!(members.len(), 1, "{members:?}");
    let writer = instance(&env, &members[0]).await.expect("the writer");
    assert_eq!(writer.db_instance_class(), Some("db.serverless"));
    assert_eq!(writer.db_instance_status(), Some("available"));
    assert_eq!(writer.engine(), new.engine());
    assert!(temp.db_cluster_members()[0].is_cluster_writer() == Some(true));

    // Printed once the wait saw both available (the emulator holds a restore `creating`).
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("status") && l.ends_with(" available")),
        "{stdout}"
    );
    // What the user connects with: endpoint, port, the credentials file's path.
    assert!(stdout.contains(temp.endpoint().unwrap()), "{stdout}");
    assert!(stdout.contains("5432"), "{stdout}");
    assert!(
        stdout.contains(&replaced.credentials_file.display().to_string()),
        "{stdout}"
    );

    // --list shows it, not the stack's own cluster.
    let list = restore(&env, &["--list"]);
    assert_eq!(list.status.code(), Some(0), "{}", printed(&list));
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains(&temp_id) && listed.contains(&replaced.snapshot),
        "{listed}"
    );
    assert!(!listed.contains(&replaced.new_cluster), "{listed}");

    // The stack's own cluster is refused, even with --yes.
    let before = cluster_ids(&env).await;
    let foreign = restore(&env, &["--cleanup", &replaced.new_cluster, "--yes"]);
    let stderr = String::from_utf8_lossy(&foreign.stderr);
    assert_eq!(foreign.status.code(), Some(1), "{}", printed(&foreign));
    assert!(
        stderr.contains("refusing to delete") && stderr.contains(&replaced.new_cluster),
        "{stderr}"
    );
    assert_eq!(cluster_ids(&env).await, before, "nothing deleted");

    // No terminal, no --yes: refused with exit 2, naming the flag.
    let unconfirmed = restore(&env, &["--cleanup"]);
    let stderr = String::from_utf8_lossy(&unconfirmed.stderr);
    assert_eq!(
        unconfirmed.status.code(),
        Some(2),
        "{}",
        printed(&unconfirmed)
    );
    assert!(
        stderr.contains("--yes") && stderr.contains(&temp_id),
        "{stderr}"
    );
    assert_eq!(cluster_ids(&env).await, before, "nothing deleted");

    // --yes: the temporary cluster and its writer go; the stack's cluster and the snapshot stay.
    let cleanup = restore(&env, &["--cleanup", "--yes"]);
    assert_eq!(cleanup.status.code(), Some(0), "{}", printed(&cleanup));
    assert_eq!(cluster_ids(&env).await, vec![replaced.new_cluster.clone()]);
    assert!(instance(&env, &members[0]).await.is_none(), "writer gone");
    let stack_writers = env.resources_of_type("AWS::RDS::DBInstance").await;
    for (_, writer) in &stack_writers {
        assert!(instance(&env, writer).await.is_some(), "{writer} kept");
    }
    assert_eq!(
        cluster_snapshot(&env, &replaced.snapshot)
            .await
            .and_then(|s| s.status().map(str::to_owned))
            .as_deref(),
        Some("available")
    );

    // Nothing left: said so, success.
    let again = restore(&env, &["--cleanup"]);
    assert_eq!(again.status.code(), Some(0), "{}", printed(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to clean up"),
        "{}",
        printed(&again)
    );

    // --snapshot: a missing one is a clear error; by ARN it is restored, and the record that
    // names it still says where the credentials are; a cleanup by identifier deletes it.
    let missing = restore(&env, &["--snapshot", "no-such-snapshot"]);
    assert_eq!(missing.status.code(), Some(1), "{}", printed(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no-such-snapshot not found"),
        "{}",
        printed(&missing)
    );
    assert_eq!(cluster_ids(&env).await, vec![replaced.new_cluster.clone()]);
    let arn = cluster_snapshot(&env, &replaced.snapshot)
        .await
        .and_then(|s| s.db_cluster_snapshot_arn().map(str::to_owned))
        .expect("the snapshot's ARN");
    let by_arn = restore(&env, &["--snapshot", &arn]);
    assert_no_password(&replaced, &by_arn);
    assert_eq!(by_arn.status.code(), Some(0), "{}", printed(&by_arn));
    assert!(
        String::from_utf8_lossy(&by_arn.stdout)
            .contains(&replaced.credentials_file.display().to_string()),
        "{}",
        printed(&by_arn)
    );
    let ids = cluster_ids(&env).await;
    let second: Vec<_> = ids
        .iter()
        .filter(|id| **id != replaced.new_cluster)
        .collect();
    assert_eq!(second.len(), 1, "{ids:?}");
    let by_id = restore(&env, &["--cleanup", second[0], "--yes"]);
    assert_eq!(by_id.status.code(), Some(0), "{}", printed(&by_id));
    assert_eq!(cluster_ids(&env).await, vec![replaced.new_cluster.clone()]);
}
