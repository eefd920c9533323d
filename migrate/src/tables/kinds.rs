//! The item kinds of Bedrock Chat's v2 conversation table and what each becomes in the v3
//! tables, exactly as the app's own migration script does it (`docs/migration/migrate_v2_v3.py`
//! at v3.0.0; the rules and the attributes kept or dropped are listed, with the app's paths, in
//! `docs/bedrock-chat-v3-tables.md`):
//!
//! | v2 item (`PK` = user id)                 | v3 table      | v3 item                          |
//! |------------------------------------------|---------------|----------------------------------|
//! | `SK` `<user>#CONV#<id>`                  | conversations | copied as it is                  |
//! | `SK` `<user>#RELATED_DOCUMENT#<...>`     | conversations | copied as it is                  |
//! | `SK` `<user>#BOT#<id>`                   | bots          | `SK` `BOT#<id>`, re-shaped       |
//! | `SK` `<user>#BOT_ALIAS#<id>`             | bots          | `SK` `ALIAS#<bot>`, if still public |
//!
//! Anything else is not an item the v3 tables hold (the script never reads it): it is skipped and
//! reported with its key.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::tables::item::{Item, SourceKey};

/// The kinds of item of the v2 conversation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Conversation,
    RelatedDocument,
    Bot,
    Alias,
    /// Any other item: not migrated (reported as skipped).
    Other,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Conversation,
        Kind::RelatedDocument,
        Kind::Bot,
        Kind::Alias,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Conversation => "conversation",
            Kind::RelatedDocument => "related_document",
            Kind::Bot => "bot",
            Kind::Alias => "alias",
            Kind::Other => "other",
        }
    }
}

/// Which v3 table an item goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetTable {
    Conversations,
    Bots,
}

/// What the migration does with one source item.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Write(TargetTable, Item),
    /// An alias: written when its bot is still public, with the bot's owner (found through the
    /// source's `PublicBotIdIndex`, as the script finds it).
    ResolveAlias {
        original_bot_id: String,
    },
    Skip(String),
    Malformed(String),
}

/// The source key of an item, if it has one (`PK` and `SK` strings).
pub fn source_key(item: &Item) -> Option<SourceKey> {
    let s = |name| item.get(name).and_then(|v: &AttributeValue| v.as_s().ok());
    Some(SourceKey {
        pk: s("PK")?.clone(),
        sk: s("SK")?.clone(),
    })
}

/// The kind of an item by its key; `None` when it has no string `PK` and `SK`.
pub fn kind_of(key: &SourceKey) -> Kind {
    let Some(rest) = key
        .sk
        .strip_prefix(key.pk.as_str())
        .and_then(|r| r.strip_prefix('#'))
    else {
        return Kind::Other;
    };
    if rest.starts_with("CONV#") {
        Kind::Conversation
    } else if rest.starts_with("RELATED_DOCUMENT#") {
        Kind::RelatedDocument
    } else if rest.starts_with("BOT#") {
        Kind::Bot
    } else if rest.starts_with("BOT_ALIAS#") {
        Kind::Alias
    } else {
        Kind::Other
    }
}

/// The script's `decompose_bot_id`: what follows the last `#`.
fn last_part(sk: &str) -> &str {
    sk.rsplit('#').next().unwrap_or(sk)
}

/// What to do with `item`, of kind `kind`, keyed `key`.
pub fn step(kind: Kind, key: &SourceKey, item: &Item) -> Step {
    match kind {
        Kind::Conversation | Kind::RelatedDocument => {
            Step::Write(TargetTable::Conversations, item.clone())
        }
        Kind::Bot => bot_step(key, item),
        Kind::Alias => match string(item, "OriginalBotId") {
            Some(id) if !id.is_empty() => Step::ResolveAlias {
                original_bot_id: id.to_owned(),
            },
            _ => Step::Malformed("an alias without OriginalBotId".into()),
        },
        Kind::Other => Step::Skip(
            "not an item kind of the v3 tables (the app's migration script never reads it)".into(),
        ),
    }
}

fn string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The attributes the script copies without a default: an item without one of them stops the
/// script's whole user (a `KeyError`); here it is that item alone, reported.
const BOT_REQUIRED: [&str; 7] = [
    "Title",
    "Description",
    "Instruction",
    "CreateTime",
    "SyncStatus",
    "SyncStatusReason",
    "LastExecId",
];
const ALIAS_REQUIRED: [&str; 4] = ["Title", "Description", "CreateTime", "SyncStatus"];

/// Attributes copied when present, as the script copies them. `GenerationParams` too, where the
/// script writes an empty map for a bot saved before v0.4.9: v3 reads a present map instead of its
/// defaults and then cannot load the bot, so an absent one stays absent (the first departure from
/// the script; `docs/bedrock-chat-v3-tables.md`, section 3).
const BOT_OPTIONAL: [&str; 8] = [
    "GenerationParams",
    "ActiveModels",
    "BedrockKnowledgeBase",
    "GuardrailsParams",
    "ApiPublishmentStackName",
    "ApiPublishedDatetime",
    "ApiPublishCodeBuildId",
    "ConversationQuickStarters",
];

fn missing(item: &Item, required: &[&str]) -> Option<String> {
    let absent: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| !item.contains_key(*name))
        .collect();
    (!absent.is_empty()).then(|| {
        format!(
            "missing {} (the app's v2 code cannot read it either)",
            absent.join(", ")
        )
    })
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn copy(from: &Item, to: &mut Item, names: &[&str]) {
    for name in names {
        if let Some(v) = from.get(*name) {
            to.insert((*name).to_owned(), v.clone());
        }
    }
}

fn or_default(from: &Item, to: &mut Item, name: &str, default: AttributeValue) {
    to.insert(name.to_owned(), from.get(name).cloned().unwrap_or(default));
}

fn empty_knowledge() -> AttributeValue {
    AttributeValue::M(
        ["source_urls", "sitemap_urls", "filenames", "s3_urls"]
            .into_iter()
            .map(|k| (k.to_owned(), AttributeValue::L(Vec::new())))
            .collect(),
    )
}

/// The publication of a bot that is no longer shared, written as v3's `store_bot` writes an
/// unpublished bot (NULL). v2 let a published bot be made private; the script copies its
/// `ApiPublishmentStackName`, and v3's validator refuses a non-null one unless `SharedScope` is
/// `all`, so the bot could not be opened (the second departure from the script;
/// `docs/bedrock-chat-v3-tables.md`, section 3). Its API stack imported the v2 stack's export, so
/// the upgrade ran only once that stack was gone.
fn unpublish(bot: &mut Item) {
    let published = bot
        .get("ApiPublishmentStackName")
        .is_some_and(|v| !matches!(v, AttributeValue::Null(true)));
    if published {
        for name in [
            "ApiPublishmentStackName",
            "ApiPublishedDatetime",
            "ApiPublishCodeBuildId",
        ] {
            bot.insert(name.to_owned(), AttributeValue::Null(true));
        }
    }
}

/// The script's `IsPinned` -> `IsStarred` ("TRUE", a sparse index key) and `LastBotUsed` ->
/// `LastUsedTime`, common to bots and aliases.
fn starred_and_last_used(from: &Item, to: &mut Item) {
    if from.get("IsPinned").and_then(|v| v.as_bool().ok()) == Some(&true) {
        to.insert("IsStarred".into(), s("TRUE"));
    }
    if let Some(v) = from.get("LastBotUsed") {
        to.insert("LastUsedTime".into(), v.clone());
    }
}

fn bot_step(key: &SourceKey, item: &Item) -> Step {
    // The script reads only bots without an OriginalBotId (or with an empty one).
    if string(item, "OriginalBotId").is_some_and(|id| !id.is_empty()) {
        return Step::Skip(
            "a bot item with an OriginalBotId (the app's script migrates only bots without one)"
                .into(),
        );
    }
    if let Some(reason) = missing(item, &BOT_REQUIRED) {
        return Step::Malformed(reason);
    }
    let user = key.pk.as_str();
    let bot_id = last_part(&key.sk);
    let mut new = HashMap::from([
        ("PK".to_owned(), s(user)),
        ("SK".to_owned(), s(format!("BOT#{bot_id}"))),
        ("ItemType".to_owned(), s(format!("{user}#BOT"))),
        ("BotId".to_owned(), s(bot_id)),
    ]);
    copy(item, &mut new, &BOT_REQUIRED);
    or_default(
        item,
        &mut new,
        "DisplayRetrievedChunks",
        AttributeValue::Bool(false),
    );
    or_default(
        item,
        &mut new,
        "AgentData",
        AttributeValue::M(HashMap::from([(
            "tools".to_owned(),
            AttributeValue::L(Vec::new()),
        )])),
    );
    or_default(item, &mut new, "Knowledge", empty_knowledge());
    copy(item, &mut new, &BOT_OPTIONAL);
    new.entry("ConversationQuickStarters".into())
        .or_insert_with(|| AttributeValue::L(Vec::new()));
    if item.contains_key("PublicBotId") {
        new.insert("SharedScope".into(), s("all"));
        new.insert("SharedStatus".into(), s("shared"));
    } else {
        // SharedScope is the key of a sparse index: left out, as the script leaves it out.
        new.insert("SharedStatus".into(), s("unshared"));
        unpublish(&mut new);
    }
    new.insert("AllowedCognitoUsers".into(), AttributeValue::L(Vec::new()));
    new.insert("AllowedCognitoGroups".into(), AttributeValue::L(Vec::new()));
    starred_and_last_used(item, &mut new);
    new.insert(
        "UsageStats".into(),
        AttributeValue::M(HashMap::from([(
            "usage_count".to_owned(),
            AttributeValue::N("0".into()),
        )])),
    );
    Step::Write(TargetTable::Bots, new)
}

/// The v3 alias of `item` whose bot `original_bot_id` is public and owned by `owner`; `None`
/// (skipped) when no public bot has that id any more, as the script skips it.
pub fn alias_item(key: &SourceKey, item: &Item, owner: Option<&str>) -> Step {
    let Some(owner) = owner else {
        return Step::Skip(
            "an alias of a bot that is no longer shared (no public bot has its OriginalBotId): \
             the app's script skips it"
                .into(),
        );
    };
    if let Some(reason) = missing(item, &ALIAS_REQUIRED) {
        return Step::Malformed(reason);
    }
    let user = key.pk.as_str();
    let original = string(item, "OriginalBotId").unwrap_or_default();
    let mut new = HashMap::from([
        ("PK".to_owned(), s(user)),
        ("SK".to_owned(), s(format!("ALIAS#{original}"))),
        ("ItemType".to_owned(), s(format!("{user}#ALIAS"))),
        ("OriginalBotId".to_owned(), s(original)),
        ("OwnerUserId".to_owned(), s(owner)),
        ("IsOriginAccessible".to_owned(), AttributeValue::Bool(true)),
    ]);
    copy(item, &mut new, &ALIAS_REQUIRED);
    or_default(item, &mut new, "HasKnowledge", AttributeValue::Bool(false));
    or_default(item, &mut new, "HasAgent", AttributeValue::Bool(false));
    or_default(
        item,
        &mut new,
        "ConversationQuickStarters",
        AttributeValue::L(Vec::new()),
    );
    copy(item, &mut new, &["ActiveModels"]);
    starred_and_last_used(item, &mut new);
    Step::Write(TargetTable::Bots, new)
}

#[cfg(test)]
#[path = "kinds_tests.rs"]
mod tests;
