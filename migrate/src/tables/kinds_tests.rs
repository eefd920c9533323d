//! The transforms on items in the app's own v2.10 shapes (`docs/bedrock-chat-v3-tables.md`,
//! section 5), old and odd ones included.

use super::*;

/// An item from DynamoDB JSON (`{"S": ...}` etc.), as the app's samples are written.
fn item(json: &str) -> Item {
    let value: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    value
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), attr(v)))
        .collect()
}

fn attr(v: &serde_json::Value) -> AttributeValue {
    let (kind, inner) = v.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().into()),
        "N" => AttributeValue::N(inner.as_str().unwrap().into()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(attr).collect()),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), attr(v)))
                .collect(),
        ),
        other => panic!("unexpected type {other}"),
    }
}

fn key(item: &Item) -> SourceKey {
    source_key(item).unwrap()
}

fn written(step: Step) -> (TargetTable, Item) {
    match step {
        Step::Write(table, item) => (table, item),
        other => panic!("expected a write, got {other:?}"),
    }
}

const PUBLIC_PINNED_BOT: &str = r#"{"PK": {"S": "U"}, "SK": {"S": "U#BOT#01JQ9X7Y6Z5A4B3C2D1E0F9G8H"},
 "Title": {"S": "Analyst"}, "Description": {"S": "Answers from Q reports"}, "Instruction": {"S": "You are a helpful analyst."},
 "CreateTime": {"N": "1743900000000"}, "LastBotUsed": {"N": "1743984000000"}, "IsPinned": {"BOOL": true},
 "PublicBotId": {"S": "01JQ9X7Y6Z5A4B3C2D1E0F9G8H"},
 "GenerationParams": {"M": {"max_tokens": {"N": "4096"}, "top_k": {"N": "250"}}},
 "AgentData": {"M": {"tools": {"L": []}}},
 "Knowledge": {"M": {"source_urls": {"L": []}, "sitemap_urls": {"L": []}, "filenames": {"L": [{"S": "report-q1.pdf"}]}, "s3_urls": {"L": []}}},
 "SyncStatus": {"S": "SUCCEEDED"}, "SyncStatusReason": {"S": ""}, "LastExecId": {"S": "arn:aws:codebuild:us-east-1:111122223333:build/KbBuild:0a1b"},
 "ApiPublishmentStackName": {"NULL": true}, "DisplayRetrievedChunks": {"BOOL": true},
 "ConversationQuickStarters": {"L": [{"M": {"title": {"S": "Q1"}, "example": {"S": "Summarize Q1"}}}]},
 "ActiveModels": {"M": {"claude_v3_5_sonnet": {"BOOL": true}}}}"#;

#[test]
fn kinds_come_from_the_sort_key_after_the_user_id() {
    let k = |pk: &str, sk: &str| {
        kind_of(&SourceKey {
            pk: pk.into(),
            sk: sk.into(),
        })
    };
    assert_eq!(k("U", "U#CONV#01J"), Kind::Conversation);
    assert_eq!(
        k("U", "U#RELATED_DOCUMENT#01J#02K@0"),
        Kind::RelatedDocument
    );
    assert_eq!(k("U", "U#BOT#01J"), Kind::Bot);
    assert_eq!(k("U", "U#BOT_ALIAS#01J"), Kind::Alias);
    // Another user's prefix is not this user's item.
    assert_eq!(k("U", "V#BOT#01J"), Kind::Other);
    assert_eq!(k("U", "U#SOMETHING#1"), Kind::Other);
}

#[test]
fn a_public_pinned_bot_becomes_a_shared_starred_v3_bot() {
    let v2 = item(PUBLIC_PINNED_BOT);
    let (table, v3) = written(step(Kind::Bot, &key(&v2), &v2));
    assert_eq!(table, TargetTable::Bots);
    let s = |name: &str| v3.get(name).and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(s("PK").as_deref(), Some("U"));
    assert_eq!(s("SK").as_deref(), Some("BOT#01JQ9X7Y6Z5A4B3C2D1E0F9G8H"));
    assert_eq!(s("ItemType").as_deref(), Some("U#BOT"));
    assert_eq!(s("BotId").as_deref(), Some("01JQ9X7Y6Z5A4B3C2D1E0F9G8H"));
    assert_eq!(s("SharedScope").as_deref(), Some("all"));
    assert_eq!(s("SharedStatus").as_deref(), Some("shared"));
    assert_eq!(s("IsStarred").as_deref(), Some("TRUE"));
    assert_eq!(v3.get("LastUsedTime"), v2.get("LastBotUsed"));
    for kept in [
        "GenerationParams",
        "Knowledge",
        "ActiveModels",
        "ConversationQuickStarters",
    ] {
        assert_eq!(v3.get(kept), v2.get(kept), "{kept}");
    }
    for dropped in ["PublicBotId", "IsPinned", "LastBotUsed"] {
        assert!(!v3.contains_key(dropped), "{dropped} is dropped");
    }
}

#[test]
fn an_old_bot_gets_the_scripts_defaults_but_no_empty_generation_params() {
    let v2 = item(
        r#"{"PK": {"S": "U"}, "SK": {"S": "U#BOT#01HMZ3A4B5C6D7E8F9G0H1J2K3"}, "Title": {"S": "Old helper"}, "Description": {"S": ""},
 "Instruction": {"S": "Be brief."}, "CreateTime": {"N": "1705900000000"}, "LastBotUsed": {"N": "1706000000000"},
 "IsPinned": {"BOOL": false},
 "Knowledge": {"M": {"source_urls": {"L": []}, "sitemap_urls": {"L": []}, "filenames": {"L": []}}},
 "SyncStatus": {"S": "SUCCEEDED"}, "SyncStatusReason": {"S": ""}, "LastExecId": {"S": ""}}"#,
    );
    let (_, v3) = written(step(Kind::Bot, &key(&v2), &v2));
    assert!(
        !v3.contains_key("GenerationParams"),
        "v3 applies its defaults"
    );
    assert!(
        !v3.contains_key("SharedScope"),
        "a sparse index key stays absent"
    );
    assert!(!v3.contains_key("IsStarred"));
    assert_eq!(
        v3.get("SharedStatus")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("unshared")
    );
    assert_eq!(v3.get("Knowledge"), v2.get("Knowledge"));
    assert_eq!(
        v3.get("DisplayRetrievedChunks"),
        Some(&AttributeValue::Bool(false))
    );
}

/// v2 let a published bot be made private (`routes/bot.py` 78-81 checks no publication); v3
/// refuses an unshared bot with a non-null `ApiPublishmentStackName`, so it is written
/// unpublished, as v3's `store_bot` writes one. A public bot keeps its publication.
#[test]
fn a_bot_published_then_made_private_is_written_unpublished() {
    let mut v2 = item(PUBLIC_PINNED_BOT);
    v2.insert(
        "ApiPublishmentStackName".into(),
        AttributeValue::S("ApiPublishmentStack01JQ9X7Y6Z5A4B3C2D1E0F9G8H".into()),
    );
    v2.insert(
        "ApiPublishedDatetime".into(),
        AttributeValue::N("1743950000000".into()),
    );
    v2.insert(
        "ApiPublishCodeBuildId".into(),
        AttributeValue::S("ApiPublishCodebuild:9f8e".into()),
    );
    let (_, shared) = written(step(Kind::Bot, &key(&v2), &v2));
    assert_eq!(
        shared.get("ApiPublishmentStackName"),
        v2.get("ApiPublishmentStackName"),
        "a public bot keeps its publication"
    );

    v2.remove("PublicBotId");
    let (_, private) = written(step(Kind::Bot, &key(&v2), &v2));
    for name in [
        "ApiPublishmentStackName",
        "ApiPublishedDatetime",
        "ApiPublishCodeBuildId",
    ] {
        assert_eq!(
            private.get(name),
            Some(&AttributeValue::Null(true)),
            "{name}"
        );
    }
    assert_eq!(
        private.get("SharedStatus"),
        Some(&AttributeValue::S("unshared".into()))
    );
}

#[test]
fn a_stub_bot_is_malformed_with_what_it_lacks() {
    let v2 = item(
        r#"{"PK": {"S": "U"}, "SK": {"S": "U#BOT#01JQBBBB"}, "SyncStatus": {"S": "FAILED"},
 "SyncStatusReason": {"S": "gone"}, "LastExecId": {"S": "x"}}"#,
    );
    match step(Kind::Bot, &key(&v2), &v2) {
        Step::Malformed(reason) => {
            assert!(
                reason.contains("Title, Description, Instruction, CreateTime"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_alias_is_resolved_then_rekeyed_with_its_owner_or_skipped() {
    let v2 = item(
        r#"{"PK": {"S": "V"}, "SK": {"S": "V#BOT_ALIAS#01JQAAAAAAAAAAAAAAAAAAAAAA"}, "Title": {"S": "Formerly shared"}, "Description": {"S": ""},
 "OriginalBotId": {"S": "01JQAAAAAAAAAAAAAAAAAAAAAA"}, "CreateTime": {"N": "1740000000000"}, "LastBotUsed": {"N": "1740000000000"},
 "IsPinned": {"BOOL": true}, "SyncStatus": {"S": "SUCCEEDED"}, "HasKnowledge": {"BOOL": false}}"#,
    );
    let k = key(&v2);
    assert_eq!(
        step(Kind::Alias, &k, &v2),
        Step::ResolveAlias {
            original_bot_id: "01JQAAAAAAAAAAAAAAAAAAAAAA".into()
        }
    );
    assert!(matches!(alias_item(&k, &v2, None), Step::Skip(r) if r.contains("no longer shared")));
    let (table, v3) = written(alias_item(&k, &v2, Some("U")));
    assert_eq!(table, TargetTable::Bots);
    let s = |name: &str| v3.get(name).and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(s("SK").as_deref(), Some("ALIAS#01JQAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(s("ItemType").as_deref(), Some("V#ALIAS"));
    assert_eq!(s("OwnerUserId").as_deref(), Some("U"));
    assert_eq!(s("IsStarred").as_deref(), Some("TRUE"));
    assert_eq!(v3.get("HasAgent"), Some(&AttributeValue::Bool(false)));
    assert_eq!(
        v3.get("ConversationQuickStarters"),
        Some(&AttributeValue::L(vec![]))
    );
}

#[test]
fn conversations_and_related_documents_are_copied_as_they_are() {
    let v2 = item(
        r#"{"PK": {"S": "U"}, "SK": {"S": "U#CONV#01JR2Z8K3M4N5P6Q7R8S9T0V1W"}, "Title": {"S": "Old"},
 "CreateTime": {"N": "1743984000000"}, "MessageMap": {"S": "{}"}, "LastMessageId": {"S": "x"}}"#,
    );
    assert_eq!(
        written(step(Kind::Conversation, &key(&v2), &v2)),
        (TargetTable::Conversations, v2.clone())
    );
}
