#!/bin/sh
# The copy-back path's SQL part (issue 9), run by `cargo xtask copy-vectors` as the command of a
# temporary Fargate task (public PostgreSQL client image: sh + psql), and by the tests against a
# local PostgreSQL with pgvector.
#
# Contract (the Rust side and the tests rely on it; keep this header true):
#   env, from the task definition's `secrets` (never on a command line or in an override):
#     SOURCE_HOST SOURCE_PORT SOURCE_USERNAME SOURCE_PASSWORD   the temporary (restored) cluster
#     TARGET_HOST TARGET_PORT TARGET_USERNAME TARGET_PASSWORD   the new cluster
#   env, plain:
#     SOURCE_DBNAME TARGET_DBNAME (default: postgres)
#   stdout: one line per bot, then one summary line, each `copy-vectors: ` + a JSON object:
#     copy-vectors: {"bot":"<botid>","source_rows":N,"target_rows":M,"copied":K,"ok":true}
#     copy-vectors: {"summary":true,"bots":B,"source_rows":S,"target_rows":T,"copied":K,"mismatched":X,"ok":true}
#   (bots in byte order of their id, every bot of the source plus any only in the target; "bot"
#   is null for rows without a botid; nothing else on stdout starts with `copy-vectors: `.)
#   exit: 0 every bot's target count equals its source count; 3 a mismatch (the summary says
#   which); anything else an error before or during the copy (message on stderr).
#   Never prints a password.
#
# What it does: reads the source's `items` (column types, primary key, indexes) instead of
# assuming a Bedrock Chat version, creates what is missing on the target, copies bot by bot (one
# transaction each, so a rerun resumes and skips bots already complete), then compares counts.
set -eu

: "${SOURCE_HOST:?is not set}" "${SOURCE_PORT:?is not set}" "${SOURCE_USERNAME:?is not set}"
: "${SOURCE_PASSWORD:?is not set}" "${TARGET_HOST:?is not set}" "${TARGET_PORT:?is not set}"
: "${TARGET_USERNAME:?is not set}" "${TARGET_PASSWORD:?is not set}"
SOURCE_DBNAME=${SOURCE_DBNAME:-postgres}
TARGET_DBNAME=${TARGET_DBNAME:-postgres}

# Generous but finite: a bot's copy is one statement on each side, however many rows the bot
# has; a lock held by someone else, or a pipe whose other end died, must not hold the task (and
# its cost) forever.
# NOTICEs (an existing extension, an IVFFlat index built from few rows) are not news here.
SESSION_OPTIONS="-c statement_timeout=2h -c lock_timeout=1min -c idle_in_transaction_session_timeout=10min -c client_min_messages=warning"

# Fields of psql's unaligned output are tab-separated, like COPY's text format, so one file can
# go from a query on one server into \copy on the other.
tab=$(printf '\t')

say() { printf 'copy_vectors.sh: %s\n' "$*" >&2; }

# psql exits 3 when a script fails under ON_ERROR_STOP: never let that pass for a mismatch.
finished_with_mismatch=no
work=
step="starting"
on_exit() {
    status=$?
    [ -n "$work" ] && rm -rf "$work"
    if [ "$status" -ne 0 ] && [ "$finished_with_mismatch" != yes ]; then
        say "failed while $step (exit $status)"
        [ "$status" -eq 3 ] && exit 1
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 1' HUP INT TERM
work=$(mktemp -d)

# The password goes to psql through its environment, for that one command only.
source_psql() {
    PGHOST=$SOURCE_HOST PGPORT=$SOURCE_PORT PGUSER=$SOURCE_USERNAME PGPASSWORD=$SOURCE_PASSWORD \
        PGDATABASE=$SOURCE_DBNAME PGCONNECT_TIMEOUT=30 PGAPPNAME=copy-vectors \
        PGOPTIONS="$SESSION_OPTIONS -c default_transaction_read_only=on" \
        psql -X -v ON_ERROR_STOP=1 -At -F "$tab" "$@"
}
target_psql() {
    PGHOST=$TARGET_HOST PGPORT=$TARGET_PORT PGUSER=$TARGET_USERNAME PGPASSWORD=$TARGET_PASSWORD \
        PGDATABASE=$TARGET_DBNAME PGCONNECT_TIMEOUT=30 PGAPPNAME=copy-vectors \
        PGOPTIONS="$SESSION_OPTIONS" \
        psql -X -v ON_ERROR_STOP=1 -At -F "$tab" "$@"
}

# Bot ids travel through the shell hex-encoded ('-' for NULL), so no quote or newline in an id
# can reach a command line or a SQL string unescaped.
BOT_KEY="CASE WHEN botid IS NULL THEN '-' ELSE encode(convert_to(botid::text, 'UTF8'), 'hex') END"
BOT_NAME="CASE WHEN bot = '-' THEN NULL ELSE convert_from(decode(bot, 'hex'), 'UTF8') END"

# --- the source's table ----------------------------------------------------------------------
step="reading the source's table \"items\" ($SOURCE_HOST:$SOURCE_PORT, database $SOURCE_DBNAME)"
exists=$(source_psql -c "SELECT to_regclass('items') IS NOT NULL" </dev/null)
if [ "$exists" != t ]; then
    step="checking the source: it has no table \"items\" (is it a restored Bedrock Chat vector store?)"
    exit 1
fi
columns=$(source_psql -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped" </dev/null)
column_defs=$(source_psql -c "SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod)
        || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped" </dev/null)
primary_key=$(source_psql -c "SELECT pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = 'items'::regclass AND contype = 'p'" </dev/null)
key_columns=$(source_psql -c "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
    FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a
    WHERE c.conrelid = 'items'::regclass AND c.contype = 'p'
      AND a.attrelid = c.conrelid AND a.attnum = k.attnum" </dev/null)
botid_type=$(source_psql -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
    WHERE attrelid = 'items'::regclass AND attname = 'botid' AND NOT attisdropped" </dev/null)
if [ -z "$primary_key" ] || [ -z "$botid_type" ]; then
    step="checking the source: its table \"items\" has no primary key or no column \"botid\""
    exit 1
fi
# The same text as pg_indexes.indexdef; the primary key's index comes with CREATE TABLE.
source_psql -c "SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX ',
        'CREATE \\1INDEX IF NOT EXISTS ') || ';'
    FROM pg_index WHERE indrelid = 'items'::regclass AND NOT indisprimary ORDER BY indexrelid" \
    </dev/null >"$work/indexes.sql"
source_psql -c "SELECT $BOT_KEY, count(*), regexp_replace(coalesce(botid::text, '(null)'), '[^[:alnum:]_.-]', '?', 'g')
    FROM items GROUP BY botid ORDER BY 1" </dev/null >"$work/source-bots"

# --- the target's table ----------------------------------------------------------------------
step="preparing the target's table \"items\" ($TARGET_HOST:$TARGET_PORT, database $TARGET_DBNAME)"
target_psql -q -c "CREATE EXTENSION IF NOT EXISTS vector" \
    -c "CREATE TABLE IF NOT EXISTS items ($column_defs, $primary_key)" </dev/null
# Before the data, as Bedrock Chat's own setup does (so the new cluster usually has them already):
# building an IVFFlat index over rows samples 50 rows per list, and Bedrock Chat's 1100 lists of
# vector(1024) need ~220 MB of maintenance_work_mem, more than a small Aurora instance gives.
if [ -s "$work/indexes.sql" ]; then
    target_psql -q -f "$work/indexes.sql" </dev/null
fi
# One line per source bot: key, source rows, target rows, label (joined on the target in one
# query: a count per bot would read the table once per bot).
target_psql -q \
    -c "CREATE TEMP TABLE copy_vectors_source (bot text, source_rows bigint, label text)" \
    -c "\\copy copy_vectors_source FROM pstdin" \
    -c "SELECT s.bot, s.source_rows, coalesce(t.target_rows, 0), s.label
        FROM copy_vectors_source s
        LEFT JOIN (SELECT $BOT_KEY AS bot, count(*) AS target_rows FROM items GROUP BY botid) t USING (bot)
        ORDER BY s.bot" \
    <"$work/source-bots" >"$work/plan"

# --- the copy, bot by bot --------------------------------------------------------------------
bot_filter() {
    if [ "$1" = - ]; then
        echo "botid IS NULL"
    else
        # Cast to the column's own type, so the source's index on botid serves the lookup.
        echo "botid = CAST(convert_from(decode('$1', 'hex'), 'UTF8') AS $botid_type)"
    fi
}

# Streams one bot from the source into a staging table on the target and inserts what is
# missing, all in one target transaction that refuses to commit a short stream.
copy_bot() {
    key=$1 expected=$2
    filter=$(bot_filter "$key")
    rm -f "$work/source-failed"
    {
        source_psql -c "\\copy (SELECT $columns FROM items WHERE $filter) TO STDOUT" </dev/null ||
            : >"$work/source-failed"
    } | target_psql -q -1 \
        -c "CREATE TEMP TABLE copy_vectors_staging ON COMMIT DROP AS SELECT $columns FROM items WITH NO DATA" \
        -c "\\copy copy_vectors_staging FROM pstdin" \
        -c "DO \$\$ DECLARE n bigint; BEGIN
              SELECT count(*) INTO n FROM copy_vectors_staging;
              IF n <> $expected THEN
                RAISE EXCEPTION '% rows arrived from the source, expected $expected', n;
              END IF;
            END \$\$" \
        -c "WITH inserted AS (INSERT INTO items ($columns) SELECT $columns FROM copy_vectors_staging
              ON CONFLICT ($key_columns) DO NOTHING RETURNING 1)
            SELECT count(*) FROM inserted"
}

: >"$work/copied"
bots=$(wc -l <"$work/plan" | tr -d ' ')
position=0
while IFS=$tab read -r key source_rows target_rows label <&3; do
    position=$((position + 1))
    step="copying bot $label ($position of $bots)"
    if [ "$target_rows" = "$source_rows" ]; then
        copied=0
    else
        if ! copied=$(copy_bot "$key" "$source_rows"); then
            [ -e "$work/source-failed" ] && say "reading bot $label from the source failed"
            step="$step (nothing of it was committed; a rerun resumes with it)"
            exit 1
        fi
        say "bot $label ($position of $bots): copied $copied rows, the source has $source_rows"
    fi
    printf '%s\t%s\t%s\n' "$key" "$source_rows" "$copied" >>"$work/copied"
done 3<"$work/plan"

# --- the comparison --------------------------------------------------------------------------
step="comparing the row counts"
target_psql -q \
    -c "CREATE TEMP TABLE copy_vectors_done (bot text, source_rows bigint, copied bigint)" \
    -c "\\copy copy_vectors_done FROM pstdin" \
    -c "CREATE TEMP TABLE copy_vectors_result AS
        SELECT bot, coalesce(d.source_rows, 0) AS source_rows, coalesce(t.target_rows, 0) AS target_rows,
               coalesce(d.copied, 0) AS copied
        FROM copy_vectors_done d
        FULL JOIN (SELECT $BOT_KEY AS bot, count(*) AS target_rows FROM items GROUP BY botid) t USING (bot)" \
    -c "SELECT format('{\"bot\":%s,\"source_rows\":%s,\"target_rows\":%s,\"copied\":%s,\"ok\":%s}',
            coalesce(to_json($BOT_NAME)::text, 'null'), source_rows, target_rows, copied,
            to_json(source_rows = target_rows))
        FROM copy_vectors_result ORDER BY bot" \
    -c "SELECT format('{\"summary\":true,\"bots\":%s,\"source_rows\":%s,\"target_rows\":%s,\"copied\":%s,\"mismatched\":%s,\"ok\":%s}',
            count(*), coalesce(sum(source_rows), 0), coalesce(sum(target_rows), 0),
            coalesce(sum(copied), 0), count(*) FILTER (WHERE source_rows <> target_rows),
            to_json(count(*) FILTER (WHERE source_rows <> target_rows) = 0))
        FROM copy_vectors_result" \
    <"$work/copied" >"$work/result"

while IFS= read -r line; do
    printf 'copy-vectors: %s\n' "$line"
done <"$work/result"
summary=$(tail -n 1 "$work/result")
case $summary in
*'"ok":true}') exit 0 ;;
*'"ok":false}')
    say "row counts differ between the source and the target (see the lines with \"ok\":false)"
    finished_with_mismatch=yes
    exit 3
    ;;
*)
    step="$step: no summary came back"
    exit 1
    ;;
esac
