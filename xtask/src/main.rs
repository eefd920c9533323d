//! `cargo xtask`: the CLI. Thin by design: flags, prompts, progress and wiring of the `cdk-hook`
//! and `migrate` libraries; no AWS logic of its own.

mod aws;
mod flags;
mod setup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let result = match flags.command {
        flags::Command::Setup(_) => setup::run(),
        flags::Command::Test(test) => setup::test(test),
        flags::Command::Check(_) => todo!("issue 3"),
        flags::Command::Outputs(_) => todo!("issue 4"),
        flags::Command::Migrate(_) => todo!("issue 4"),
        flags::Command::GenReplacementTable(_) => todo!("issue 3"),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
