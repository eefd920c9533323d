//! Bot items in the conversation table, shaped as Bedrock Chat writes them.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::collections::HashMap;

/// What to put in the table; every kind is counted so a test can assert on the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedPlan {
    /// Bots whose `Knowledge` lists URLs, sitemaps, files or S3 URLs: each needs one task.
    pub with_knowledge: usize,
    /// Bots with empty knowledge lists: nothing to embed.
    pub without_knowledge: usize,
    /// `<user>#BOT_ALIAS#<bot>` items (a user's alias of a shared bot): not bots to embed.
    pub aliases: usize,
    /// Bot items that are broken (Knowledge of the wrong type, an SK that is not `<pk>#BOT#<id>`).
    pub malformed: usize,
    /// Conversation items (not bots at all), for realism.
    pub conversations: usize,
}

/// A seeded bot that needs embedding: its keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeededBot {
    pub pk: String,
    pub sk: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.clone())).collect())
}

fn knowledge(i: usize, empty: bool) -> AttributeValue {
    let pick = |kind: usize, text: String| {
        if !empty && i % 4 == kind {
            vec![text]
        } else {
            vec![]
        }
    };
    let mut map = HashMap::new();
    map.insert(
        "source_urls".into(),
        list(&pick(0, format!("https://example.com/docs/{i}"))),
    );
    map.insert(
        "sitemap_urls".into(),
        list(&pick(1, format!("https://example.com/sitemap-{i}.xml"))),
    );
    map.insert(
        "filenames".into(),
        list(&pick(2, format!("manual-{i}.pdf"))),
    );
    map.insert(
        "s3_urls".into(),
        list(&pick(3, format!("s3://example-bucket/bot-{i}/"))),
    );
    AttributeValue::M(map)
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A bot's system prompt, 600 to 1,400 characters: Bedrock Chat stores it in the item, and it is
/// what makes a real bot item 1-2 KB (the size a scan page is measured in).
fn instruction(title: &str) -> String {
    let sentence = "Answer from the documents in your knowledge first, cite the page you used, \
                    and say plainly when they do not cover the question. ";
    let repeats = 4 + title.len() % 6;
    format!(
        "You are {title}, an assistant for the support team. {}",
        sentence.repeat(repeats)
    )
}

fn quick_starter(title: &str, example: &str) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("title".into(), s(title)),
        ("example".into(), s(example)),
    ]))
}

/// The attributes Bedrock Chat writes on a bot item (backend `custom_bot.py`) besides the ones
/// the migration reads, so that items, pages and scans have the real sizes.
fn bot_item(
    pk: &str,
    sk: &str,
    title: &str,
    knowledge: AttributeValue,
) -> HashMap<String, AttributeValue> {
    let generation = HashMap::from([
        ("max_tokens".into(), n(2000)),
        ("top_k".into(), n(250)),
        ("top_p".into(), n(0.999)),
        ("temperature".into(), n(0.6)),
        (
            "stop_sequences".into(),
            list(&["Human: ".into(), "Assistant: ".into()]),
        ),
    ]);
    HashMap::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s(sk)),
        ("Title".into(), s(title)),
        (
            "Description".into(),
            s(format!(
                "{title}: answers questions about the product from its manuals and FAQ."
            )),
        ),
        ("Instruction".into(), s(instruction(title))),
        ("CreateTime".into(), n(1_726_000_000_000u64)),
        ("LastBotUsed".into(), n(1_730_000_000_000u64)),
        ("IsPinned".into(), AttributeValue::Bool(false)),
        ("Knowledge".into(), knowledge),
        ("GenerationParams".into(), AttributeValue::M(generation)),
        (
            "SearchParams".into(),
            AttributeValue::M(HashMap::from([("max_results".into(), n(20))])),
        ),
        (
            "ConversationQuickStarters".into(),
            AttributeValue::L(vec![
                quick_starter("Reset a password", "How do I reset a user's password?"),
                quick_starter("Billing", "Why was I charged twice this month?"),
            ]),
        ),
        ("DisplayRetrievedChunks".into(), AttributeValue::Bool(true)),
        ("SyncStatus".into(), s("SUCCEEDED")),
        ("SyncStatusReason".into(), s("")),
        ("LastExecId".into(), s("before-the-migration")),
    ])
}

/// Writes the plan's items (users spread over ~1 user per 3 bots) and returns the bots that need
/// embedding, sorted.
pub async fn seed_bots(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    plan: SeedPlan,
) -> Vec<SeededBot> {
    let (items, mut needing) = plan_items(&plan);
    write_items(ddb, table, items).await;
    needing.sort();
    needing
}

type Item = HashMap<String, AttributeValue>;

fn user(i: usize) -> String {
    format!("user-{:04}", i / 3)
}

/// The plan's items, and the bots among them that need embedding.
fn plan_items(plan: &SeedPlan) -> (Vec<Item>, Vec<SeededBot>) {
    let mut items = Vec::new();
    let mut needing = Vec::new();
    for i in 0..plan.with_knowledge {
        let (pk, sk) = (user(i), format!("{}#BOT#kb-{i:06}", user(i)));
        items.push(bot_item(&pk, &sk, &format!("Bot {i}"), knowledge(i, false)));
        needing.push(SeededBot { pk, sk });
    }
    for i in 0..plan.without_knowledge {
        let (pk, sk) = (user(i), format!("{}#BOT#empty-{i:06}", user(i)));
        let title = format!("Empty bot {i}");
        items.push(bot_item(&pk, &sk, &title, knowledge(i, true)));
    }
    for i in 0..plan.aliases {
        let (pk, sk) = (user(i + 1), format!("{}#BOT_ALIAS#kb-{i:06}", user(i + 1)));
        let title = format!("Alias {i}");
        items.push(bot_item(&pk, &sk, &title, knowledge(i, false)));
    }
    items.extend((0..plan.malformed).map(malformed_bot));
    items.extend((0..plan.conversations).map(|i| {
        HashMap::from([
            ("PK".into(), s(user(i))),
            ("SK".into(), s(format!("{}#CONV#{i:06}", user(i)))),
            ("Title".into(), s("A conversation")),
        ])
    }));
    (items, needing)
}

/// Every other one has knowledge that is not a map; the rest have a sort key of another user.
fn malformed_bot(i: usize) -> Item {
    let pk = user(i);
    if i.is_multiple_of(2) {
        let sk = format!("{pk}#BOT#bad-knowledge-{i}");
        bot_item(&pk, &sk, "Broken", s("not a map"))
    } else {
        let sk = format!("someone-else#BOT#bad-sk-{i}");
        bot_item(&pk, &sk, "Broken", knowledge(i, false))
    }
}

/// BatchWriteItem in chunks of 25 (its limit).
async fn write_items(ddb: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) {
    for chunk in items.chunks(25) {
        write_batch(ddb.clone(), table.to_owned(), chunk.to_vec()).await;
    }
}

/// One BatchWriteItem of up to 25 puts, its unprocessed items sent again until none is left
/// (owned arguments: the v2 seed spawns it).
pub(crate) async fn write_batch(ddb: aws_sdk_dynamodb::Client, table: String, chunk: Vec<Item>) {
    let mut requests: Vec<WriteRequest> = chunk
        .into_iter()
        .map(|item| {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("put request");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    while !requests.is_empty() {
        let answer = ddb
            .batch_write_item()
            .request_items(&table, requests)
            .send()
            .await
            .unwrap_or_else(|e| panic!("seed table {table}: {e:?}"));
        requests = answer
            .unprocessed_items()
            .and_then(|u| u.get(&table))
            .cloned()
            .unwrap_or_default();
    }
}
