//! A rotating secret: the recorded password would go stale at the next rotation. `deploy` says so
//! and turns rotation off only with consent (`--disable-rotation`; asked at a terminal).

use tests::deployed::{Deployed, FAST, deployed_with_bots};
use tests::output;
use tests::seed::SeedPlan;
use tests::xtask::{self, printed};

/// Turns rotation on through the emulator (a real rotation needs a Lambda function).
fn enable_rotation(env: &Deployed, secret_arn: &str) {
    ureq::post(&format!(
        "{}/moto-api/emulator/rotation",
        env.emulator.endpoint()
    ))
    .send_json(serde_json::json!({"secret_id": secret_arn}))
    .expect("turn rotation on");
}

async fn rotation_enabled(env: &Deployed, secret_arn: &str) -> bool {
    env.secrets()
        .describe_secret()
        .secret_id(secret_arn)
        .send()
        .await
        .unwrap()
        .rotation_enabled()
        .unwrap_or(false)
}

fn deploy(env: &Deployed, extra: &[&str], release: &str) -> std::process::Output {
    let mut args = vec!["deploy", "--on-replace", "credentials", "--yes"];
    args.extend_from_slice(extra);
    args.extend(["--", "-c", release, "--no-previous-parameters"]);
    xtask::run_with(&env.emulator, env.app.dir(), &args, FAST)
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_is_reported_and_turned_off_only_with_consent() {
    let (env, _) = deployed_with_bots(SeedPlan::default()).await;
    let secret = output(&env.outputs, "DbConfigSecretArn").to_owned();
    enable_rotation(&env, &secret);
    assert!(rotation_enabled(&env, &secret).await);

    let without = deploy(&env, &[], "release=v1");
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert_eq!(without.status.code(), Some(0), "{}", printed(&without));
    assert!(
        stderr.contains("the next rotation makes the recorded password stale")
            && stderr.contains("rotation left on (pass --disable-rotation"),
        "{stderr}"
    );
    assert!(
        rotation_enabled(&env, &secret).await,
        "no consent, no change"
    );

    // Back to v0 replaces the cluster again: this time with consent.
    let with = deploy(&env, &["--disable-rotation"], "release=v0");
    let stderr = String::from_utf8_lossy(&with.stderr);
    assert_eq!(with.status.code(), Some(0), "{}", printed(&with));
    assert!(stderr.contains("rotation turned off"), "{stderr}");
    assert!(!rotation_enabled(&env, &secret).await);
}
