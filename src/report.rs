//! What a read left out of its rows, or kept in them as damaged: so that every byte of the input
//! is accounted for.

use std::sync::Arc;

use crate::error::MarcError;

/// Padding skipped between records: bytes that belong to no record (see
/// [`crate::iso2709::is_padding`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Junk {
    pub source: Arc<str>,
    pub offset: u64,
    pub len: u64,
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
    pub junk: Vec<Junk>,
    /// Input bytes read: records, damaged or not, and padding.
    pub bytes: u64,
}

impl Report {
    /// Adds what a later part of the read found.
    pub fn absorb(&mut self, later: Report) {
        self.rows += later.rows;
        self.collected.extend(later.collected);
        self.skipped.extend(later.skipped);
        self.junk.extend(later.junk);
        self.bytes += later.bytes;
    }
}
