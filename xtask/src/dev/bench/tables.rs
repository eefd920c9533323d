//! `cargo xtask bench --tables`: the v2 -> v3 table migration (`migrate-tables`, this binary as
//! a child, so that its peak RSS is the migration's own) against Bedrock Chat's own script
//! (`upstream.rs`), on one emulator, on v2 tables seeded in the app's item shapes and mix
//! (`tests::seed_v2`), in one run:
//!
//! 1. the AWS-like latencies on (`tests/emulator/aws_limits.toml`; with them the emulator's scan
//!    and query indexes, without which moto walks the whole table on every Scan page and every
//!    Query, and the walk, not the writes, would be what is measured), then moto's raw write rate: a seeding and our migration
//!    of the small table, no write limit;
//! 2. a write limit per table below both (`tests/emulator/patches/dynamodb_throughput.py`), so
//!    that the limit and not the emulator is what binds;
//! 3. our migration of the small table and of the large one (peak RSS at both sizes), then the
//!    app's script on a subset of the large table's users.

use std::path::Path;

use aws_sdk_dynamodb::Client;
use migrate::tables::TablesReport;
use serde_json::{Value, json};
use tests::seed_v2::V2Plan;
use tests::seed_v2_items::user_id;
use tests::{Emulator, STACK, throughput_knob};

use super::probe::{self, LIMITS_PATH};
use super::report::write_report;
use super::tables_env::{self, AppTables, Seeded};
use super::upstream::{self, ScriptTables};

/// The app's script sleeps 0.5 s after every batch and writes a user's bots, aliases,
/// conversations and related documents in separate batches: about 2.2 s a user of the seed's
/// mix. This many users take about a minute.
const SCRIPT_USERS: usize = 28;
/// The limit is this share of the lower of moto's two raw rates.
const LIMIT_SHARE: f64 = 0.5;
/// Issue 23's goals.
const GOAL_VS_SCRIPT: f64 = 20.0;
const GOAL_WITHIN_LIMIT: f64 = 1.3;

/// Everything a run needs.
struct Env<'a> {
    emulator: &'a Emulator,
    client: Client,
    rt: tokio::runtime::Runtime,
    dir: &'a Path,
    xtask: &'a Path,
}

pub fn run(dir: &Path, work: &Path, xtask: &Path, items: usize) -> anyhow::Result<()> {
    let load_before = load_average();
    eprintln!("==> emulator and the fixture app at v2, then v3 (the real CDK CLI)");
    let emulator = Emulator::start_in(&work.join("emulator"));
    let app = tables_env::deploy_v2_then_v3(&emulator, &work.join("app"))?;
    let rt = crate::aws::runtime()?;
    let client = rt.block_on(async { Client::new(&emulator.sdk_config().await) });
    let env = Env {
        emulator: &emulator,
        client,
        rt,
        dir: work,
        xtask,
    };
    let mut report = measure(&env, &app, items)?;
    drop(env);
    drop(emulator);
    report["machine"] = json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    });
    println!("{}", render(&report));
    write_report(dir, json!({ "tables": report }))
}

/// The runs, in order: raw rates, the limit, then the limited runs side by side.
fn measure(env: &Env, app: &AppTables, items: usize) -> anyhow::Result<Value> {
    let small_items = (items / 10).max(100);
    let small_v2 = "bench-v2-small";
    throughput_knob::set_write_limit(env.emulator, None);
    probe::admin(
        env.emulator.port(),
        LIMITS_PATH,
        Some(&json!({"enabled": true, "reset": true})),
    )?;
    eprintln!("==> seeding {small_items} items, no write limit (moto's raw write rate)");
    let small = env.rt.block_on(async {
        tables_env::clone_table(&env.client, &app.v2, small_v2).await?;
        tables_env::seed_timed(&env.client, small_v2, small_items).await
    })?;
    let raw = ours(env, app, "ours, no limit", small_v2, None)?;
    let limit = choose_limit(&small, &raw);
    eprintln!("==> seeding {items} items, no write limit");
    let large = env
        .rt
        .block_on(tables_env::seed_timed(&env.client, &app.v2, items))?;
    eprintln!("==> write limit {limit} write units/s per table");
    throughput_knob::set_write_limit(env.emulator, Some(limit));
    let query_secs = env.rt.block_on(async {
        let small = tables_env::owner_query_secs(&env.client, small_v2).await?;
        let large = tables_env::owner_query_secs(&env.client, &app.v2).await?;
        anyhow::Ok(json!({ "small": small, "large": large }))
    })?;
    let at_small = ours(env, app, "ours, small", small_v2, Some(limit))?;
    let at_large = ours(env, app, "ours, large", &app.v2, Some(limit))?;
    let script = script_run(env, app, V2Plan::with_items(items).users)?;
    Ok(json!({
        "items": large.seeded.total,
        "items_small": small.seeded.total,
        "raw": {
            "seed_small": seed_figures(&small),
            "seed_large": seed_figures(&large),
            "ours_no_limit": raw,
        },
        "owner_query_secs": query_secs,
        "write_limit_units_per_sec": limit,
        "limit_share_of_raw": LIMIT_SHARE,
        "ours_small": at_small,
        "ours_large": at_large,
        "upstream_script": script,
        "goals": goals(&at_small, &at_large, &script),
    }))
}

fn seed_figures(seeded: &Seeded) -> Value {
    json!({
        "items": seeded.seeded.total,
        "secs": seeded.secs,
        "items_per_sec": seeded.seeded.total as f64 / seeded.secs,
        "write_units": seeded.units,
        "write_units_per_sec": seeded.units / seeded.secs,
    })
}

/// The limit: `LIMIT_SHARE` of the lower of moto's raw rates on this machine (write units a
/// second: the seeding's, and the busiest table's in our unlimited run, which also pays for the
/// scan), rounded down to ten. Above them the emulator would be what binds, not the limit.
fn choose_limit(seed: &Seeded, raw: &Value) -> f64 {
    let seed_rate = seed.units / seed.secs;
    let ours_rate = raw["busiest_table_units_per_sec"]
        .as_f64()
        .unwrap_or(seed_rate);
    ((seed_rate.min(ours_rate) * LIMIT_SHARE / 10.0).floor() * 10.0).max(10.0)
}

/// Our migration of `source` as a user runs it (`migrate-tables` with the three table flags,
/// nothing else: the pace starts from DescribeTable, on-demand here, and follows throttling),
/// into new tables of the app's definitions; the large run uses the stack's own.
fn ours(
    env: &Env,
    app: &AppTables,
    name: &str,
    source: &str,
    limit: Option<f64>,
) -> anyhow::Result<Value> {
    let (conversations, bots) = targets(env, app, name, source)?;
    let slug = name.replace([',', ' '], "-");
    let state = env.dir.join(format!("{slug}.state"));
    let report_path = env.dir.join(format!("{slug}.report.json"));
    let mut command = env.emulator.command(env.xtask);
    command
        .args(["migrate-tables", "--stack", STACK, "--state-dir"])
        .arg(&state)
        .args(["--from-table", source])
        .args(["--conversation-table", &conversations])
        .args(["--bot-table", &bots])
        .arg("--report")
        .arg(&report_path);
    let knob_before = knob_counters(env, true)?;
    let emulator_before = probe::admin(env.emulator.port(), LIMITS_PATH, None)?;
    let log = |ext: &str| std::fs::File::create(env.dir.join(format!("{slug}.{ext}")));
    eprintln!("    run {name}: {source} -> {conversations}, {bots} ...");
    let done = probe::run_measured(command, log("stdout")?, log("stderr")?, None)?;
    let (cpu, calls) = emulator_since(env, &emulator_before)?;
    let knob = knob_counters(env, false)?;
    let report: TablesReport = serde_json::from_str(
        &std::fs::read_to_string(&report_path)
            .map_err(|e| anyhow::anyhow!("{name} wrote no report ({e}); see its stderr"))?,
    )?;
    let units = |table: &str| {
        env.rt
            .block_on(tables_env::items_and_units(&env.client, table))
    };
    let (conv_units, bot_units) = (units(&conversations)?.1, units(&bots)?.1);
    let total = report.total();
    let copy_secs = report.copy_seconds.max(1e-9);
    let busiest = conv_units.max(bot_units);
    let mut figures = json!({
        "run": name,
        "exit_code": done.code,
        "success": report.success,
        "items_read": total.read,
        "items_written": total.written,
        "skipped": total.skipped,
        "malformed": total.malformed,
        "unwritten": total.unwritten + total.rejected,
        "copy_secs": report.copy_seconds,
        "verify_secs": report.verify_seconds,
        "wall_secs": done.wall_secs,
        "items_per_sec": total.written as f64 / copy_secs,
        "peak_rss_mb": done.peak_rss_mb,
        "emulator_cpu_percent": 100.0 * cpu / done.wall_secs.max(1e-9),
        "emulator_calls": calls,
        "write_units": { "conversations": conv_units, "bots": bot_units },
        "busiest_table_units_per_sec": busiest / copy_secs,
        "throttled_answers": knob["throttled"].as_u64().unwrap_or(0)
            - knob_before["throttled"].as_u64().unwrap_or(0),
        "unprocessed_items": knob["unprocessed"].as_u64().unwrap_or(0)
            - knob_before["unprocessed"].as_u64().unwrap_or(0),
        "pace": report.pace,
    });
    if let Some(limit) = limit {
        // The fastest any writer could go: each table takes `limit` units a second after a
        // first second's worth (the emulator's buckets start full), so the busiest table's
        // units beyond that, over the limit, is the copy's shortest time.
        let limit_secs = ((busiest - limit) / limit).max(1e-9);
        figures["limit_items_per_sec"] = json!(total.written as f64 / limit_secs);
        figures["ratio_to_limit"] = json!(limit_secs / copy_secs);
        figures["items_per_sec_per_limit_unit"] = json!(total.written as f64 / copy_secs / limit);
    }
    Ok(figures)
}

/// The run's target tables: the stack's own for the large table, new ones otherwise.
fn targets(
    env: &Env,
    app: &AppTables,
    name: &str,
    source: &str,
) -> anyhow::Result<(String, String)> {
    if source == app.v2 {
        return Ok((app.conversations.clone(), app.bots.clone()));
    }
    new_targets(env, app, name)
}

/// Two new tables of the v3 tables' definitions, named after the run.
fn new_targets(env: &Env, app: &AppTables, name: &str) -> anyhow::Result<(String, String)> {
    let slug: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let (conversations, bots) = (
        format!("bench-{slug}-conversations"),
        format!("bench-{slug}-bots"),
    );
    env.rt.block_on(async {
        tables_env::clone_table(&env.client, &app.conversations, &conversations).await?;
        tables_env::clone_table(&env.client, &app.bots, &bots).await
    })?;
    Ok((conversations, bots))
}

/// The app's script on `SCRIPT_USERS` users of the large table (past the first two, which hold
/// the seed's odd items: the regular mix is what paces it), into new tables; the items it wrote
/// are the emulator's count, not its report's.
fn script_run(env: &Env, app: &AppTables, users_in_table: usize) -> anyhow::Result<Value> {
    let users: Vec<String> = (2..users_in_table.min(2 + SCRIPT_USERS))
        .map(user_id)
        .collect();
    let (conversations, bots) = new_targets(env, app, "upstream")?;
    knob_counters(env, true)?;
    let tables = ScriptTables {
        v2: &app.v2,
        conversations: &conversations,
        bots: &bots,
    };
    let mut figures = upstream::run(env.emulator, env.dir, &tables, &users)?;
    let knob = knob_counters(env, false)?;
    let written: u64 = [&conversations, &bots]
        .iter()
        .map(|table| knob["written"][table.as_str()].as_u64().unwrap_or(0))
        .sum();
    let secs = figures["migration_secs"].as_f64().unwrap_or(f64::INFINITY);
    figures["items_written"] = json!(written);
    figures["items_per_sec"] = json!(written as f64 / secs);
    Ok(figures)
}

/// The write limit's counters; `reset` zeroes them first (the limit stays).
fn knob_counters(env: &Env, reset: bool) -> anyhow::Result<Value> {
    let path = "/moto-api/emulator/dynamodb-throughput";
    let body = reset.then(|| json!({"reset": true}));
    probe::admin(env.emulator.port(), path, body.as_ref())
}

/// The emulator's CPU seconds and its calls per operation since `before` (its state then).
fn emulator_since(env: &Env, before: &Value) -> anyhow::Result<(f64, Value)> {
    let now = probe::admin(env.emulator.port(), LIMITS_PATH, None)?;
    let cpu =
        now["cpu_seconds"].as_f64().unwrap_or(0.0) - before["cpu_seconds"].as_f64().unwrap_or(0.0);
    let mut calls = serde_json::Map::new();
    for (operation, count) in now["calls"].as_object().into_iter().flatten() {
        let since = count.as_u64().unwrap_or(0) - before["calls"][operation].as_u64().unwrap_or(0);
        if since > 0 {
            calls.insert(operation.clone(), json!(since));
        }
    }
    Ok((cpu, Value::Object(calls)))
}

fn goals(small: &Value, large: &Value, script: &Value) -> Value {
    let rate = |v: &Value| v["items_per_sec"].as_f64().unwrap_or(0.0);
    let vs_script = rate(large) / rate(script).max(1e-9);
    let vs_limit = large["ratio_to_limit"].as_f64().unwrap_or(0.0);
    let rss = |v: &Value| v["peak_rss_mb"].as_f64().unwrap_or(0.0);
    json!({
        "vs_script": vs_script,
        "vs_script_met": vs_script >= GOAL_VS_SCRIPT,
        "ratio_to_limit": vs_limit,
        "within_limit_met": vs_limit >= 1.0 / GOAL_WITHIN_LIMIT,
        "peak_rss_growth": rss(large) / rss(small).max(1e-9),
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// What the runs were measured under: moto's raw rates, the limit, the emulator's Query.
fn render_conditions(r: &Value) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let raw = &r["raw"];
    let mut out = format!(
        "moto raw on this machine (no limit): seeding {:.0} items/s ({:.0} write units/s); our \
         migration of {} items {:.0} items/s, its busiest table {:.0} write units/s, emulator CPU {:.0}%\n",
        f(&raw["seed_large"]["items_per_sec"]),
        f(&raw["seed_large"]["write_units_per_sec"]),
        r["items_small"],
        f(&raw["ours_no_limit"]["items_per_sec"]),
        f(&raw["ours_no_limit"]["busiest_table_units_per_sec"]),
        f(&raw["ours_no_limit"]["emulator_cpu_percent"]),
    );
    out += &format!(
        "write limit: {} write units/s per table ({} of the lower raw rate, so that the limit binds, not moto)\n",
        r["write_limit_units_per_sec"], r["limit_share_of_raw"]
    );
    out += &format!(
        "the emulator's Query of PublicBotIdIndex (an alias's owner; both migrations ask once per \
         aliased bot; answered from the partition with a 10 ms latency, as DynamoDB answers in \
         milliseconds, tests/emulator/patches/query_index.py): {:.3} s on {} items, {:.3} s on \
         {}; the large run made {} Queries\n",
        f(&r["owner_query_secs"]["small"]),
        r["items_small"],
        f(&r["owner_query_secs"]["large"]),
        r["items"],
        r["ours_large"]["emulator_calls"]["Query"],
    );
    out
}

/// The figures as printed.
fn render(r: &Value) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let mut out = render_conditions(r);
    out += &format!(
        "{:<14} {:>8} {:>8} {:>9} {:>9} {:>10} {:>10} {:>7} {:>8} {:>6}\n",
        "run",
        "items",
        "copy s",
        "items/s",
        "limit/s",
        "vs limit",
        "throttled",
        "RSS MB",
        "emu CPU%",
        "ok"
    );
    for key in ["ours_small", "ours_large"] {
        let v = &r[key];
        out += &format!(
            "{:<14} {:>8} {:>8.1} {:>9.0} {:>9.0} {:>9.2}x {:>10} {:>7.1} {:>8.0} {:>6}\n",
            v["run"].as_str().unwrap_or(key),
            v["items_written"].to_string(),
            f(&v["copy_secs"]),
            f(&v["items_per_sec"]),
            f(&v["limit_items_per_sec"]),
            f(&v["ratio_to_limit"]),
            v["throttled_answers"].to_string(),
            f(&v["peak_rss_mb"]),
            f(&v["emulator_cpu_percent"]),
            v["success"].to_string(),
        );
    }
    let s = &r["upstream_script"];
    out += &format!(
        "the app's script (v3.0.0), on {} users of the large table only (it sleeps 0.5 s after \
         every batch): {} items written in {:.1} s = {:.1} items/s, peak RSS {:.1} MB; the whole \
         table at that rate: {:.0} min\n",
        s["users"],
        s["items_written"],
        f(&s["migration_secs"]),
        f(&s["items_per_sec"]),
        f(&s["peak_rss_mb"]),
        f(&r["items"]) / f(&s["items_per_sec"]).max(1e-9) / 60.0,
    );
    let g = &r["goals"];
    out += &format!(
        "ours / script: {:.0}x (goal >= {GOAL_VS_SCRIPT}x: {}); ours / limit: {:.2} (goal >= 1/{GOAL_WITHIN_LIMIT} = {:.2}: {}); \
         peak RSS {} vs {} items: {:.2}x\n",
        f(&g["vs_script"]),
        met(&g["vs_script_met"]),
        f(&g["ratio_to_limit"]),
        1.0 / GOAL_WITHIN_LIMIT,
        met(&g["within_limit_met"]),
        r["items"],
        r["items_small"],
        f(&g["peak_rss_growth"]),
    );
    out += &format!(
        "{} cpus, load average {} before, {} after",
        r["machine"]["cpus"],
        r["machine"]["load_average_before"].as_str().unwrap_or(""),
        r["machine"]["load_average_after"].as_str().unwrap_or(""),
    );
    out
}

fn met(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "met"
    } else {
        "NOT met"
    }
}
