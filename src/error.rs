//! Errors of the reader: damage found inside one record, and that damage placed in its source.

use std::fmt;

/// What is wrong with a record. Each kind has a stable code (see [`DamageKind::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// Leader/00-04 is not a number, or is too small to hold a record.
    BadRecordLength,
    /// The input ends inside a record.
    Truncated,
    /// The byte the record length points at is not the record terminator.
    MissingRecordTerminator,
    /// Leader/12-16 is not a number or points outside the record.
    BadBaseAddress,
    /// A directory entry is malformed, or the directory is not terminated.
    BadDirectory,
    /// A directory entry points outside the record's field data.
    FieldOutOfBounds,
    /// A field does not end with the field terminator.
    MissingFieldTerminator,
    /// A data field does not start with exactly two indicators.
    BadIndicators,
    /// The record's bytes are not valid UTF-8.
    InvalidUtf8,
    /// A MARC-8 record holds bytes MARC-8 cannot read, or non-ASCII bytes where only ASCII can be.
    InvalidMarc8,
    /// A MARCXML record is not well-formed XML.
    MalformedXml,
    /// A MARC-in-JSON record is not well-formed JSON.
    MalformedJson,
    /// A MARCXML or MARC-in-JSON record is well-formed but not a MARC record as its form has one:
    /// no leader, an element or member the form does not have, a tag or indicator of the wrong
    /// length.
    BadStructure,
    /// The input is not records in a form that is read (an HTML page, a PDF, compressed bytes read
    /// as they are): the whole source, never one record.
    UnknownFormat,
}

impl DamageKind {
    /// The kind's stable name: what the `error` column starts with, and what front ends map to
    /// their own error types.
    pub fn code(self) -> &'static str {
        match self {
            DamageKind::BadRecordLength => "bad_record_length",
            DamageKind::Truncated => "truncated",
            DamageKind::MissingRecordTerminator => "missing_record_terminator",
            DamageKind::BadBaseAddress => "bad_base_address",
            DamageKind::BadDirectory => "bad_directory",
            DamageKind::FieldOutOfBounds => "field_out_of_bounds",
            DamageKind::MissingFieldTerminator => "missing_field_terminator",
            DamageKind::BadIndicators => "bad_indicators",
            DamageKind::InvalidUtf8 => "invalid_utf8",
            DamageKind::InvalidMarc8 => "invalid_marc8",
            DamageKind::MalformedXml => "malformed_xml",
            DamageKind::MalformedJson => "malformed_json",
            DamageKind::BadStructure => "bad_structure",
            DamageKind::UnknownFormat => "unknown_format",
        }
    }
}

/// What a read does with a damaged record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// Stop with the record's error.
    #[default]
    Raise,
    /// Leave the record out, and report it.
    Skip,
    /// Keep the record as a row, with its error and its exact bytes in columns of their own.
    Collect,
    /// Read what real catalogues' quirks leave readable, reporting each repair; a record that no
    /// repair can read is kept as under `Collect`.
    Repair,
}

impl OnError {
    pub fn parse(name: &str) -> Option<OnError> {
        Some(match name {
            "raise" => OnError::Raise,
            "skip" => OnError::Skip,
            "collect" => OnError::Collect,
            "repair" => OnError::Repair,
            _ => return None,
        })
    }
}

/// Damage found in one record; `offset` counts from the record's first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub kind: DamageKind,
    pub offset: usize,
    pub detail: String,
}

impl Damage {
    pub fn new(kind: DamageKind, offset: usize, detail: String) -> Self {
        Damage { kind, offset, detail }
    }

    /// Places the damage in its source.
    pub fn locate(self, source: &str, record: u64, record_offset: u64) -> MarcError {
        MarcError {
            kind: self.kind,
            source: source.to_string(),
            record,
            record_offset,
            offset_in_record: self.offset,
            detail: self.detail,
        }
    }
}

/// A damaged record, named by its source, its 0-based number and the byte offset where it starts;
/// `offset_in_record` counts from there to where the damage is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarcError {
    pub kind: DamageKind,
    pub source: String,
    pub record: u64,
    pub record_offset: u64,
    pub offset_in_record: usize,
    pub detail: String,
}

impl fmt::Display for MarcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: record {} at byte offset {}: {}", self.source, self.record, self.record_offset, self.detail)
    }
}

impl std::error::Error for MarcError {}

impl MarcError {
    /// What the `error` column of a collected record holds: the damage's code, then the message.
    pub fn column_text(&self) -> String {
        format!("{}: {self}", self.kind.code())
    }
}

/// Everything reading can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Marc(#[from] MarcError),
    #[error("{source_name}: {error}")]
    Io { source_name: String, error: std::io::Error },
    #[error("{0}")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("{0}")]
    Internal(String),
}
