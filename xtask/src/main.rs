//! `cargo xtask`: the CLI. Thin by design: flags, prompts, progress and wiring of the `cdk-hook`
//! and `migrate` libraries; no AWS logic of its own.

mod aws;
mod check;
mod copy_vectors;
mod deploy;
#[cfg(feature = "dev")]
mod dev;
mod flags;
mod knobs;
mod logging;
mod migrate;
mod migrate_tables;
mod outputs;
mod plan_view;
mod progress;
mod restore;
mod run_lock;
mod safeguards;
mod signals;
mod terminal;

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
        #[cfg(feature = "dev")]
        flags::Command::Setup(_) => dev::setup::run(),
        #[cfg(feature = "dev")]
        flags::Command::Test(test) => dev::test_run::run(test),
        flags::Command::Check(mut check) => {
            check.verbose = flags.log.verbose > 0;
            check::run(check)
        }
        #[cfg(feature = "dev")]
        flags::Command::Demo(demo) => dev::demo::run(demo),
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
        #[cfg(feature = "dev")]
        flags::Command::Bench(bench) => dev::bench::run(bench),
        flags::Command::Outputs(outputs) => outputs::run(outputs),
        flags::Command::Migrate(migrate) => migrate::run(migrate),
        flags::Command::MigrateTables(tables) => migrate_tables::run(tables),
        #[cfg(feature = "dev")]
        flags::Command::GenReplacementTable(gen_table) => dev::gen_table::run(gen_table),
        #[cfg(feature = "dev")]
        flags::Command::GenDocs(gen_docs) => dev::gen_docs::run(gen_docs),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", ::migrate::error_text::chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}
