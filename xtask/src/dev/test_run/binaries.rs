//! The test binaries of the workspace, as cargo builds them: `cargo test --no-run` with JSON
//! messages names every executable, so they can be run without cargo running them one by one.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;
use xshell::{Shell, cmd};

/// One test executable and where cargo would run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// `deploy`, `cdk_hook (lib)`, `xtask (bin)`: the target, and its kind unless it is an
    /// integration test.
    pub name: String,
    pub executable: PathBuf,
    /// The package's directory: cargo runs a test binary there, and tests may rely on it.
    pub package_dir: PathBuf,
}

impl TestBinary {
    /// A file name for its captured output.
    pub fn log_name(&self) -> String {
        let safe: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}.log", safe.trim_matches('-').replace("--", "-"))
    }
}

/// Builds every test target of the workspace and lists the executables, in cargo's order.
pub fn build(sh: &Shell) -> anyhow::Result<Vec<TestBinary>> {
    // `json-render-diagnostics`: the JSON on stdout, compiler warnings still rendered on stderr.
    let json = nested(cmd!(
        sh,
        "cargo test --workspace --no-run --message-format=json-render-diagnostics"
    ))
    .read()
    .context("building the test binaries")?;
    parse(&json)
}

fn parse(json: &str) -> anyhow::Result<Vec<TestBinary>> {
    let mut found: Vec<TestBinary> = Vec::new();
    for line in json.lines().filter(|l| l.starts_with('{')) {
        let message: Value =
            serde_json::from_str(line).with_context(|| format!("cargo's message {line:?}"))?;
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
            continue;
        }
        let Some(executable) = message["executable"].as_str() else {
            continue;
        };
        let target = &message["target"];
        let name = target["name"].as_str().unwrap_or("?");
        let kind = target["kind"][0].as_str().unwrap_or("?");
        let manifest = message["manifest_path"]
            .as_str()
            .context("a compiler artifact without manifest_path")?;
        let binary = TestBinary {
            name: if kind == "test" {
                name.to_owned()
            } else {
                format!("{name} ({kind})")
            },
            executable: PathBuf::from(executable),
            package_dir: Path::new(manifest)
                .parent()
                .context("a manifest path without a directory")?
                .to_path_buf(),
        };
        if !found.iter().any(|b| b.executable == binary.executable) {
            found.push(binary);
        }
    }
    anyhow::ensure!(
        !found.is_empty(),
        "cargo test --no-run named no test executable"
    );
    Ok(found)
}

/// A cargo run from this one, without the variables cargo set for this crate (see
/// `nested_cargo.rs`).
pub(super) fn nested(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    for var in crate::dev::nested_cargo::crate_env_vars() {
        cmd = cmd.env_remove(var);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_of_test_profiles_only_once_each() {
        let json = r#"
{"reason":"compiler-artifact","package_id":"path+file:///w/tests#0.1.0","manifest_path":"/w/tests/Cargo.toml","target":{"kind":["test"],"name":"deploy"},"profile":{"test":true},"executable":"/w/target/debug/deps/deploy-1"}
{"reason":"compiler-artifact","manifest_path":"/w/cdk-hook/Cargo.toml","target":{"kind":["lib"],"name":"cdk_hook"},"profile":{"test":false},"executable":null}
{"reason":"compiler-artifact","manifest_path":"/w/cdk-hook/Cargo.toml","target":{"kind":["lib"],"name":"cdk_hook"},"profile":{"test":true},"executable":"/w/target/debug/deps/cdk_hook-2"}
{"reason":"compiler-artifact","manifest_path":"/w/xtask/Cargo.toml","target":{"kind":["bin"],"name":"xtask"},"profile":{"test":true},"executable":"/w/target/debug/deps/xtask-3"}
{"reason":"compiler-artifact","manifest_path":"/w/xtask/Cargo.toml","target":{"kind":["bin"],"name":"xtask"},"profile":{"test":true},"executable":"/w/target/debug/deps/xtask-3"}
{"reason":"build-finished","success":true}
"#;
        let found = parse(json).unwrap();
        let names: Vec<_> = found.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["deploy", "cdk_hook (lib)", "xtask (bin)"]);
        assert_eq!(found[0].package_dir, Path::new("/w/tests"));
        assert_eq!(found[1].log_name(), "cdk_hook-lib.log");
        assert!(parse(r#"{"reason":"build-finished","success":true}"#).is_err());
    }
}
