//! One `SdkConfig` for the whole run (the AWS SDK examples' habit): every service client is built
//! from it, so region, profile, credentials and `AWS_ENDPOINT_URL` (the local emulator) agree.

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::flags::AwsOptions;

/// The async runtime for the subcommands that talk to AWS; `main` stays synchronous.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub async fn sdk_config(opts: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}
