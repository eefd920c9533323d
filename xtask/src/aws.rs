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

/// What a user needs from an AWS SDK error: the service's code and message, or, when the call
/// never got an answer, why (no credentials, no connection), without the SDK's debug dump.
pub fn explain<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> String
where
    E: std::error::Error + aws_sdk_cloudformation::error::ProvideErrorMetadata + 'static,
{
    use aws_sdk_cloudformation::error::ProvideErrorMetadata;
    if let (Some(code), message) = (err.code(), err.message()) {
        return format!("{code}: {}", message.unwrap_or("(no message)"));
    }
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    let text = chain.join(": ");
    if text.contains("loading credentials") || text.contains("no credentials") {
        "no AWS credentials found: export AWS_PROFILE (and run `aws sso login` for SSO), pass \
         --profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            .to_owned()
    } else {
        text
    }
}
