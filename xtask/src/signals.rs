//! Every signal, one shutdown path. SIGINT (Ctrl-C), SIGTERM (what CI systems, Kubernetes and
//! CodeBuild send to cancel a job) and SIGHUP (a closed terminal) are caught once, in `main`, by
//! one listener thread, and all mean the same escalating interrupt:
//!
//! - a command phase that can stop cleanly declares so with [`handle`]; while it is declared, the
//!   first signal trips the process's one [`Interrupt`] (stop starting new work, finish or record
//!   what is under way, remove temporaries), and with `handle(2)` the second trips it again (exit
//!   now, leaving what the next run needs to resume);
//! - any signal beyond what the running phase declared (or one while no phase declared anything:
//!   reviewing, preparing, scanning) ends the process at once, as the default action would.
//!
//! The exit code is 128 + the first signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for
//! SIGHUP. No command registers a listener of its own.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};

use migrate::Interrupt;
use tokio::signal::unix::{SignalKind, signal};

struct Shared {
    interrupt: Interrupt,
    /// The first signal's number (0: none yet): it decides the exit code.
    first: AtomicI32,
    /// The latest signal's number, for messages.
    last: AtomicI32,
    count: AtomicU8,
    /// How many signals the running phase answers (see [`handle`]).
    handled: AtomicU8,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| Shared {
        interrupt: Interrupt::new(),
        first: AtomicI32::new(0),
        last: AtomicI32::new(0),
        count: AtomicU8::new(0),
        handled: AtomicU8::new(0),
    })
}

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Starts the listener; returns once the three signals are caught (no window with the default
/// action after this returns).
pub fn install() -> std::io::Result<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            rt.block_on(listen(ready_tx));
        })?;
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("the signal listener thread ended"))?
}

async fn listen(ready: std::sync::mpsc::Sender<std::io::Result<()>>) {
    let streams = (|| {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })();
    let (mut int, mut term, mut hup) = match streams {
        Ok(streams) => {
            let _ = ready.send(Ok(()));
            streams
        }
        Err(e) => return drop(ready.send(Err(e))),
    };
    loop {
        let signo = tokio::select! {
            _ = int.recv() => SIGINT,
            _ = term.recv() => SIGTERM,
            _ = hup.recv() => SIGHUP,
        };
        received(signo);
    }
}

fn received(signo: i32) {
    let s = shared();
    let _ = s
        .first
        .compare_exchange(0, signo, Ordering::SeqCst, Ordering::SeqCst);
    s.last.store(signo, Ordering::SeqCst);
    let count = s.count.fetch_add(1, Ordering::SeqCst).saturating_add(1);
    if count > s.handled.load(Ordering::SeqCst) {
        eprintln!("{}: exiting now (exit {})", name_of(signo), 128 + signo);
        std::process::exit(128 + signo);
    }
    s.interrupt.trip();
}

/// The process's interrupt, tripped by the signals a running phase declared it handles.
pub fn interrupt() -> Interrupt {
    shared().interrupt.clone()
}

/// Declares that the running phase answers the first `levels` signals through [`interrupt`];
/// dropping the guard restores what was declared before (a phase inside another).
#[must_use = "the declaration lasts as long as the guard"]
pub fn handle(levels: u8) -> Handling {
    // Counted from the process's start: the interrupt is one for the whole run, so a phase after
    // an answered signal has that many fewer left to answer.
    let previous = shared().handled.swap(levels, Ordering::SeqCst);
    Handling { previous }
}

pub struct Handling {
    previous: u8,
}

impl Drop for Handling {
    fn drop(&mut self) {
        shared().handled.store(self.previous, Ordering::SeqCst);
    }
}

/// 128 + the first signal's number (130 when none came, the code of an interrupted run).
pub fn exit_code() -> u8 {
    match shared().first.load(Ordering::SeqCst) {
        0 => 128 + SIGINT as u8,
        signo => 128 + signo as u8,
    }
}

/// The latest signal as people call it: "Ctrl-C", "SIGTERM", "SIGHUP".
pub fn name() -> &'static str {
    name_of(shared().last.load(Ordering::SeqCst))
}

fn name_of(signo: i32) -> &'static str {
    match signo {
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "Ctrl-C",
    }
}
