//! The facts the safeguards need before anyone decides: each gating resource's physical id,
//! whether an RDS instance is an Aurora member (RDS says, not the plan), and a table's size.
//! Read-only calls; nothing is made here.

use super::instance::instance_cluster;
use super::measure::{Guarded, Measure, measures};
use super::table::describe_table;
use crate::CdkHookError;
use crate::plan::ReplacementPlan;

/// The clients a survey reads from.
pub struct SurveyClients<'a> {
    pub cfn: &'a aws_sdk_cloudformation::Client,
    pub rds: &'a aws_sdk_rds::Client,
    pub ddb: &'a aws_sdk_dynamodb::Client,
}

/// [`measures`] of the plan, completed from the stack and the services.
pub async fn survey(
    clients: &SurveyClients<'_>,
    plan: &ReplacementPlan,
) -> Result<Vec<Guarded>, CdkHookError> {
    let mut all = measures(plan);
    for g in &mut all {
        if g.physical_id.is_none() {
            // The root stack's resources; a nested one without a physical id in the change set
            // stays unknown, and its safeguard then fails with that reason.
            g.physical_id =
                crate::stack::physical_id(clients.cfn, &plan.stack, &g.logical_id).await?;
        }
        let Some(id) = g.physical_id.as_deref() else {
            continue;
        };
        match g.measure {
            Measure::InstanceSnapshot => {
                if let Some(cluster) = instance_cluster(clients.rds, id).await? {
                    g.measure = Measure::FollowsCluster { cluster };
                }
            }
            Measure::TableBackup => {
                let (_, items) = describe_table(clients.ddb, id).await?;
                g.size = items.map(|n| format!("{n} items as DynamoDB last counted"));
            }
            _ => {}
        }
    }
    Ok(all)
}
