//! ISO 2709 framing and record structure.
//!
//! A record is `leader (24 bytes) | directory (12 bytes an entry) | 0x1E | field data | 0x1D`.
//! [`frame`] finds where one record ends in a byte stream; [`parse_record`] checks a whole
//! record's structure once, so that walking its fields afterwards cannot fail or read out of bounds.
//! Nothing here allocates or copies the record's bytes, and nothing here knows about encodings.

use crate::error::{Damage, DamageKind};

pub const RECORD_TERMINATOR: u8 = 0x1D;
pub const FIELD_TERMINATOR: u8 = 0x1E;
pub const SUBFIELD_DELIMITER: u8 = 0x1F;
pub const LEADER_LEN: usize = 24;
const DIRECTORY_ENTRY_LEN: usize = 12;
/// Leader, directory terminator and record terminator: the least a record can be.
const MIN_RECORD_LEN: usize = LEADER_LEN + 2;

/// What [`frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole record of this many bytes, terminator included.
    Record(usize),
    /// The buffer ends before the record does: `needed` bytes are wanted in all, or `None` while the
    /// five-digit length itself is not yet complete.
    Incomplete { needed: Option<usize> },
}

/// Parses an unsigned decimal number made only of ASCII digits.
pub(crate) fn parse_digits(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() {
        return None;
    }
    // One pass, checking as it goes: every record's directory goes through here.
    bytes.iter().try_fold(0, |n: usize, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit <= 9).then(|| n * 10 + usize::from(digit))
    })
}

/// The field length (bytes 3-6) and offset (bytes 7-11) of a directory entry, if all nine are
/// ASCII digits: eight of them read as one word and combined in pairs, then fours, as every
/// directory entry of every record goes through here.
#[inline]
fn entry_numbers(entry: &[u8]) -> Option<(usize, usize)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let word = u64::from_le_bytes(*entry.get(3..11)?.first_chunk::<8>()?);
    let last = entry.get(11)?.wrapping_sub(b'0');
    // Digits are 0x30-0x39: the high half of each byte is 3, and stays 3 when 6 is added.
    let high_halves = 0xF0 * ONES;
    if word & high_halves != 0x30 * ONES || word.wrapping_add(6 * ONES) & high_halves != 0x30 * ONES || last > 9 {
        return None;
    }
    // The first digit is the lowest byte: each byte times ten plus the next, then each pair times
    // a hundred plus the next pair (no sum carries out of its lane).
    let digits = word - 0x30 * ONES;
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some(((fours & 0xFFFF) as usize, (fours >> 32) as usize * 10 + usize::from(last)))
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
            format!(
                "record length {len} does not end on a record terminator (0x1D): byte {} is 0x{:02X}",
                len - 1,
                buf[len - 1]
            ),
        ));
    }
    Ok(Frame::Record(len))
}

/// The damage to report when input ends inside a record.
pub fn truncated(available: usize, needed: Option<usize>) -> Damage {
    let detail = match needed {
        Some(needed) => format!(
            "truncated record: the input ends after {available} of the {needed} bytes its leader declares"
        ),
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

/// The longest record the five digits of a length field can declare. A longer record (some
/// systems write them, with 99999 or the length modulo 100,000 in the field) is read by its
/// terminator without complaint.
pub const MAX_DECLARABLE_LEN: usize = 99_999;

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
/// Candidates are found by scanning (memchr for terminators, [`digit_run`] for record starts), and
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

/// Where [`likely_record_start`] guesses a record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// Here, or at the end of input.
    Start(usize),
    /// No record seems to start in the bytes searched.
    NotFound,
    /// The buffer ends before this can be decided: more input is wanted.
    NeedMore,
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
    if ends_record && unit.len() > MAX_DECLARABLE_LEN {
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

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One field of a record: its tag and where its content (terminator excluded) lies in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpan {
    pub tag: [u8; 3],
    /// Where the tag stands in the record (in its directory entry).
    pub tag_at: usize,
    pub start: usize,
    pub len: usize,
}

impl FieldSpan {
    /// Control fields are `001`-`009` (and `000`): numeric tags below `010`, as pymarc and ruby-marc
    /// decide it.
    pub fn is_control(&self) -> bool {
        self.tag.iter().all(u8::is_ascii_digit) && self.tag < *b"010"
    }

    pub fn content<'a>(&self, record: &'a [u8]) -> &'a [u8] {
        &record[self.start..self.start + self.len]
    }

    pub fn tag_str(&self) -> &str {
        // Tags are printable ASCII: `parse_record` checks it.
        std::str::from_utf8(&self.tag).unwrap_or("???")
    }
}

/// Checks the structure of one framed record (terminator included) and lists its fields, in
/// directory order, into `fields` (cleared first; reused across records to avoid allocating).
///
/// On success every span lies inside the record's field data and was followed by a field
/// terminator, so slicing the record with it cannot fail.
pub fn parse_record(bytes: &[u8], fields: &mut Vec<FieldSpan>) -> Result<(), Damage> {
    fields.clear();
    debug_assert!(bytes.len() >= MIN_RECORD_LEN);
    let data_end = bytes.len() - 1;
    let base_address = parse_digits(&bytes[12..17]).ok_or_else(|| {
        Damage::new(
            DamageKind::BadBaseAddress,
            12,
            format!("base address {:?} in leader/12-16 is not a number", lossy(&bytes[12..17])),
        )
    })?;
    if base_address <= LEADER_LEN || base_address > data_end {
        return Err(Damage::new(
            DamageKind::BadBaseAddress,
            12,
            format!(
                "base address {base_address} lies outside the record (directory starts at 24, record ends at {data_end})"
            ),
        ));
    }
    if bytes[base_address - 1] != FIELD_TERMINATOR {
        return Err(Damage::new(
            DamageKind::BadDirectory,
            base_address - 1,
            "directory does not end with a field terminator (0x1E) just before the base address".to_string(),
        ));
    }
    let directory = &bytes[LEADER_LEN..base_address - 1];
    if directory.len() % DIRECTORY_ENTRY_LEN != 0 {
        return Err(Damage::new(
            DamageKind::BadDirectory,
            LEADER_LEN,
            format!("directory length {} is not a multiple of 12", directory.len()),
        ));
    }
    for (index, entry) in directory.chunks_exact(DIRECTORY_ENTRY_LEN).enumerate() {
        let entry_at = LEADER_LEN + index * DIRECTORY_ENTRY_LEN;
        let tag = [entry[0], entry[1], entry[2]];
        let bad = |detail: String| Err(Damage::new(DamageKind::BadDirectory, entry_at, detail));
        if !tag.iter().all(u8::is_ascii_graphic) {
            return bad(format!(
                "directory entry {index} has tag {:?}, not three printable ASCII characters",
                lossy(&tag)
            ));
        }
        let Some((length, offset)) = entry_numbers(entry) else {
            return bad(format!(
                "directory entry {index} (tag {}) has a length or offset that is not a number: {:?}",
                lossy(&tag),
                lossy(entry)
            ));
        };
        let start = base_address + offset;
        let end = start + length;
        if length == 0 || end > data_end {
            return Err(Damage::new(
                DamageKind::FieldOutOfBounds,
                entry_at,
                format!(
                    "field {} (directory entry {index}) spans bytes {start}..{end}, outside the record's field data {base_address}..{data_end}",
                    lossy(&tag)
                ),
            ));
        }
        if bytes[end - 1] != FIELD_TERMINATOR {
            return Err(Damage::new(
                DamageKind::MissingFieldTerminator,
                end - 1,
                format!("field {} (directory entry {index}) does not end with a field terminator (0x1E)", lossy(&tag)),
            ));
        }
        fields.push(FieldSpan { tag, tag_at: entry_at, start, len: length - 1 });
    }
    Ok(())
}

/// The parts of a data field: its indicator bytes and its subfields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFieldParts<'a> {
    /// Bytes before the first subfield delimiter: normally the two indicators.
    pub indicators: &'a [u8],
    /// Bytes after the first subfield delimiter (empty when the field has no subfield).
    subfields: Option<&'a [u8]>,
}

impl<'a> DataFieldParts<'a> {
    pub fn split(content: &'a [u8]) -> Self {
        // Nearly every data field starts with two indicators and a delimiter: no search needed.
        if let [a, b, SUBFIELD_DELIMITER, ..] = content {
            if *a != SUBFIELD_DELIMITER && *b != SUBFIELD_DELIMITER {
                return DataFieldParts { indicators: &content[..2], subfields: Some(&content[3..]) };
            }
        }
        match memchr::memchr(SUBFIELD_DELIMITER, content) {
            Some(at) => DataFieldParts { indicators: &content[..at], subfields: Some(&content[at + 1..]) },
            None => DataFieldParts { indicators: content, subfields: None },
        }
    }

    /// Each subfield's bytes, code first, in record order. An empty subfield (two delimiters in a
    /// row, or a delimiter just before the field terminator) is yielded as an empty slice, so that
    /// nothing of the field is lost.
    pub fn subfields(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut rest = self.subfields;
        std::iter::from_fn(move || {
            let bytes = rest?;
            // memchr finds the delimiter a word at a time; a byte-by-byte split was the hottest loop.
            match memchr::memchr(SUBFIELD_DELIMITER, bytes) {
                Some(at) => {
                    rest = Some(&bytes[at + 1..]);
                    Some(&bytes[..at])
                }
                None => {
                    rest = None;
                    Some(bytes)
                }
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn directory_entry_numbers_agree_with_reading_digit_by_digit() {
        let mut entry = *b"245001200034";
        assert_eq!(entry_numbers(&entry), Some((12, 34)));
        assert_eq!(entry_numbers(b"001999999999"), Some((9999, 99999)));
        for seed in 0..200_000u64 {
            // Every byte value at every digit position, among valid digits.
            let position = 3 + (seed % 9) as usize;
            let byte = (seed / 9 % 256) as u8;
            entry[3..].copy_from_slice(format!("{:09}", seed.wrapping_mul(2_654_435_761) % 1_000_000_000).as_bytes());
            entry[position] = byte;
            let expected = (parse_digits(&entry[3..7]), parse_digits(&entry[7..12]));
            let expected = match expected {
                (Some(length), Some(offset)) => Some((length, offset)),
                _ => None,
            };
            assert_eq!(entry_numbers(&entry), expected, "{:?}", String::from_utf8_lossy(&entry));
        }
    }

    /// Builds a record from (tag, field content without terminator), filling in the record length,
    /// base address and directory of `leader`.
    pub(crate) fn build(leader: &[u8; 24], fields: &[(&str, &[u8])]) -> Vec<u8> {
        let mut directory = Vec::new();
        let mut data = Vec::new();
        for (tag, content) in fields {
            directory.extend_from_slice(format!("{tag}{:04}{:05}", content.len() + 1, data.len()).as_bytes());
            data.extend_from_slice(content);
            data.push(FIELD_TERMINATOR);
        }
        directory.push(FIELD_TERMINATOR);
        let base = LEADER_LEN + directory.len();
        let mut record = leader.to_vec();
        // A record too long for its length field says 99999, as writers of such records do.
        let len = (base + data.len() + 1).min(MAX_DECLARABLE_LEN);
        record[..5].copy_from_slice(format!("{len:05}").as_bytes());
        record[12..17].copy_from_slice(format!("{base:05}").as_bytes());
        record.extend(directory);
        record.extend(data);
        record.push(RECORD_TERMINATOR);
        record
    }

    fn parse(record: &[u8]) -> Result<Vec<FieldSpan>, Damage> {
        let mut fields = Vec::new();
        parse_record(record, &mut fields).map(|()| fields)
    }

    pub(crate) fn sample() -> Vec<u8> {
        build(
            b"00000nam a2200000 a 4500",
            &[("001", b"12345"), ("245", b"10\x1faA title /\x1fcby me."), ("650", b" 0\x1faCats.")],
        )
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
                parse_digits(&buf[12..17]).is_some_and(|base| base > LEADER_LEN && base < len && buf[base - 1] == FIELD_TERMINATOR),
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
                    assert_eq!(resync(bytes, at_end), resync_by_every_position(bytes, at_end), "{:?} {at_end}", String::from_utf8_lossy(bytes));
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

    #[test]
    fn frames_and_parses_a_record() {
        let record = sample();
        assert_eq!(frame(&record).unwrap(), Frame::Record(record.len()));
        let fields = parse(&record).unwrap();
        assert_eq!(fields.len(), 3);
        assert!(fields[0].is_control());
        assert_eq!(fields[0].content(&record), b"12345");
        assert!(!fields[1].is_control());
        assert_eq!(fields[1].tag_str(), "245");
        let parts = DataFieldParts::split(fields[1].content(&record));
        assert_eq!(parts.indicators, b"10");
        let subs: Vec<_> = parts.subfields().collect();
        assert_eq!(subs, vec![b"aA title /".as_slice(), b"cby me.".as_slice()]);
    }

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
    fn rejects_a_bad_base_address() {
        let mut record = sample();
        record[12..17].copy_from_slice(b"99999");
        assert_eq!(parse(&record).unwrap_err().kind, DamageKind::BadBaseAddress);
        record[12..17].copy_from_slice(b"0001a");
        assert_eq!(parse(&record).unwrap_err().kind, DamageKind::BadBaseAddress);
    }

    #[test]
    fn rejects_a_directory_pointing_outside_the_record() {
        let mut record = sample();
        // Field 650 is the third entry; its offset (5 digits) starts at 24 + 2*12 + 7.
        let at = LEADER_LEN + 2 * DIRECTORY_ENTRY_LEN + 7;
        record[at..at + 5].copy_from_slice(b"09000");
        let damage = parse(&record).unwrap_err();
        assert_eq!(damage.kind, DamageKind::FieldOutOfBounds);
        assert!(damage.detail.contains("field 650"), "{}", damage.detail);
    }

    #[test]
    fn rejects_a_directory_that_is_not_numeric_or_not_terminated() {
        let mut record = sample();
        record[LEADER_LEN + 4] = b'?';
        assert_eq!(parse(&record).unwrap_err().kind, DamageKind::BadDirectory);
        let mut record = sample();
        let base = parse_digits(&record[12..17]).unwrap();
        record[base - 1] = b'X';
        assert_eq!(parse(&record).unwrap_err().kind, DamageKind::BadDirectory);
    }

    #[test]
    fn rejects_a_field_without_its_terminator() {
        let mut record = sample();
        // Shorten field 001's directory length by one: it then ends on '5', not 0x1E.
        let at = LEADER_LEN + 3;
        record[at..at + 4].copy_from_slice(b"0005");
        assert_eq!(parse(&record).unwrap_err().kind, DamageKind::MissingFieldTerminator);
    }

    #[test]
    fn keeps_empty_subfields_and_fields_without_subfields() {
        let parts = DataFieldParts::split(b"  \x1fa\x1f\x1fbx\x1f");
        let subs: Vec<_> = parts.subfields().collect();
        assert_eq!(subs, vec![b"a".as_slice(), b"", b"bx", b""]);
        let parts = DataFieldParts::split(b"  ");
        assert_eq!(parts.indicators, b"  ");
        assert_eq!(parts.subfields().count(), 0);
    }

    #[test]
    fn never_reads_out_of_bounds_on_any_truncation_or_byte_flip() {
        let record = sample();
        for cut in 0..record.len() {
            let _ = frame(&record[..cut]);
        }
        for at in 0..record.len() {
            for value in [0u8, b'0', b'9', 0x1D, 0x1E, 0x1F, 0xFF] {
                let mut damaged = record.clone();
                damaged[at] = value;
                if let Ok(Frame::Record(len)) = frame(&damaged) {
                    if let Ok(fields) = parse(&damaged[..len]) {
                        for field in fields {
                            let _ = DataFieldParts::split(field.content(&damaged)).subfields().count();
                        }
                    }
                }
            }
        }
    }
}
