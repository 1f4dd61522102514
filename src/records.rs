//! Records for reading one at a time, the way pymarc 5.4 reads them.
//!
//! The pymarc-compatible reader hands out one record object at a time. Its chunks are decoded here,
//! off the interpreter, into a [`RecordBatch`]: for each record, where its leader and fields are and
//! how pymarc would split them. A record is *regular* when pymarc would read it as UTF-8 without a
//! warning and without an exception, and every step of pymarc's reading can be followed exactly;
//! any other record (MARC-8, invalid UTF-8, odd numbers, missing or extra indicators, ...) is left
//! *irregular*, for the caller to read the slow way, so that what pymarc does with odd records is
//! never guessed here.

use std::ops::Range;

use polars_buffer::Buffer;

use crate::encoding;
use crate::error::{MarcError, ReadError};
use crate::executor::Decoder;
use crate::iso2709::{parse_digits, LEADER_LEN, SUBFIELD_DELIMITER};
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
}

impl Decoder for RecordDecoder {
    type Batch = RecordBatch;

    fn decode(&self, chunk: Chunk, _source_name: &str) -> Result<RecordBatch, MarcError> {
        let mut batch = RecordBatch {
            records: Vec::with_capacity(chunk.len()),
            fields: Vec::with_capacity(chunk.len() * 24),
            first_record: chunk.first_record,
            offset: chunk.offset,
            buffer: chunk.buffer,
        };
        // Framed strictly (pymarc's framing): no record here is damaged, none is padding.
        for record in &chunk.records {
            let (start, end) = (record.start, record.end);
            let first_field = batch.fields.len();
            let regular = parse_regular(&batch.buffer[start..end], self.force_utf8, start as u32, &mut batch.fields);
            if !regular {
                batch.fields.truncate(first_field);
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

/// Follows pymarc 5.4's `Record.decode_marc` (to_unicode, strict UTF-8) over `record`, pushing its
/// fields (ranges offset by `at`) to `fields`. False when the record is irregular: when pymarc would
/// raise, warn, log, or read it other than as UTF-8, or where Python's lenient number parsing and
/// slicing would go where this does not follow.
fn parse_regular(record: &[u8], force_utf8: bool, at: u32, fields: &mut Vec<FieldEntry>) -> bool {
    // One validation of the whole record; every piece read below must then start and end on a
    // character boundary to be valid UTF-8 on its own.
    if record.len() < LEADER_LEN || encoding::decode_utf8(record).is_err() {
        return false;
    }
    let leader = &record[..LEADER_LEN];
    if !leader.is_ascii() || !(leader[9] == b'a' || force_utf8) {
        return false;
    }
    let Some(base) = parse_digits(&leader[12..17]) else { return false };
    if base == 0 || base >= record.len() || base - 1 < LEADER_LEN {
        return false;
    }
    let directory = &record[LEADER_LEN..base - 1];
    if directory.is_empty() || directory.len() % 12 != 0 || !directory.is_ascii() {
        return false;
    }
    let boundary = |i: usize| record.get(i).is_none_or(|&b| (b as i8) >= -0x40);
    for entry in directory.chunks_exact(12) {
        let (Some(length), Some(offset)) = (parse_digits(&entry[3..7]), parse_digits(&entry[7..12])) else { return false };
        let start = base + offset;
        // pymarc drops the last byte of each field (its terminator, unchecked).
        let end = start + length.saturating_sub(1);
        if length == 0 || end > record.len() || !boundary(start) || !boundary(end) {
            return false;
        }
        let tag = [entry[0], entry[1], entry[2]];
        let data = &record[start..end];
        let range = |r: Range<usize>| at + r.start as u32..at + r.end as u32;
        if is_control_tag(&tag) {
            fields.push(FieldEntry { tag, indicators: None, content: range(start..end) });
            continue;
        }
        let first_delimiter = memchr::memchr(SUBFIELD_DELIMITER, data).unwrap_or(data.len());
        // Missing or extra indicators are logged by pymarc; codes that are not ASCII are warned about.
        if first_delimiter != 2 || !data[..2].is_ascii() || subfields(&data[2..]).any(|(code, _)| !code.is_ascii()) {
            return false;
        }
        fields.push(FieldEntry { tag, indicators: Some([data[0], data[1]]), content: range(start + 2..end) });
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::sample;

    fn parse(record: &[u8]) -> Option<Vec<FieldEntry>> {
        let mut fields = Vec::new();
        parse_regular(record, false, 0, &mut fields).then_some(fields)
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
    fn marc8_is_irregular_unless_forced() {
        let mut record = sample();
        record[9] = b' ';
        assert!(parse(&record).is_none());
        assert!(parse_regular(&record, true, 0, &mut Vec::new()));
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
