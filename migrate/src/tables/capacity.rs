//! What DescribeTable says of a table that the table migration needs: its identity (a resumed
//! journal must name the same tables), its key attributes, its item count (for progress only:
//! DynamoDB refreshes it about every six hours) and its write capacity, from which the pace starts.
//!
//! The capacity rules are AWS's ("DynamoDB on-demand capacity mode", "Initial throughput and
//! scaling properties"; "DynamoDB maximum throughput for on-demand tables"), cited in
//! `docs/aws-limits.md`.

use aws_sdk_dynamodb::types::{BillingMode, KeyType, TableDescription};
use serde::{Deserialize, Serialize};

use crate::error_text::AwsError;

/// A new on-demand table sustains up to 4,000 writes a second before it has scaled out.
pub const ON_DEMAND_INITIAL_WRITES: f64 = 4_000.0;

/// How a table is billed for writes, and so how fast it may be written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Capacity {
    /// Pay per request; `max_write_units` when the table sets a maximum (OnDemandThroughput),
    /// `warm_write_units` when DescribeTable reports the table's warm throughput.
    OnDemand {
        max_write_units: Option<f64>,
        warm_write_units: Option<f64>,
    },
    /// Provisioned write capacity units.
    Provisioned { write_units: f64 },
}

impl Capacity {
    /// Write units a second the pace starts at: what the table is said to sustain.
    pub fn write_units_per_second(&self) -> f64 {
        match *self {
            Capacity::Provisioned { write_units } => write_units,
            Capacity::OnDemand {
                max_write_units,
                warm_write_units,
            } => {
                let sustained = warm_write_units.unwrap_or(ON_DEMAND_INITIAL_WRITES);
                max_write_units.map_or(sustained, |max| max.min(sustained))
            }
        }
    }
}

impl std::fmt::Display for Capacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Capacity::Provisioned { write_units } => {
                write!(f, "provisioned, {write_units} write units/s")
            }
            Capacity::OnDemand { .. } => write!(
                f,
                "on-demand, paced from {} write units/s",
                self.write_units_per_second()
            ),
        }
    }
}

/// One table as the migration sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFacts {
    pub name: String,
    /// DynamoDB's id of this incarnation of the table: a table deleted and created again under
    /// the same name has another.
    pub table_id: Option<String>,
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub item_count: Option<i64>,
    pub capacity: Capacity,
}

#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    #[error("table {table}: {source}")]
    Aws {
        table: String,
        #[source]
        source: AwsError,
    },
    #[error("table {table}: DescribeTable answered without the table's description")]
    NoDescription { table: String },
}

pub async fn describe(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<TableFacts, DescribeError> {
    let answer = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| DescribeError::Aws {
            table: table.to_owned(),
            source: AwsError::new("DescribeTable", e),
        })?;
    let description = answer.table.ok_or_else(|| DescribeError::NoDescription {
        table: table.to_owned(),
    })?;
    Ok(facts(table, &description))
}

fn facts(table: &str, d: &TableDescription) -> TableFacts {
    let key = |kind: KeyType| {
        d.key_schema()
            .iter()
            .find(|k| *k.key_type() == kind)
            .map(|k| k.attribute_name().to_owned())
    };
    TableFacts {
        name: d.table_name().unwrap_or(table).to_owned(),
        table_id: d.table_id().map(str::to_owned),
        partition_key: key(KeyType::Hash).unwrap_or_default(),
        sort_key: key(KeyType::Range),
        item_count: d.item_count(),
        capacity: capacity(d),
    }
}

fn capacity(d: &TableDescription) -> Capacity {
    let on_demand = d
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .is_some_and(|m| *m == BillingMode::PayPerRequest);
    let positive = |v: Option<i64>| v.filter(|v| *v > 0).map(|v| v as f64);
    if on_demand {
        return Capacity::OnDemand {
            max_write_units: positive(
                d.on_demand_throughput()
                    .and_then(|t| t.max_write_request_units()),
            ),
            warm_write_units: positive(
                d.warm_throughput().and_then(|t| t.write_units_per_second()),
            ),
        };
    }
    match positive(
        d.provisioned_throughput()
            .and_then(|t| t.write_capacity_units()),
    ) {
        Some(write_units) => Capacity::Provisioned { write_units },
        // A table described without either (an emulator) is paced as a new on-demand table.
        None => Capacity::OnDemand {
            max_write_units: None,
            warm_write_units: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{
        BillingModeSummary, OnDemandThroughput, ProvisionedThroughputDescription,
    };

    use super::*;

    fn on_demand(max: Option<i64>) -> TableDescription {
        let mut d = TableDescription::builder().billing_mode_summary(
            BillingModeSummary::builder()
                .billing_mode(BillingMode::PayPerRequest)
                .build(),
        );
        if let Some(max) = max {
            d = d.on_demand_throughput(
                OnDemandThroughput::builder()
                    .max_write_request_units(max)
                    .build(),
            );
        }
        d.build()
    }

    #[test]
    fn on_demand_starts_at_aws_initial_throughput_or_the_tables_maximum() {
        assert_eq!(capacity(&on_demand(None)).write_units_per_second(), 4_000.0);
        assert_eq!(
            capacity(&on_demand(Some(150))).write_units_per_second(),
            150.0
        );
        // -1 is how AWS says "no maximum".
        assert_eq!(
            capacity(&on_demand(Some(-1))).write_units_per_second(),
            4_000.0
        );
    }

    #[test]
    fn provisioned_tables_are_paced_at_their_write_units() {
        let d = TableDescription::builder()
            .provisioned_throughput(
                ProvisionedThroughputDescription::builder()
                    .write_capacity_units(25)
                    .build(),
            )
            .build();
        assert_eq!(capacity(&d), Capacity::Provisioned { write_units: 25.0 });
    }
}
