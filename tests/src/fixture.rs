//! The fixture CDK app (`tests/fixtures/bedrock-chat`), deployed with the real CDK CLI.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::{Path, PathBuf},
    process::Output,
};

use crate::scratch::Scratch;
use crate::{Emulator, STACK, emulator::ACCOUNT, emulator::REGION, project_root};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Bedrock Chat v0: the vector-store cluster without storage encryption.
    V0,
    /// Bedrock Chat v1: `storageEncrypted: true`, which replaces the cluster.
    V1,
    /// Bedrock Chat v2.10.0's tables: one conversation table (DeletionPolicy Retain) holding
    /// conversations, bots and aliases; no vector store.
    V2,
    /// Bedrock Chat v3.0.0's tables: the v2 table leaves the stack (kept, Retain) and
    /// `ConversationTableV3` and `BotTableV3` are added.
    V3,
}

impl Release {
    pub fn context(self) -> &'static str {
        match self {
            Release::V0 => "release=v0",
            Release::V1 => "release=v1",
            Release::V2 => "release=v2",
            Release::V3 => "release=v3",
        }
    }
}

pub fn source_dir() -> PathBuf {
    project_root().join("tests/fixtures/bedrock-chat")
}

const APP_FILES: &[&str] = &[
    "cdk.json",
    "package.json",
    "package-lock.json",
    "bin/bedrock-chat.js",
    "lib/bedrock-chat-stack.js",
    "lib/tables-stack.js",
];

/// A private copy of the fixture app: the CDK CLI locks `cdk.out` in the app directory, so
/// parallel tests each need their own. `node_modules` is shared through a symlink.
pub struct FixtureApp {
    dir: Scratch,
}

impl Default for FixtureApp {
    fn default() -> Self {
        Self::new()
    }
}

impl FixtureApp {
    pub fn new() -> FixtureApp {
        Self::copy_to(Scratch::temp("fixture-app-"))
    }

    /// A copy in `dir` (the demo keeps it under `target/`); `dir` must not hold an app yet.
    pub fn new_in(dir: &Path) -> FixtureApp {
        Self::copy_to(Scratch::kept(dir))
    }

    fn copy_to(dir: Scratch) -> FixtureApp {
        let source = source_dir();
        let node_modules = source.join("node_modules");
        assert!(
            node_modules.join("aws-cdk").exists(),
            "the fixture app's packages are missing ({}): run `cargo xtask setup` (or `cargo xtask test`)",
            node_modules.display()
        );
        for file in APP_FILES {
            let to = dir.path().join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(source.join(file), &to).unwrap_or_else(|e| panic!("copy {file}: {e}"));
        }
        std::os::unix::fs::symlink(&node_modules, dir.path().join("node_modules")).unwrap();
        FixtureApp { dir }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `npx cdk ARGS` in this app's directory against the emulator.
    pub fn cdk(&self, emulator: &Emulator, args: &[&str]) -> Output {
        emulator
            .command("npx")
            .arg("cdk")
            .args(args)
            .arg("--no-notices")
            .current_dir(self.dir())
            .output()
            .expect("run npx cdk")
    }

    fn cdk_ok(&self, emulator: &Emulator, args: &[&str]) -> Output {
        let output = self.cdk(emulator, args);
        assert!(
            output.status.success(),
            "npx cdk {args:?} failed ({}):\n{}\n{}\nemulator log tail:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            tail(&emulator.log(), 40),
        );
        output
    }

    /// `cdk bootstrap` of the emulator's account, as a user does once per account and region.
    pub fn bootstrap(&self, emulator: &Emulator) {
        let assembly = assembly(&[Release::V0.context()]);
        let environment = format!("aws://{ACCOUNT}/{REGION}");
        self.cdk_ok(
            emulator,
            &["bootstrap", &environment, "--app", path_str(&assembly)],
        );
    }

    /// `cdk deploy` of a release from its cached cloud assembly (the synth is the slow part and
    /// its result depends only on the fixture's files).
    pub fn deploy(&self, emulator: &Emulator, release: Release) {
        self.deploy_with_context(emulator, &[release.context()]);
    }

    /// `cdk deploy` of the app synthesized with these `-c` values (e.g. `["release=v0",
    /// "archive=plain"]`), from a cached cloud assembly as [`FixtureApp::deploy`].
    pub fn deploy_with_context(&self, emulator: &Emulator, context: &[&str]) {
        let assembly = assembly(context);
        self.cdk_ok(emulator, &deploy_args(&["--app", path_str(&assembly)]));
    }

    /// `cdk deploy -c release=..` from the app's source: synth and deploy as a user runs it.
    pub fn deploy_from_source(&self, emulator: &Emulator, release: Release) {
        self.cdk_ok(emulator, &deploy_args(&["-c", release.context()]));
    }

    /// Bootstrap, then deploy `release`: the starting point of most tests.
    pub fn deployed(emulator: &Emulator, release: Release) -> FixtureApp {
        let app = FixtureApp::new();
        app.bootstrap(emulator);
        app.deploy(emulator, release);
        app
    }
}

fn deploy_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    // moto mishandles UsePreviousValue for the default synthesizer's BootstrapVersion parameter
    // on updates (docs/emulator.md).
    let mut args = vec![
        "deploy",
        STACK,
        "--require-approval",
        "never",
        "--no-previous-parameters",
    ];
    args.extend_from_slice(extra);
    args
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The cloud assembly synthesized with these `-c` values, cached under `target/` by the values
/// and the fixture's content.
pub fn assembly(context: &[&str]) -> PathBuf {
    let source = source_dir();
    let mut hasher = DefaultHasher::new();
    context.hash(&mut hasher);
    for file in APP_FILES {
        std::fs::read(source.join(file))
            .expect("fixture file")
            .hash(&mut hasher);
    }
    let cache = project_root().join("target/fixture-assemblies");
    let name: String = context
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let dir = cache.join(format!("{name}-{:016x}", hasher.finish()));
    if dir.join("manifest.json").exists() {
        return dir;
    }
    std::fs::create_dir_all(&cache).unwrap();
    // The synth's scratch app lives beside the cache, so nothing is written outside target/.
    let app = FixtureApp::copy_to(Scratch::Temp(
        tempfile::Builder::new()
            .prefix("app-")
            .tempdir_in(&cache)
            .unwrap(),
    ));
    let out = tempfile::Builder::new()
        .prefix("synth-")
        .tempdir_in(&cache)
        .unwrap();
    let output = std::process::Command::new("npx")
        .args(["cdk", "synth", "--quiet", "--no-notices"])
        .args(context.iter().flat_map(|value| ["-c", value]))
        .arg("-o")
        .arg(out.path())
        .current_dir(app.dir())
        .env("CDK_DISABLE_CLI_TELEMETRY", "true")
        .output()
        .expect("run npx cdk synth");
    assert!(
        output.status.success(),
        "cdk synth of the fixture failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Parallel tests may synthesize the same release at once: the first rename wins and the
    // others use its result.
    let staged = out.keep();
    if std::fs::rename(&staged, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    dir
}
