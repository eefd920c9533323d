//! The copy task's log: the group it writes to, and its stream read back in full.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsError;

use super::error::CopyError;
use crate::error_text::AwsFailure as _;

/// Creates the group unless it exists: the awslogs driver does not create it by default, and the
/// task would fail to start without it.
pub async fn ensure_group(
    logs: &Client,
    group: &str,
    tags: &[(String, String)],
) -> Result<(), CopyError> {
    let mut request = logs.create_log_group().log_group_name(group);
    for (k, v) in tags {
        request = request.tags(k, v);
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateLogGroupError::ResourceAlreadyExistsException(_))
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(CopyError::aws("CreateLogGroup", e)),
    }
}

/// Every message of the stream, oldest first; none when the stream does not exist (a task that
/// stopped before its container started never wrote one).
pub async fn read_stream(
    logs: &Client,
    group: &str,
    stream: &str,
) -> Result<Vec<String>, CopyError> {
    // GetLogEvents pages forward until the token repeats; the paginator stops there.
    let mut pages = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .into_paginator()
        .send();
    let mut messages = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => messages.extend(
                page.events()
                    .iter()
                    .filter_map(|e| e.message().map(str::to_owned)),
            ),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetLogEventsError::ResourceNotFoundException(_))
                ) =>
            {
                break;
            }
            Err(e) => return Err(CopyError::aws("GetLogEvents", e)),
        }
    }
    Ok(messages)
}
