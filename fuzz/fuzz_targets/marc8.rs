//! MARC-8 decoding of any bytes, in both dialects, from any sets: never a panic, and every problem
//! lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marc_polars::marc8::{decode_normalized, decode_pymarc_text, decode_with, Dialect, Sets};

fuzz_target!(|input: &[u8]| {
    let Some((&[g0, g1], bytes)) = input.split_first_chunk::<2>() else { return };
    let sets = Sets { g0, g1 };
    for dialect in [Dialect::Marc21, Dialect::Pymarc] {
        let decoded = decode_with(bytes, sets, dialect);
        assert!(decoded.problems.iter().all(|p| p.offset <= bytes.len()));
    }
    decode_normalized(bytes, false);
    let code_points: Vec<u32> = bytes.iter().map(|&b| u32::from(b) * u32::from(g0 | 1)).collect();
    decode_pymarc_text(&code_points, sets);
});
