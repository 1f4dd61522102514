//! A record's text as the column builders take it, whatever form it was read from: its leader,
//! then its fields, each a tag and content. A control field's content is its data; a data field's
//! is its two indicators, then each subfield as a delimiter (0x1F), a code and a value: the field
//! structure of MARC itself, which ISO 2709 records hold as they are and every other form is
//! written into. The builders read only this, so that a new form of records needs no change to
//! them.

use crate::spec::RecordView;

/// The subfield delimiter of a data field's content.
pub const SUBFIELD_DELIMITER: u8 = 0x1F;

/// One field of a record: its tag and where its content (terminator excluded) lies in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpan {
    pub tag: [u8; 3],
    /// Where the tag stands in the record (in its directory entry).
    pub tag_at: usize,
    pub start: usize,
    pub len: usize,
}

/// Control fields are `001`-`009` (and `000`): numeric tags below `010`, as pymarc and ruby-marc
/// decide it.
pub fn is_control_tag(tag: &[u8; 3]) -> bool {
    tag.iter().all(u8::is_ascii_digit) && *tag < *b"010"
}

impl FieldSpan {
    pub fn is_control(&self) -> bool {
        is_control_tag(&self.tag)
    }

    pub fn content<'a>(&self, record: &'a [u8]) -> &'a [u8] {
        &record[self.start..self.start + self.len]
    }

    pub fn tag_str(&self) -> &str {
        // Tags are printable ASCII: `parse_record` checks it.
        std::str::from_utf8(&self.tag).unwrap_or("???")
    }
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

/// A record's text as the column builders take it, whatever form it was read from.
pub struct RecordText<'a> {
    /// The whole record, valid UTF-8.
    pub text: &'a str,
    /// The leader is `text[..leader_len]`: 24 bytes but in a salvaged record.
    pub leader_len: usize,
    pub spans: &'a [FieldSpan],
}

impl<'a> RecordText<'a> {
    pub fn content(&self, field: usize) -> &'a str {
        let span = &self.spans[field];
        &self.text[span.start..span.start + span.len]
    }
}

impl<'a> RecordView<'a> for RecordText<'a> {
    fn leader(&self) -> Option<&'a str> {
        Some(&self.text[..self.leader_len])
    }

    fn field_count(&self) -> usize {
        self.spans.len()
    }

    fn tag(&self, field: usize) -> Option<&'a str> {
        let at = self.spans[field].tag_at;
        Some(&self.text[at..at + 3])
    }

    fn control_data(&self, field: usize) -> Option<&'a str> {
        self.spans[field].is_control().then(|| self.content(field))
    }

    fn indicator(&self, field: usize, which: u8) -> Option<&'a str> {
        let (ind1, ind2, _) = split_data_field(self.content(field));
        Some(if which == 1 { ind1 } else { ind2 })
    }

    fn subfields(&self, field: usize, visit: &mut dyn FnMut(&'a str, &'a str)) {
        for (code, value) in split_data_field(self.content(field)).2 {
            visit(code, value);
        }
    }
}

/// A data field's content (valid UTF-8 whose indicators `check_indicators` passed): its two
/// indicators and its subfields as (code, value).
pub fn split_data_field(content: &str) -> (&str, &str, impl Iterator<Item = (&str, &str)>) {
    let parts = DataFieldParts::split(content.as_bytes());
    let indicators = &content[..parts.indicators.len()];
    let second_at = if indicators.as_bytes().first().is_some_and(u8::is_ascii) {
        1
    } else {
        indicators.chars().next().map_or(0, char::len_utf8)
    };
    let subfields = parts.subfields().map(move |subfield| {
        let at = subfield.as_ptr() as usize - content.as_ptr() as usize;
        // Bounded by ASCII delimiters inside valid UTF-8: a whole string.
        let subfield = &content[at..at + subfield.len()];
        let code_len = match subfield.as_bytes().first() {
            Some(byte) if byte.is_ascii() => 1,
            _ => subfield.chars().next().map_or(0, char::len_utf8),
        };
        subfield.split_at(code_len)
    });
    (&indicators[..second_at], &indicators[second_at..], subfields)
}
