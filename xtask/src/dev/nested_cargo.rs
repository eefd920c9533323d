//! Variables cargo sets for the crate it runs (`cargo run` sets them for xtask, `cargo test` for a
//! test binary). A nested cargo must not inherit them: build scripts track some (ring's tracks
//! CARGO_MANIFEST_DIR), so a nested build with other values rebuilds ring and the whole SDK graph,
//! and the next plain build rebuilds it back. Shared with the test harness (`tests/src/xtask.rs`
//! includes this file), which cannot depend on the xtask binary.

const PREFIXES: &[&str] = &[
    "CARGO_MANIFEST_",
    "CARGO_PKG_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
];

/// The names of this process's per-crate cargo variables, to remove from a nested cargo.
pub fn crate_env_vars() -> impl Iterator<Item = String> {
    std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| PREFIXES.iter().any(|prefix| name.starts_with(prefix)))
}
