//! The log: `tracing` events (warnings such as "classification from the change set alone") on
//! stderr. Warnings by default; `-v` more, `--quiet` only errors; `RUST_LOG` adds its directives
//! (e.g. `RUST_LOG=aws_smithy_runtime=debug`). The AWS SDK's own events stay at error unless asked
//! for: its warnings are about retries this tool already handles.

use tracing_subscriber::EnvFilter;

use crate::flags::LogOptions;

pub fn init(options: LogOptions) {
    let ours = match (options.quiet, options.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let others = if options.verbose >= 3 {
        "debug"
    } else {
        "error"
    };
    let base = format!("{others},xtask={ours},cdk_hook={ours},migrate={ours}");
    let filter = match std::env::var("RUST_LOG") {
        Ok(extra) if !extra.trim().is_empty() => format!("{base},{extra}"),
        _ => base,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
