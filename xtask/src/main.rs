//! `cargo xtask`: the CLI. Thin by design: flags, prompts, progress and wiring of the `cdk-hook`
//! and `migrate` libraries; no AWS logic of its own.

mod aws;
mod bench;
mod check;
mod copy_vectors;
mod demo;
mod deploy;
mod flags;
mod gen_table;
mod knobs;
mod logging;
mod migrate;
mod nested_cargo;
mod outputs;
mod plan_view;
mod progress;
mod restore;
mod run_lock;
mod safeguards;
mod setup;
mod signals;
mod terminal;
mod test_run;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    crate::logging::init(flags.log);
    if let Err(e) = signals::install() {
        eprintln!("error: cannot listen for signals: {e}");
        return ExitCode::FAILURE;
    }
    let result = match flags.command {
        flags::Command::Setup(_) => setup::run(),
        flags::Command::Test(test) => test_run::run(test),
        flags::Command::Check(mut check) => {
            check.verbose = flags.log.verbose > 0;
            check::run(check)
        }
        flags::Command::Demo(demo) => demo::run(demo),
        flags::Command::Completions(c) => {
            clap_complete::generate(
                c.shell,
                &mut <flags::Xtask as clap::CommandFactory>::command(),
                "cargo-xtask",
                &mut std::io::stdout(),
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        flags::Command::Deploy(mut deploy) => {
            deploy.verbose = flags.log.verbose > 0;
            deploy::run(deploy)
        }
        flags::Command::Restore(restore) => restore::run(restore),
        flags::Command::CopyVectors(copy) => copy_vectors::run(copy),
        flags::Command::Bench(bench) => bench::run(bench),
        flags::Command::Outputs(outputs) => outputs::run(outputs),
        flags::Command::Migrate(migrate) => migrate::run(migrate),
        flags::Command::GenReplacementTable(gen_table) => gen_table::run(gen_table),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", ::migrate::error_text::chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}
