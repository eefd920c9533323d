//! The items of Bedrock Chat v2.10's conversation table, one builder per shape, as the app's
//! writers make them (`docs/bedrock-chat-v3-tables.md`: section 2 lists each attribute and the
//! release that added it, section 5 has a sample of each; the values here vary, the shapes do
//! not).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

fn null() -> AttributeValue {
    AttributeValue::Null(true)
}

fn m<const N: usize>(entries: [(&str, AttributeValue); N]) -> AttributeValue {
    AttributeValue::M(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn l(values: Vec<AttributeValue>) -> AttributeValue {
    AttributeValue::L(values)
}

fn strings(values: &[&str]) -> AttributeValue {
    l(values.iter().map(|v| s(*v)).collect())
}

fn item<const N: usize>(entries: [(&str, AttributeValue); N]) -> Item {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// A ULID as the app's frontend (`ulid()`) and backend make them: 10 Crockford base-32 characters
/// of the time in ms, 16 of randomness (here a counter, so a seed is the same every run).
pub fn ulid(ms: u64, counter: u64) -> String {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::with_capacity(26);
    for i in (0..10).rev() {
        out.push(CROCKFORD[((ms >> (5 * i)) & 31) as usize] as char);
    }
    for i in (0..16).rev() {
        // 80 bits of randomness; the counter fills the low 64.
        let bits = if 5 * i >= 64 { 0 } else { counter >> (5 * i) };
        out.push(CROCKFORD[(bits & 31) as usize] as char);
    }
    out
}

/// A Cognito user id (`sub`, a UUID), the table's `PK`.
pub fn user_id(index: usize) -> String {
    let i = index as u64;
    format!(
        "{:08x}-{:04x}-70d1-9d2e-{:012x}",
        0xb4c8_a4e8u64 ^ i,
        i & 0xffff,
        0x1f6a_2c3d_4e5f_u64 + i
    )
}

/// `ActiveModels` at v2.10: its 19 model names, all on (as the bot editor saves them).
fn active_models() -> AttributeValue {
    const MODELS: [&str; 19] = [
        "claude_v3_5_sonnet",
        "claude_v3_5_sonnet_v2",
        "claude_v3_7_sonnet",
        "claude_v3_5_haiku",
        "claude_v3_haiku",
        "claude_v3_opus",
        "mistral_7b_instruct",
        "mixtral_8x7b_instruct",
        "mistral_large",
        "mistral_large_2",
        "amazon_nova_pro",
        "amazon_nova_lite",
        "amazon_nova_micro",
        "deepseek_r1",
        "llama3_3_70b_instruct",
        "llama3_2_1b_instruct",
        "llama3_2_3b_instruct",
        "llama3_2_11b_instruct",
        "llama3_2_90b_instruct",
    ];
    AttributeValue::M(MODELS.iter().map(|k| ((*k).to_owned(), b(true))).collect())
}

fn quick_starters() -> AttributeValue {
    l(vec![m([
        ("title", s("Q1")),
        ("example", s("Summarize Q1")),
    ])])
}

fn generation_params(with_reasoning: bool) -> AttributeValue {
    let mut map = HashMap::from([
        ("max_tokens".to_owned(), n(4096)),
        ("top_k".to_owned(), n(250)),
        ("top_p".to_owned(), n("0.999")),
        ("temperature".to_owned(), n("1.0")),
        (
            "stop_sequences".to_owned(),
            strings(&["Human: ", "Assistant: "]),
        ),
    ]);
    // reasoning_params arrived in v2.6.0.
    if with_reasoning {
        map.insert(
            "reasoning_params".to_owned(),
            m([("budget_tokens", n(1024))]),
        );
    }
    AttributeValue::M(map)
}

fn knowledge(files: &[&str]) -> AttributeValue {
    m([
        ("source_urls", strings(&[])),
        ("sitemap_urls", strings(&[])),
        ("filenames", strings(files)),
        ("s3_urls", strings(&[])),
    ])
}

fn knowledge_base(kb_id: &str) -> AttributeValue {
    m([
        ("embeddings_model", s("titan_v2")),
        ("open_search", m([("analyzer", null())])),
        (
            "chunking_configuration",
            m([("chunking_strategy", s("default"))]),
        ),
        (
            "search_params",
            m([("max_results", n(20)), ("search_type", s("hybrid"))]),
        ),
        ("knowledge_base_id", s(kb_id)),
        ("exist_knowledge_base_id", null()),
        ("data_source_ids", strings(&["DS12345678"])),
        ("parsing_model", s("disabled")),
        ("web_crawling_scope", s("DEFAULT")),
        (
            "web_crawling_filters",
            m([
                ("exclude_patterns", strings(&[])),
                ("include_patterns", strings(&[])),
            ]),
        ),
    ])
}

fn guardrails() -> AttributeValue {
    m([
        ("is_guardrail_enabled", b(false)),
        ("hate_threshold", n(0)),
        ("insults_threshold", n(0)),
        ("sexual_threshold", n(0)),
        ("violence_threshold", n(0)),
        ("misconduct_threshold", n(0)),
        ("grounding_threshold", n("0.0")),
        ("relevance_threshold", n("0.0")),
        ("guardrail_arn", s("")),
        ("guardrail_version", s("")),
    ])
}

fn internet_tool() -> AttributeValue {
    m([
        ("tool_type", s("internet")),
        ("name", s("internet_search")),
        ("description", s("Search the web")),
        ("search_engine", s("duckduckgo")),
        ("firecrawl_config", null()),
    ])
}

/// How a v2.10 bot is set up: the variations the seed spreads over its bots.
#[derive(Debug, Clone, Copy)]
pub struct BotSetup {
    /// `PublicBotId` set (shared with everyone).
    pub public: bool,
    pub pinned: bool,
    /// Files in its knowledge, embedded in a Bedrock knowledge base.
    pub knowledge_base: bool,
}

/// A bot as `store_bot`/`update_bot` write it at v2.10 (section 5.3).
pub fn bot(user: &str, bot_id: &str, setup: BotSetup, created: u64, last_used: u64) -> Item {
    let title = format!("Analyst {}", &bot_id[20..]);
    let mut bot = item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#BOT#{bot_id}"))),
        ("Title", s(&title)),
        ("Description", s("Answers from Q reports")),
        ("Instruction", s(instruction(&title))),
        ("CreateTime", n(created)),
        ("LastBotUsed", n(last_used)),
        ("IsPinned", b(setup.pinned)),
        ("GenerationParams", generation_params(true)),
        ("AgentData", m([("tools", l(vec![internet_tool()]))])),
        ("SyncStatus", s("SUCCEEDED")),
        ("SyncStatusReason", s("")),
        ("LastExecId", s("")),
        ("ApiPublishmentStackName", null()),
        ("ApiPublishedDatetime", null()),
        ("ApiPublishCodeBuildId", null()),
        ("DisplayRetrievedChunks", b(true)),
        ("ConversationQuickStarters", quick_starters()),
        ("ActiveModels", active_models()),
        ("GuardrailsParams", guardrails()),
    ]);
    if setup.public {
        bot.insert("PublicBotId".into(), s(bot_id));
    }
    if setup.knowledge_base {
        bot.insert("Knowledge".into(), knowledge(&["report-q1.pdf"]));
        bot.insert(
            "BedrockKnowledgeBase".into(),
            knowledge_base(&format!("KB{}", &bot_id[18..])),
        );
        bot.insert(
            "LastExecId".into(),
            s("arn:aws:codebuild:us-east-1:111122223333:build/KbBuild:0a1b"),
        );
    } else {
        bot.insert("Knowledge".into(), knowledge(&[]));
    }
    bot
}

/// A bot's system prompt: it is what makes a real bot item 1-2 KB.
fn instruction(title: &str) -> String {
    let sentence = "Answer from the quarterly reports first, cite the page you used, \
                    and say plainly when they do not cover the question. ";
    format!(
        "You are {title}, a helpful analyst. {}",
        sentence.repeat(4 + title.len() % 5)
    )
}

/// A bot saved by v0.4.0-v0.4.4 and never edited since (section 5.5 a): none of the later
/// attributes.
pub fn bot_v0_4(user: &str, bot_id: &str) -> Item {
    item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#BOT#{bot_id}"))),
        ("Title", s("Old helper")),
        ("Description", s("")),
        ("Instruction", s("Be brief.")),
        ("CreateTime", n(1_705_900_000_000u64)),
        ("LastBotUsed", n(1_706_000_000_000u64)),
        ("IsPinned", b(false)),
        (
            "Knowledge",
            m([
                ("source_urls", strings(&[])),
                ("sitemap_urls", strings(&[])),
                ("filenames", strings(&[])),
            ]),
        ),
        ("SyncStatus", s("SUCCEEDED")),
        ("SyncStatusReason", s("")),
        ("LastExecId", s("")),
    ])
}

/// A bot last saved by v1.0.0-v1.4.0 (section 5.5 b): the legacy `EmbeddingParams` and
/// `SearchParams`, a tool without `tool_type`, no `reasoning_params`, `ActiveModels` or knowledge
/// base.
pub fn bot_v1(user: &str, bot_id: &str) -> Item {
    item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#BOT#{bot_id}"))),
        ("Title", s("Support desk")),
        ("Description", s("First-line answers")),
        ("Instruction", s("Answer from the manual.")),
        ("CreateTime", n(1_715_000_000_000u64)),
        ("LastBotUsed", n(1_716_000_000_000u64)),
        ("IsPinned", b(true)),
        ("Knowledge", knowledge(&["manual.pdf"])),
        ("SyncStatus", s("SUCCEEDED")),
        ("SyncStatusReason", s("")),
        (
            "LastExecId",
            s("arn:aws:states:us-east-1:111122223333:execution:Emb:1"),
        ),
        ("ApiPublishmentStackName", null()),
        ("ApiPublishedDatetime", null()),
        ("ApiPublishCodeBuildId", null()),
        ("GenerationParams", generation_params(false)),
        ("DisplayRetrievedChunks", b(false)),
        (
            "AgentData",
            m([(
                "tools",
                l(vec![m([
                    ("name", s("get_weather")),
                    ("description", s("Weather by city")),
                ])]),
            )]),
        ),
        ("ConversationQuickStarters", l(vec![])),
        (
            "EmbeddingParams",
            m([
                ("chunk_size", n(1000)),
                ("chunk_overlap", n(200)),
                ("enable_partition_pdf", b(false)),
            ]),
        ),
        ("SearchParams", m([("max_results", n(20))])),
    ])
}

/// What the knowledge-base state machine's unconditional `update_item` leaves when the bot was
/// deleted during a sync (section 5.5 d): no `Title`, so not a bot the app can read.
pub fn stub_bot(user: &str, bot_id: &str) -> Item {
    item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#BOT#{bot_id}"))),
        ("SyncStatus", s("FAILED")),
        ("SyncStatusReason", s("Knowledge base stack was deleted")),
        (
            "LastExecId",
            s("arn:aws:states:us-east-1:111122223333:execution:Kb:9"),
        ),
    ])
}

/// An alias of another user's public bot, at v2.10 (section 5.4); the alias id is the bot's id.
pub fn alias(user: &str, bot_id: &str, pinned: bool, created: u64, last_used: u64) -> Item {
    item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#BOT_ALIAS#{bot_id}"))),
        ("Title", s(format!("Analyst {}", &bot_id[20..]))),
        ("Description", s("Answers from Q reports")),
        ("OriginalBotId", s(bot_id)),
        ("CreateTime", n(created)),
        ("LastBotUsed", n(last_used)),
        ("IsPinned", b(pinned)),
        ("SyncStatus", s("SUCCEEDED")),
        ("HasKnowledge", b(true)),
        ("HasAgent", b(true)),
        ("ConversationQuickStarters", quick_starters()),
        ("ActiveModels", active_models()),
    ])
}

/// An alias saved before v1.1.2 whose bot is no longer shared (section 5.5 c).
pub fn alias_unshared(user: &str, bot_id: &str) -> Item {
    item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#BOT_ALIAS#{bot_id}"))),
        ("Title", s("Formerly shared")),
        ("Description", s("")),
        ("OriginalBotId", s(bot_id)),
        ("CreateTime", n(1_740_000_000_000u64)),
        ("LastBotUsed", n(1_740_000_000_000u64)),
        ("IsPinned", b(true)),
        ("SyncStatus", s("SUCCEEDED")),
        ("HasKnowledge", b(false)),
    ])
}

/// One message of a conversation's `MessageMap` (JSON text, not DynamoDB types).
fn message(role: &str, body: &str, parent: Option<&str>, children: &[&str], at: u64) -> String {
    serde_json::json!({
        "role": role,
        "content": [{"content_type": "text", "body": body}],
        "model": "claude-v3.7-sonnet",
        "children": children,
        "parent": parent,
        "create_time": at,
        "feedback": null,
        "used_chunks": null,
        "thinking_log": null,
    })
    .to_string()
}

/// The `MessageMap` of a short chat: system, instruction, a question and its answer.
fn message_map(question: &str, answer_id: &str, at: u64) -> String {
    let user_id = format!("{}Q", &answer_id[..25]);
    let answer = "Revenue grew 12% in the first quarter, driven by the new subscription plans; \
                  costs stayed flat, so the operating margin rose by three points.";
    format!(
        "{{\"system\": {}, \"instruction\": {}, \"{user_id}\": {}, \"{answer_id}\": {}}}",
        message("system", "", None, &["instruction"], at),
        message(
            "instruction",
            "You are a helpful analyst.",
            Some("system"),
            &[&user_id],
            at
        ),
        message("user", question, Some("instruction"), &[answer_id], at),
        message("assistant", answer, Some(&user_id), &[], at + 4_000),
    )
}

/// How a conversation was stored.
#[derive(Debug, Clone, Copy)]
pub enum ConversationShape {
    /// v2.10 with a bot.
    WithBot,
    /// v2.10 without a bot, its messages in the large-message bucket.
    Large,
    /// v0.4.0-v0.4.4: only PK, SK, Title, CreateTime, MessageMap, LastMessageId.
    Old,
}

/// A conversation (section 5.1), with the id of its last message (its related documents name it).
pub fn conversation(
    user: &str,
    conversation_id: &str,
    bot_id: &str,
    shape: ConversationShape,
    at: u64,
) -> (Item, String) {
    let last = ulid(at + 4_000, at);
    let mut conversation = item([
        ("PK", s(user)),
        ("SK", s(format!("{user}#CONV#{conversation_id}"))),
        ("Title", s("Quarterly report summary")),
        ("CreateTime", n(at)),
        (
            "MessageMap",
            s(message_map("Summarize the Q1 report.", &last, at)),
        ),
        ("LastMessageId", s(&last)),
    ]);
    match shape {
        ConversationShape::Old => {}
        ConversationShape::WithBot | ConversationShape::Large => {
            conversation.insert("TotalPrice".into(), n("0.004125"));
            conversation.insert("ShouldContinue".into(), b(false));
            let large = matches!(shape, ConversationShape::Large);
            conversation.insert("IsLargeMessage".into(), b(large));
            if large {
                let path = format!("{user}/{conversation_id}/message_map.json");
                conversation.insert("LargeMessagePath".into(), s(path));
                let system = format!(
                    "{{\"system\": {}}}",
                    message("system", "", None, &["instruction"], at)
                );
                conversation.insert("MessageMap".into(), s(system));
            } else {
                conversation.insert("BotId".into(), s(bot_id));
            }
        }
    }
    (conversation, last)
}

/// A related document of a knowledge-base answer (section 5.2): `<message id>@<rank>`.
pub fn related_document(user: &str, conversation_id: &str, message_id: &str, rank: usize) -> Item {
    item([
        ("PK", s(user)),
        (
            "SK",
            s(format!(
                "{user}#RELATED_DOCUMENT#{conversation_id}#{message_id}@{rank}"
            )),
        ),
        ("SourceName", s("report-q1.pdf")),
        (
            "SourceLink",
            s(format!("s3://bedrockchat-docs/{user}/report-q1.pdf")),
        ),
        (
            "Content",
            m([(
                "text",
                s("Revenue grew 12% year over year, led by subscriptions."),
            )]),
        ),
        ("PageNumber", n(rank + 3)),
    ])
}
