//! Writing items into a target table: BatchWriteItem for the bulk (25 items a call), every
//! `UnprocessedItems` retried with backoff until written or reported; PutItem for an item that must
//! not overwrite a newer one (`attribute_not_exists` of the key: what the app wrote after go-live
//! is kept) and to find which item of a rejected batch the service refuses.
//!
//! AWS's contract ("BatchWriteItem", DynamoDB API Reference): a batch can be partly processed;
//! what was not comes back in `UnprocessedItems` and should be retried with exponential backoff;
//! when none could be processed for lack of throughput the call fails with
//! `ProvisionedThroughputExceededException`. A `ValidationException` refuses the whole batch.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use crate::error_text::AwsError;
use crate::ratelimit::Backoff;
use crate::tables::item::{Item, SourceKey, write_units};
use crate::tables::pace::WritePace;

/// The most items one BatchWriteItem takes.
pub const BATCH_ITEMS: usize = 25;

/// One item bound for a target table, with the source item it comes from.
#[derive(Debug, Clone)]
pub struct Pending {
    pub source: SourceKey,
    pub item: Item,
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Written,
    /// The target already holds an item with this key (written by the app after go-live, or by
    /// an earlier run): left as it is.
    AlreadyThere,
    /// Still throttled after every attempt: recorded, retried by `--resume`.
    Unwritten(String),
    /// The service refuses the item itself (too large, a bad value): reported, never retried.
    Rejected(String),
}

/// A failure that no retry mends: the table is gone, access is denied.
#[derive(Debug, thiserror::Error)]
#[error("writing to table {table}: {source}")]
pub struct WriteError {
    pub table: String,
    #[source]
    pub source: AwsError,
}

/// How the writes to one target table are made and paced.
#[derive(Debug)]
pub struct TableWriter {
    pub client: Client,
    pub table: String,
    /// The table's key attributes, which say which unprocessed item is which.
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub pace: Arc<WritePace>,
    pub backoff: Backoff,
    pub max_attempts: u32,
}

/// DynamoDB's answers to too much traffic ("Error handling with DynamoDB", Developer Guide):
/// worth the same request again after a pause.
pub(crate) fn is_throttle(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
        )
    )
}

/// A write is also sent again after a server error: a put is the same item whether or not the
/// failed attempt stored it.
fn is_retryable_write(code: Option<&str>) -> bool {
    is_throttle(code) || matches!(code, Some("InternalServerError" | "ServiceUnavailable"))
}

impl TableWriter {
    fn key_of(&self, item: &Item) -> (Option<String>, Option<String>) {
        let s = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        (s(&self.partition_key), self.sort_key.as_deref().and_then(s))
    }

    /// Writes up to [`BATCH_ITEMS`] items with BatchWriteItem, retrying what comes back
    /// unprocessed; returns each item's outcome.
    pub async fn write_batch(
        &self,
        batch: Vec<Pending>,
    ) -> Result<Vec<(SourceKey, Written)>, WriteError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut pending = batch;
        let mut attempt = 0;
        while !pending.is_empty() {
            if attempt >= self.max_attempts {
                let reason = format!(
                    "still unprocessed after {attempt} BatchWriteItem attempts (the table kept \
                     throttling): run `cargo xtask migrate-tables --resume` to write it"
                );
                outcomes.extend(
                    pending
                        .into_iter()
                        .map(|p| (p.source, Written::Unwritten(reason.clone()))),
                );
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(self.backoff.delay(attempt - 1)).await;
            }
            attempt += 1;
            let units: f64 = pending.iter().map(|p| write_units(&p.item)).sum();
            self.pace.acquire(units).await;
            let requests = pending
                .iter()
                .map(|p| {
                    let put = PutRequest::builder()
                        .set_item(Some(p.item.clone()))
                        .build()
                        .expect("an item is set");
                    WriteRequest::builder().put_request(put).build()
                })
                .collect::<Vec<_>>();
            let answer = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await;
            match answer {
                Ok(out) => {
                    let unprocessed = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(&self.table))
                        .unwrap_or_default();
                    if unprocessed.is_empty() {
                        self.pace.succeeded();
                        outcomes.extend(pending.drain(..).map(|p| (p.source, Written::Written)));
                        break;
                    }
                    self.pace.throttled();
                    pending = self.split_unprocessed(pending, &unprocessed, &mut outcomes);
                }
                Err(e) if is_retryable_write(e.code()) => self.pace.throttled(),
                Err(e) if e.code() == Some("ValidationException") => {
                    // One item spoils the batch: write each alone to find it and keep the rest.
                    for p in pending.drain(..) {
                        let written = self.put(p.item, false).await?;
                        outcomes.push((p.source, written));
                    }
                }
                Err(e) => {
                    return Err(WriteError {
                        table: self.table.clone(),
                        source: AwsError::new("BatchWriteItem", e),
                    });
                }
            }
        }
        Ok(outcomes)
    }

    /// Moves the processed items of `pending` to `outcomes` and returns the unprocessed ones.
    fn split_unprocessed(
        &self,
        pending: Vec<Pending>,
        unprocessed: &[WriteRequest],
        outcomes: &mut Vec<(SourceKey, Written)>,
    ) -> Vec<Pending> {
        let mut left: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
        for request in unprocessed {
            if let Some(put) = request.put_request() {
                *left.entry(self.key_of(put.item())).or_default() += 1;
            }
        }
        let mut again = Vec::new();
        for p in pending {
            match left.get_mut(&self.key_of(&p.item)) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    again.push(p);
                }
                _ => outcomes.push((p.source, Written::Written)),
            }
        }
        again
    }

    /// Writes one item with PutItem; `only_if_absent`: never over an item with the same key.
    pub async fn put(&self, item: Item, only_if_absent: bool) -> Result<Written, WriteError> {
        let units = write_units(&item);
        let mut attempt = 0;
        loop {
            if attempt > 0 {
                tokio::time::sleep(self.backoff.delay(attempt - 1)).await;
            }
            attempt += 1;
            self.pace.acquire(units).await;
            let mut request = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()));
            if only_if_absent {
                request = request
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", &self.partition_key);
            }
            let e = match request.send().await {
                Ok(_) => {
                    self.pace.succeeded();
                    return Ok(Written::Written);
                }
                Err(e) => e,
            };
            match e.code() {
                Some("ConditionalCheckFailedException") => return Ok(Written::AlreadyThere),
                Some("ValidationException") => {
                    return Ok(Written::Rejected(
                        AwsError::new("PutItem", e).summary().to_owned(),
                    ));
                }
                code if is_retryable_write(code) => {
                    self.pace.throttled();
                    if attempt >= self.max_attempts {
                        return Ok(Written::Unwritten(format!(
                            "still throttled after {attempt} PutItem attempts: run `cargo xtask \
                             migrate-tables --resume` to write it"
                        )));
                    }
                }
                _ => {
                    return Err(WriteError {
                        table: self.table.clone(),
                        source: AwsError::new("PutItem", e),
                    });
                }
            }
        }
    }
}

/// `AttributeValue::S`, the one type every key of these tables has.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
