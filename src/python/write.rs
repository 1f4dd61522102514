//! `write_marc`: a lossless frame to ISO 2709, in a file replaced whole or a binary file object.

use std::io::Write;
use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_polars::PyDataFrame;

use crate::writer::{self, Records, WriteError};

impl From<WriteError> for PyErr {
    fn from(error: WriteError) -> PyErr {
        PyValueError::new_err(error.to_string())
    }
}

/// Writes a frame in the lossless schema to `dest` (a path, or a binary file object's `.write`) as
/// ISO 2709, checked whole first: an invalid frame raises `ValueError` naming the row and writes
/// nothing. Returns the number of records written.
#[pyfunction]
pub(super) fn write_marc(py: Python<'_>, frame: PyDataFrame, dest: Bound<'_, PyAny>) -> PyResult<usize> {
    const BATCH_BYTES: usize = 4 << 20;
    let df = frame.0;
    let records = Records::of(&df)?;
    let rows = py.detach(|| writer::check(&records))?;
    match dest.extract::<PathBuf>() {
        Ok(path) => py.detach(|| {
            // Checked whole above: only writing can fail now.
            let written =
                writer::replace_file(&path, |file| writer::encode(&records, BATCH_BYTES, |bytes| file.write_all(bytes)));
            written.map_err(|error| {
                PyOSError::new_err((error.raw_os_error().unwrap_or(0), error.to_string(), path.display().to_string()))
            })
        })?,
        Err(_) => {
            writer::encode(&records, BATCH_BYTES, |bytes| dest.call_method1("write", (PyBytes::new(py, bytes),)).map(drop))?
        }
    }
    Ok(rows)
}
