//! MARC-8 decoding for the pymarc-compatible `marc8_to_unicode`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::marc8;

/// One problem `marc8_to_unicode` found: `(offset, kind, code, g0, g1)`.
type Marc8Problem = (usize, &'static str, Option<u32>, u8, u8);

/// MARC-8 bytes to text, starting with the sets whose final bytes are `g0` and `g1` designated
/// (MARC 21's defaults: Basic Latin and ANSEL). Returns `(text, problems, g0, g1)`: the NFC text;
/// each problem as `(offset, kind, code or None, g0, g1)`, kind being a
/// `marc8::ProblemKind::name` and g0/g1 the sets in force there; and the sets in force at the end.
/// `dialect` is "marc21" or "pymarc" (`marc8::Dialect`); the pymarc dialect also takes a `str`,
/// read as pymarc reads one, each code point as a byte (offsets are then character indices).
#[pyfunction]
#[pyo3(signature = (data, g0 = marc8::BASIC_LATIN, g1 = marc8::EXTENDED_LATIN, *, dialect = "marc21"))]
pub(super) fn marc8_to_unicode(
    data: &Bound<'_, PyAny>,
    g0: u8,
    g1: u8,
    dialect: &str,
) -> PyResult<(String, Vec<Marc8Problem>, u8, u8)> {
    let dialect = match dialect {
        "marc21" => marc8::Dialect::Marc21,
        "pymarc" => marc8::Dialect::Pymarc,
        other => return Err(PyValueError::new_err(format!("dialect must be \"marc21\" or \"pymarc\", not {other:?}"))),
    };
    let sets = marc8::Sets { g0, g1 };
    let decoded = if let Ok(text) = data.cast::<PyString>() {
        if dialect != marc8::Dialect::Pymarc {
            return Err(PyTypeError::new_err("MARC-8 data must be bytes, not str (only the pymarc dialect reads str)"));
        }
        // Through UTF-32 with "surrogatepass": a str may hold lone surrogates, which pymarc reads too.
        let utf32 = text.call_method1("encode", ("utf-32-le", "surrogatepass"))?;
        let code_points: Vec<u32> = utf32
            .cast::<PyBytes>()?
            .as_bytes()
            .chunks_exact(4)
            .map(|unit| unit.iter().rev().fold(0, |code, &byte| code << 8 | u32::from(byte)))
            .collect();
        marc8::decode_pymarc_text(&code_points, sets)
    } else {
        marc8::decode_with(data.extract::<&[u8]>()?, sets, dialect)
    };
    let problems = decoded.problems.iter().map(|p| (p.offset, p.kind.name(), p.kind.code(), p.sets.g0, p.sets.g1)).collect();
    Ok((decoded.text, problems, decoded.sets.g0, decoded.sets.g1))
}
