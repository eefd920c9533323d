//! The secret scan: every byte the suite printed or wrote, searched for the emulator's sentinel
//! password. Files are read in chunks that overlap by the needle's length, so a match across a
//! chunk boundary is found and a large file never sits in memory whole.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

/// Where to look: a directory (or file), and optionally only files modified since a time (for
/// shared directories such as `target/`, where older files are not this run's).
#[derive(Debug, Clone)]
pub struct Root {
    pub path: PathBuf,
    pub modified_since: Option<SystemTime>,
}

/// The one kind of file allowed to hold the password: recording it is the credential file's
/// purpose (`.xtask/<stack>/credentials-*.json`, written 0600 by `deploy`).
pub fn is_credential_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("credentials-") && n.ends_with(".json"))
}

#[derive(Debug, Default)]
pub struct ScanReport {
    /// (file, byte offset) of every match outside the allowed files.
    pub findings: Vec<(PathBuf, u64)>,
    /// Credential files holding the needle, as they should.
    pub credential_files: Vec<PathBuf>,
    /// Credential files without it (a password the emulator did not generate, or another
    /// secret): listed, since they say the sentinel did not reach that deploy.
    pub credential_files_without: Vec<PathBuf>,
    /// Files that could not be read: the scan cannot vouch for them.
    pub unreadable: Vec<(PathBuf, String)>,
    pub files: u64,
    pub bytes: u64,
}

/// Scans every regular file under the roots. Symbolic links are not followed: the fixture app's
/// copies link the shared `node_modules`, which the suite does not write.
pub fn scan(roots: &[Root], needle: &[u8]) -> anyhow::Result<ScanReport> {
    anyhow::ensure!(!needle.is_empty(), "an empty needle matches everywhere");
    let mut report = ScanReport::default();
    for root in roots {
        walk(&root.path, root.modified_since, needle, &mut report)
            .with_context(|| format!("scanning {}", root.path.display()))?;
    }
    report.findings.sort();
    Ok(report)
}

fn walk(
    path: &Path,
    since: Option<SystemTime>,
    needle: &[u8],
    report: &mut ScanReport,
) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Removed while the scan ran (or never there): nothing to read.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            report.unreadable.push((path.to_owned(), e.to_string()));
            return Ok(());
        }
    };
    if meta.is_dir() {
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) => {
                report.unreadable.push((path.to_owned(), e.to_string()));
                return Ok(());
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            walk(&child, since, needle, report)?;
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(());
    }
    if let Some(since) = since
        && meta.modified().is_ok_and(|m| m < since)
    {
        return Ok(());
    }
    report.files += 1;
    report.bytes += meta.len();
    let offsets = match find_in_file(path, needle) {
        Ok(offsets) => offsets,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            report.unreadable.push((path.to_owned(), e.to_string()));
            return Ok(());
        }
    };
    if is_credential_file(path) {
        if offsets.is_empty() {
            report.credential_files_without.push(path.to_owned());
        } else {
            report.credential_files.push(path.to_owned());
        }
    } else {
        report
            .findings
            .extend(offsets.into_iter().map(|o| (path.to_owned(), o)));
    }
    Ok(())
}

/// Byte offsets of every occurrence of `needle` in the file.
pub fn find_in_file(path: &Path, needle: &[u8]) -> std::io::Result<Vec<u64>> {
    const CHUNK: usize = 1 << 20;
    let mut file = File::open(path)?;
    let mut offsets = Vec::new();
    // `window` holds the last needle.len() - 1 bytes of the previous chunk, then the new chunk.
    let mut window: Vec<u8> = Vec::with_capacity(CHUNK + needle.len());
    let mut window_start: u64 = 0;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            return Ok(offsets);
        }
        window.extend_from_slice(&chunk[..read]);
        let mut from = 0;
        while let Some(at) = find(&window[from..], needle) {
            offsets.push(window_start + (from + at) as u64);
            from += at + 1;
        }
        let keep = (needle.len() - 1).min(window.len());
        let drop = window.len() - keep;
        window.drain(..drop);
        window_start += drop as u64;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut at = 0;
    while at <= last_start {
        let skip = haystack[at..=last_start].iter().position(|&b| b == first)?;
        at += skip;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Not the real sentinel: a test of the scanner must not itself leave the password in the
    // run's files (this test writes under the run's TMPDIR).
    const NEEDLE: &[u8] = b"planted-needle-9f3Kq7";

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-scan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_planted_needle_is_found_with_its_file_and_offset_even_across_chunks() {
        let root = dir("planted");
        std::fs::create_dir_all(root.join("deep/er")).unwrap();
        std::fs::write(root.join("clean.log"), b"nothing here\n").unwrap();
        let mut text = b"prefix ".to_vec();
        text.extend_from_slice(NEEDLE);
        text.extend_from_slice(b" and again:");
        text.extend_from_slice(NEEDLE);
        std::fs::write(root.join("deep/er/report.json"), &text).unwrap();
        // Straddling the 1 MiB chunk boundary.
        let mut big = vec![b'x'; (1 << 20) - 5];
        big.extend_from_slice(NEEDLE);
        std::fs::write(root.join("big.bin"), &big).unwrap();
        // Allowed: a credential file holds it by design; one without it is listed.
        std::fs::write(root.join("credentials-20260101T000000Z.json"), NEEDLE).unwrap();
        std::fs::write(root.join("credentials-20260101T000001Z.json"), b"{}").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", root.join("linked")).unwrap();

        let roots = [Root {
            path: root.clone(),
            modified_since: None,
        }];
        let report = scan(&roots, NEEDLE).unwrap();
        let second = 7 + NEEDLE.len() as u64 + 11;
        assert_eq!(
            report.findings,
            vec![
                (root.join("big.bin"), (1 << 20) - 5),
                (root.join("deep/er/report.json"), 7),
                (root.join("deep/er/report.json"), second),
            ]
        );
        assert_eq!(
            report.credential_files,
            [root.join("credentials-20260101T000000Z.json")]
        );
        assert_eq!(
            report.credential_files_without,
            [root.join("credentials-20260101T000001Z.json")]
        );
        assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
        assert_eq!(report.files, 5, "the symlink is not followed");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn files_older_than_the_run_are_skipped_and_a_clean_tree_is_clean() {
        let root = dir("old");
        std::fs::write(root.join("old.log"), NEEDLE).unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(3600);
        let roots = [Root {
            path: root.clone(),
            modified_since: Some(later),
        }];
        let report = scan(&roots, NEEDLE).unwrap();
        assert!(
            report.findings.is_empty() && report.unreadable.is_empty(),
            "{report:?}"
        );
        assert_eq!(report.files, 0);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn find_handles_repeats_and_short_haystacks() {
        assert_eq!(find(b"aab", b"ab"), Some(1));
        assert_eq!(find(b"a", b"ab"), None);
        assert_eq!(find(b"xxab", b"ab"), Some(2));
        assert_eq!(find(b"xxa", b"ab"), None);
    }
}
