//! marc_polars: MARC 21 (ISO 2709) records to Polars DataFrames.
//!
//! Data flows one way: [`source`] cuts input into chunks of whole records, [`iso2709`] frames and
//! views each record without copying, [`columns`] builds the lossless columns of a batch (and the
//! derived columns [`spec`] selects), and
//! [`pipeline`] runs it all in parallel, in order, tallying what it left out in a [`report`]. A
//! damaged record is kept, on request, with what [`salvage`] can read of it, or read as
//! [`repair`] reads real catalogues' quirks. Only [`python`] knows
//! about Python. [`writer`] writes the lossless columns back to ISO 2709.

pub mod columns;
pub mod encoding;
pub mod error;
pub mod extract;
pub mod iso2709;
pub mod marc8;
mod marc8_tables;
pub mod pipeline;
pub mod records;
pub mod repair;
pub mod report;
pub mod salvage;
pub mod source;
pub mod spec;
pub mod writer;

#[cfg(feature = "python")]
mod python;
