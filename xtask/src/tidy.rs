//! The house rules, held by a test (rust-analyzer's `xtask/src/tidy.rs` habit): what review would
//! otherwise have to remember.
//!
//! - ARCHITECTURE.md names every source module and every emulator file, so the map stays true.
//! - Every emulator patch cites the AWS documentation page of the behaviour it restores.
//! - No file cites a document outside the repository: whoever clones it must be able to follow
//!   every reference (the facts live in `docs/`).
//! - `cargo xtask ...` and `cargo test --workspace` resolve every crate to the same features, so
//!   a fresh machine compiles the AWS SDK once (see `tests/Cargo.toml`).

use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

use crate::setup::project_root;

/// Files that are entry points or test-only, not modules a reader looks up in the map.
fn is_exempt_module(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(name, "lib.rs" | "main.rs" | "mod.rs" | "tests.rs") || name.ends_with("_tests.rs")
}

/// Emulator files that are plumbing (registration, the admin endpoints), not AWS behaviours.
fn is_patch_plumbing(path: &str) -> bool {
    path.ends_with("/__init__.py") || path.ends_with("/admin.py")
}

fn tracked_files() -> Vec<String> {
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    cmd!(sh, "git ls-files")
        .read()
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_source_module(path: &str) -> bool {
    let in_src = ["cdk-hook/src/", "migrate/src/", "xtask/src/", "tests/src/"]
        .iter()
        .any(|dir| path.starts_with(dir));
    in_src && path.ends_with(".rs") && !is_exempt_module(path)
}

fn is_emulator_file(path: &str) -> bool {
    path.starts_with("tests/emulator/") && path.ends_with(".py")
}

/// The files ARCHITECTURE.md does not name, by file name (a module is looked up by its name).
fn unnamed_in_architecture(files: &[String], architecture: &str) -> Vec<String> {
    files
        .iter()
        .filter(|f| is_source_module(f) || is_emulator_file(f))
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap();
            !architecture.contains(&format!("`{name}`"))
                && !architecture.contains(&format!("/{name}`"))
        })
        .cloned()
        .collect()
}

#[test]
fn architecture_names_every_module_and_emulator_file() {
    let root = project_root();
    let architecture = read(&root.join("ARCHITECTURE.md"));
    let missing = unnamed_in_architecture(&tracked_files(), &architecture);
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's module index does not name these files (add a line each):\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_emulator_patch_cites_its_aws_page() {
    let root = project_root();
    let uncited: Vec<String> = tracked_files()
        .into_iter()
        .filter(|f| f.starts_with("tests/emulator/patches/") && f.ends_with(".py"))
        .filter(|f| !is_patch_plumbing(f))
        .filter(|f| !read(&root.join(f)).contains("https://docs.aws.amazon.com/"))
        .collect();
    assert!(
        uncited.is_empty(),
        "these emulator patches cite no AWS documentation page (https://docs.aws.amazon.com/...) \
         for the behaviour they restore:\n{}",
        uncited.join("\n")
    );
}

#[test]
fn nothing_cites_a_document_outside_the_repository() {
    let root = project_root();
    // Spelled in two halves so that this file does not cite it either.
    let outside = ["DESIGN", ".md"].concat();
    let citing: Vec<PathBuf> = tracked_files()
        .into_iter()
        .map(|f| root.join(f))
        .filter(|p| {
            std::fs::read(p).is_ok_and(|bytes| {
                bytes
                    .windows(outside.len())
                    .any(|w| w == outside.as_bytes())
            })
        })
        .collect();
    assert!(
        citing.is_empty(),
        "these files cite {outside}, which is not part of the repository; cite the page in docs/ \
         that holds the fact instead:\n{citing:#?}"
    );
}

#[test]
fn the_index_rule_sees_a_missing_module() {
    let files = vec![
        "migrate/src/run.rs".to_owned(),
        "migrate/src/lib.rs".to_owned(),
        "migrate/src/run_tests.rs".to_owned(),
        "tests/emulator/patches/new_patch.py".to_owned(),
        "README.md".to_owned(),
    ];
    assert_eq!(
        unnamed_in_architecture(&files, "- `run.rs`: the engine"),
        ["tests/emulator/patches/new_patch.py"]
    );
    assert!(unnamed_in_architecture(&files, "`run.rs`, `patches/new_patch.py`").is_empty());
}

/// Every package with its features, one line each, as `cargo tree` resolves them for `args`.
fn resolved_features(args: &[&str]) -> std::collections::BTreeSet<String> {
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let format = "{p}|{f}";
    cmd!(
        sh,
        "{cargo} tree --locked {args...} -f {format} --prefix none --no-dedupe"
    )
    .quiet()
    .read()
    .unwrap()
    .lines()
    .map(str::to_owned)
    .filter(|line| !line.trim().is_empty())
    .collect()
}

#[test]
fn cargo_xtask_and_the_tests_share_one_build_of_the_sdk() {
    // `cargo xtask` is `cargo run --package xtask` (normal dependencies, default features);
    // `cargo test --workspace` adds every member's dev-dependencies. Any crate whose features
    // differ between the two is compiled twice, and with it everything above it (the SDK).
    let xtask = resolved_features(&["-p", "xtask", "-e", "normal,build"]);
    let tests = resolved_features(&["--workspace", "-e", "normal,build,dev"]);
    let only_tests: Vec<&String> = tests.difference(&xtask).collect();
    let only_xtask: Vec<&String> = xtask.difference(&tests).collect();
    assert!(
        only_tests.is_empty() && only_xtask.is_empty(),
        "the test build's features differ from `cargo xtask`'s, so the SDK is compiled twice; give \
         the `tests` crate's [dependencies] what the dev-dependencies add (tests/Cargo.toml).\n\
         only in the test build: {only_tests:#?}\nonly in `cargo xtask`: {only_xtask:#?}"
    );
}
