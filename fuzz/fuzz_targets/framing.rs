//! Framing any bytes, in chunks of any size, from memory, in every form: records come in order,
//! each inside its chunk; in ISO 2709 every byte ends up in exactly one record or padding run, and
//! strict framing never goes past the first damage.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use marc_polars::form::{Form, Framing};
use marc_polars::marcjson::MarcJson;
use marc_polars::marcxml::MarcXml;
use marc_polars::source::{Chunker, Source};

fuzz_target!(|input: &[u8]| {
    let Some((&size, bytes)) = input.split_first() else { return };
    let chunk_size = usize::from(size) * 16 + 1;
    let mut forms: Vec<Arc<dyn Form>> = vec![marc_polars::iso2709::form(), Arc::new(MarcJson)];
    if let Ok(xml) = MarcXml::of(bytes) {
        forms.push(Arc::new(xml));
    }
    for (i, form) in forms.into_iter().enumerate() {
        let iso2709 = i == 0;
        for framing in [Framing::Resync, Framing::Strict] {
            let source = Source::Memory { name: "fuzz".into(), data: bytes.to_vec().into() };
            let chunker = Chunker::new(form.clone(), source, chunk_size, 7, None, false, framing).expect("memory sources open");
            let (mut covered, mut taken) = (0u64, 0u64);
            for chunk in chunker {
                let Ok(chunk) = chunk else {
                    assert_eq!(framing, Framing::Strict, "only strict framing fails");
                    break;
                };
                // A chunk of nothing but what lies between records is not handed out.
                assert!(if iso2709 { chunk.offset == taken } else { chunk.offset >= taken }, "chunks overlap");
                taken = chunk.offset + chunk.buffer.len() as u64;
                let mut units: Vec<(usize, usize)> = chunk.records.iter().map(|r| (r.start, r.end)).collect();
                units.extend(chunk.padding.iter().map(|p| (p.start, p.end)));
                units.sort_unstable();
                for (start, end) in units {
                    let at = chunk.offset + start as u64;
                    // Only ISO 2709 frames every byte: the markup and syntax between MARCXML and
                    // MARC-in-JSON records belong to none.
                    assert!(if iso2709 { at == covered } else { at >= covered }, "gap or overlap");
                    assert!(start < end && end <= chunk.buffer.len());
                    covered = chunk.offset + end as u64;
                }
            }
            if framing == Framing::Resync && iso2709 {
                assert_eq!(covered, bytes.len() as u64, "every byte is framed");
            }
        }
    }
});
