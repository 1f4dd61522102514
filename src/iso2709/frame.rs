//! ISO 2709 framing: where each record starts and ends in a stream of bytes, damage included.
//!
//! A record's length is in leader/00-04 and its last byte is the record terminator (0x1D). Padding
//! between records is skipped; where framing fails, [`resync`] finds where the next record starts,
//! and the bytes before it become one damaged record (at most [`MAX_DAMAGED_LEN`] of them), so no
//! byte is lost and garbage is read in linear time. The rule is the same whatever blocks the bytes
//! come in ([`cut`]).

use super::{lossy, parse_digits, FIELD_TERMINATOR, LEADER_LEN, MAX_RECORD_LEN, MIN_RECORD_LEN, RECORD_TERMINATOR};
use crate::error::{Damage, DamageKind};
use crate::form::{Cut, Framed, Framing, Guess, Stop};

/// What [`frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole record of this many bytes, terminator included.
    Record(usize),
    /// The buffer ends before the record does: `needed` bytes are wanted in all, or `None` while the
    /// five-digit length itself is not yet complete.
    Incomplete { needed: Option<usize> },
}

/// Frames the record that starts at `buf[0]`, using the length in leader/00-04 and checking that
/// the byte it points at is the record terminator.
pub fn frame(buf: &[u8]) -> Result<Frame, Damage> {
    let Some(length_field) = buf.get(..5) else {
        return Ok(Frame::Incomplete { needed: None });
    };
    let len = parse_digits(length_field).ok_or_else(|| {
        Damage::new(
            DamageKind::BadRecordLength,
            0,
            format!("record length {:?} in leader/00-04 is not a number", lossy(length_field)),
        )
    })?;
    if len < MIN_RECORD_LEN {
        return Err(Damage::new(
            DamageKind::BadRecordLength,
            0,
            format!("record length {len} is shorter than the {MIN_RECORD_LEN} bytes of an empty record"),
        ));
    }
    if buf.len() < len {
        return Ok(Frame::Incomplete { needed: Some(len) });
    }
    if buf[len - 1] != RECORD_TERMINATOR {
        return Err(Damage::new(
            DamageKind::MissingRecordTerminator,
            len - 1,
            format!("record length {len} does not end on a record terminator (0x1D): byte {} is 0x{:02X}", len - 1, buf[len - 1]),
        ));
    }
    Ok(Frame::Record(len))
}

/// The damage to report when input ends inside a record.
pub fn truncated(available: usize, needed: Option<usize>) -> Damage {
    let detail = match needed {
        Some(needed) => format!("truncated record: the input ends after {available} of the {needed} bytes its leader declares"),
        None => format!("truncated record: the input ends after {available} bytes, inside the leader"),
    };
    Damage::new(DamageKind::Truncated, available, detail)
}

/// Bytes that tools leave between records and that are no part of any record: line ends, the DOS
/// end-of-file mark (0x1A), NUL filler and spaces. A record never starts with one (its first byte is
/// a digit), so skipping them cannot swallow a record.
pub fn is_padding(byte: u8) -> bool {
    matches!(byte, b'\n' | b'\r' | 0x1A | 0x00 | b' ')
}

/// The number of padding bytes at the start of `buf`.
pub fn padding_len(buf: &[u8]) -> usize {
    buf.iter().position(|&b| !is_padding(b)).unwrap_or(buf.len())
}

/// The most bytes one damaged record (or one run of padding) holds: a run of bytes in which no
/// record starts is cut into pieces of this size, so that reading garbage holds a bounded amount
/// of it at a time and finds its end in linear time. Larger than any real record read by its
/// terminator (the largest seen is 1.1 MB).
pub const MAX_DAMAGED_LEN: usize = 16 << 20;

/// Where the next record may start after damage at `buf[0]`, found by [`resync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// The damaged bytes are `buf[..end]`; what follows is padding, a record, or the end of input.
    At(usize),
    /// The buffer ends before this can be decided: more input is wanted.
    NeedMore,
}

#[cfg(test)]
thread_local! {
    /// Candidate record starts examined on this thread: tests check that the work of finding
    /// records in garbage grows linearly with it.
    pub(crate) static CANDIDATES_EXAMINED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[inline]
fn examined() {
    #[cfg(test)]
    CANDIDATES_EXAMINED.with(|count| count.set(count.get() + 1));
}

/// Whether a well-formed record starts at `buf[0]`: its length field points at a record terminator,
/// and its base address at a directory terminator. `None` while the buffer is too short to tell.
/// Called at every candidate in damaged bytes: it allocates nothing.
fn record_starts(buf: &[u8], at_end: bool) -> Option<bool> {
    examined();
    let undecided = if at_end { Some(false) } else { None };
    let length = &buf[..buf.len().min(5)];
    if !length.iter().all(u8::is_ascii_digit) {
        return Some(false);
    }
    let Some(len) = parse_digits(length).filter(|_| length.len() == 5) else { return undecided };
    if len < MIN_RECORD_LEN {
        return Some(false);
    }
    let Some(record) = buf.get(..len) else { return undecided };
    let base_ends_directory =
        parse_digits(&record[12..17]).is_some_and(|base| base > LEADER_LEN && base < len && record[base - 1] == FIELD_TERMINATOR);
    Some(record[len - 1] == RECORD_TERMINATOR && base_ends_directory)
}

/// Whether what follows a record terminator (padding skipped) may begin the next record: the end
/// of input, or a length field of five digits. After a terminator this is evidence enough, so that
/// a run of records whose lengths are all wrong is still cut at each terminator.
fn may_follow_terminator(buf: &[u8], at_end: bool) -> Option<bool> {
    examined();
    let rest = &buf[padding_len(buf)..];
    match rest.get(..5) {
        Some(length) => Some(length.iter().all(u8::is_ascii_digit)),
        None if !at_end => None,
        None => Some(rest.iter().all(u8::is_ascii_digit)),
    }
}

/// The first position in `from..limit` where five ASCII digits start (or, within the last four
/// bytes of `buf`, where digits run to its end): the only places a record can start. Skips five
/// bytes at a time past any byte that is not a digit, so that text and binary garbage are passed
/// over at scanning speed.
fn digit_run(buf: &[u8], from: usize, limit: usize) -> Option<usize> {
    let mut at = from;
    while at < limit {
        match buf.get(at + 4) {
            // No run of five can start at `at..=at + 4`: each would hold this byte.
            Some(byte) if !byte.is_ascii_digit() => at += 5,
            Some(_) => match buf[at..at + 4].iter().rposition(|b| !b.is_ascii_digit()) {
                Some(last) => at += last + 1,
                None => return Some(at),
            },
            None => {
                let start = buf[at..].iter().rposition(|b| !b.is_ascii_digit()).map_or(at, |last| at + last + 1);
                return (start < limit.min(buf.len())).then_some(start);
            }
        }
    }
    None
}

/// Finds where the damaged bytes at the start of `buf` end: just after a record terminator that
/// the next record (or the end of input) follows, or just before a well-formed record, whichever
/// comes first, and at most [`MAX_DAMAGED_LEN`] bytes on. `at_end`: `buf` holds the rest of the
/// input, so its end ends the damage.
///
/// Candidates are found by scanning (memchr for terminators, `digit_run` for record starts), and
/// each is tested in constant time, so the search is linear in the bytes it passes over.
pub fn resync(buf: &[u8], at_end: bool) -> Resync {
    let limit = buf.len().min(MAX_DAMAGED_LEN);
    let next_terminator = |from: usize| memchr::memchr(RECORD_TERMINATOR, &buf[from - 1..limit]).map(|i| from + i);
    let (mut after_terminator, mut run) = (next_terminator(1), digit_run(buf, 1, limit));
    loop {
        let terminator_first = match (after_terminator, run) {
            (Some(t), Some(r)) => t <= r,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (at, decided) = if let (true, Some(t)) = (terminator_first, after_terminator) {
            after_terminator = if t < limit { next_terminator(t + 1) } else { None };
            if run == Some(t) {
                run = digit_run(buf, t + 1, limit);
            }
            (t, may_follow_terminator(&buf[t..], at_end))
        } else {
            let r = run.expect("a digit run comes first");
            run = digit_run(buf, r + 1, limit);
            (r, record_starts(&buf[r..], at_end))
        };
        match decided {
            Some(true) => return Resync::At(at),
            Some(false) => {}
            None => return Resync::NeedMore,
        }
    }
    match limit {
        MAX_DAMAGED_LEN => Resync::At(MAX_DAMAGED_LEN),
        _ if at_end => Resync::At(buf.len()),
        _ => Resync::NeedMore,
    }
}

/// Where a record seems to start at or after `from`: just after a record terminator (and any
/// padding) that lies before `from + limit`, where a well-formed record follows. A guess, which
/// framing from the start of the input confirms or not: bytes inside a damaged record can look the
/// same. `at_end`: `buf` holds the rest of the input.
pub fn likely_record_start(buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess {
    let from = from.min(buf.len());
    let end = from.saturating_add(limit).min(buf.len());
    // A terminator just before `from`, or before the padding that ends there, makes a candidate.
    let padding_before = buf[..from].iter().rev().take_while(|&&b| is_padding(b)).count();
    let mut search = (from - padding_before).saturating_sub(1);
    while let Some(found) = buf.get(search..end).and_then(|rest| memchr::memchr(RECORD_TERMINATOR, rest)) {
        let after = search + found + 1;
        let start = after + padding_len(&buf[after..]);
        if start == buf.len() {
            // The input ends here, or padding runs on past what is read.
            return if at_end { Guess::Start(start) } else { Guess::NeedMore };
        }
        if start >= from {
            match record_starts(&buf[start..], at_end) {
                Some(true) => return Guess::Start(start),
                Some(false) => {}
                None => return Guess::NeedMore,
            }
        }
        search = after;
    }
    match end == buf.len() {
        true if at_end => Guess::Start(end),
        true if end < from.saturating_add(limit) => Guess::NeedMore,
        _ => Guess::NotFound,
    }
}

/// The damage of bytes that framing could not read as one record, now read as `unit` (found by
/// [`resync`]): `None` when the unit is a whole record longer than its length field can say.
pub fn unit_damage(unit: &[u8], found: Damage) -> Option<Damage> {
    let ends_record = unit.len() >= MIN_RECORD_LEN && unit.last() == Some(&RECORD_TERMINATOR);
    if ends_record && unit.len() > MAX_RECORD_LEN {
        return None;
    }
    if !ends_record {
        return Some(found);
    }
    let declared = lossy(&unit[..5]);
    let detail = match found.kind {
        DamageKind::BadRecordLength => format!("{}; read up to the record terminator {} bytes on", found.detail, unit.len()),
        _ => format!(
            "record length {declared:?} in leader/00-04 does not match the record, whose terminator (0x1D) is byte {}",
            unit.len() - 1
        ),
    };
    let kind = if found.kind == DamageKind::BadRecordLength { found.kind } else { DamageKind::MissingRecordTerminator };
    Some(Damage::new(kind, 0, detail))
}

/// A UTF-8 byte order mark, which some tools write before the first record: skipped as padding.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Frames records from the start of `buf` until `max_bytes` are taken, `max_records` are framed,
/// or framing stops. `at_end`: nothing follows `buf` in its source; `source_start`: `buf[0]` is the
/// first byte of its source.
pub fn cut(buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool, source_start: bool) -> Cut {
    let mut out = Cut { records: Vec::new(), padding: Vec::new(), taken: 0, stop: None };
    let mut pos = 0;
    let incomplete = |mut out: Cut, needed| {
        out.stop = Some(Stop::Incomplete { needed });
        out
    };
    while pos < buf.len() && pos < max_bytes && (out.records.len() as u64) < max_records {
        if framing == Framing::Resync {
            if source_start && pos == 0 && !at_end && buf.len() < BYTE_ORDER_MARK.len() && BYTE_ORDER_MARK.starts_with(buf) {
                return incomplete(out, None);
            }
            let padding = match buf.starts_with(BYTE_ORDER_MARK) && source_start && pos == 0 {
                true => BYTE_ORDER_MARK.len(),
                false => padding_len(&buf[pos..]).min(MAX_DAMAGED_LEN),
            };
            if padding > 0 {
                // A run of padding is one unit, whole, whatever the blocks it is read in.
                if pos + padding == buf.len() && !at_end && padding < MAX_DAMAGED_LEN {
                    return incomplete(out, None);
                }
                out.padding.push(pos..pos + padding);
                pos += padding;
                out.taken = pos;
                continue;
            }
        }
        let found = match frame(&buf[pos..]) {
            Ok(Frame::Record(len)) => {
                out.records.push(Framed { start: pos, end: pos + len, damage: None });
                pos += len;
                out.taken = pos;
                continue;
            }
            Ok(Frame::Incomplete { needed }) if !at_end => return incomplete(out, needed),
            Ok(Frame::Incomplete { needed }) if framing == Framing::Strict => {
                out.stop = Some(Stop::Damaged(truncated(buf.len() - pos, needed)));
                return out;
            }
            Ok(Frame::Incomplete { needed }) => truncated(buf.len() - pos, needed),
            Err(damage) if framing == Framing::Strict => {
                out.stop = Some(Stop::Damaged(damage));
                return out;
            }
            Err(damage) => damage,
        };
        if !out.records.is_empty() {
            // A damaged record starts a chunk of its own: where it stops the read, every record
            // before it has been handed out.
            return out;
        }
        match resync(&buf[pos..], at_end) {
            Resync::At(len) => {
                let damage = unit_damage(&buf[pos..pos + len], found);
                out.records.push(Framed { start: pos, end: pos + len, damage });
                pos += len;
                out.taken = pos;
            }
            Resync::NeedMore => return incomplete(out, None),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::sample;

    #[test]
    fn frames_consecutive_records_and_reports_incomplete() {
        let one = sample();
        let mut two = one.clone();
        two.extend_from_slice(&one);
        assert_eq!(frame(&two).unwrap(), Frame::Record(one.len()));
        assert_eq!(frame(&two[one.len()..]).unwrap(), Frame::Record(one.len()));
        assert_eq!(frame(&one[..3]).unwrap(), Frame::Incomplete { needed: None });
        assert_eq!(frame(&one[..40]).unwrap(), Frame::Incomplete { needed: Some(one.len()) });
        assert_eq!(truncated(40, Some(one.len())).kind, DamageKind::Truncated);
    }

    #[test]
    fn rejects_a_length_that_is_not_a_number() {
        let mut record = sample();
        record[2] = b'x';
        assert_eq!(frame(&record).unwrap_err().kind, DamageKind::BadRecordLength);
        assert_eq!(frame(b"00010aaaaa").unwrap_err().kind, DamageKind::BadRecordLength);
    }

    #[test]
    fn rejects_a_length_that_misses_the_terminator() {
        let mut record = sample();
        let len = record.len();
        record[..5].copy_from_slice(format!("{:05}", len - 1).as_bytes());
        let damage = frame(&record).unwrap_err();
        assert_eq!(damage.kind, DamageKind::MissingRecordTerminator);
        assert_eq!(damage.offset, len - 2);
    }

    #[test]
    fn a_likely_record_start_follows_a_terminator_and_padding() {
        let record = sample();
        let two = [record.as_slice(), b"\r\n", &record].concat();
        let second = record.len() + 2;
        for from in 1..=second {
            assert_eq!(likely_record_start(&two, from, usize::MAX, true), Guess::Start(second), "from {from}");
        }
        assert_eq!(likely_record_start(&two, second + 1, usize::MAX, true), Guess::Start(two.len()));
        // A terminator followed by what is not a well-formed record is no start.
        let mut broken = two.clone();
        broken[second + 12] = b'x';
        assert_eq!(likely_record_start(&broken, 1, usize::MAX, true), Guess::Start(broken.len()));
        // Not found within the limit; undecided where the bytes end before the input does.
        assert_eq!(likely_record_start(&two, 1, 10, true), Guess::NotFound);
        assert_eq!(likely_record_start(&two[..second + 30], 1, usize::MAX, false), Guess::NeedMore);
        assert_eq!(likely_record_start(&two[..second - 1], 1, usize::MAX, false), Guess::NeedMore);
    }

    /// `resync` as first written: every position tested in turn, by framing a record there.
    fn resync_by_every_position(buf: &[u8], at_end: bool) -> Resync {
        let record_starts = |buf: &[u8]| match frame(buf) {
            Ok(Frame::Record(len)) => Some(
                parse_digits(&buf[12..17])
                    .is_some_and(|base| base > LEADER_LEN && base < len && buf[base - 1] == FIELD_TERMINATOR),
            ),
            Ok(Frame::Incomplete { .. }) if !at_end => None,
            _ => Some(false),
        };
        for at in 1..=buf.len() {
            let decided = if buf[at - 1] == RECORD_TERMINATOR {
                may_follow_terminator(&buf[at..], at_end)
            } else if at == buf.len() {
                Some(at_end)
            } else {
                record_starts(&buf[at..])
            };
            match decided {
                Some(true) => return Resync::At(at),
                Some(false) => {}
                None => return Resync::NeedMore,
            }
        }
        if at_end {
            Resync::At(buf.len())
        } else {
            Resync::NeedMore
        }
    }

    #[test]
    fn resync_finds_what_testing_every_position_finds() {
        let record = sample();
        let mut seed = 7u64;
        let mut random = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        // Damage followed by records, with bytes that look like parts of records mixed in.
        let pieces: [&[u8]; 8] = [&record, b"\x1d", b"00042", b"12345", b"\x1e", b"\r\n", b"xyz", &record[..30]];
        for _ in 0..3000 {
            let mut buf = b"junk".to_vec();
            for _ in 0..random() % 6 {
                buf.extend_from_slice(pieces[random() % pieces.len()]);
            }
            for at_end in [true, false] {
                for end in [buf.len(), buf.len().saturating_sub(random() % 40)] {
                    let bytes = &buf[..end];
                    assert_eq!(
                        resync(bytes, at_end),
                        resync_by_every_position(bytes, at_end),
                        "{:?} {at_end}",
                        String::from_utf8_lossy(bytes)
                    );
                }
            }
        }
    }

    #[test]
    fn damage_with_no_record_in_it_is_cut_at_the_limit() {
        let garbage: Vec<u8> = (0..MAX_DAMAGED_LEN + 1000).map(|i| (i * 7 % 251) as u8 | 0x40).collect();
        assert_eq!(resync(&garbage, false), Resync::At(MAX_DAMAGED_LEN));
        assert_eq!(resync(&garbage[..1000], false), Resync::NeedMore);
        assert_eq!(resync(&garbage[..1000], true), Resync::At(1000));
        // Five digits are the only place a record may start: passed over at scanning speed when
        // no record follows them.
        let mut digits = garbage[..5000].to_vec();
        digits[100..105].copy_from_slice(b"00100");
        assert_eq!(digit_run(&digits, 1, 5000), Some(100));
        assert_eq!(digit_run(&digits, 101, 5000), None);
        digits[4997..].copy_from_slice(b"123");
        assert_eq!(digit_run(&digits, 101, 5000), Some(4997));
        assert_eq!(resync(&digits, true), Resync::At(5000));
    }
}
