//! Bot identity and the embedding task's command contract.

use serde::{Deserialize, Serialize};

use super::target::fnv1a64;

/// The primary key of a bot item: `PK` = user id, `SK` = `<user id>#BOT#<bot id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BotKey {
    pub pk: String,
    pub sk: String,
}

/// The marker between user id and bot id in a bot item's sort key.
pub const BOT_MARKER: &str = "#BOT#";

impl BotKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The bot id when the sort key follows `<pk>#BOT#<id>`.
    pub fn bot_id(&self) -> Option<&str> {
        let id = self.sk.strip_prefix(&self.pk)?.strip_prefix(BOT_MARKER)?;
        (!id.is_empty()).then_some(id)
    }

    /// The third argument of the embedding container: the DynamoDB key of the bot in attribute-value
    /// JSON. A struct (not a map) keeps `PK` before `SK` whatever serde_json's features are.
    pub fn keys_json(&self) -> String {
        #[derive(Serialize)]
        struct S<'a> {
            #[serde(rename = "S")]
            s: &'a str,
        }
        #[derive(Serialize)]
        struct Keys<'a> {
            #[serde(rename = "PK")]
            pk: S<'a>,
            #[serde(rename = "SK")]
            sk: S<'a>,
        }
        serde_json::to_string(&Keys {
            pk: S { s: &self.pk },
            sk: S { s: &self.sk },
        })
        .expect("serializing two strings cannot fail")
    }

    /// The container command for this bot (docs/bedrock-chat-contract.md, "The embedding task").
    pub fn command(&self) -> Vec<String> {
        vec![
            "-u".to_owned(),
            "embedding/main.py".to_owned(),
            self.keys_json(),
        ]
    }

    /// A short stable hash of the key: fits ECS's 36-character `startedBy` and reveals no user id.
    pub fn hash(&self) -> String {
        let mut bytes = Vec::with_capacity(self.pk.len() + self.sk.len() + 1);
        bytes.extend_from_slice(self.pk.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(self.sk.as_bytes());
        format!("{:016x}", fnv1a64(&bytes))
    }

    /// The `startedBy` tag of this bot's task in run `run_id`: `ListTasks(startedBy=...)` finds the
    /// task again after a crash between RunTask and the journal's `launched` line.
    pub fn started_by(&self, run_id: &str) -> String {
        format!("mig-{run_id}-{}", self.hash())
    }
}

impl std::fmt::Display for BotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bot_id() {
            Some(id) => write!(f, "bot {id}"),
            None => write!(f, "item {}", self.hash()),
        }
    }
}

/// A bot key in one allocation, for the structures that hold every bot (the plan, a journal's
/// state): a [`BotKey`] costs two heap blocks and 48 bytes inline, this one block and 24 bytes. A
/// bot's SK starts with its PK, so then only the SK is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackedKey {
    /// The SK when it starts with the PK, else PK followed by SK.
    text: Box<str>,
    pk_len: u32,
    sk_has_pk: bool,
}

impl PackedKey {
    pub fn new(pk: &str, sk: &str) -> Self {
        // DynamoDB caps a partition key at 2048 bytes, far below u32::MAX.
        let pk_len = u32::try_from(pk.len()).expect("a DynamoDB key fits in u32");
        if sk.starts_with(pk) {
            Self {
                text: sk.into(),
                pk_len,
                sk_has_pk: true,
            }
        } else {
            Self {
                text: [pk, sk].concat().into_boxed_str(),
                pk_len,
                sk_has_pk: false,
            }
        }
    }

    pub fn pk(&self) -> &str {
        &self.text[..self.pk_len as usize]
    }

    pub fn sk(&self) -> &str {
        if self.sk_has_pk {
            &self.text
        } else {
            &self.text[self.pk_len as usize..]
        }
    }

    pub fn to_key(&self) -> BotKey {
        BotKey::new(self.pk(), self.sk())
    }

    pub fn is(&self, key: &BotKey) -> bool {
        self.pk() == key.pk && self.sk() == key.sk
    }
}

impl From<&BotKey> for PackedKey {
    fn from(key: &BotKey) -> Self {
        Self::new(&key.pk, &key.sk)
    }
}

/// The same order as [`BotKey`]'s (PK, then SK), so sorting either gives the same launch order.
impl Ord for PackedKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.pk(), self.sk()).cmp(&(other.pk(), other.sk()))
    }
}

impl PartialOrd for PackedKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_json_exact_string() {
        let key = BotKey::new("user-1", "user-1#BOT#abc");
        assert_eq!(
            key.keys_json(),
            r#"{"PK":{"S":"user-1"},"SK":{"S":"user-1#BOT#abc"}}"#
        );
        let tricky = BotKey::new("u\"1", "u\"1#BOT#\\x");
        assert_eq!(
            tricky.keys_json(),
            r#"{"PK":{"S":"u\"1"},"SK":{"S":"u\"1#BOT#\\x"}}"#
        );
        assert_eq!(
            key.command(),
            vec![
                "-u",
                "embedding/main.py",
                r#"{"PK":{"S":"user-1"},"SK":{"S":"user-1#BOT#abc"}}"#
            ]
        );
    }

    #[test]
    fn bot_id_and_started_by() {
        assert_eq!(BotKey::new("u", "u#BOT#b1").bot_id(), Some("b1"));
        assert_eq!(BotKey::new("u", "u#BOT_ALIAS#b1").bot_id(), None);
        assert_eq!(BotKey::new("u", "v#BOT#b1").bot_id(), None);
        assert_eq!(BotKey::new("u", "u#BOT#").bot_id(), None);
        let sb = BotKey::new("u", "u#BOT#b1").started_by("0123abcd");
        assert!(sb.len() <= 36, "{sb}");
        assert!(
            sb.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn packed_key_round_trips_and_orders_like_bot_key() {
        let keys = [
            BotKey::new("u", "u#BOT#b"),
            BotKey::new("u!", "u!#BOT#a"),
            BotKey::new("u", "other#BOT#b"),
            BotKey::new("", ""),
            BotKey::new("a", "a"),
        ];
        let mut packed: Vec<PackedKey> = keys.iter().map(PackedKey::from).collect();
        for (p, k) in packed.iter().zip(&keys) {
            assert_eq!(p.to_key(), *k);
            assert!(p.is(k));
        }
        assert_eq!(std::mem::size_of::<PackedKey>(), 24);
        let mut sorted = keys.to_vec();
        sorted.sort();
        packed.sort();
        let unpacked: Vec<BotKey> = packed.iter().map(PackedKey::to_key).collect();
        assert_eq!(unpacked, sorted);
        // Equal keys pack the same way, so the derived Eq and Hash agree with BotKey's.
        assert_eq!(PackedKey::new("u", "u#BOT#b"), PackedKey::from(&keys[0]));
        assert_ne!(
            PackedKey::new("u", "u#BOT#b"),
            PackedKey::new("u#", "BOT#b")
        );
    }
}
