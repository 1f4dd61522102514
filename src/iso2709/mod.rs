//! ISO 2709, the exchange form of MARC records, as a [`Form`]: framing ([`frame`]), reading a
//! record (`read`), and for damaged records [`repair`] and [`salvage`].
//!
//! A record is `leader (24 bytes) | directory (12 bytes an entry) | 0x1E | field data | 0x1D`.
//! [`parse_record`] checks a whole record's structure once, so that walking its fields afterwards
//! cannot fail or read out of bounds.

pub mod frame;
mod read;
pub mod repair;
pub mod salvage;
pub mod write;

use std::ops::Range;
use std::sync::Arc;

use crate::encoding::{self, TextCodec};
use crate::error::{Damage, DamageKind};
use crate::form::{Cut, Form, Framed, Framing, Guess, Target};
use crate::record::FieldSpan;
use crate::report::{RepairKind, Repairs};

pub const RECORD_TERMINATOR: u8 = 0x1D;
pub const FIELD_TERMINATOR: u8 = 0x1E;
pub use crate::record::SUBFIELD_DELIMITER;
pub const LEADER_LEN: usize = 24;
const DIRECTORY_ENTRY_LEN: usize = 12;
/// Leader, directory terminator and record terminator: the least a record can be.
const MIN_RECORD_LEN: usize = LEADER_LEN + 2;

/// The longest record the five digits of a length field can declare (and the furthest a field
/// can start, in a directory entry's five digits of offset). A longer record (some systems write
/// them, with 99999 or the length modulo 100,000 in the field) is read by its terminator without
/// complaint; none is written.
pub const MAX_RECORD_LEN: usize = 99_999;
/// The longest field the four digits of a directory entry's length can declare.
pub const MAX_FIELD_LEN: usize = 9_999;

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

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// ISO 2709.
#[derive(Debug)]
pub struct Iso2709;

impl Form for Iso2709 {
    fn cut(&self, buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool, source_start: bool) -> Cut {
        frame::cut(buf, max_bytes, max_records, framing, at_end, source_start)
    }

    fn likely_record_start(&self, buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess {
        frame::likely_record_start(buf, from, limit, at_end)
    }

    /// Fields counted from each directory's size, subfields bounded by the number of delimiters.
    fn capacity(&self, input: &[u8], records: &[Framed]) -> (usize, usize) {
        let fields = (records.iter())
            .filter_map(|record| input.get(record.start + 12..record.start + 17))
            .filter_map(parse_digits)
            .map(|base| base.saturating_sub(LEADER_LEN + 1) / DIRECTORY_ENTRY_LEN)
            .sum();
        (fields, memchr::memchr_iter(SUBFIELD_DELIMITER, input).count())
    }

    fn read(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<TextCodec, Damage> {
        read::read(range, to)
    }

    fn repair(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<(TextCodec, Repairs), Damage> {
        let (input, decoded) = to.text.input_and_decoded();
        let bytes = &input[range];
        let codec = if bytes.len() > LEADER_LEN { to.reading.codec(bytes) } else { TextCodec::Utf8 };
        let at = decoded.len();
        let repairs = repair::repair(bytes, codec, to.reading.mislabelled_marc8(), decoded, &mut to.scratch.text_fields)?;
        to.push_decoded(at, LEADER_LEN)?;
        let read_as_marc8 = repairs.0.iter().any(|r| r.kind == RepairKind::ReadAsMarc8);
        let codec = if read_as_marc8 { to.reading.mislabelled_marc8().unwrap_or(codec) } else { codec };
        Ok((codec, repairs))
    }

    /// Read as a sound record would be, except that a record labelled UTF-8 whose bytes read as
    /// MARC-8 (see [`encoding::reads_as_marc8`]) is read as MARC-8.
    fn salvage(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> TextCodec {
        let (input, decoded) = to.text.input_and_decoded();
        let bytes = &input[range];
        let reading = to.reading;
        let codec = match (bytes.len() > LEADER_LEN).then(|| (reading.codec(bytes), reading.mislabelled_marc8())) {
            None => TextCodec::Utf8,
            Some((TextCodec::Utf8, Some(marc8))) if encoding::reads_as_marc8(bytes) => marc8,
            Some((codec, _)) => codec,
        };
        let at = decoded.len();
        let salvaged = salvage::salvage(bytes, codec, decoded, &mut to.scratch.text_fields);
        // Salvaged text is decoded lossily, so UTF-8: this cannot fail.
        to.push_decoded(at, salvaged.leader_len).expect("salvaged text is UTF-8");
        codec
    }
}

/// The ISO 2709 form, for whoever reads it.
pub static ISO2709: Iso2709 = Iso2709;

/// ISO 2709 as the form a source is read in.
pub fn form() -> Arc<dyn Form> {
    Arc::new(Iso2709)
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
            format!("base address {base_address} lies outside the record (directory starts at 24, record ends at {data_end})"),
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
            return bad(format!("directory entry {index} has tag {:?}, not three printable ASCII characters", lossy(&tag)));
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

#[cfg(test)]
pub(crate) mod tests {
    use super::frame::{frame, Frame};
    use super::*;
    use crate::record::DataFieldParts;

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
        let len = (base + data.len() + 1).min(MAX_RECORD_LEN);
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
