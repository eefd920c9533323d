//! What taking the safeguards starts from (the user's choice, the clients and facts) and how a
//! Ctrl-C while one is made ends: shared by the decision (`safeguards.rs`), taking them
//! (`take.rs`) and the credential record (`credentials.rs`).

use std::path::PathBuf;

use cdk_hook::ReplacementPlan;

/// What the user chose for a guarded replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Safeguards {
    /// Every manual snapshot and on-demand backup that applies.
    pub snapshot: bool,
    /// The credentials of every replaced or removed cluster.
    pub credentials: bool,
}

/// The clients and facts the safeguards need.
pub struct SafeguardRun<'a> {
    pub cfn: &'a aws_sdk_cloudformation::Client,
    pub rds: &'a aws_sdk_rds::Client,
    pub ddb: &'a aws_sdk_dynamodb::Client,
    pub secrets: &'a aws_sdk_secretsmanager::Client,
    pub plan: &'a ReplacementPlan,
    pub change_set_id: &'a str,
    pub stack_dir: PathBuf,
    pub outputs: Vec<(String, String)>,
    pub disable_rotation: bool,
    pub interactive: bool,
}

/// Ctrl-C while a snapshot or backup is being made: the deploy stops before executing
/// anything, and the record names what the service goes on making.
#[derive(Debug)]
pub struct Interrupted {
    /// `snapshot` or `backup`.
    pub kind: &'static str,
    pub name: String,
    pub arn: Option<String>,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted while {} {} was being created (AWS goes on making it; delete it if you do not need it)",
            self.kind, self.name
        )
    }
}

impl std::error::Error for Interrupted {}
