//! The bench's one table, and its JSON report.

use serde_json::{Value, json};

use super::launches::{Figures, LIMIT_PER_SEC};

fn rate(figures: &Figures) -> String {
    figures
        .launches_per_sec_sustained
        .map_or("-".into(), |r| format!("{r:.1}"))
}

/// A run's wall time for the ratios: projected to every bot when it was stopped early (the
/// baseline), so that a partial run is not compared by the part it ran.
fn ratio_secs(figures: &Figures) -> f64 {
    figures.projected_wall_secs.unwrap_or(figures.wall_secs)
}

/// The launch runs and the scan runs as printed.
pub fn render(runs: &[Figures], scans: &[Value], limit_secs: f64, bots: usize) -> String {
    let baseline = runs.first().map(ratio_secs);
    let mut out = format!(
        "{bots} bots; physical limit {limit_secs:.0} s (bots to embed / {LIMIT_PER_SEC} RunTask/s)\n"
    );
    out += &format!(
        "{:<20} {:>8} {:>8} {:>9} {:>8} {:>9} {:>11} {:>6} {:>7} {:>9} {:>8} {:>8}\n",
        "run",
        "wall s",
        "launch/s",
        "throttles",
        "capacity",
        "fail left",
        "tasks/needed",
        "empty",
        "RSS MB",
        "emu CPU%",
        "vs base",
        "vs limit"
    );
    for f in runs {
        out += &format!(
            "{:<20} {:>8.1} {:>8} {:>9} {:>8} {:>9} {:>11} {:>6} {:>7.1} {:>9.0} {:>8} {:>8.2}\n",
            format!("{}{}", f.run, if f.partial { " (partial)" } else { "" }),
            f.wall_secs,
            rate(f),
            f.throttling_errors,
            f.capacity_failures,
            f.launch_failures_left,
            format!("{}/{}", f.tasks_launched, f.bots_needing_embedding),
            f.tasks_for_bots_with_nothing_to_embed,
            f.peak_rss_mb,
            f.emulator_cpu_percent,
            baseline.map_or("-".into(), |b| format!("{:.2}x", b / ratio_secs(f))),
            ratio_secs(f) / limit_secs,
        );
    }
    for s in scans {
        out += &format!(
            "scan {:>2} segment(s): {:.2} s scanning {} bots, peak RSS {:.1} MB, emulator CPU {:.0}%\n",
            s["segments"],
            s["scan_secs"].as_f64().unwrap_or(0.0),
            s["bots_found"],
            s["peak_rss_mb"].as_f64().unwrap_or(0.0),
            s["emulator_cpu_percent"].as_f64().unwrap_or(0.0),
        );
    }
    if let Some(projected) = runs.iter().find_map(|f| f.projected_wall_secs) {
        out += &format!(
            "the baseline was stopped early: at its rate every bot takes {projected:.0} s, which the ratios use\n"
        );
    }
    if let [one, many] = scans
        && let (Some(a), Some(b)) = (one["scan_secs"].as_f64(), many["scan_secs"].as_f64())
    {
        out += &format!("parallel scan speed-up: {:.1}x\n", a / b.max(1e-9));
    }
    out
}

pub fn report(
    runs: &[Figures],
    scans: &[Value],
    limit_secs: f64,
    knobs: &Value,
    bots: usize,
) -> Value {
    let baseline = runs.first().map(ratio_secs);
    let runs: Vec<Value> = runs
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            v["ratio_to_baseline"] = json!(baseline.map(|b| b / ratio_secs(f)));
            v["ratio_to_physical_limit"] = json!(ratio_secs(f) / limit_secs);
            v["rate_share_of_limit"] =
                json!(f.launches_per_sec_sustained.map(|r| r / LIMIT_PER_SEC));
            v
        })
        .collect();
    json!({
        "bots": bots,
        "physical_limit_secs": limit_secs,
        "knobs": knobs,
        "runs": runs,
        "scan": scans,
        "machine": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        },
    })
}
