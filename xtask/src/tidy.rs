//! The house rules, held by a test (rust-analyzer's `xtask/src/tidy.rs` habit): what review would
//! otherwise have to remember.
//!
//! - ARCHITECTURE.md names every source module and every emulator file, so the map stays true.
//! - Every emulator patch cites the AWS documentation page of the behaviour it restores.
//! - No file cites a document outside the repository: whoever clones it must be able to follow
//!   every reference (the facts live in `docs/`).

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
