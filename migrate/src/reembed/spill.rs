//! Records kept on disk instead of in memory: JSON lines in an unnamed temporary file, which the
//! system deletes when the last handle closes (even after a crash). What a run keeps per bot
//! (report rows, malformed items past the first few) goes here, so memory stays bounded whatever
//! the table size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Appends records; [`SpillWriter::seal`] turns it into a readable [`Spill`].
#[derive(Debug)]
pub(crate) struct SpillWriter {
    out: BufWriter<File>,
    len: u64,
}

impl SpillWriter {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            out: BufWriter::new(tempfile::tempfile()?),
            len: 0,
        })
    }

    pub(crate) fn push<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        // serde_json escapes control characters inside strings: one record is one line.
        serde_json::to_writer(&mut self.out, record).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.len += 1;
        Ok(())
    }

    pub(crate) fn seal(self) -> io::Result<Spill> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(Spill {
            file,
            len: self.len,
        })
    }
}

/// Sealed records, read back in the order they were written, as often as needed.
#[derive(Debug)]
pub(crate) struct Spill {
    file: File,
    len: u64,
}

impl Spill {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Each call reads from the start with its own position (positional reads), so iterators of
    /// the same spill never disturb one another.
    pub(crate) fn iter<T: DeserializeOwned>(&self) -> Records<'_, T> {
        Records {
            lines: BufReader::with_capacity(
                64 * 1024,
                ReadAt {
                    file: &self.file,
                    pos: 0,
                },
            ),
            line: String::new(),
            _record: PhantomData,
        }
    }
}

pub(crate) struct Records<'a, T> {
    lines: BufReader<ReadAt<'a>>,
    line: String,
    _record: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Iterator for Records<'_, T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.line.clear();
        match self.lines.read_line(&mut self.line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(self.line.trim_end()).map_err(io::Error::other)),
            Err(e) => Some(Err(e)),
        }
    }
}

struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_from_independent_iterators() {
        let mut w = SpillWriter::new().unwrap();
        for i in 0..10_000u32 {
            w.push(&(i, format!("line\nbreak {i}"))).unwrap();
        }
        let spill = w.seal().unwrap();
        assert_eq!(spill.len(), 10_000);
        let mut a = spill.iter::<(u32, String)>();
        let mut b = spill.iter::<(u32, String)>();
        assert_eq!(a.next().unwrap().unwrap().0, 0);
        assert_eq!(a.next().unwrap().unwrap().0, 1);
        assert_eq!(b.next().unwrap().unwrap(), (0, "line\nbreak 0".to_owned()));
        let all: Vec<(u32, String)> = spill.iter().map(Result::unwrap).collect();
        assert_eq!(all.len(), 10_000);
        assert!(all.iter().enumerate().all(|(i, r)| r.0 as usize == i));
    }
}
