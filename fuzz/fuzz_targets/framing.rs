//! Framing any bytes, in chunks of any size, from memory: every byte ends up in exactly one record
//! or padding run, in order, and strict framing never goes past the first damage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marc_polars::form::Framing;
use marc_polars::iso2709::ISO2709;
use marc_polars::source::{Chunker, Source};

fuzz_target!(|input: &[u8]| {
    let Some((&size, bytes)) = input.split_first() else { return };
    let chunk_size = usize::from(size) * 16 + 1;
    for framing in [Framing::Resync, Framing::Strict] {
        let source = Source::Memory { name: "fuzz".into(), data: bytes.to_vec().into() };
        let chunker = Chunker::new(&ISO2709, source, chunk_size, 7, None, false, framing).expect("memory sources open");
        let mut covered = 0u64;
        for chunk in chunker {
            let Ok(chunk) = chunk else {
                assert_eq!(framing, Framing::Strict, "only strict framing fails");
                break;
            };
            let mut units: Vec<(usize, usize)> = chunk.records.iter().map(|r| (r.start, r.end)).collect();
            units.extend(chunk.padding.iter().map(|p| (p.start, p.end)));
            units.sort_unstable();
            for (start, end) in units {
                assert_eq!(chunk.offset + start as u64, covered, "gap or overlap");
                assert!(start < end && end <= chunk.buffer.len());
                covered = chunk.offset + end as u64;
            }
        }
        if framing == Framing::Resync {
            assert_eq!(covered, bytes.len() as u64, "every byte is framed");
        }
    }
});
