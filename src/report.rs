//! What a read left out of its rows, or kept in them as damaged: so that every byte of the input
//! is accounted for.

use std::sync::Arc;

use crate::error::MarcError;
use crate::repair::Repair;

/// Padding skipped between records: bytes that belong to no record (see
/// [`crate::iso2709::is_padding`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Junk {
    pub source: Arc<str>,
    pub offset: u64,
    pub len: u64,
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
