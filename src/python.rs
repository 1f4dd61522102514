//! The binding layer: Python arguments in, `polars.DataFrame` or a typed exception out.
//! Everything else lives in the pure-Rust modules.

use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use pyo3_polars::PyDataFrame;

use crate::columns::Projection;
use crate::error::{MarcError, ReadError};
use crate::pipeline::{self, ReadOptions};
use crate::source::Source;

/// Turns a reading error into the matching `marc_polars.exceptions` class (or `OSError`).
fn to_pyerr(py: Python<'_>, error: ReadError) -> PyErr {
    match error {
        ReadError::Marc(error) => marc_error(py, error).unwrap_or_else(|e| e),
        ReadError::Io { source_name, error } => {
            // OSError(errno, strerror, filename) picks the subclass, e.g. FileNotFoundError.
            PyOSError::new_err((error.raw_os_error().unwrap_or(0), error.to_string(), source_name))
        }
        ReadError::Polars(error) => PyRuntimeError::new_err(error.to_string()),
        ReadError::Internal(message) => PyRuntimeError::new_err(message),
    }
}

fn marc_error(py: Python<'_>, error: MarcError) -> PyResult<PyErr> {
    let class = py.import("marc_polars.exceptions")?.getattr(error.kind.exception_name())?;
    let instance = class.call1((error.to_string(), &error.source, error.record, error.record_offset))?;
    Ok(PyErr::from_value(instance))
}

/// A source as the Python layer hands it over: a path (already `os.fspath`-ed) or bytes.
fn to_source(item: &Bound<'_, PyAny>, index: usize) -> PyResult<Source> {
    if item.is_instance_of::<PyString>() {
        // Through os.fsencode, so file names that are not valid UTF-8 still work.
        return Ok(Source::Path(item.extract::<PathBuf>()?));
    }
    let data: Vec<u8> = if let Ok(bytes) = item.cast::<PyBytes>() {
        bytes.as_bytes().to_vec()
    } else if let Ok(bytes) = item.cast::<PyByteArray>() {
        bytes.to_vec()
    } else {
        return Err(PyTypeError::new_err(format!("expected str, bytes or bytearray, got {}", item.get_type().name()?)));
    };
    Ok(Source::Memory { name: format!("<bytes #{index}>"), data: data.into() })
}

#[pyfunction]
#[pyo3(signature = (sources, *, leader = true, fields = true, n_rows = None, threads = 0, chunk_size = pipeline::DEFAULT_CHUNK_SIZE))]
fn read_frame(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    leader: bool,
    fields: bool,
    n_rows: Option<u64>,
    threads: usize,
    chunk_size: usize,
) -> PyResult<PyDataFrame> {
    let sources = sources.iter().enumerate().map(|(i, s)| to_source(s, i)).collect::<PyResult<Vec<_>>>()?;
    let options = ReadOptions { projection: Projection { leader, fields }, n_rows, threads, chunk_size };
    py.detach(|| pipeline::read_frame(&sources, &options)).map(PyDataFrame).map_err(|e| to_pyerr(py, e))
}

#[pyfunction]
fn default_threads() -> usize {
    pipeline::default_threads()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_frame, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    Ok(())
}
