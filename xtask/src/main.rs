//! `cargo xtask`: the CLI. Thin by design: flags, prompts, progress and wiring of the `cdk-hook`
//! and `migrate` libraries; no AWS logic of its own.

mod aws;
mod bench;
mod check;
mod flags;
mod gen_table;
mod migrate;
mod nested_cargo;
mod outputs;
mod progress;
mod setup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let result = match flags.command {
        flags::Command::Setup(_) => setup::run(),
        flags::Command::Test(test) => setup::test(test),
        flags::Command::Check(check) => check::run(check),
        flags::Command::Bench(bench) => bench::run(bench),
        flags::Command::Outputs(outputs) => outputs::run(outputs),
        flags::Command::Migrate(migrate) => migrate::run(migrate),
        flags::Command::GenReplacementTable(gen_table) => gen_table::run(gen_table),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
