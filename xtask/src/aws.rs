//! One `SdkConfig` for the whole run (the AWS SDK examples' habit): every service client is built
//! from it, so region, profile, credentials and `AWS_ENDPOINT_URL` (the local emulator) agree.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::flags::AwsOptions;

/// The async runtime for the subcommands that talk to AWS; `main` stays synchronous.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// How long one attempt of any AWS call may take before the SDK gives up on it and retries.
/// Without it an attempt whose answer never comes (a dropped packet, a stuck proxy) waits forever,
/// and so would the run. Every call this tool makes answers in well under a second.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Test knob: the emulator's delayed answers are held seconds, not minutes.
const ATTEMPT_TIMEOUT_ENV: &str = "XTASK_ATTEMPT_TIMEOUT_MS";
/// The SDK's own default, kept: a timeout config given to the loader replaces the defaults.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

fn timeouts() -> TimeoutConfig {
    let attempt =
        crate::knobs::env_duration(ATTEMPT_TIMEOUT_ENV, ATTEMPT_TIMEOUT).unwrap_or_else(|e| {
            eprintln!("warning: {e}; using {}s", ATTEMPT_TIMEOUT.as_secs());
            ATTEMPT_TIMEOUT
        });
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .build()
}

pub async fn sdk_config(opts: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts());
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}
