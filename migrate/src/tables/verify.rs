//! The verification after the copy: the source is scanned again (in parallel, a page at a time)
//! and every item that belongs in the new tables is looked up there by the key it was given
//! (BatchGetItem, 100 keys a call); counts per kind on both sides, the items and users that are
//! short, and a sample of items compared field by field with what the transform makes of their
//! source. Memory holds a page and the bounded lists, whatever the table's size.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::error_text::AwsError;
use crate::ratelimit::Backoff;
use crate::tables::TablesError;
use crate::tables::TablesEvent;
use crate::tables::copy::{RESOLVED_AT_ONCE, Shared, resolve};
use crate::tables::counts::LISTED;
use crate::tables::item::{Item, SourceKey};
use crate::tables::kinds::{self, Kind, Step, TargetTable};

/// The most keys one BatchGetItem takes.
const GET_KEYS: usize = 100;
/// BatchGetItem calls for one chunk of keys (throttled answers and unprocessed keys retried with
/// backoff) before the verification gives up rather than wait without end.
const GET_ATTEMPTS: u32 = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Per kind: source items that belong in the new tables.
    pub expected: BTreeMap<Kind, u64>,
    /// Per kind: of those, found in the new tables under their new key.
    pub found: BTreeMap<Kind, u64>,
    /// What the new tables hold, counted by their own kinds (`bot`, `alias`, `conversation`,
    /// `related_document`, `other`): more than `found` when users wrote since the deploy.
    pub target_totals: BTreeMap<String, u64>,
    pub missing_total: u64,
    /// The first missing items, by source key.
    pub missing: Vec<SourceKey>,
    /// Users whose items were counted on both sides.
    #[serde(default)]
    pub users_checked: u64,
    /// Users with items short in the new tables.
    #[serde(default)]
    pub users_short_total: u64,
    /// Users with items short, with their counts on both sides (the first [`LISTED`]).
    pub users_short: Vec<UserCounts>,
    pub sample: SampleCheck,
}

impl Verification {
    pub fn agrees(&self) -> bool {
        self.missing_total == 0 && self.sample.differing == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCounts {
    pub user: String,
    pub expected: u64,
    pub found: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleCheck {
    /// One item in this many is compared field by field.
    pub every: u64,
    pub compared: u64,
    pub differing: u64,
    /// Sampled items the target already held before the copy (the app's newer version): not
    /// compared.
    pub kept_newer: u64,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub key: SourceKey,
    /// Attribute names whose values differ, are missing or are extra in the target.
    pub attributes: Vec<String>,
}

/// State the verification workers share.
struct Tally {
    verification: Mutex<Verification>,
    kept: BTreeSet<SourceKey>,
    sample_every: u64,
}

pub async fn verify(
    shared: Arc<Shared>,
    kept: BTreeSet<SourceKey>,
    sample_every: u64,
    backoff: Backoff,
) -> Result<Verification, TablesError> {
    let tally = Arc::new(Tally {
        verification: Mutex::new(Verification {
            sample: SampleCheck {
                every: sample_every.max(1),
                ..SampleCheck::default()
            },
            ..Verification::default()
        }),
        kept,
        sample_every: sample_every.max(1),
    });
    let mut workers = JoinSet::new();
    for segment in 0..shared.total_segments {
        workers.spawn(verify_segment(
            shared.clone(),
            tally.clone(),
            segment,
            backoff,
        ));
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(TablesError::Worker)??;
    }
    let totals = count_targets(&shared).await?;
    let mut v = tally.verification.lock().expect("tally").clone();
    v.target_totals = totals;
    Ok(v)
}

/// An expected item: its source, the table and key it should have, and (when sampled) the item
/// the transform makes.
struct Expected {
    source: SourceKey,
    kind: Kind,
    table: TargetTable,
    key: (String, String),
    sampled: Option<Item>,
}

async fn verify_segment(
    shared: Arc<Shared>,
    tally: Arc<Tally>,
    segment: u32,
    backoff: Backoff,
) -> Result<(), TablesError> {
    let mut pages = shared
        .client
        .scan()
        .table_name(&shared.source)
        .segment(segment as i32)
        .total_segments(shared.total_segments as i32)
        .into_paginator()
        .send();
    let mut user = UserTally::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| TablesError::Source {
            table: shared.source.clone(),
            source: AwsError::new("Scan", e),
        })?;
        let items = page.items.unwrap_or_default();
        let read = items.len() as u64;
        let expected: Vec<Expected> = futures_util::stream::iter(items)
            .map(|item| expect(&shared, &tally, item))
            .buffered(RESOLVED_AT_ONCE)
            .try_filter_map(|e| async move { Ok(e) })
            .try_collect()
            .await?;
        for chunk in expected.chunks(GET_KEYS) {
            let found = get_all(&shared, chunk, backoff).await?;
            for (e, there) in chunk.iter().zip(record(&tally, chunk, &found)) {
                user.count(&tally, &e.source.pk, there);
            }
        }
        shared.events.emit(TablesEvent::Verified { read });
    }
    user.close(&tally);
    Ok(())
}

/// One user's items counted on both sides, as a segment's scan meets them. A user is one
/// partition key of the v2 table, and DynamoDB "stores items with the same partition key
/// physically close together, in sorted order by the sort key value" (KeySchemaElement, API
/// Reference), which a scan reads in order: a user's count is whole when the scan moves to the
/// next user, so a segment holds one count at a time. Were a user's items ever met apart, each
/// run of them would be counted on its own: a short one still shows as short.
#[derive(Default)]
struct UserTally {
    user: Option<String>,
    expected: u64,
    found: u64,
}

impl UserTally {
    fn count(&mut self, tally: &Tally, user: &str, there: bool) {
        if self.user.as_deref() != Some(user) {
            self.close(tally);
            self.user = Some(user.to_owned());
        }
        self.expected += 1;
        self.found += u64::from(there);
    }

    /// The user's count is whole: recorded, and listed when short.
    fn close(&mut self, tally: &Tally) {
        let Some(user) = self.user.take() else {
            return;
        };
        let mut v = tally.verification.lock().expect("tally");
        v.users_checked += 1;
        if self.found < self.expected {
            v.users_short_total += 1;
            if v.users_short.len() < LISTED {
                v.users_short.push(UserCounts {
                    user,
                    expected: self.expected,
                    found: self.found,
                });
            }
        }
        (self.expected, self.found) = (0, 0);
    }
}

async fn expect(
    shared: &Shared,
    tally: &Tally,
    item: Item,
) -> Result<Option<Expected>, TablesError> {
    let Some(source) = kinds::source_key(&item) else {
        return Ok(None);
    };
    let kind = kinds::kind_of(&source);
    let Step::Write(table, new) = resolve(shared, kind, &source, &item).await? else {
        return Ok(None);
    };
    let key_of = |name: &str| {
        new.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let key = (key_of("PK"), key_of("SK"));
    let sampled = source.sampled(tally.sample_every).then_some(new);
    Ok(Some(Expected {
        source,
        kind,
        table,
        key,
        sampled,
    }))
}

fn table_name(shared: &Shared, table: TargetTable) -> &str {
    &shared.writers.of(table).table
}

/// The target items of `chunk` that exist, by (table, PK, SK).
async fn get_all(
    shared: &Shared,
    chunk: &[Expected],
    backoff: Backoff,
) -> Result<HashMap<(TargetTable, String, String), Item>, TablesError> {
    let mut keys: HashMap<String, Vec<HashMap<String, AttributeValue>>> = HashMap::new();
    let mut by_name: HashMap<String, TargetTable> = HashMap::new();
    for e in chunk {
        let name = table_name(shared, e.table).to_owned();
        by_name.insert(name.clone(), e.table);
        keys.entry(name).or_default().push(HashMap::from([
            ("PK".to_owned(), AttributeValue::S(e.key.0.clone())),
            ("SK".to_owned(), AttributeValue::S(e.key.1.clone())),
        ]));
    }
    let request: HashMap<String, KeysAndAttributes> = keys
        .into_iter()
        .map(|(name, keys)| {
            let wanted = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .expect("keys are set");
            (name, wanted)
        })
        .collect();
    let mut found = HashMap::new();
    for (name, item) in batch_get(&shared.client, request, backoff).await? {
        let Some(&table) = by_name.get(&name) else {
            continue;
        };
        let s = |n: &str| item.get(n).and_then(|v| v.as_s().ok()).cloned();
        if let (Some(pk), Some(sk)) = (s("PK"), s("SK")) {
            found.insert((table, pk, sk), item);
        }
    }
    Ok(found)
}

/// BatchGetItem until every key is answered: throttled answers and unprocessed keys are asked
/// again with backoff, [`GET_ATTEMPTS`] calls at most. Returns each item found with its table.
async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    mut request: HashMap<String, KeysAndAttributes>,
    backoff: Backoff,
) -> Result<Vec<(String, Item)>, TablesError> {
    let mut found = Vec::new();
    let mut attempt = 0;
    while !request.is_empty() {
        if attempt >= GET_ATTEMPTS {
            return Err(TablesError::VerifyUnprocessed {
                keys: request.values().map(|k| k.keys().len()).sum(),
                attempts: attempt,
            });
        }
        if attempt > 0 {
            tokio::time::sleep(backoff.delay(attempt - 1)).await;
        }
        attempt += 1;
        let answer = client
            .batch_get_item()
            .set_request_items(Some(request.clone()))
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e)
                if crate::tables::write::is_throttle(
                    e.as_service_error()
                        .and_then(|s| aws_sdk_dynamodb::error::ProvideErrorMetadata::code(s)),
                ) =>
            {
                continue;
            }
            Err(e) => {
                return Err(TablesError::Verify {
                    source: AwsError::new("BatchGetItem", e),
                });
            }
        };
        for (name, items) in out.responses.unwrap_or_default() {
            found.extend(items.into_iter().map(|item| (name.clone(), item)));
        }
        request = out.unprocessed_keys.unwrap_or_default();
    }
    Ok(found)
}

/// Counts `chunk` against what the new tables hold; whether each item is there.
fn record(
    tally: &Tally,
    chunk: &[Expected],
    found: &HashMap<(TargetTable, String, String), Item>,
) -> Vec<bool> {
    let mut v = tally.verification.lock().expect("tally");
    let mut there = Vec::with_capacity(chunk.len());
    for e in chunk {
        *v.expected.entry(e.kind).or_default() += 1;
        let got = found.get(&(e.table, e.key.0.clone(), e.key.1.clone()));
        there.push(got.is_some());
        match got {
            Some(target) => {
                *v.found.entry(e.kind).or_default() += 1;
                if let Some(expected) = &e.sampled {
                    compare(&mut v.sample, tally, e, expected, target);
                }
            }
            None => {
                v.missing_total += 1;
                if v.missing.len() < LISTED {
                    v.missing.push(e.source.clone());
                }
            }
        }
    }
    there
}

fn compare(sample: &mut SampleCheck, tally: &Tally, e: &Expected, expected: &Item, target: &Item) {
    if tally.kept.contains(&e.source) {
        sample.kept_newer += 1;
        return;
    }
    sample.compared += 1;
    let mut attributes: Vec<String> = expected
        .iter()
        .filter(|(name, value)| target.get(*name) != Some(*value))
        .map(|(name, _)| name.clone())
        .chain(
            target
                .keys()
                .filter(|name| !expected.contains_key(*name))
                .cloned(),
        )
        .collect();
    if attributes.is_empty() {
        return;
    }
    attributes.sort();
    sample.differing += 1;
    if sample.differences.len() < LISTED {
        sample.differences.push(Difference {
            key: e.source.clone(),
            attributes,
        });
    }
}

/// What the two new tables hold, by their own kinds (a parallel scan of their keys).
async fn count_targets(shared: &Arc<Shared>) -> Result<BTreeMap<String, u64>, TablesError> {
    let mut totals = BTreeMap::new();
    for table in [TargetTable::Conversations, TargetTable::Bots] {
        let name = table_name(shared, table).to_owned();
        let mut pages = shared
            .client
            .scan()
            .table_name(&name)
            .projection_expression("#pk, #sk")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#sk", "SK")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| TablesError::Verify {
                source: AwsError::new("Scan", e),
            })?;
            for item in page.items() {
                let sk = item.get("SK").and_then(|v| v.as_s().ok());
                *totals.entry(target_kind(table, sk).to_owned()).or_default() += 1;
            }
        }
    }
    Ok(totals)
}

/// A v3 item's kind by its table and sort key.
fn target_kind(table: TargetTable, sk: Option<&String>) -> &'static str {
    let sk = sk.map_or("", String::as_str);
    match table {
        TargetTable::Bots if sk.starts_with("BOT#") => "bot",
        TargetTable::Bots if sk.starts_with("ALIAS#") => "alias",
        TargetTable::Conversations if sk.contains("#CONV#") => "conversation",
        TargetTable::Conversations if sk.contains("#RELATED_DOCUMENT#") => "related_document",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemError, BatchGetItemOutput};
    use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn key(pk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".to_owned(), AttributeValue::S(pk.to_owned())),
            ("SK".to_owned(), AttributeValue::S("BOT#1".to_owned())),
        ])
    }

    fn wanted(pks: &[&str]) -> HashMap<String, KeysAndAttributes> {
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(pks.iter().map(|pk| key(pk)).collect()))
            .build()
            .unwrap();
        HashMap::from([("bots".to_owned(), keys)])
    }

    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(10),
    };

    /// As the API reference describes BatchGetItem: a throttled call, then a partial answer with
    /// the rest in `UnprocessedKeys`, then the rest.
    #[tokio::test(start_paused = true)]
    async fn throttling_and_unprocessed_keys_are_asked_again_until_every_key_is_answered() {
        let throttled = mock!(Client::batch_get_item).then_error(|| {
            BatchGetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("throughput exceeded")
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            )
        });
        let partial = mock!(Client::batch_get_item).then_output(|| {
            BatchGetItemOutput::builder()
                .responses("bots", vec![key("a")])
                .set_unprocessed_keys(Some(wanted(&["b"])))
                .build()
        });
        let rest = mock!(Client::batch_get_item).then_output(|| {
            BatchGetItemOutput::builder()
                .responses("bots", vec![key("b")])
                .build()
        });
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&throttled, &partial, &rest]
        );
        let found = batch_get(&client, wanted(&["a", "b"]), BACKOFF)
            .await
            .unwrap();
        let pks: Vec<&str> = found
            .iter()
            .map(|(_, item)| item["PK"].as_s().unwrap().as_str())
            .collect();
        assert_eq!(pks, ["a", "b"]);
    }

    /// A table that never answers a key ends the verification with an error that says so,
    /// after a bounded number of calls, instead of asking without end.
    #[tokio::test(start_paused = true)]
    async fn keys_never_answered_end_the_verification_after_bounded_attempts() {
        let never = mock!(Client::batch_get_item)
            .sequence()
            .output(|| {
                BatchGetItemOutput::builder()
                    .set_unprocessed_keys(Some(wanted(&["a", "b"])))
                    .build()
            })
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&never]);
        let err = batch_get(&client, wanted(&["a", "b"]), BACKOFF)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                TablesError::VerifyUnprocessed {
                    keys: 2,
                    attempts: GET_ATTEMPTS
                }
            ),
            "{err}"
        );
        assert_eq!(never.num_calls(), GET_ATTEMPTS as usize);
        assert!(err.to_string().contains("--resume"), "{err}");
    }

    /// A user's items span chunks of 100 keys and pages: the count listed is the whole user's.
    #[test]
    fn a_users_count_is_whole_across_chunks_and_only_short_users_are_listed() {
        let tally = Tally {
            verification: Mutex::new(Verification::default()),
            kept: BTreeSet::new(),
            sample_every: 1,
        };
        let mut user = UserTally::default();
        for i in 0..250 {
            user.count(&tally, "alice", i != 249);
        }
        for _ in 0..3 {
            user.count(&tally, "bob", true);
        }
        user.close(&tally);
        let v = tally.verification.lock().unwrap();
        assert_eq!((v.users_checked, v.users_short_total), (2, 1));
        assert_eq!(
            v.users_short,
            [UserCounts {
                user: "alice".into(),
                expected: 250,
                found: 249
            }]
        );
    }
}
