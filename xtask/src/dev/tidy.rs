//! The house rules, held by a test (rust-analyzer's `xtask/src/tidy.rs` habit): what review would
//! otherwise have to remember.
//!
//! - ARCHITECTURE.md's code map names every source module and every emulator file in its
//!   folder's section, so the map stays true.
//! - Every emulator patch cites the AWS documentation page of the behaviour it restores.
//! - No file cites a document outside the repository: whoever clones it must be able to follow
//!   every reference (the facts live in `docs/`).
//! - `cargo xtask ...` and `cargo test --workspace` resolve every crate to the same features, so
//!   a fresh machine compiles the AWS SDK once (see `tests/Cargo.toml`).

use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

use crate::dev::setup::project_root;

/// The crates' source folders: the libraries, the CLI and the test harness.
pub(super) const SOURCE_DIRS: [&str; 4] =
    ["cdk-hook/src/", "migrate/src/", "xtask/src/", "tests/src/"];

/// A file of unit tests (`tests.rs`, `<module>_tests.rs`), included by its module under `cfg(test)`.
pub(super) fn is_test_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// Files that are entry points or test-only, not modules a reader looks up in the map.
fn is_exempt_module(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(name, "lib.rs" | "main.rs" | "mod.rs") || is_test_file(path)
}

/// Emulator files that are plumbing (registration, the admin endpoints), not AWS behaviours.
fn is_patch_plumbing(path: &str) -> bool {
    path.ends_with("/__init__.py") || path.ends_with("/admin.py")
}

pub(super) fn tracked_files() -> Vec<String> {
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    cmd!(sh, "git ls-files")
        .read()
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub(super) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_source_module(path: &str) -> bool {
    let in_src = SOURCE_DIRS.iter().any(|dir| path.starts_with(dir));
    in_src && path.ends_with(".rs") && !is_exempt_module(path)
}

fn is_emulator_file(path: &str) -> bool {
    path.starts_with("tests/emulator/") && path.ends_with(".py")
}

/// The folders a heading names (`` `migrate/src/reembed/` ``), and the text of its section (up
/// to the next heading).
fn folder_sections(architecture: &str) -> Vec<(Vec<&str>, String)> {
    let mut sections: Vec<(Vec<&str>, String)> = Vec::new();
    for line in architecture.lines() {
        if line.starts_with('#') {
            let folders = line
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|s| s.ends_with('/'))
                .collect();
            sections.push((folders, String::new()));
        } else if let Some((_, text)) = sections.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    sections
}

/// The files ARCHITECTURE.md's code map does not name: each is named, in backticks, in the
/// section of a heading that names its folder or a folder above it, by its path from there
/// (`` `run.rs` `` under `` `migrate/src/reembed/` ``, `` `deploy/update.rs` `` under
/// `` `xtask/src/` ``), so a reader finds any file in one hop from its folder's paragraph.
fn unnamed_in_architecture(files: &[String], architecture: &str) -> Vec<String> {
    let sections = folder_sections(architecture);
    files
        .iter()
        .filter(|f| is_source_module(f) || is_emulator_file(f))
        .filter(|f| {
            !sections.iter().any(|(folders, text)| {
                folders.iter().any(|folder| {
                    f.strip_prefix(folder)
                        .is_some_and(|rest| text.contains(&format!("`{rest}`")))
                })
            })
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
        "migrate/src/reembed/run.rs".to_owned(),
        "migrate/src/tables/run.rs".to_owned(),
        "migrate/src/lib.rs".to_owned(),
        "migrate/src/reembed/run_tests.rs".to_owned(),
        "tests/emulator/patches/new_patch.py".to_owned(),
        "README.md".to_owned(),
    ];
    let map =
        "## Code map\n### `migrate/src/reembed/`\n- `run.rs`: the engine\n### `tests/emulator/`\n";
    assert_eq!(
        unnamed_in_architecture(&files, map),
        [
            "migrate/src/tables/run.rs",
            "tests/emulator/patches/new_patch.py"
        ],
        "a file named only in another folder's section is not named"
    );
    let named = format!("{map}`patches/new_patch.py`\n### `migrate/src/`\n`tables/run.rs`\n");
    assert!(unnamed_in_architecture(&files, &named).is_empty());
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

/// Calls that create a file or a directory. Under the state directory only `migrate::state`
/// may make one: it creates files 0600 and directories 0700 from birth, where these would use
/// the default mode (a report made 0644 was narrowed, with a warning, by the next run).
const CREATES_FILES: [&str; 6] = [
    "File::create",
    "fs::write(",
    "tempfile::",
    "fs::copy(",
    "create_dir",
    "DirBuilder",
];

/// `OpenOptions` flags that create a file: allowed only in a statement that opens through
/// `state::open_private` (0600 at creation).
const OPEN_CREATES: [&str; 2] = [".create(true)", ".create_new(true)"];

/// Code that may create files by other means, and why none of them is under the state
/// directory.
const CREATES_ELSEWHERE: [(&str, &str); 4] = [
    (
        "migrate/src/state.rs",
        "the one owner of the state directory's files",
    ),
    (
        "migrate/src/reembed/spill.rs",
        "an unnamed temporary file in the system's temp directory (0600 by tempfile)",
    ),
    (
        "cdk-hook/src/replacement_table.rs",
        "`gen-replacement-table` writes the generated table into the source tree",
    ),
    (
        "xtask/src/plan_view/markdown.rs",
        "appends to the CI runner's GITHUB_STEP_SUMMARY file",
    ),
];

/// `text` without its inline test modules (`#[cfg(test)]` or `#[cfg(all(test, ..))]` on a
/// `mod name {` that rustfmt closes with a `}` at column 0).
pub(super) fn non_test_code(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let is_test_attr = line.starts_with("#[cfg(test)]") || line.starts_with("#[cfg(all(test");
        if is_test_attr
            && lines
                .peek()
                .is_some_and(|l| l.starts_with("mod ") && l.ends_with('{'))
        {
            lines.by_ref().find(|l| *l == "}");
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// The developer commands (`xtask/src/dev/`, compiled only with the `dev` feature): they write
/// under `target/` or the source tree, never into a state directory.
fn is_dev(path: &str) -> bool {
    path.starts_with("xtask/src/dev/")
}

/// Library and operator-build sources, test files aside (`mod.rs` and `lib.rs` included: they
/// may hold code too).
fn is_non_test_source(path: &str) -> bool {
    ["cdk-hook/src/", "migrate/src/", "xtask/src/"]
        .iter()
        .any(|dir| path.starts_with(dir))
        && path.ends_with(".rs")
        && !is_test_file(path)
}

/// The statements of `code` (split at `;`, `{` and `}`) that create a file other than through
/// `state::open_private`, each on one line.
fn creating_statements(code: &str) -> Vec<String> {
    let code: Vec<&str> = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    code.join("\n")
        .split([';', '{', '}'])
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| {
            CREATES_FILES.iter().any(|call| s.contains(call))
                || (OPEN_CREATES.iter().any(|flag| s.contains(flag))
                    && !s.contains("open_private("))
        })
        .collect()
}

/// The operator build's and the libraries' source files that create files outside
/// `migrate::state`, with the offending statements.
fn file_creators(files: &[String], read_file: impl Fn(&str) -> String) -> Vec<String> {
    files
        .iter()
        .filter(|f| is_non_test_source(f) && !is_dev(f))
        .filter(|f| !CREATES_ELSEWHERE.iter().any(|(allowed, _)| f == allowed))
        .flat_map(|f| {
            creating_statements(&non_test_code(&read_file(f)))
                .into_iter()
                .map(move |statement| format!("{f}: {statement}"))
        })
        .collect()
}

#[test]
fn only_the_state_module_creates_files_where_the_state_directory_may_be() {
    let root = project_root();
    let creators = file_creators(&tracked_files(), |f| read(&root.join(f)));
    assert!(
        creators.is_empty(),
        "these lines create a file or directory with the default mode in code that may write \
         into the state directory (.xtask/); use migrate::state::write_private_with (0600 from \
         birth) or state::create_private_dir, or add the file to tidy.rs's CREATES_ELSEWHERE \
         saying why it never writes there:\n{}",
        creators.join("\n")
    );
}

#[test]
fn the_file_creation_rule_sees_a_report_made_with_the_default_mode() {
    let report = "fn write() {\n    std::fs::File::create(path)?;\n}\n";
    let in_test =
        "fn ok() {}\n\n#[cfg(test)]\nmod tests {\n    fn t() { std::fs::write(p, b\"\"); }\n}\n";
    let journal = "fn open() {\n    let a = state::open_private(OpenOptions::new()\n        .create_new(true), p)?;\n    let b = OpenOptions::new()\n        .append(true)\n        .create(true)\n        .open(p)?;\n}\n";
    let files = [
        ("migrate/src/report.rs", report),
        ("migrate/src/journal.rs", in_test),
        ("migrate/src/tables/mod.rs", journal),
        ("xtask/src/dev/bench.rs", report),
        ("xtask/src/dev/bench/copy.rs", report),
    ];
    let names: Vec<String> = files.iter().map(|(f, _)| (*f).to_owned()).collect();
    let text = |f: &str| files.iter().find(|(n, _)| *n == f).unwrap().1.to_owned();
    assert_eq!(
        file_creators(&names, text),
        [
            "migrate/src/report.rs: std::fs::File::create(path)?",
            "migrate/src/tables/mod.rs: let b = OpenOptions::new() .append(true) .create(true) .open(p)?",
        ]
    );
}

/// GitHub's anchor for a heading: lower case, spaces as `-`, punctuation other than `-` and `_`
/// dropped (backticks included).
fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown page's headings (outside fenced blocks).
fn anchors(markdown: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut found = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            found.push(heading_anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// The relative link targets of a Markdown page (`[text](target)`), web addresses left out.
fn relative_links(markdown: &str) -> Vec<String> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(')')
                .map(|(target, _)| target.trim().to_owned())
        })
        .filter(|t| !t.contains("://") && !t.starts_with("mailto:") && !t.contains(' '))
        .collect()
}

/// `page`'s links whose file or heading does not exist, as `page: target`.
fn broken_links(page: &str, read_file: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    let Some(text) = read_file(page) else {
        return vec![format!("{page}: cannot be read")];
    };
    let dir = Path::new(page).parent().unwrap_or(Path::new(""));
    relative_links(&text)
        .into_iter()
        .filter(|link| {
            let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() {
                Some(text.clone())
            } else {
                let joined = normalize(&dir.join(file));
                read_file(&joined).or_else(|| root_dir_exists(&joined).then(String::new))
            };
            match target {
                None => true,
                Some(_) if anchor.is_empty() => false,
                Some(target) => !anchors(&target).iter().any(|a| a == anchor),
            }
        })
        .map(|link| format!("{page}: {link}"))
        .collect()
}

/// `a/b/../c` as `a/c`, with `/` separators, relative to the workspace root.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

fn root_dir_exists(relative: &str) -> bool {
    project_root().join(relative).is_dir()
}

#[test]
fn every_relative_link_of_the_documentation_resolves() {
    let root = project_root();
    let read_file = |f: &str| std::fs::read_to_string(root.join(f)).ok();
    let mut pages = vec!["README.md".to_owned(), "ARCHITECTURE.md".to_owned()];
    // Pages not committed yet are checked too: a new page is where a link breaks first.
    let docs = walk_markdown(&root.join("docs"));
    pages.extend(docs);
    let broken: Vec<String> = pages
        .iter()
        .flat_map(|page| broken_links(page, &read_file))
        .collect();
    assert!(
        broken.is_empty(),
        "these links name a file or a heading that does not exist (moved? renamed?):\n{}",
        broken.join("\n")
    );
}

/// The Markdown files under `dir`, relative to the workspace root.
fn walk_markdown(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk_markdown(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            let relative = path.strip_prefix(project_root()).unwrap_or(&path);
            found.push(normalize(relative));
        }
    }
    found
}

#[test]
fn the_link_rule_sees_a_moved_page_and_a_renamed_heading() {
    let pages = [
        (
            "README.md",
            "[a](docs/b.md#two-ways-back) [c](#layout) [w](https://x.y/z)\n## Layout\n",
        ),
        (
            "docs/b.md",
            "# Two ways back\n[up](../README.md#gone) [gone](c.md)\n",
        ),
    ];
    let read_file = |f: &str| {
        pages
            .iter()
            .find(|(n, _)| *n == f)
            .map(|(_, t)| (*t).to_owned())
    };
    assert!(broken_links("README.md", &read_file).is_empty());
    assert_eq!(
        broken_links("docs/b.md", &read_file),
        ["docs/b.md: ../README.md#gone", "docs/b.md: c.md"]
    );
    assert_eq!(heading_anchor(" `cargo xtask check`"), "cargo-xtask-check");
    assert_eq!(
        heading_anchor(" Two ways back: re-embed or copy"),
        "two-ways-back-re-embed-or-copy"
    );
}
