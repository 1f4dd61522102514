//! What a read left out of its rows, or kept in them as damaged: so that every byte of the input
//! is accounted for.

use std::sync::Arc;

use crate::error::MarcError;

/// Padding skipped between records: bytes that belong to no record (see
/// [`crate::iso2709::frame::is_padding`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Junk {
    pub source: Arc<str>,
    pub offset: u64,
    pub len: u64,
}

/// What a repair changed. Each kind has a stable snake_case [`code`](RepairKind::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepairKind {
    /// Leader/00-04 does not give the record's length: it was read up to its record terminator.
    RecordLength,
    /// Leader/10-11 are not `22`: read as MARC 21 says they must be.
    LeaderCounts,
    /// Leader/20-23 are not `4500`: read as MARC 21 says they must be.
    LeaderEntryMap,
    /// A leader byte that is not printable ASCII: read as `|`, MARC's fill character.
    LeaderFill,
    /// Leader/12-16 does not point just past the directory's terminator: the directory ends at
    /// the field terminator after which every directory entry finds its field.
    BaseAddress,
    /// The directory ends where the base address says, but not on a field terminator.
    DirectoryTerminator,
    /// A tag with a space in it.
    TagCharacters,
    /// Directory lengths or offsets that miss the fields' terminators (they count characters
    /// rather than bytes, say): the fields are read from one field terminator to the next, in
    /// directory order, when there are as many as there are directory entries.
    FieldBounds,
    /// A data field with fewer than two indicators: padded with blanks.
    MissingIndicators,
    /// More than two indicators before the first subfield delimiter (blanks, or one byte more):
    /// the first two are kept, the report names the others.
    ExtraIndicators,
    /// Text after the indicators before any subfield delimiter: kept as a subfield of code
    /// `@` (see `iso2709::repair`).
    TextBeforeSubfield,
    /// An indicator that is not ASCII in a MARC-8 or Latin-1 record: read as U+FFFD.
    IndicatorReplaced,
    /// A subfield code that is not ASCII: read as pymarc reads it, the first ASCII character of
    /// the subfield decomposed (the letter a diacritic decorates, say).
    SubfieldCodeReplaced,
    /// MARC-8 bytes no set defines (or an escape sequence cut short): read as U+FFFD.
    Marc8Replaced,
    /// Bytes that are not UTF-8 in a UTF-8 record: read as U+FFFD.
    Utf8Replaced,
    /// A record labelled UTF-8 whose bytes are not UTF-8 but read as MARC-8 without a fault: read
    /// as MARC-8.
    ReadAsMarc8,
    /// An element MARCXML does not have inside a record (an OAI-PMH header's, say): left out.
    ElementDropped,
}

impl RepairKind {
    pub const ALL: [RepairKind; 17] = [
        RepairKind::RecordLength,
        RepairKind::LeaderCounts,
        RepairKind::LeaderEntryMap,
        RepairKind::LeaderFill,
        RepairKind::BaseAddress,
        RepairKind::DirectoryTerminator,
        RepairKind::TagCharacters,
        RepairKind::FieldBounds,
        RepairKind::MissingIndicators,
        RepairKind::ExtraIndicators,
        RepairKind::TextBeforeSubfield,
        RepairKind::IndicatorReplaced,
        RepairKind::SubfieldCodeReplaced,
        RepairKind::Marc8Replaced,
        RepairKind::Utf8Replaced,
        RepairKind::ReadAsMarc8,
        RepairKind::ElementDropped,
    ];

    /// The stable name of the repair, in the `repairs` column and the report.
    pub fn code(self) -> &'static str {
        match self {
            RepairKind::RecordLength => "record_length",
            RepairKind::LeaderCounts => "leader_counts",
            RepairKind::LeaderEntryMap => "leader_entry_map",
            RepairKind::LeaderFill => "leader_fill",
            RepairKind::BaseAddress => "base_address",
            RepairKind::DirectoryTerminator => "directory_terminator",
            RepairKind::TagCharacters => "tag_characters",
            RepairKind::FieldBounds => "field_bounds",
            RepairKind::MissingIndicators => "missing_indicators",
            RepairKind::ExtraIndicators => "extra_indicators",
            RepairKind::TextBeforeSubfield => "text_before_subfield",
            RepairKind::IndicatorReplaced => "indicator_replaced",
            RepairKind::SubfieldCodeReplaced => "subfield_code_replaced",
            RepairKind::Marc8Replaced => "marc8_replaced",
            RepairKind::Utf8Replaced => "utf8_replaced",
            RepairKind::ReadAsMarc8 => "read_as_marc8",
            RepairKind::ElementDropped => "element_dropped",
        }
    }
}

/// One kind of repair made to a record: where it was first needed (counted from the record's
/// first byte), how many times, and what was changed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub kind: RepairKind,
    pub offset: usize,
    pub count: usize,
    pub detail: String,
}

/// The repairs of one record, one per kind, in the order they were first needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs(pub Vec<Repair>);

impl Repairs {
    pub(crate) fn note(&mut self, kind: RepairKind, offset: usize, detail: impl FnOnce() -> String) {
        match self.0.iter_mut().find(|repair| repair.kind == kind) {
            Some(repair) => repair.count += 1,
            None => self.0.push(Repair { kind, offset, count: 1, detail: detail() }),
        }
    }
}

/// A repair made to a record (`on_error="repair"`), placed in its source as errors are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairNote {
    pub source: Arc<str>,
    pub record: u64,
    /// Where the record starts in its source; the repair's own offset counts from there.
    pub record_offset: u64,
    pub repair: Repair,
}

/// The tally of a read, in input order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Rows made: sound records, and under `on_error="collect"` damaged ones.
    pub rows: u64,
    /// Damaged records kept as rows (`on_error="collect"`), each with its error.
    pub collected: Vec<MarcError>,
    /// Damaged records left out (`on_error="skip"`), each with its error.
    pub skipped: Vec<MarcError>,
    /// Records read by repairing them (`on_error="repair"`).
    pub repaired: u64,
    /// Every repair made, each kind once per record.
    pub repairs: Vec<RepairNote>,
    pub junk: Vec<Junk>,
    /// Input bytes read: records, damaged or not, and padding.
    pub bytes: u64,
    /// Under `on_error="raise"`, the damaged record that ended the part read: what is reported
    /// stops before it.
    pub stopped_by: Option<MarcError>,
}

impl Report {
    /// Adds what a later part of the read found.
    pub fn absorb(&mut self, later: Report) {
        self.rows += later.rows;
        self.collected.extend(later.collected);
        self.skipped.extend(later.skipped);
        self.repaired += later.repaired;
        self.repairs.extend(later.repairs);
        self.junk.extend(later.junk);
        self.bytes += later.bytes;
    }
}
