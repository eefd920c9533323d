//! The copy-back path's SQL part: the real `migrate/src/copy/copy_vectors.sh`, run with `sh` and
//! the wheel's `psql`, against a source and a target database on a local PostgreSQL with
//! pgvector, with the environment of its contract (as the Fargate task gets it).

use std::collections::BTreeMap;

use serde_json::Value;
use tests::{
    postgres::Postgres,
    vectors::{
        DIMENSIONS, SCRIPT_APPLICATION, copy_script, create_items, seed_bots, seeded_bot_id,
    },
};

const SOURCE: &str = "restored";
const TARGET: &str = "replacement";

/// Bedrock Chat's bots and how many chunks each has; ids are 26 characters (ULIDs) in Bedrock
/// Chat, the quote and the non-ASCII letter make sure no id is pasted into SQL or JSON unescaped.
const BOTS: [(&str, usize); 5] = [
    ("01HZX3AAAAAAAAAAAAAAAAAAAA", 120),
    ("01HZX3BBBBBBBBBBBBBBBBBBBB", 80),
    ("01HZX3CCCCCCCCCCCCCCCCCCCC", 1),
    ("01HZX3DD'quoted-ünïcode", 49),
    ("01HZX3EEEEEEEEEEEEEEEEEEEE", 50),
];

/// Inserts chunks `from..to` (1-based) of `bot`'s; the same chunk is the same row in any
/// database. Contents carry what COPY's text format must escape.
fn insert_chunks(postgres: &Postgres, database: &str, bot_index: usize, from: usize, to: usize) {
    let (bot, _) = BOTS[bot_index];
    let bot = bot.replace('\'', "''");
    postgres.sql(
        database,
        &format!(
            "INSERT INTO items
             SELECT 'B{bot_index}C' || lpad(i::text, 23, '0'), '{bot}',
                    E'chunk ' || i || E' of bot {bot_index}: a tab\\there, a newline\\nthere, \\\\ a backslash, ''quotes'', ünïcode',
                    's3://bedrock-chat-documents/bot-{bot_index}/doc-' || (i % 7) || '.pdf',
                    ARRAY(SELECT ((i * 7919 + d * 104729 + {bot_index}) % 20011) / 20011.0 - 0.5
                          FROM generate_series(1, {DIMENSIONS}) AS d)::vector
             FROM generate_series({from}, {to}) AS i;"
        ),
    );
}

fn seed_source(postgres: &Postgres) {
    postgres.create_database(SOURCE);
    create_items(postgres, SOURCE);
    for (index, (_, chunks)) in BOTS.iter().enumerate() {
        insert_chunks(postgres, SOURCE, index, 1, *chunks);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The contract's per-bot lines, by bot id.
    fn bots(&self) -> BTreeMap<String, Value> {
        self.contract_lines()
            .filter(|line| line.get("summary").is_none())
            .map(|line| (line["bot"].as_str().expect("bot id").to_string(), line))
            .collect()
    }

    fn summary(&self) -> Value {
        let lines: Vec<Value> = self.contract_lines().collect();
        let last = lines.last().expect("at least the summary line").clone();
        assert_eq!(
            last["summary"], true,
            "the last line is the summary: {self}"
        );
        last
    }

    fn contract_lines(&self) -> impl Iterator<Item = Value> + '_ {
        self.stdout.lines().map(|line| {
            let json = line
                .strip_prefix("copy-vectors: ")
                .unwrap_or_else(|| panic!("a stdout line outside the contract: {line:?}"));
            serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
        })
    }

    fn copied(&self) -> BTreeMap<String, u64> {
        self.bots()
            .into_iter()
            .map(|(bot, line)| (bot, line["copied"].as_u64().expect("copied")))
            .collect()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The script with the contract's environment and nothing else, as the task runs it.
fn copy_vectors(postgres: &Postgres, source_db: &str, target_db: &str) -> Run {
    copy_vectors_with(postgres, source_db, target_db, &[])
}

fn copy_vectors_with(
    postgres: &Postgres,
    source_db: &str,
    target_db: &str,
    extra: &[(&str, &str)],
) -> Run {
    let output = copy_script(postgres, source_db, target_db, extra)
        .output()
        .expect("run sh");
    let run = Run {
        code: output.status.code().expect("the script exits, not killed"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    };
    assert!(
        !run.stdout.contains(postgres.password()) && !run.stderr.contains(postgres.password()),
        "the password was printed"
    );
    run
}

/// Every row, in a comparable form, and its digest (rows of 1024 floats make a poor diff).
fn rows_digest(postgres: &Postgres, database: &str) -> String {
    postgres.sql(
        database,
        "SELECT count(*), md5(string_agg(concat_ws('|', id, botid, content, source, embedding::text),
                                         E'\\n' ORDER BY id))
         FROM items",
    )
}

fn expected_counts(copied: impl Fn(usize) -> u64) -> BTreeMap<String, u64> {
    BOTS.iter()
        .enumerate()
        .map(|(index, (bot, _))| (bot.to_string(), copied(index)))
        .collect()
}

#[test]
fn copies_every_bot_and_a_rerun_copies_nothing() {
    let postgres = Postgres::start();
    seed_source(&postgres);
    postgres.create_database(TARGET);

    let first = copy_vectors(&postgres, SOURCE, TARGET);
    assert_eq!(first.code, 0, "{first}");
    let bots = first.bots();
    assert_eq!(bots.len(), BOTS.len(), "{first}");
    for (bot, chunks) in BOTS {
        let line = &bots[bot];
        assert_eq!(line["source_rows"], chunks, "{bot}: {first}");
        assert_eq!(line["target_rows"], chunks, "{bot}: {first}");
        assert_eq!(line["copied"], chunks, "{bot}: {first}");
        assert_eq!(line["ok"], true, "{bot}: {first}");
    }
    let total: usize = BOTS.iter().map(|(_, chunks)| chunks).sum();
    let summary = first.summary();
    assert_eq!(summary["bots"], BOTS.len(), "{first}");
    assert_eq!(summary["source_rows"], total, "{first}");
    assert_eq!(summary["target_rows"], total, "{first}");
    assert_eq!(summary["copied"], total, "{first}");
    assert_eq!(summary["mismatched"], 0, "{first}");
    assert_eq!(summary["ok"], true, "{first}");
    assert_eq!(
        rows_digest(&postgres, TARGET),
        rows_digest(&postgres, SOURCE)
    );
    // The target's table was made from the source's: same column types, key and indexes.
    let schema = "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
                  FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0;
                  SELECT indexdef FROM pg_indexes WHERE tablename = 'items' ORDER BY indexname;";
    assert_eq!(postgres.sql(TARGET, schema), postgres.sql(SOURCE, schema));

    let second = copy_vectors(&postgres, SOURCE, TARGET);
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(second.copied(), expected_counts(|_| 0), "{second}");
    assert_eq!(second.summary()["copied"], 0, "{second}");
    assert_eq!(second.summary()["ok"], true, "{second}");
    assert_eq!(
        rows_digest(&postgres, TARGET),
        rows_digest(&postgres, SOURCE)
    );
}

#[test]
fn copies_only_the_rows_the_target_lacks() {
    let postgres = Postgres::start();
    seed_source(&postgres);
    // The new cluster as Bedrock Chat set it up, after an earlier run that stopped part-way:
    // bot 0 complete, bot 1 with 30 of its 80 chunks, bot 4 with chunks 11 to 50 of 50.
    postgres.create_database(TARGET);
    create_items(&postgres, TARGET);
    insert_chunks(&postgres, TARGET, 0, 1, 120);
    insert_chunks(&postgres, TARGET, 1, 1, 30);
    insert_chunks(&postgres, TARGET, 4, 11, 50);

    let run = copy_vectors(&postgres, SOURCE, TARGET);
    assert_eq!(run.code, 0, "{run}");
    let expected = expected_counts(|index| match index {
        0 => 0,
        1 => 50,
        4 => 10,
        other => BOTS[other].1 as u64,
    });
    assert_eq!(run.copied(), expected, "{run}");
    assert_eq!(
        run.summary()["copied"],
        expected.values().sum::<u64>(),
        "{run}"
    );
    assert_eq!(run.summary()["ok"], true, "{run}");
    assert_eq!(
        rows_digest(&postgres, TARGET),
        rows_digest(&postgres, SOURCE)
    );
}

#[test]
fn a_target_with_rows_the_source_lacks_is_a_mismatch_naming_the_bots() {
    let postgres = Postgres::start();
    seed_source(&postgres);
    postgres.create_database(TARGET);
    create_items(&postgres, TARGET);
    // One chunk too many for bot 1, and a bot the source never had.
    insert_chunks(&postgres, TARGET, 1, 81, 81);
    postgres.sql(
        TARGET,
        "INSERT INTO items VALUES ('ONLYINTARGET00000000000001', '01HZX3ZZZZZZZZZZZZZZZZZZZZ',
                                   'stray', 's3://elsewhere', array_fill(0, ARRAY[1024])::vector)",
    );

    let run = copy_vectors(&postgres, SOURCE, TARGET);
    assert_eq!(run.code, 3, "{run}");
    let bots = run.bots();
    let mismatched: Vec<&String> = bots
        .iter()
        .filter(|(_, line)| line["ok"] == false)
        .map(|(bot, _)| bot)
        .collect();
    assert_eq!(
        mismatched,
        [BOTS[1].0, "01HZX3ZZZZZZZZZZZZZZZZZZZZ"],
        "{run}"
    );
    let extra = &bots[BOTS[1].0];
    assert_eq!(
        (
            &extra["source_rows"],
            &extra["target_rows"],
            &extra["copied"]
        ),
        (&80.into(), &81.into(), &80.into()),
        "{run}"
    );
    let stray = &bots["01HZX3ZZZZZZZZZZZZZZZZZZZZ"];
    assert_eq!(
        (&stray["source_rows"], &stray["target_rows"]),
        (&0.into(), &1.into()),
        "{run}"
    );
    let summary = run.summary();
    assert_eq!(summary["mismatched"], 2, "{run}");
    assert_eq!(summary["ok"], false, "{run}");
    assert!(run.stderr.contains("row counts differ"), "{run}");
}

#[test]
fn a_source_without_items_fails_clearly() {
    let postgres = Postgres::start();
    postgres.create_database(SOURCE);
    postgres.create_database(TARGET);

    let run = copy_vectors(&postgres, SOURCE, TARGET);
    assert!(run.code != 0 && run.code != 3, "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        run.stderr.contains("has no table \"items\""),
        "stderr says what is wrong: {run}"
    );
    // Nothing was created on the target.
    assert_eq!(
        postgres.sql(TARGET, "SELECT to_regclass('items') IS NULL"),
        "t\n"
    );
}

/// Bots of the many-bots case: 1,200, three chunks each; the target already has chunk 2 of the
/// first 400 (an earlier copy by other means), so both of the script's paths run, in several
/// transactions each.
const MANY_BOTS: usize = 1_200;
const PARTIAL_BOTS: usize = 400;

#[test]
fn many_bots_take_as_many_connections_as_a_few() {
    let postgres = Postgres::start_logging_connections();
    seed_source(&postgres);
    postgres.create_database(TARGET);
    let position = postgres.log_position();
    let few = copy_vectors(&postgres, SOURCE, TARGET);
    assert_eq!(few.code, 0, "{few}");
    let few_connections = postgres.connections_since(position, SCRIPT_APPLICATION);

    let (many_source, many_target) = ("many_restored", "many_replacement");
    postgres.create_database(many_source);
    create_items(&postgres, many_source);
    seed_bots(&postgres, many_source, MANY_BOTS, 1, 3);
    postgres.create_database(many_target);
    create_items(&postgres, many_target);
    seed_bots(&postgres, many_target, PARTIAL_BOTS, 2, 2);
    let position = postgres.log_position();
    // 500 rows a transaction: 2,400 rows of bots the target lacks, 1,200 of partial ones.
    let many = copy_vectors_with(
        &postgres,
        many_source,
        many_target,
        &[("COPY_VECTORS_BATCH_ROWS", "500")],
    );
    assert_eq!(many.code, 0, "{many}");
    let many_connections = postgres.connections_since(position, SCRIPT_APPLICATION);

    let expected: BTreeMap<String, u64> = (0..MANY_BOTS)
        .map(|bot| (seeded_bot_id(bot), if bot < PARTIAL_BOTS { 2 } else { 3 }))
        .collect();
    assert_eq!(many.copied(), expected, "{many}");
    let summary = many.summary();
    assert_eq!(summary["bots"], MANY_BOTS, "{many}");
    assert_eq!(summary["source_rows"], MANY_BOTS * 3, "{many}");
    assert_eq!(summary["copied"], expected.values().sum::<u64>(), "{many}");
    assert_eq!(summary["ok"], true, "{many}");
    assert!(
        many.stderr.contains("in 8 transaction(s)"),
        "5 of bots the target lacks, 3 of partial bots: {many}"
    );
    assert_eq!(
        rows_digest(&postgres, many_target),
        rows_digest(&postgres, many_source)
    );
    // Two sessions on the source (its table, the stream), three on the target (its table, the
    // stream, the comparison), whatever the number of bots.
    assert_eq!(few_connections, 5, "{few}");
    assert_eq!(many_connections, few_connections, "{many}");

    // A rerun finds every bot complete: no stream at all.
    let position = postgres.log_position();
    let again = copy_vectors(&postgres, many_source, many_target);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.summary()["copied"], 0, "{again}");
    assert_eq!(
        postgres.connections_since(position, SCRIPT_APPLICATION),
        3,
        "{again}"
    );
}
