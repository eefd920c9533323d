//! Where a harness object keeps its files: a temporary directory removed on drop (tests), or a
//! given directory that stays (the demo keeps everything under `target/demo/`).

use std::path::{Path, PathBuf};

pub enum Scratch {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Scratch {
    pub fn temp(prefix: &str) -> Scratch {
        Scratch::Temp(
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("temp dir"),
        )
    }

    /// `dir`, created (empty or not).
    pub fn kept(dir: &Path) -> Scratch {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Scratch::Kept(dir.to_path_buf())
    }

    pub fn path(&self) -> &Path {
        match self {
            Scratch::Temp(t) => t.path(),
            Scratch::Kept(p) => p,
        }
    }
}
