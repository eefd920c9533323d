//! The starting point most integration tests share: an emulator, the fixture app deployed at v0,
//! its outputs, and seeded bots.

use std::collections::BTreeMap;

use crate::seed::{SeedPlan, SeededBot, seed_bots};
use crate::{Emulator, FixtureApp, Release, STACK, output, stack_outputs};

/// Poll fast: the emulator's tasks run for a fraction of a second and its snapshots are
/// available at once.
pub const FAST: &[(&str, &str)] = &[
    ("MIGRATE_POLL_INTERVAL_MS", "100"),
    ("MIGRATE_BACKOFF_BASE_MS", "50"),
    ("XTASK_SNAPSHOT_POLL_MS", "100"),
    ("XTASK_STACK_POLL_MS", "100"),
];

pub struct Deployed {
    pub emulator: Emulator,
    pub app: FixtureApp,
    pub config: aws_config::SdkConfig,
    pub outputs: BTreeMap<String, String>,
}

impl Deployed {
    pub fn cfn(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    pub fn rds(&self) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&self.config)
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }
}

/// The fixture at v0 with `plan`'s bots in its conversation table.
pub async fn deployed_with_bots(plan: SeedPlan) -> (Deployed, Vec<SeededBot>) {
    let emulator = Emulator::start();
    let app = FixtureApp::deployed(&emulator, Release::V0);
    let config = emulator.sdk_config().await;
    let outputs = stack_outputs(&aws_sdk_cloudformation::Client::new(&config), STACK).await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let bots = seed_bots(
        &ddb,
        output(&outputs, "DatabaseConversationTableName"),
        plan,
    )
    .await;
    (
        Deployed {
            emulator,
            app,
            config,
            outputs,
        },
        bots,
    )
}
