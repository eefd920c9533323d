//! How an error reads: the one formatter of an error chain for every crate of the workspace, and
//! [`AwsError`], an AWS call's failure kept as its source but said in one line.
//!
//! The SDK's `Display` of an error says only "service error" or "dispatch failure" and its `Debug`
//! dumps the raw response (headers, extensions: about 1,500 characters), so neither is shown to a
//! user. What they need is the service's error code and message, or, when no answer came, why.

use std::error::Error;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// An AWS SDK error, boxed: errors of different services and operations in one type.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// A failed AWS call: `"<operation> failed: <code>: <message>"` when the service answered, the
/// causes' text when it did not (timeout, connection, credentials). The SDK error is the source.
/// Boxed, so that the error enums that carry it stay small. Its `Debug` leaves the SDK error
/// out too: a `{:?}` or an `unwrap` must not print the raw response either.
pub struct AwsError(Box<Inner>);

struct Inner {
    operation: &'static str,
    summary: String,
    code: Option<String>,
    source: BoxError,
}

impl AwsError {
    pub fn new<E>(operation: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    {
        Self(Box::new(Inner {
            operation,
            summary: summary(&err),
            code: err.code().map(str::to_owned),
            source: Box::new(err),
        }))
    }

    /// An error of the AWS layer that has no service answer (a request the SDK could not build).
    pub fn other<E>(operation: &'static str, err: E) -> Self
    where
        E: Error + Send + Sync + 'static,
    {
        Self(Box::new(Inner {
            operation,
            summary: chain(&err),
            code: None,
            source: Box::new(err),
        }))
    }

    /// The AWS operation that failed, e.g. `RunTask`.
    pub fn operation(&self) -> &'static str {
        self.0.operation
    }

    /// The service's error code, when it answered.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// `<code>: <message>`, or the causes when no answer came: without the operation.
    pub fn summary(&self) -> &str {
        &self.0.summary
    }
}

impl std::fmt::Debug for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsError")
            .field("operation", &self.0.operation)
            .field("code", &self.0.code)
            .field("summary", &self.0.summary)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.0.operation, self.0.summary)
    }
}

impl Error for AwsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0.source)
    }
}

/// An AWS answer that lacks what the call exists for (no ARN, no value, no update), or a request
/// that could not be built: `"<operation> failed: <detail>"`.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct UnexpectedAnswer {
    pub operation: &'static str,
    pub detail: String,
}

/// The two ways an AWS call fails, for every library error type that makes AWS calls: its
/// constructors, written once for all of them (`CdkHookError::aws("GetTemplate", e)`).
pub trait AwsFailure: From<AwsError> + From<UnexpectedAnswer> {
    /// The call failed; `err` is kept as the source.
    fn aws<E>(operation: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    {
        AwsError::new(operation, err).into()
    }

    /// The call answered without what it exists for.
    fn unexpected(operation: &'static str, detail: impl Into<String>) -> Self {
        UnexpectedAnswer {
            operation,
            detail: detail.into(),
        }
        .into()
    }
}

impl<T: From<AwsError> + From<UnexpectedAnswer>> AwsFailure for T {}

/// What a user needs from an AWS SDK error: the service's `<code>: <message>` when it answered,
/// the causes otherwise (no credentials, no connection, a timeout), never the SDK's debug dump.
pub fn summary<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("(no message)")),
        None => chain(err),
    }
}

/// An error and its causes as one line: each cause's text once (a cause a message already quotes
/// is not repeated), stopping at an [`AwsError`], whose line already says what its SDK error
/// would. A missing-credentials cause gets what to do about it.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut current = err;
    while current.downcast_ref::<AwsError>().is_none() {
        let Some(source) = current.source() else {
            break;
        };
        let s_text = source.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        current = source;
    }
    if text.contains("loading credentials") || text.contains("no credentials") {
        text.push_str(
            " (no AWS credentials found: export AWS_PROFILE and run `aws sso login` for SSO, pass \
             --profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading the plan")]
    struct Outer(#[source] AwsError);

    #[test]
    fn a_service_error_reads_as_its_code_and_message_and_stays_the_source() {
        let meta = ErrorMetadata::builder()
            .code("ThrottlingException")
            .message("Rate exceeded")
            .build();
        let err = AwsError::new("RunTask", meta);
        assert_eq!(
            err.to_string(),
            "RunTask failed: ThrottlingException: Rate exceeded"
        );
        assert_eq!(err.code(), Some("ThrottlingException"));
        assert!(err.source().is_some());
        let debug = format!("{err:?}");
        assert!(
            debug.len() < 200 && debug.contains("Rate exceeded"),
            "{debug}"
        );
        assert_eq!(
            chain(&Outer(err)),
            "reading the plan: RunTask failed: ThrottlingException: Rate exceeded"
        );
    }

    #[test]
    fn causes_are_joined_once() {
        let io = std::io::Error::other("disk full");
        #[derive(Debug, thiserror::Error)]
        #[error("writing x: {0}")]
        struct Quoting(#[source] std::io::Error);
        assert_eq!(chain(&Quoting(io)), "writing x: disk full");
    }
}
