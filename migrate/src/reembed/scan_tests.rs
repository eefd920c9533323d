use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use tokio::sync::mpsc;

use super::*;
use crate::events::NoEvents;

fn s(v: &str) -> Av {
    Av::S(v.into())
}

fn bot_item(pk: &str, id: &str, urls: usize) -> HashMap<String, Av> {
    let list = (0..urls).map(|i| s(&format!("https://x/{i}"))).collect();
    HashMap::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s(&format!("{pk}#BOT#{id}"))),
        (
            "Knowledge".into(),
            Av::M(HashMap::from([
                ("source_urls".into(), Av::L(list)),
                ("sitemap_urls".into(), Av::L(vec![])),
                ("filenames".into(), Av::L(vec![])),
            ])),
        ),
        ("SyncStatus".into(), s("SUCCEEDED")),
    ])
}

#[test]
fn parse_bot_with_and_without_knowledge() {
    let ScanItem::Bot(b) = parse_item(&bot_item("u1", "b1", 2)) else {
        panic!("expected a bot")
    };
    assert_eq!(b.bot_id, "b1");
    assert_eq!(b.knowledge.source_urls, 2);
    assert!(b.needs_embedding);
    assert_eq!(b.sync_status.as_deref(), Some("SUCCEEDED"));

    let ScanItem::Bot(b) = parse_item(&bot_item("u1", "b2", 0)) else {
        panic!("expected a bot")
    };
    assert!(!b.needs_embedding);

    let mut no_knowledge = bot_item("u1", "b3", 0);
    no_knowledge.remove("Knowledge");
    assert!(matches!(parse_item(&no_knowledge), ScanItem::Bot(b) if !b.needs_embedding));
}

#[test]
fn string_sets_and_s3_urls_count() {
    let mut item = bot_item("u", "b", 0);
    item.insert(
        "Knowledge".into(),
        Av::M(HashMap::from([
            (
                "filenames".into(),
                Av::Ss(vec!["a.pdf".into(), "b.pdf".into()]),
            ),
            ("s3_urls".into(), Av::L(vec![s("s3://b/k")])),
            ("sitemap_urls".into(), Av::Null(true)),
        ])),
    );
    let ScanItem::Bot(b) = parse_item(&item) else {
        panic!()
    };
    assert_eq!(b.knowledge.filenames, 2);
    assert_eq!(b.knowledge.s3_urls, 1);
    assert!(b.needs_embedding);
}

#[test]
fn malformed_items_keep_keys_and_reason() {
    let mut no_sk = bot_item("u", "b", 1);
    no_sk.remove("SK");
    let ScanItem::Malformed(m) = parse_item(&no_sk) else {
        panic!()
    };
    assert_eq!(m.pk.as_deref(), Some("u"));
    assert_eq!(m.sk, None);

    let mut other_user = bot_item("u", "b", 1);
    other_user.insert("SK".into(), s("v#BOT#b"));
    let ScanItem::Malformed(m) = parse_item(&other_user) else {
        panic!()
    };
    assert!(m.reason.contains("SK"), "{}", m.reason);

    let mut bad_knowledge = bot_item("u", "b", 1);
    bad_knowledge.insert("Knowledge".into(), s("oops"));
    let ScanItem::Malformed(m) = parse_item(&bad_knowledge) else {
        panic!()
    };
    assert_eq!(m.reason, "Knowledge is not a map");

    let mut bad_list = bot_item("u", "b", 1);
    bad_list.insert(
        "Knowledge".into(),
        Av::M(HashMap::from([("filenames".into(), Av::N("3".into()))])),
    );
    assert!(
        matches!(parse_item(&bad_list), ScanItem::Malformed(m) if m.reason.contains("filenames"))
    );

    let mut non_string = bot_item("u", "b", 1);
    non_string.insert(
        "Knowledge".into(),
        Av::M(HashMap::from([(
            "source_urls".into(),
            Av::L(vec![Av::N("1".into())]),
        )])),
    );
    assert!(matches!(parse_item(&non_string), ScanItem::Malformed(_)));

    let mut numeric_pk = bot_item("u", "b", 1);
    numeric_pk.insert("PK".into(), Av::N("1".into()));
    assert!(matches!(parse_item(&numeric_pk), ScanItem::Malformed(m) if m.pk.is_none()));
}

fn page(items: Vec<HashMap<String, Av>>, next: Option<&str>) -> ScanOutput {
    let n = items.len() as i32;
    ScanOutput::builder()
        .set_items(Some(items))
        .scanned_count(n * 3)
        .count(n)
        .set_last_evaluated_key(next.map(|k| HashMap::from([("PK".into(), s(k))])))
        .build()
}

#[tokio::test]
async fn scan_reads_every_page_of_every_segment() {
    let mut rules = Vec::new();
    for segment in 0..2i32 {
        let first = mock!(Client::scan)
            .match_requests(move |r| {
                r.segment() == Some(segment)
                    && r.total_segments() == Some(2)
                    && r.exclusive_start_key().is_none()
                    && r.filter_expression() == Some("contains(#sk, :bot)")
                    && r.projection_expression() == Some("#pk, #sk, #kn, #ss")
            })
            .then_output(move || {
                page(
                    vec![
                        bot_item(&format!("u{segment}"), "p1a", 1),
                        bot_item(&format!("u{segment}"), "p1b", 0),
                    ],
                    Some("cursor"),
                )
            });
        let second = mock!(Client::scan)
            .match_requests(move |r| {
                r.segment() == Some(segment) && r.exclusive_start_key().is_some()
            })
            .then_output(move || page(vec![bot_item(&format!("u{segment}"), "p2", 3)], None));
        rules.push(first);
        rules.push(second);
    }
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &rules);
    // A channel smaller than the result proves the workers wait for the consumer.
    let (tx, mut rx) = mpsc::channel(1);
    let scan = tokio::spawn(scan_bots(client, "T".into(), 2, tx, Arc::new(NoEvents)));
    let mut got = Vec::new();
    while let Some(item) = rx.recv().await {
        got.push(item);
    }
    let stats = scan.await.unwrap().unwrap();
    assert_eq!(stats.pages, 4);
    assert_eq!(stats.returned, 6);
    assert_eq!(stats.scanned, 18);
    let mut ids: Vec<String> = got
        .iter()
        .map(|i| match i {
            ScanItem::Bot(b) => format!("{}:{}", b.key.pk, b.bot_id),
            ScanItem::Malformed(_) => panic!("unexpected malformed"),
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["u0:p1a", "u0:p1b", "u0:p2", "u1:p1a", "u1:p1b", "u1:p2"]
    );
    for rule in &rules {
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn scan_error_names_the_segment() {
    use aws_sdk_dynamodb::operation::scan::ScanError as OpError;
    use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
    let rule = mock!(Client::scan).then_error(|| {
        OpError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("no table")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled()));
    let (tx, _rx) = mpsc::channel(8);
    let err = scan_bots(client, "T".into(), 1, tx, Arc::new(NoEvents))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("segment 0"), "{err}");
}
