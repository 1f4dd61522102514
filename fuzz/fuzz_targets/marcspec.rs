//! Parsing any text as a MARCspec: never a panic, and a spec that parses evaluates over real
//! records (three, of every field kind) without one.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use marc_polars::columns::Projection;
use marc_polars::batches::read_frame;
use marc_polars::executor::ReadOptions;
use marc_polars::source::Source;
use marc_polars::spec::Spec;

const RECORDS: &[u8] = include_bytes!("../../tests/data/rustmarc__3records.mrc");

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Ok(spec) = Spec::parse(text) else { return };
    let projection = Projection { specs: vec![("spec".into(), spec)], ..Default::default() };
    let options = ReadOptions { threads: 1, ..Default::default() };
    let source = Source::Memory { name: "fuzz".into(), data: RECORDS.to_vec().into() };
    let frame = read_frame(vec![source], &options, &Arc::new(projection)).expect("the records are sound");
    assert_eq!(frame.height(), 3);
});
