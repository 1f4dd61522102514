//! marc_polars: MARC 21 records to Polars DataFrames.
//!
//! Data flows one way, and each step knows only the one before it:
//!
//! - [`source`] cuts input (bytes, files, streams, [`remote`] objects) into chunks of whole records, framed by a
//!   [`form`] of records ([`iso2709`], [`marcxml`] or [`marcjson`], each the one module that knows
//!   its form), which [`detect`] tells from the input's first bytes, once [`compression`] is undone.
//! - A form reads each record into a [`record`]'s text (tag, indicators, subfields), decoding its
//!   [`encoding`] ([`marc8`] among them); the column builders read only that text.
//! - [`columns`] builds a batch's lossless columns and the derived ones [`spec`] selects, as Arrow
//!   string [`views`] into the batch's bytes.
//! - [`executor`] runs sources and decoding in parallel and hands results out in input order;
//!   [`batches`] makes them DataFrame batches, tallying what was left out in a [`report`] of
//!   [`error`]s; [`records`] makes them records for the pymarc-compatible reader.
//! - [`split`] finds where byte ranges of a source begin, for readers that share a dump.
//! - [`extract`] evaluates specs on frames already loaded; [`writer`] writes frames back to ISO
//!   2709.
//!
//! Only `python` (the binding layer) knows about Python.

pub mod batches;
pub mod columns;
pub mod compression;
pub mod detect;
pub mod encoding;
pub mod error;
pub mod executor;
pub mod extract;
pub mod form;
pub mod iso2709;
pub mod marc8;
mod marc8_tables;
pub mod marcjson;
pub mod marcxml;
pub mod record;
pub mod records;
pub mod remote;
pub mod report;
pub mod source;
pub mod spec;
pub mod split;
pub mod views;
pub mod writer;
pub mod written;

#[cfg(feature = "python")]
mod python;
