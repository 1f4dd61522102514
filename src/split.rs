//! Byte ranges of one source, read by processes or machines that never see each other's ranges.
//!
//! A split `start..end` holds the records framing finds from a record start at or after `start` up
//! to the first at or after `end`: its reader frames on past `end` to finish its last record, and
//! the next split's reader starts just there. Both must find that boundary without reading the
//! split before, so a boundary is found by one rule from the bytes near it ([`boundary`]): the
//! source is cut into cells of [`ANCHOR_INTERVAL`] bytes, framing starts at the first guessed
//! record start of the boundary's cell (at the source's start, for the first cell), and the
//! boundary is the first unit framing finds at or after the split point. Two split points in one
//! cell are found on the same framing, so a split in one cell always ends where the next begins;
//! a split across cells ends where the next begins wherever framing from the cell's guessed start
//! agrees with framing from the start of the source, as it does on every sound file and every
//! damaged file of the tests, and then the splits read exactly the records `read_marc` reads.

use std::ops::Range;

use crate::compression::Compression;
use crate::detect::{opened, Format};
use crate::error::ReadError;
use crate::source::{Source, Whole};

/// Bytes between the points framing starts from to find a boundary: at most this many are framed
/// before each split point, half as many on average, which costs a split of 8 MiB under 1% more
/// reading. Framing from a guessed record start found the same records as framing from the start of
/// the source on every file of the tests with cells of 512 bytes already.
pub const ANCHOR_INTERVAL: usize = 64 << 10;

/// How far past a cell's start its first record start is looked for: a damaged record longer than
/// the 16 MiB framing allows one is cut there, so a record starts within this.
const ANCHOR_SEARCH: usize = 17 << 20;

/// Where the split that starts at byte `at` of `whole` begins (and the one before it ends): the
/// first unit framing finds at or after `at`, framing from the first record start guessed in the
/// cell of `interval` bytes that `at` lies in.
pub fn boundary(whole: &Whole, at: usize, interval: usize) -> Result<usize, ReadError> {
    if at == 0 || at >= whole.len() {
        return Ok(at.min(whole.len()));
    }
    let cell = at / interval.max(1) * interval.max(1);
    // Not found, the search ends past `at`: the boundary is there, and no framing is needed.
    let anchor = if cell == 0 { 0 } else { whole.likely_record_start(cell, ANCHOR_SEARCH.max(interval))?.0 };
    if anchor >= at {
        return Ok(anchor);
    }
    let framed = whole.frame(anchor, at, 0)?;
    Ok(anchor + framed.buffer.len())
}

/// The bytes of `whole` a split of `range` reads: from one boundary to the next.
pub fn bounds(whole: &Whole, range: Range<u64>, interval: usize) -> Result<Range<usize>, ReadError> {
    let at = |offset: u64| usize::try_from(offset).unwrap_or(usize::MAX);
    Ok(boundary(whole, at(range.start), interval)?..boundary(whole, at(range.end), interval)?)
}

/// The length of `source` (a file or a remote object, as stored: compressed, if it is), and
/// whether it can be split: uncompressed, and in a form that splits. One that cannot is read as one
/// split from its start.
pub fn splittable(source: Source, compression: Compression, format: Format) -> Result<(u64, bool), ReadError> {
    let name = source.name();
    let io_error = |error| ReadError::Io { source_name: name.clone(), error };
    let stored = match &source {
        Source::Path(path) => std::fs::metadata(path).map_err(io_error)?.len(),
        Source::Remote(remote) => remote.len().map_err(io_error)?,
        _ => 0,
    };
    let (source, form) = opened(source, compression, format)?;
    let (prefix, source) = source.peek(1 << 10)?;
    if !form.splits(&prefix) {
        return Ok((stored, false));
    }
    Ok((stored, Whole::of(form, source, false)?.is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Framing;
    use crate::iso2709::tests::sample;
    use crate::source::Chunker;

    fn whole(bytes: &[u8]) -> Whole {
        let source = Source::Memory { name: "mem".into(), data: bytes.to_vec().into() };
        Whole::of(crate::iso2709::form(), source, false).unwrap().ok().unwrap()
    }

    /// Record starts as framing from the start of `bytes` finds them.
    fn starts(bytes: &[u8]) -> Vec<usize> {
        let source = Source::Memory { name: "mem".into(), data: bytes.to_vec().into() };
        let chunks = Chunker::new(crate::iso2709::form(), source, 1 << 20, usize::MAX, None, false, Framing::Resync).unwrap();
        chunks
            .flat_map(|c| {
                let chunk = c.unwrap();
                chunk.records.into_iter().map(move |r| chunk.offset as usize + r.start)
            })
            .collect()
    }

    /// Record starts the splits of `size` bytes find, each split framed from its boundary to the next.
    fn split_starts(bytes: &[u8], size: usize, interval: usize) -> Vec<usize> {
        let whole = whole(bytes);
        let mut found = Vec::new();
        for start in (0..bytes.len()).step_by(size) {
            let range = bounds(&whole, start as u64..(start + size) as u64, interval).unwrap();
            if range.start < range.end {
                let chunk = whole.frame(range.start, range.end, 0).unwrap();
                assert_eq!(range.start + chunk.buffer.len(), range.end, "a split ends where the next begins");
                found.extend(chunk.records.iter().map(|r| range.start + r.start));
            }
        }
        found
    }

    #[test]
    fn splits_of_any_size_read_every_record_once() {
        let one = sample();
        let mut bytes: Vec<u8> = one.repeat(40);
        bytes.splice(one.len() * 3..one.len() * 3, b"\r\n".iter().copied());
        bytes[one.len() * 7 + 2] = b'x'; // a damaged length
        let expected = starts(&bytes);
        for interval in [1, 100, one.len() * 5, 1 << 20] {
            for size in [1, 7, one.len() - 1, one.len(), 3 * one.len() + 5, bytes.len()] {
                assert_eq!(split_starts(&bytes, size, interval), expected, "split {size}, interval {interval}");
            }
        }
    }

    #[test]
    fn a_split_point_past_the_end_is_the_end() {
        let bytes = sample().repeat(3);
        let whole = whole(&bytes);
        assert_eq!(bounds(&whole, 0..u64::MAX, ANCHOR_INTERVAL).unwrap(), 0..bytes.len());
        assert_eq!(bounds(&whole, bytes.len() as u64..u64::MAX, ANCHOR_INTERVAL).unwrap(), bytes.len()..bytes.len());
    }

    /// Every file of the tests' data, all its damaged ones among them, in splits of many sizes and
    /// cells small enough that most boundaries are found from a guessed record start.
    #[test]
    fn splits_of_the_test_files_read_the_records_framing_from_the_start_reads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut files: Vec<_> = ["", "broken", "edge", "forms"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file() && path.extension().is_some_and(|e| e != "md"))
            .collect();
        files.sort();
        assert!(files.len() > 40);
        let (mut disagree, mut tried) = (Vec::new(), 0);
        for path in &files {
            let source = Source::Path(path.clone());
            let Ok((source, form)) = opened(source, Compression::Infer, Format::Auto) else { continue };
            let (prefix, source) = source.peek(1 << 10).unwrap();
            if !form.splits(&prefix) {
                continue;
            }
            let Ok(Ok(whole)) = Whole::of(form.clone(), source, false) else { continue };
            tried += 1;
            let expected: Vec<usize> = {
                let chunk = whole.frame(0, whole.len(), 0).unwrap();
                chunk.records.iter().map(|r| r.start).collect()
            };
            for interval in [512, 4096, 65536] {
                for size in [1000, 1024, 4099, 20000] {
                    let mut found = Vec::new();
                    for start in (0..whole.len()).step_by(size) {
                        let range = bounds(&whole, start as u64..(start + size) as u64, interval).unwrap();
                        if range.start < range.end {
                            let chunk = whole.frame(range.start, range.end, 0).unwrap();
                            found.extend(chunk.records.iter().map(|r| range.start + r.start));
                        }
                    }
                    if found != expected {
                        disagree.push(format!("{} (cells {interval}, splits {size})", path.display()));
                    }
                }
            }
        }
        assert!(tried > 60, "{tried} files split");
        assert!(disagree.is_empty(), "{disagree:#?}");
    }
}
