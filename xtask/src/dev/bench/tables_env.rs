//! The tables of `cargo xtask bench --tables` on the emulator: the fixture app at v2 then v3 (the
//! app's own table definitions, the v2 table kept by Retain), more tables of the same
//! definitions for the other runs, the timed seeding, and a table's write units read back.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, LocalSecondaryIndex,
    Projection, ProvisionedThroughput, TableDescription,
};
use migrate::tables::item::write_units;
use tests::seed_v2::{SeededV2, V2Plan, seed_v2};
use tests::{Emulator, FixtureApp, Release, STACK, output, stack_outputs};

/// The app's three tables, as its stack outputs name them.
pub struct AppTables {
    pub v2: String,
    pub conversations: String,
    pub bots: String,
}

/// Deploys the fixture at v2 and then v3 with the real CDK CLI, as a user upgrades; the v2 table
/// leaves the stack and stays.
pub fn deploy_v2_then_v3(emulator: &Emulator, dir: &Path) -> anyhow::Result<AppTables> {
    let app = FixtureApp::new_in(dir);
    app.bootstrap(emulator);
    app.deploy(emulator, Release::V2);
    let outputs = |emulator: &Emulator| -> anyhow::Result<_> {
        let rt = crate::aws::runtime()?;
        Ok(rt.block_on(async {
            let config = emulator.sdk_config().await;
            stack_outputs(&aws_sdk_cloudformation::Client::new(&config), STACK).await
        }))
    };
    // The v2 stack's own output, read before the upgrade removes it (the app's guide does too).
    let v2 = output(&outputs(emulator)?, "ConversationTableName").to_owned();
    app.deploy(emulator, Release::V3);
    let v3 = outputs(emulator)?;
    Ok(AppTables {
        v2,
        conversations: output(&v3, "ConversationTableNameV3").to_owned(),
        bots: output(&v3, "BotTableNameV3").to_owned(),
    })
}

/// Creates `name` with `source`'s keys, indexes and billing: every run gets tables of the app's
/// definitions, empty, and none shares a target (or a write bucket) with another.
pub async fn clone_table(client: &Client, source: &str, name: &str) -> anyhow::Result<()> {
    let answer = client.describe_table().table_name(source).send().await?;
    let d: &TableDescription = answer.table().context("DescribeTable without a table")?;
    let on_demand = d
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .is_some_and(|m| *m == BillingMode::PayPerRequest);
    let throughput = || {
        ProvisionedThroughput::builder()
            .read_capacity_units(5)
            .write_capacity_units(5)
            .build()
    };
    let key = |k: &KeySchemaElement| k.clone();
    let mut create = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(d.attribute_definitions().to_vec()))
        .set_key_schema(Some(d.key_schema().iter().map(key).collect()));
    create = match on_demand {
        true => create.billing_mode(BillingMode::PayPerRequest),
        false => create.provisioned_throughput(throughput()?),
    };
    for g in d.global_secondary_indexes() {
        let mut index = GlobalSecondaryIndex::builder()
            .index_name(g.index_name().unwrap_or_default())
            .set_key_schema(Some(g.key_schema().to_vec()))
            .set_projection(
                g.projection()
                    .cloned()
                    .or(Some(Projection::builder().build())),
            );
        if !on_demand {
            index = index.provisioned_throughput(throughput()?);
        }
        create = create.global_secondary_indexes(index.build()?);
    }
    for l in d.local_secondary_indexes() {
        create = create.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(l.index_name().unwrap_or_default())
                .set_key_schema(Some(l.key_schema().to_vec()))
                .set_projection(l.projection().cloned())
                .build()?,
        );
    }
    create
        .send()
        .await
        .with_context(|| format!("creating {name}"))?;
    Ok(())
}

/// A seeding, timed: with the write limit off it is what moto takes raw (BatchWriteItem, 25 items
/// a call, 8 calls in flight).
pub struct Seeded {
    pub seeded: SeededV2,
    pub secs: f64,
    pub units: f64,
}

pub async fn seed_timed(client: &Client, table: &str, items: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let seeded = seed_v2(client, table, V2Plan::with_items(items)).await;
    let secs = started.elapsed().as_secs_f64();
    let (_, units) = items_and_units(client, table).await?;
    Ok(Seeded {
        seeded,
        secs,
        units,
    })
}

/// Items in `table` and the write units putting each once costs (one per started KB, as the
/// emulator's limit and DynamoDB count them).
pub async fn items_and_units(client: &Client, table: &str) -> anyhow::Result<(u64, f64)> {
    let (mut items, mut units) = (0u64, 0.0);
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .with_context(|| format!("scanning {table}"))?;
        for item in page.items() {
            items += 1;
            units += write_units(item);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok((items, units));
        }
    }
}

/// Seconds one Query of `table`'s `PublicBotIdIndex` takes (the best of three; it matches
/// nothing): the lookup of an alias's owner, which both migrations make once per aliased bot.
/// Stock moto answers a Query by walking every item of the table, DynamoDB in single-digit
/// milliseconds; with the AWS-like limits on, the emulator answers from the partition
/// (`query_index.py`), and this figure shows it does not grow with the table.
pub async fn owner_query_secs(client: &Client, table: &str) -> anyhow::Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        client
            .query()
            .table_name(table)
            .index_name("PublicBotIdIndex")
            .key_condition_expression("PublicBotId = :id")
            .expression_attribute_values(":id", AttributeValue::S("no-such-bot".into()))
            .send()
            .await
            .with_context(|| format!("querying {table}'s PublicBotIdIndex"))?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best)
}
