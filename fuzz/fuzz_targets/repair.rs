//! Reading any bytes under `on_error="repair"`, in every encoding: never a panic; the same rows as
//! under "collect" (repair changes what is read of a record, not the framing); every record read
//! by repairing it lists its repairs, so that nothing is changed silently; and `repair` alone, on
//! any bytes, writes valid text with spans inside it, or nothing.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use marc_polars::batches::{batches, collect};
use marc_polars::columns::Projection;
use marc_polars::encoding::{Encoding, Reading, TextCodec};
use marc_polars::error::OnError;
use marc_polars::executor::ReadOptions;
use marc_polars::iso2709::repair::repair;
use marc_polars::record::FieldSpan;
use marc_polars::source::Source;
use marc_polars::spec::Spec;

fuzz_target!(|bytes: &[u8]| {
    let specs =
        ["LDR/05", "001", "245$a", "6..$a", "008/35-37"].map(|spec| (spec.into(), Spec::parse(spec).expect("valid spec")));
    for encoding in [Encoding::Auto, Encoding::Utf8, Encoding::Marc8, Encoding::Latin1] {
        let read = |on_error| {
            let projection = Arc::new(Projection {
                leader: true,
                fields: true,
                specs: specs.to_vec(),
                reading: Reading { encoding, nfc: false },
                on_error,
                repairs_column: (on_error == OnError::Repair).then(|| "repairs".into()),
                ..Default::default()
            });
            let options = ReadOptions { threads: 1, ..Default::default() };
            let source = Source::Memory { name: "fuzz".into(), data: bytes.to_vec().into() };
            let mut read = batches(vec![source], &options, &projection).expect("memory sources open");
            let frame = collect(&mut read, &projection).expect("repair and collect never fail");
            let report = read.report().lock().expect("no poisoned lock").clone();
            (frame, report)
        };
        let (repaired, report) = read(OnError::Repair);
        let (collected, _) = read(OnError::Collect);
        assert_eq!(repaired.height(), collected.height());
        let errors = repaired.column("error").unwrap().str().unwrap();
        let raw = repaired.column("raw").unwrap().binary().unwrap();
        let repairs = repaired.column("repairs").unwrap().list().unwrap();
        let mut repaired_rows = 0;
        for row in 0..repaired.height() {
            let listed = repairs.get_as_series(row).map_or(0, |codes| codes.len());
            match (errors.get(row), raw.get(row)) {
                // Repaired: its exact bytes kept, and what was changed listed.
                (None, Some(_)) => {
                    assert!(listed > 0, "row {row} read by repairing it lists no repair");
                    repaired_rows += 1;
                }
                (None, None) | (Some(_), Some(_)) => assert_eq!(listed, 0),
                (Some(_), None) => panic!("a damaged row without its bytes"),
            }
        }
        assert_eq!(report.repaired, repaired_rows);
    }
    let (mut out, mut spans) = (b"before".to_vec(), Vec::<FieldSpan>::new());
    let marc8 = TextCodec::Marc8 { nfc: false };
    for codec in [TextCodec::Utf8, marc8, TextCodec::Latin1] {
        out.truncate(6);
        if repair(bytes, codec, Some(marc8), &mut out, &mut spans).is_ok() {
            let text = std::str::from_utf8(&out[6..]).expect("repaired text is UTF-8");
            for span in &spans {
                assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.start + span.len));
                assert!(text.get(span.tag_at..span.tag_at + 3).is_some());
            }
        } else {
            assert_eq!(out.len(), 6, "a failed repair appends nothing");
        }
    }
});
