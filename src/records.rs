//! Records for reading one at a time, the way pymarc 5.4 reads them.
//!
//! The pymarc-compatible reader hands out one record object at a time. Its chunks are decoded here,
//! off the interpreter, into a [`RecordBatch`]: for each record, where its leader and fields are and
//! how pymarc would split them. A record is *regular* when pymarc would read it as UTF-8 without a
//! warning and without an exception, and every step of pymarc's reading can be followed exactly;
//! any other record (MARC-8, invalid UTF-8, odd numbers, missing or extra indicators, ...) is left
//! *irregular*, for the caller to read the slow way, so that what pymarc does with odd records is
//! never guessed here. MARC-8 records are decoded here too, with pymarc's own reading of MARC-8
//! ([`marc8::Dialect::Pymarc`]), when pymarc would read them without a warning.

use std::ops::Range;

use polars_buffer::Buffer;

use crate::encoding;
use crate::error::{MarcError, ReadError};
use crate::executor::Decoder;
use crate::iso2709::{parse_digits, LEADER_LEN, SUBFIELD_DELIMITER};
use crate::marc8::{self, Dialect, Sets};
use crate::record::is_control_tag;
use crate::source::Chunk;

/// A field of a regular record: byte ranges into its batch's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEntry {
    pub tag: [u8; 3],
    /// The two indicators of a data field; `None` for a control field.
    pub indicators: Option<[u8; 2]>,
    /// A control field's data, or the subfields of a data field (from its first delimiter on).
    pub content: Range<u32>,
    /// Whether `content` is in the batch's `decoded` text (a MARC-8 record's) rather than its buffer.
    pub decoded: bool,
}

/// A record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The record's bytes in the batch's buffer.
    pub bytes: Range<u32>,
    /// Its fields in [`RecordBatch::fields`]; `None` if the record is irregular.
    pub fields: Option<Range<u32>>,
}

/// The records of one chunk.
pub struct RecordBatch {
    pub buffer: Buffer<u8>,
    /// The text of MARC-8 records' fields, decoded as pymarc decodes it.
    pub decoded: String,
    pub records: Vec<RecordEntry>,
    pub fields: Vec<FieldEntry>,
    /// Number of the first record in its source (0-based).
    pub first_record: u64,
    /// Byte offset of `buffer[0]` in its source.
    pub offset: u64,
}

impl RecordBatch {
    pub fn bytes(&self, range: &Range<u32>) -> &[u8] {
        &self.buffer[range.start as usize..range.end as usize]
    }

    /// Text that `parse_regular` checked to be UTF-8.
    pub fn text(&self, range: &Range<u32>) -> &str {
        // Checked when the batch was made; a failure here would be a bug, so it shows as such
        // rather than as replacement characters.
        std::str::from_utf8(self.bytes(range)).unwrap_or("\u{FFFD}")
    }

    /// A field's data, or its subfields from the first delimiter on, as text.
    pub fn content(&self, field: &FieldEntry) -> &str {
        if field.decoded {
            &self.decoded[field.content.start as usize..field.content.end as usize]
        } else {
            self.text(&field.content)
        }
    }

    pub fn record_fields(&self, record: usize) -> &[FieldEntry] {
        match &self.records[record].fields {
            Some(range) => &self.fields[range.start as usize..range.end as usize],
            None => &[],
        }
    }
}

/// The subfields of a data field as pymarc splits them: at each delimiter, empty pieces dropped,
/// the first byte of each piece its code.
pub fn subfields(content: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    content.split(|&b| b == SUBFIELD_DELIMITER).filter(|piece| !piece.is_empty()).map(|piece| (piece[0], &piece[1..]))
}

/// Decodes chunks into [`RecordBatch`]es.
pub struct RecordDecoder {
    /// pymarc's `force_utf8`: read every record as UTF-8, whatever leader/09 says.
    pub force_utf8: bool,
    /// Whether records that are not UTF-8 are MARC-8 (pymarc's default `file_encoding`); if not,
    /// they are left irregular.
    pub marc8: bool,
}

impl Decoder for RecordDecoder {
    type Batch = RecordBatch;

    fn decode(&self, chunk: Chunk, _source_name: &str) -> Result<RecordBatch, MarcError> {
        let mut batch = RecordBatch {
            records: Vec::with_capacity(chunk.len()),
            fields: Vec::with_capacity(chunk.len() * 24),
            decoded: String::new(),
            first_record: chunk.first_record,
            offset: chunk.offset,
            buffer: chunk.buffer,
        };
        // Framed strictly (pymarc's framing): no record here is damaged, none is padding.
        for record in &chunk.records {
            let (start, end) = (record.start, record.end);
            let first_field = batch.fields.len();
            let first_decoded = batch.decoded.len();
            let record = &batch.buffer[start..end];
            let regular = match parse_leader(record) {
                Some(leader) if leader[9] == b'a' || self.force_utf8 => parse_regular(record, start as u32, &mut batch.fields),
                Some(_) if self.marc8 => parse_marc8(record, &mut batch.fields, &mut batch.decoded),
                _ => false,
            };
            if !regular {
                batch.fields.truncate(first_field);
                batch.decoded.truncate(first_decoded);
            }
            batch.records.push(RecordEntry {
                bytes: start as u32..end as u32,
                fields: regular.then_some(first_field as u32..batch.fields.len() as u32),
            });
        }
        Ok(batch)
    }

    fn renumber(&self, batch: &mut RecordBatch, first_record: u64) -> Result<(), ReadError> {
        batch.first_record += first_record;
        Ok(())
    }
}

/// A record's leader, if pymarc can read it: 24 ASCII characters.
fn parse_leader(record: &[u8]) -> Option<&[u8]> {
    let leader = record.get(..LEADER_LEN)?;
    leader.is_ascii().then_some(leader)
}

/// The directory of a record as pymarc reads it, and its base address; `None` where pymarc would
/// raise or Python's lenient number parsing would go where this does not follow.
fn parse_directory(record: &[u8]) -> Option<(&[u8], usize)> {
    let base = parse_digits(&record[12..17])?;
    if base == 0 || base >= record.len() || base - 1 < LEADER_LEN {
        return None;
    }
    let directory = &record[LEADER_LEN..base - 1];
    if directory.is_empty() || directory.len() % 12 != 0 || !directory.is_ascii() {
        return None;
    }
    Some((directory, base))
}

/// A directory entry: its tag and the field's bytes without the terminator (pymarc drops the last
/// byte of each field unchecked), as a range of `record`.
fn entry_field(entry: &[u8], base: usize, record_len: usize) -> Option<([u8; 3], Range<usize>)> {
    let (length, offset) = (parse_digits(&entry[3..7])?, parse_digits(&entry[7..12])?);
    let start = base + offset;
    let end = start + length.saturating_sub(1);
    if length == 0 || end > record_len {
        return None;
    }
    Some(([entry[0], entry[1], entry[2]], start..end))
}

/// Where a data field's subfields start, if its indicators and codes are as pymarc reads them
/// without a word: two ASCII indicators (pymarc logs missing or extra ones), ASCII codes (it warns
/// of others).
fn first_delimiter(data: &[u8]) -> Option<usize> {
    let first = memchr::memchr(SUBFIELD_DELIMITER, data).unwrap_or(data.len());
    let regular = first == 2 && data[..2].is_ascii() && subfields(&data[2..]).all(|(code, _)| code.is_ascii());
    regular.then_some(first)
}

/// Follows pymarc 5.4's `Record.decode_marc` (to_unicode, strict UTF-8) over `record`, pushing its
/// fields (ranges offset by `at`) to `fields`. False when the record is irregular: when pymarc would
/// raise, warn, log, or read it other than as UTF-8, or where Python's lenient number parsing and
/// slicing would go where this does not follow.
fn parse_regular(record: &[u8], at: u32, fields: &mut Vec<FieldEntry>) -> bool {
    // One validation of the whole record; every piece read below must then start and end on a
    // character boundary to be valid UTF-8 on its own.
    if encoding::decode_utf8(record).is_err() {
        return false;
    }
    let Some((directory, base)) = parse_directory(record) else { return false };
    let boundary = |i: usize| record.get(i).is_none_or(|&b| (b as i8) >= -0x40);
    let range = |r: Range<usize>| at + r.start as u32..at + r.end as u32;
    for entry in directory.chunks_exact(12) {
        let Some((tag, data)) = entry_field(entry, base, record.len()) else { return false };
        if !boundary(data.start) || !boundary(data.end) {
            return false;
        }
        if is_control_tag(&tag) {
            fields.push(FieldEntry { tag, indicators: None, content: range(data), decoded: false });
            continue;
        }
        let bytes = &record[data.clone()];
        let Some(first) = first_delimiter(bytes) else { return false };
        let indicators = Some([bytes[0], bytes[1]]);
        fields.push(FieldEntry { tag, indicators, content: range(data.start + first..data.end), decoded: false });
    }
    true
}

/// As [`parse_regular`], for a MARC-8 record (leader/09 not `a`, pymarc's default file encoding):
/// control fields read as ISO 8859-1 and subfield values as MARC-8, each from the default sets, as
/// pymarc reads them; the text goes to `decoded`. False too where pymarc would write a warning
/// about the MARC-8, or raise.
fn parse_marc8(record: &[u8], fields: &mut Vec<FieldEntry>, decoded: &mut String) -> bool {
    let Some((directory, base)) = parse_directory(record) else { return false };
    let here = |decoded: &String| decoded.len() as u32;
    for entry in directory.chunks_exact(12) {
        let Some((tag, data)) = entry_field(entry, base, record.len()) else { return false };
        let bytes = &record[data];
        let start = here(decoded);
        if is_control_tag(&tag) {
            decoded.extend(bytes.iter().map(|&b| char::from(b)));
            fields.push(FieldEntry { tag, indicators: None, content: start..here(decoded), decoded: true });
            continue;
        }
        let Some(first) = first_delimiter(bytes) else { return false };
        for (code, value) in subfields(&bytes[first..]) {
            let text = marc8::decode_with(value, Sets::default(), Dialect::Pymarc);
            if !text.problems.is_empty() {
                return false;
            }
            decoded.push(char::from(SUBFIELD_DELIMITER));
            decoded.push(char::from(code));
            decoded.push_str(&text.text);
        }
        let indicators = Some([bytes[0], bytes[1]]);
        fields.push(FieldEntry { tag, indicators, content: start..here(decoded), decoded: true });
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::sample;

    fn parse(record: &[u8]) -> Option<Vec<FieldEntry>> {
        let mut fields = Vec::new();
        (parse_leader(record).is_some() && parse_regular(record, 0, &mut fields)).then_some(fields)
    }

    #[test]
    fn a_utf8_record_is_regular() {
        let record = sample();
        let fields = parse(&record).expect("regular");
        assert!(!fields.is_empty());
        assert!(fields.iter().any(|f| f.indicators.is_none()));
        assert!(fields.iter().any(|f| f.indicators.is_some()));
    }

    #[test]
    fn marc8_is_decoded_as_pymarc_decodes_it() {
        let mut record = sample();
        record[9] = b' ';
        // An ANSEL acute before its base letter, where a subfield's value starts.
        let at = record.windows(2).rposition(|w| w[0] == SUBFIELD_DELIMITER && w[1].is_ascii_lowercase()).unwrap() + 2;
        record[at..at + 2].copy_from_slice(&[0xE2, b'e']);
        let (mut fields, mut decoded) = (Vec::new(), String::new());
        assert!(parse_marc8(&record, &mut fields, &mut decoded));
        assert!(fields.iter().all(|field| field.decoded));
        assert!(decoded.contains('\u{e9}'), "{decoded}");
        // ESC with nothing after it: pymarc raises, so the record is left to it.
        record[at] = 0x1B;
        record[at + 1] = SUBFIELD_DELIMITER;
        assert!(!parse_marc8(&record, &mut Vec::new(), &mut String::new()));
    }

    #[test]
    fn numbers_pymarc_reads_leniently_are_irregular() {
        let mut record = sample();
        record[12] = b' ';
        assert!(parse(&record).is_none());
    }

    #[test]
    fn subfields_split_like_pymarc() {
        let pieces: Vec<(u8, &[u8])> = subfields(b"\x1fab\x1f\x1fc\x1fd").collect();
        assert_eq!(pieces, [(b'a', &b"b"[..]), (b'c', &b""[..]), (b'd', &b""[..])]);
    }

    #[test]
    fn no_truncation_or_flip_panics() {
        let record = sample();
        for len in 0..=record.len() {
            parse(&record[..len]);
        }
        for i in 0..record.len() {
            for byte in [0x00, b'0', b'9', 0x1e, 0x1f, 0xc3, 0xff] {
                let mut damaged = record.clone();
                damaged[i] = byte;
                parse(&damaged);
            }
        }
    }
}
