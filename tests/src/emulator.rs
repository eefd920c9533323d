//! One moto server (with this project's patches, `tests/emulator/`) per test.

use std::{
    collections::HashMap,
    fs::File,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::config::Credentials;

use crate::project_root;
use crate::scratch::Scratch;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// The password every emulator started here generates for `GenerateSecretString` (the fixture's
/// database secret), instead of a random one: known, so `cargo xtask test` can scan all the suite
/// printed or wrote for it. It fits the fixture's spec (30 characters, none of its excluded ones,
/// each character class present; `tests/emulator/patches/secrets.py` refuses one that does not),
/// and its punctuation is JSON- and URL-safe, so an escaped copy is the same bytes.
pub const SENTINEL_PASSWORD: &str = "XtaskSentinel-7Qv2Lw9Zp4Kd_Rm8";
/// How the launcher is told the sentinel (read by `tests/emulator/patches/secrets.py`).
const SENTINEL_ENV: &str = "EMULATOR_SENTINEL_PASSWORD";

pub struct Emulator {
    port: u16,
    child: Child,
    // Held open: the launcher exits at end-of-file on its stdin, so it stops with this process
    // however the process ends.
    stdin: Option<ChildStdin>,
    log: PathBuf,
    home: Scratch,
}

impl Emulator {
    /// Starts a fresh emulator on a free port and waits until it listens; its files (log, empty
    /// AWS config) live in a temporary directory.
    pub fn start() -> Emulator {
        Self::start_with(Scratch::temp("emulator-"))
    }

    /// Like [`Emulator::start`], with its files in `dir` (the demo keeps them under `target/`).
    pub fn start_in(dir: &std::path::Path) -> Emulator {
        Self::start_with(Scratch::kept(dir))
    }

    fn start_with(home: Scratch) -> Emulator {
        let python = project_root().join("target/emulator-venv/bin/python");
        assert!(
            python.exists(),
            "the emulator's Python venv is missing ({}): run `cargo xtask setup` (or `cargo xtask test`)",
            python.display()
        );
        let log = home.path().join("emulator.log");
        let mut child = Command::new(python)
            .arg(project_root().join("tests/emulator/launcher.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("emulator log"))
            .envs(Self::isolation_env(home.path()))
            // Only the launcher gets it: `env()` (what the tools under test see) must not.
            .env(SENTINEL_ENV, SENTINEL_PASSWORD)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .spawn()
            .expect("start the emulator launcher");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("EMULATOR_PORT=") {
                    let _ = tx.send(port.parse::<u16>().ok());
                    return;
                }
            }
            let _ = tx.send(None);
        });
        let port = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(port)) => port,
            _ => panic!(
                "the emulator did not start; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        let stdin = child.stdin.take();
        Emulator {
            port,
            child,
            stdin,
            log,
            home,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:PORT`: moto resolves the CDK CLI's template URLs only under `localhost`.
    pub fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The environment for a child process (the CDK CLI, `xtask`, boto3) to use this emulator and
    /// nothing else: no profile, config or credentials of the person running the tests.
    pub fn env(&self) -> HashMap<String, String> {
        let mut env = Self::isolation_env(self.home.path());
        env.insert("AWS_ENDPOINT_URL".into(), self.endpoint());
        env
    }

    /// A command for a program that must talk to this emulator only.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .envs(self.env())
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
        command
    }

    fn isolation_env(home: &std::path::Path) -> HashMap<String, String> {
        [
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", REGION.to_string()),
            // boto3 reads AWS_DEFAULT_REGION, not AWS_REGION.
            ("AWS_DEFAULT_REGION", REGION.to_string()),
            (
                "AWS_CONFIG_FILE",
                home.join("aws-config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                home.join("aws-credentials").display().to_string(),
            ),
            ("CDK_DISABLE_CLI_TELEMETRY", "true".to_string()),
            ("CI", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The emulator's log (moto's request log and any traceback of a patch).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One SdkConfig for every client of a test, as the tool builds its own.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                "testing", "testing", None, None, "emulator",
            ))
            .load()
            .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
