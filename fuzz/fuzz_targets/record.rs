//! Decoding any framed bytes into every column, in every form and encoding, collecting damage:
//! never a panic, and every record becomes a row.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use marc_polars::batches::read_frame;
use marc_polars::columns::Projection;
use marc_polars::detect::Format;
use marc_polars::encoding::{Encoding, Reading};
use marc_polars::error::{DamageKind, OnError, ReadError};
use marc_polars::executor::ReadOptions;
use marc_polars::source::Source;
use marc_polars::spec::Spec;

fuzz_target!(|bytes: &[u8]| {
    let specs = ["LDR/05", "001", "245$a", "6..$a", "880[0]$6", "008/35-37", "100[0]$a[0]"]
        .map(|spec| (spec.into(), Spec::parse(spec).expect("valid spec")));
    let forms = [Format::Auto, Format::MarcXml, Format::Json];
    for (encoding, format) in [Encoding::Auto, Encoding::Utf8, Encoding::Marc8, Encoding::Latin1].into_iter().zip(forms.into_iter().cycle()) {
        for on_error in [OnError::Collect, OnError::Skip, OnError::Raise] {
            let projection = Projection {
                leader: true,
                fields: true,
                specs: specs.to_vec(),
                reading: Reading { encoding, nfc: false },
                encoding_column: Some("encoding".into()),
                on_error,
                ..Default::default()
            };
            let options = ReadOptions { threads: 1, format, ..Default::default() };
            let source = Source::Memory { name: "fuzz".into(), data: bytes.to_vec().into() };
            match read_frame(vec![source], &options, &Arc::new(projection)) {
                Ok(frame) => assert!(frame.height() <= bytes.len()),
                // Input that is no MARC is refused whatever `on_error` says.
                Err(ReadError::Marc(error)) if error.kind == DamageKind::UnknownFormat => {}
                Err(error) => assert_eq!(on_error, OnError::Raise, "{error}"),
            }
        }
    }
});
