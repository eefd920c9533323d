//! Bedrock Chat's vector table on the tests' PostgreSQL ([`crate::postgres`]): its schema, bots
//! seeded in bulk, and `migrate/src/copy/copy_vectors.sh` run with its contract's environment.
//! Shared by `tests/tests/copy_vectors_sql.rs` and `cargo xtask bench --copy`.

use std::process::Command;

use crate::postgres::{HOST, Postgres, USER};
use crate::project_root;

/// Bedrock Chat's embedding size (Cohere multilingual v3).
pub const DIMENSIONS: usize = 1024;
/// The `application_name` the copy script's sessions give the server.
pub const SCRIPT_APPLICATION: &str = "copy-vectors";

/// Bedrock Chat's `items` without its secondary indexes, as its setup custom resource creates it.
pub fn items_table() -> String {
    format!(
        "CREATE EXTENSION IF NOT EXISTS vector;
         CREATE TABLE items(id CHAR(26) PRIMARY KEY, botid CHAR(26), content text, source text,
                            embedding vector({DIMENSIONS}));"
    )
}

/// The secondary indexes Bedrock Chat's setup creates on `items` (the tests' IVFFlat has 10 lists).
pub const ITEMS_INDEXES: &str = "
    CREATE INDEX idx_items_embedding ON items USING ivfflat (embedding vector_l2_ops)
        WITH (lists = 10);
    CREATE INDEX idx_items_botid ON items (botid);";

/// Bedrock Chat's `items` with its indexes, empty, as the new cluster has it.
pub fn create_items(postgres: &Postgres, database: &str) {
    postgres.sql(database, &(items_table() + ITEMS_INDEXES));
}

/// The bot id of seeded bot `bot`: 26 characters, like Bedrock Chat's ULIDs.
pub fn seeded_bot_id(bot: usize) -> String {
    format!("01HZX3{bot:020}")
}

/// Adds chunks `from..=to` of each of the bots `0..bots` to `items`, in one statement: ids of 26
/// characters, a 1 KB content (Bedrock Chat's chunk size) and a vector from a pool of 997
/// distinct ones, so that a bench's 100,000 rows take seconds to seed, not minutes. The same
/// chunk is the same row in any database.
pub fn seed_bots(postgres: &Postgres, database: &str, bots: usize, from: usize, to: usize) {
    postgres.sql(
        database,
        &format!(
            "CREATE TEMP TABLE pool AS
                SELECT p, ARRAY(SELECT ((p * 7919 + d * 104729) % 20011) / 20011.0 - 0.5
                                FROM generate_series(1, {DIMENSIONS}) AS d)::vector AS v
                FROM generate_series(0, 996) AS p;
             INSERT INTO items
             SELECT lpad(b::text, 8, '0') || 'R' || lpad(r::text, 17, '0'),
                    '01HZX3' || lpad(b::text, 20, '0'),
                    (SELECT string_agg(md5(b || ':' || r || ':' || i), ' ')
                     FROM generate_series(1, 30) AS i),
                    's3://bedrock-chat-documents/bot-' || b || '/doc-' || (r % 7) || '.pdf',
                    pool.v
             FROM generate_series(0, {bots} - 1) AS b
             CROSS JOIN generate_series({from}, {to}) AS r
             JOIN pool ON pool.p = (b * 31 + r) % 997;"
        ),
    );
}

/// `sh copy_vectors.sh` with the contract's environment and nothing else, as the task runs it
/// (`extra` adds plain variables such as `COPY_VECTORS_BATCH_ROWS`).
pub fn copy_script(
    postgres: &Postgres,
    source_db: &str,
    target_db: &str,
    extra: &[(&str, &str)],
) -> Command {
    let port = postgres.port().to_string();
    let mut command = Command::new("sh");
    command
        .arg(project_root().join("migrate/src/copy/copy_vectors.sh"))
        .env_clear()
        .env("PATH", path_with(postgres))
        .env("SOURCE_HOST", HOST)
        .env("SOURCE_PORT", &port)
        .env("SOURCE_USERNAME", USER)
        .env("SOURCE_PASSWORD", postgres.password())
        .env("SOURCE_DBNAME", source_db)
        .env("TARGET_HOST", HOST)
        .env("TARGET_PORT", &port)
        .env("TARGET_USERNAME", USER)
        .env("TARGET_PASSWORD", postgres.password())
        .env("TARGET_DBNAME", target_db)
        .envs(extra.iter().copied());
    command
}

/// `PATH` with the server's binaries (`psql`) first.
pub fn path_with(postgres: &Postgres) -> String {
    format!(
        "{}:{}",
        postgres.bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
