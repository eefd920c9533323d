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
#     COPY_VECTORS_BATCH_ROWS (default 20000): rows per target transaction, whole bots each
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
# assuming a Bedrock Chat version, creates what is missing on the target, then copies every bot
# the target lacks in ONE stream from ONE source session into ONE target session, whatever the
# number of bots (issue 18): five connections a run in all. The source session prints a psql
# script with the rows inline (pg_dump's plain format: `COPY ... FROM STDIN`, the rows, `\.`),
# which the target session runs. The stream is cut into transactions of whole bots, so a rerun
# resumes and skips bots already complete; each transaction refuses to commit a short stream. A
# bot the target has none of is copied straight into `items`; only a bot with some rows already
# goes through a staging table and `INSERT ... ON CONFLICT DO NOTHING`. Then one grouped count on
# each side compares every bot.
set -eu

: "${SOURCE_HOST:?is not set}" "${SOURCE_PORT:?is not set}" "${SOURCE_USERNAME:?is not set}"
: "${SOURCE_PASSWORD:?is not set}" "${TARGET_HOST:?is not set}" "${TARGET_PORT:?is not set}"
: "${TARGET_USERNAME:?is not set}" "${TARGET_PASSWORD:?is not set}"
SOURCE_DBNAME=${SOURCE_DBNAME:-postgres}
TARGET_DBNAME=${TARGET_DBNAME:-postgres}
BATCH_ROWS=${COPY_VECTORS_BATCH_ROWS:-20000}
case $BATCH_ROWS in
'' | *[!0-9]* | 0*)
    printf 'copy_vectors.sh: COPY_VECTORS_BATCH_ROWS must be a positive integer, not "%s"\n' "$BATCH_ROWS" >&2
    exit 1
    ;;
esac

# Generous but finite: a transaction's copy is one statement on each side, however many rows it
# has; a lock held by someone else, or a pipe whose other end died, must not hold the task (and
# its cost) forever.
# NOTICEs (an existing extension, an IVFFlat index built from few rows) are not news here.
SESSION_OPTIONS="-c statement_timeout=2h -c lock_timeout=1min -c idle_in_transaction_session_timeout=10min -c client_min_messages=warning"

# Fields of psql's unaligned output are tab-separated, like COPY's text format.
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
# Every file below is relative to it, psql's `\g` and `\copy` included.
cd "$work"

# The password goes to psql through its environment, for that one command only.
source_psql() {
    PGHOST=$SOURCE_HOST PGPORT=$SOURCE_PORT PGUSER=$SOURCE_USERNAME PGPASSWORD=$SOURCE_PASSWORD \
        PGDATABASE=$SOURCE_DBNAME PGCONNECT_TIMEOUT=30 PGAPPNAME=copy-vectors \
        PGOPTIONS="$SESSION_OPTIONS -c default_transaction_read_only=on" \
        psql -X -q -v ON_ERROR_STOP=1 -At -F "$tab" "$@"
}
target_psql() {
    PGHOST=$TARGET_HOST PGPORT=$TARGET_PORT PGUSER=$TARGET_USERNAME PGPASSWORD=$TARGET_PASSWORD \
        PGDATABASE=$TARGET_DBNAME PGCONNECT_TIMEOUT=30 PGAPPNAME=copy-vectors \
        PGOPTIONS="$SESSION_OPTIONS" \
        psql -X -q -v ON_ERROR_STOP=1 -At -F "$tab" "$@"
}

# Bot ids travel through the shell and into SQL hex-encoded ('-' for NULL), so no quote or
# newline in an id can reach a command line or a SQL string unescaped.
BOT_KEY="CASE WHEN botid IS NULL THEN '-' ELSE encode(convert_to(botid::text, 'UTF8'), 'hex') END"
BOT_NAME="CASE WHEN bot = '-' THEN NULL ELSE convert_from(decode(bot, 'hex'), 'UTF8') END"

# --- the source's table: one session -----------------------------------------------------------
step="reading the source's table \"items\" ($SOURCE_HOST:$SOURCE_PORT, database $SOURCE_DBNAME)"
source_psql -v bot_key="$BOT_KEY" -f - <<'EOF'
SELECT to_regclass('items') IS NOT NULL AS items_exists \gset
\if :items_exists
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped \g columns
SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod)
        || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped \g column_defs
SELECT pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = 'items'::regclass AND contype = 'p' \g primary_key
SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
    FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a
    WHERE c.conrelid = 'items'::regclass AND c.contype = 'p'
      AND a.attrelid = c.conrelid AND a.attnum = k.attnum \g key_columns
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
    WHERE attrelid = 'items'::regclass AND attname = 'botid' AND NOT attisdropped \g botid_type
-- The same text as pg_indexes.indexdef; the primary key's index comes with CREATE TABLE.
SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX ',
        'CREATE \1INDEX IF NOT EXISTS ') || ';'
    FROM pg_index WHERE indrelid = 'items'::regclass AND NOT indisprimary ORDER BY indexrelid \g indexes.sql
SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'p')
   AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'botid'
                                          AND NOT attisdropped) AS items_usable \gset
\if :items_usable
-- Every bot's count in one grouped query.
SELECT :bot_key, count(*) FROM items GROUP BY botid ORDER BY 1 \g source-bots
\endif
\endif
EOF
if [ ! -e columns ]; then
    step="checking the source: it has no table \"items\" (is it a restored Bedrock Chat vector store?)"
    exit 1
fi
if [ ! -e source-bots ]; then
    step="checking the source: its table \"items\" has no primary key or no column \"botid\""
    exit 1
fi
columns=$(cat columns)
column_defs=$(cat column_defs)
primary_key=$(cat primary_key)
key_columns=$(cat key_columns)
botid_type=$(cat botid_type)

# --- the target's table and what it lacks: one session -----------------------------------------
step="preparing the target's table \"items\" ($TARGET_HOST:$TARGET_PORT, database $TARGET_DBNAME)"
# The indexes before the data, as Bedrock Chat's own setup does (so the new cluster usually has
# them already): building an IVFFlat index over rows samples 50 rows per list, and Bedrock Chat's
# 1100 lists of vector(1024) need ~220 MB of maintenance_work_mem, more than a small Aurora
# instance gives; and the bench (README, Performance) finds no gain in building them afterwards.
# The plan: one line per source bot, key, source rows, target rows (one grouped count).
target_psql -c "CREATE EXTENSION IF NOT EXISTS vector" \
    -c "CREATE TABLE IF NOT EXISTS items ($column_defs, $primary_key)" \
    -f indexes.sql \
    -c "CREATE TEMP TABLE copy_vectors_source (bot text, source_rows bigint)" \
    -c "\\copy copy_vectors_source FROM 'source-bots'" \
    -c "SELECT s.bot, s.source_rows, coalesce(t.target_rows, 0)
        FROM copy_vectors_source s
        LEFT JOIN (SELECT $BOT_KEY AS bot, count(*) AS target_rows FROM items GROUP BY botid) t USING (bot)
        ORDER BY s.bot" \
    </dev/null >plan

# --- the stream --------------------------------------------------------------------------------
# stream.sql is what the source session runs: per transaction, it prints the target's statements
# (from the variables below, and literals of digits and hex keys only) around one `COPY (SELECT
# ...) TO STDOUT` of its bots, named by their hex keys. A bot the target has none of goes into
# `items`; one with some rows (a partial copy by someone else, or extra rows) through a staging
# table. `:ROW_COUNT` is the target's count of the rows its COPY received.
step="planning the copy"
awk -F "$tab" -v batch_rows="$BATCH_ROWS" -v q="'" '
    # Printed key by key: building one string of thousands of keys in awk takes seconds. A
    # semi-join (IN), not = ANY (ARRAY(...)): that compares each row with every key in turn.
    function print_filter(kind,    i) {
        if (bots[kind] > null_bot[kind]) {
            printf "botid IN (SELECT CAST(convert_from(decode(h, %shex%s), %sUTF8%s) AS :botid_type) FROM unnest(string_to_array(%s", q, q, q, q, q
            for (i = 1; i <= keys[kind]; i++)
                printf "%s%s", (i > 1 ? "," : ""), key[kind, i]
            printf "%s, %s,%s)) AS h)%s", q, q, q, (null_bot[kind] ? " OR " : "")
        }
        if (null_bot[kind])
            printf "botid IS NULL"
    }
    function emit(kind) {
        if (bots[kind] == 0)
            return
        batches++
        done_bots += bots[kind]
        done_rows += rows[kind]
        print "SELECT :" q kind "_start" q ";"
        printf "COPY (SELECT :columns FROM items WHERE "
        print_filter(kind)
        print ") TO STDOUT;"
        print "SELECT " q "\\." q ";"
        print "SELECT " q "SELECT pg_temp.copy_vectors_expect(:ROW_COUNT, " rows[kind] ");" q ";"
        if (kind == "conflict")
            print "SELECT :" q "conflict_insert" q ";"
        print "SELECT " q "COMMIT;" q ";"
        print "SELECT " q "SELECT " q q "batch" q q ", " batches ";" q ";"
        print "SELECT " q "\\warn copy_vectors.sh: " done_bots " of " total_bots " bots (" \
            done_rows " of " total_rows " rows) committed" q ";"
        bots[kind] = 0; rows[kind] = 0; keys[kind] = 0; null_bot[kind] = 0
    }
    $1 !~ /^(-|[0-9a-f]+)$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ {
        print "copy_vectors.sh: unexpected plan line " FNR > "/dev/stderr"
        bad = 1
        exit 2
    }
    $2 == $3 { next }
    NR == FNR { total_bots++; total_rows += $2; next }
    {
        kind = ($3 == 0 ? "fresh" : "conflict")
        bots[kind]++
        rows[kind] += $2
        if ($1 == "-")
            null_bot[kind] = 1
        else
            key[kind, ++keys[kind]] = $1
        if (rows[kind] >= batch_rows)
            emit(kind)
    }
    END {
        if (bad)
            exit 2
        emit("fresh")
        emit("conflict")
        printf "%d\t%d\t%d\n", batches + 0, total_bots + 0, total_rows + 0 > "batches"
    }
' plan plan >stream.sql
IFS=$tab read -r batches bots_to_copy rows_to_copy <batches
say "$(wc -l <plan | tr -d ' ') bots in the source; copying $bots_to_copy of them ($rows_to_copy rows) in $batches transaction(s)"

step="copying the rows (a rerun resumes with the bots not committed)"
: >applied
if [ "$batches" -gt 0 ]; then
    rm -f source-failed
    if ! {
        source_psql -f stream.sql \
            -v columns="$columns" -v botid_type="$botid_type" \
            -v fresh_start="BEGIN;
COPY items ($columns) FROM STDIN;" \
            -v conflict_start="BEGIN;
CREATE TEMP TABLE copy_vectors_staging ON COMMIT DROP AS SELECT $columns FROM items WITH NO DATA;
COPY copy_vectors_staging ($columns) FROM STDIN;" \
            -v conflict_insert="WITH inserted AS (INSERT INTO items ($columns) SELECT $columns FROM copy_vectors_staging
    ON CONFLICT ($key_columns) DO NOTHING RETURNING botid)
SELECT 'copied', $BOT_KEY, count(*) FROM inserted GROUP BY botid;" \
            </dev/null || : >source-failed
    } | target_psql \
        -c "CREATE FUNCTION pg_temp.copy_vectors_expect(got bigint, expected bigint) RETURNS SETOF int
            LANGUAGE plpgsql AS \$\$ BEGIN
              IF got <> expected THEN
                RAISE EXCEPTION '% rows arrived from the source, expected %', got, expected;
              END IF;
            END \$\$" \
        -f - >applied; then
        [ -e source-failed ] && say "reading from the source failed"
        exit 1
    fi
    committed=$(grep -c '^batch' applied || :)
    if [ -e source-failed ] || [ "$committed" -ne "$batches" ]; then
        [ -e source-failed ] && say "reading from the source failed"
        step="$step: $committed of $batches transaction(s) committed"
        exit 1
    fi
fi

# --- the comparison: one session --------------------------------------------------------------
# Copied per bot: all its rows when the target had none, what the ON CONFLICT insert reported when
# it had some, none when it was complete.
awk -F "$tab" -v OFS="$tab" '
    FILENAME == "applied" { if ($1 == "copied") copied[$2] = $3; next }
    { print $1, $2, ($2 == $3 ? 0 : ($3 == 0 ? $2 : copied[$1] + 0)) }
' applied plan >copied

step="comparing the row counts"
target_psql \
    -c "CREATE TEMP TABLE copy_vectors_done (bot text, source_rows bigint, copied bigint)" \
    -c "\\copy copy_vectors_done FROM 'copied'" \
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
    </dev/null >result

# One process, not a shell loop: `read` takes a line a byte at a time, and there is a line a bot.
sed 's/^/copy-vectors: /' result
summary=$(tail -n 1 result)
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
