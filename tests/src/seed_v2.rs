//! Bedrock Chat v2.10's conversation table seeded in the app's own item shapes
//! (`seed_v2_items.rs`), and what the v2 -> v3 table migration must make of each item: written,
//! skipped (an alias of a bot no longer shared) or malformed (a bot without `Title`). Tests compare
//! the migration's report with these numbers, which the seed computes from what it wrote.

use std::collections::BTreeMap;

use crate::seed::write_batch;
use tokio::task::JoinSet;

use crate::seed_v2_items::{
    BotSetup, ConversationShape, Item, alias, alias_unshared, bot, bot_v0_4, bot_v1, conversation,
    related_document, stub_bot, ulid, user_id,
};

/// What to seed. Every user gets the same mix; `old_items` adds the odd items of section 5.5 of
/// `docs/bedrock-chat-v3-tables.md` once (on the first two users).
#[derive(Debug, Clone, Copy)]
pub struct V2Plan {
    pub users: usize,
    pub conversations_per_user: usize,
    pub related_documents_per_user: usize,
    /// Cycling through: public + pinned + knowledge base, private + knowledge base, private +
    /// pinned without knowledge. Every user's first bot is public.
    pub bots_per_user: usize,
    /// Aliases of the next users' public bots (fewer than `users`).
    pub aliases_per_user: usize,
    /// A v0.4.0 bot, a v1.x bot, a bot made private again with two aliases of no shared bot
    /// (skipped), and a stub bot without `Title` (malformed).
    pub old_items: bool,
}

/// Items a user gets in [`V2Plan::with_items`]: the app keeps a conversation item per chat and
/// few bots, so conversations dominate.
const MIX: V2Plan = V2Plan {
    users: 0,
    conversations_per_user: 12,
    related_documents_per_user: 4,
    bots_per_user: 3,
    aliases_per_user: 1,
    old_items: true,
};

impl V2Plan {
    /// A handful of users with every kind and every odd item: for the functional tests.
    pub fn small() -> V2Plan {
        V2Plan {
            users: 4,
            conversations_per_user: 3,
            related_documents_per_user: 2,
            bots_per_user: 3,
            aliases_per_user: 1,
            old_items: true,
        }
    }

    /// About `items` items in the app's mix of kinds (20 a user, plus the odd items).
    pub fn with_items(items: usize) -> V2Plan {
        V2Plan {
            users: (items / MIX.items_per_user()).max(2),
            ..MIX
        }
    }

    fn items_per_user(&self) -> usize {
        self.conversations_per_user
            + self.related_documents_per_user
            + self.bots_per_user
            + self.aliases_per_user
    }
}

/// The key of a seeded item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

/// Per kind (the report's names: `conversation`, `related_document`, `bot`, `alias`): how many
/// were seeded and what the migration must do with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindOutcome {
    pub seeded: u64,
    pub written: u64,
    pub skipped: u64,
    pub malformed: u64,
}

/// A public, pinned bot as seeded: what its v3 item must show.
#[derive(Debug, Clone)]
pub struct SeededBot {
    pub user: String,
    pub bot_id: String,
    /// Its `LastBotUsed` (N), which becomes `LastUsedTime`.
    pub last_bot_used: String,
}

/// What the seed wrote and what the migration must report.
#[derive(Debug, Clone, Default)]
pub struct SeededV2 {
    pub per_kind: BTreeMap<&'static str, KindOutcome>,
    /// Aliases whose bot is no longer shared: reported skipped, by key.
    pub skipped: Vec<ItemKey>,
    /// Bots without `Title`: reported malformed, by key.
    pub malformed: Vec<ItemKey>,
    /// Per user: (items due in the v3 conversation table, items due in the v3 bot table).
    pub written_per_user: BTreeMap<String, (u64, u64)>,
    /// Every user's first bot.
    pub public_pinned: Vec<SeededBot>,
    /// Items seeded, of every kind.
    pub total: u64,
}

impl SeededV2 {
    pub fn kind(&self, kind: &str) -> KindOutcome {
        self.per_kind.get(kind).copied().unwrap_or_default()
    }

    /// Items the v3 conversation table must hold after the migration.
    pub fn conversation_table_items(&self) -> u64 {
        self.kind("conversation").written + self.kind("related_document").written
    }

    /// Items the v3 bot table must hold after the migration.
    pub fn bot_table_items(&self) -> u64 {
        self.kind("bot").written + self.kind("alias").written
    }

    /// The user whose stub bot is malformed (the rest of their items must be written).
    pub fn stub_user(&self) -> Option<&str> {
        self.malformed.first().map(|k| k.pk.as_str())
    }

    fn add(&mut self, kind: &'static str, key: ItemKey, fate: Fate) {
        let outcome = self.per_kind.entry(kind).or_default();
        outcome.seeded += 1;
        self.total += 1;
        let per_user = self.written_per_user.entry(key.pk.clone()).or_default();
        match fate {
            Fate::Written => {
                outcome.written += 1;
                if matches!(kind, "bot" | "alias") {
                    per_user.1 += 1;
                } else {
                    per_user.0 += 1;
                }
            }
            Fate::Skipped => {
                outcome.skipped += 1;
                self.skipped.push(key);
            }
            Fate::Malformed => {
                outcome.malformed += 1;
                self.malformed.push(key);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Fate {
    Written,
    Skipped,
    Malformed,
}

/// The time the seeded data is set around (April 2025, v2.10's time).
const T0: u64 = 1_743_900_000_000;

fn bot_id(user: usize, index: usize) -> String {
    ulid(
        T0 + (user * 100 + index) as u64,
        (user * 100 + index) as u64,
    )
}

fn key_of(item: &Item) -> ItemKey {
    let text = |name: &str| item[name].as_s().expect("a string key").clone();
    ItemKey {
        pk: text("PK"),
        sk: text("SK"),
    }
}

/// Collects the items to write and what each must become.
struct Seeder {
    items: Vec<Item>,
    seeded: SeededV2,
}

impl Seeder {
    fn push(&mut self, kind: &'static str, item: Item, fate: Fate) {
        self.seeded.add(kind, key_of(&item), fate);
        self.items.push(item);
    }
}

/// One user's items of the regular mix.
fn user_items(plan: &V2Plan, u: usize, out: &mut Seeder) {
    let user = user_id(u);
    let first_bot = bot_id(u, 0);
    for k in 0..plan.bots_per_user {
        let setup = BotSetup {
            public: k % 3 == 0,
            pinned: k % 3 != 1,
            knowledge_base: k % 3 != 2,
        };
        let (created, used) = (T0 + k as u64, T0 + 84_000_000 + u as u64);
        let item = bot(&user, &bot_id(u, k), setup, created, used);
        if k == 0 {
            out.seeded.public_pinned.push(SeededBot {
                user: user.clone(),
                bot_id: first_bot.clone(),
                last_bot_used: used.to_string(),
            });
        }
        out.push("bot", item, Fate::Written);
    }
    let mut last_messages = Vec::new();
    for c in 0..plan.conversations_per_user {
        let at = T0 + 3_600_000 * c as u64 + u as u64;
        let shape = match c % 6 {
            0 => ConversationShape::Old,
            5 => ConversationShape::Large,
            _ => ConversationShape::WithBot,
        };
        let id = ulid(at, (u * 1000 + c) as u64);
        let (item, last) = conversation(&user, &id, &first_bot, shape, at);
        last_messages.push((id, last));
        out.push("conversation", item, Fate::Written);
    }
    for r in 0..plan.related_documents_per_user {
        // A related document belongs to an answer of one of the user's conversations.
        let Some((conversation_id, message)) = last_messages.get(r % last_messages.len().max(1))
        else {
            break;
        };
        let item = related_document(&user, conversation_id, message, r);
        out.push("related_document", item, Fate::Written);
    }
    for a in 1..=plan.aliases_per_user.min(plan.users - 1) {
        let other = (u + a) % plan.users;
        if plan.bots_per_user == 0 {
            break;
        }
        let item = alias(&user, &bot_id(other, 0), a % 2 == 1, T0 + 1, T0 + 2);
        out.push("alias", item, Fate::Written);
    }
}

/// The odd items of section 5.5, on the first two users.
fn old_items(out: &mut Seeder) {
    let (first, second) = (user_id(0), user_id(1));
    out.push("bot", bot_v0_4(&first, &bot_id(0, 90)), Fate::Written);
    out.push("bot", bot_v1(&first, &bot_id(0, 91)), Fate::Written);
    // Shared once, then made private (PublicBotId removed): its aliases are skipped, as is one
    // of a bot that was deleted.
    let private = BotSetup {
        public: false,
        pinned: false,
        knowledge_base: false,
    };
    let unshared = bot_id(0, 92);
    out.push(
        "bot",
        bot(&first, &unshared, private, T0, T0),
        Fate::Written,
    );
    out.push("alias", alias_unshared(&second, &unshared), Fate::Skipped);
    out.push(
        "alias",
        alias_unshared(&second, &bot_id(0, 93)),
        Fate::Skipped,
    );
    out.push("bot", stub_bot(&second, &bot_id(1, 94)), Fate::Malformed);
}

/// Writes `plan`'s items into `table` (BatchWriteItem, 25 a call, 8 calls at once, a user's
/// items generated at a time so memory stays flat at any size) and returns what the migration
/// must make of them. Meant for a table without a write limit (the emulator's throughput knob
/// off): unprocessed items are sent again at once.
pub async fn seed_v2(ddb: &aws_sdk_dynamodb::Client, table: &str, plan: V2Plan) -> SeededV2 {
    assert!(
        plan.users >= 2,
        "a v2 seed needs two users (aliases, odd items)"
    );
    let mut out = Seeder {
        items: Vec::new(),
        seeded: SeededV2::default(),
    };
    let mut writer = Writer {
        ddb: ddb.clone(),
        table: table.to_owned(),
        calls: JoinSet::new(),
    };
    for u in 0..plan.users {
        user_items(&plan, u, &mut out);
        writer.send_full_batches(&mut out.items).await;
    }
    if plan.old_items {
        old_items(&mut out);
    }
    writer.send_full_batches(&mut out.items).await;
    writer.finish(std::mem::take(&mut out.items)).await;
    out.seeded
}

/// Calls in flight at once while seeding.
const IN_FLIGHT: usize = 8;
/// BatchWriteItem's most requests a call.
const BATCH: usize = 25;

struct Writer {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    calls: JoinSet<()>,
}

impl Writer {
    /// Sends every whole batch of `items`, leaving the rest (fewer than 25) in it.
    async fn send_full_batches(&mut self, items: &mut Vec<Item>) {
        while items.len() >= BATCH {
            let chunk: Vec<Item> = items.drain(..BATCH).collect();
            self.send(chunk).await;
        }
    }

    async fn send(&mut self, chunk: Vec<Item>) {
        if self.calls.len() >= IN_FLIGHT {
            self.calls
                .join_next()
                .await
                .expect("a call")
                .expect("a batch");
        }
        let (ddb, table) = (self.ddb.clone(), self.table.clone());
        self.calls.spawn(write_batch(ddb, table, chunk));
    }

    async fn finish(mut self, rest: Vec<Item>) {
        if !rest.is_empty() {
            self.send(rest).await;
        }
        while let Some(done) = self.calls.join_next().await {
            done.expect("a batch");
        }
    }
}
