//! The binding layer: Python arguments in, `polars.DataFrame`s or typed exceptions out.
//! Everything else lives in the pure-Rust modules.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use polars_buffer::Buffer;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};
use pyo3_polars::{PyDataFrame, PySchema, PySeries};

use crate::columns::{self, Projection};
use crate::error::{MarcError, ReadError};
use crate::pipeline::{self, Batches, ReadOptions};
use crate::source::Source;
use crate::spec::{RecordView, Spec};

/// Turns a reading error into the matching `marc_polars.exceptions` class, `OSError`, or the
/// exception a Python file object raised.
fn to_pyerr(py: Python<'_>, error: ReadError) -> PyErr {
    match error {
        ReadError::Marc(error) => marc_error(py, error).unwrap_or_else(|e| e),
        ReadError::Io { source_name, error } => {
            if let Some(errno) = error.raw_os_error() {
                // OSError(errno, strerror, filename) picks the subclass, e.g. FileNotFoundError.
                return PyOSError::new_err((errno, error.to_string(), source_name));
            }
            match error.into_inner().map(|inner| inner.downcast::<PyErr>()) {
                // What a Python file object's `.read` raised, unchanged.
                Some(Ok(raised)) => *raised,
                Some(Err(inner)) => PyOSError::new_err((0, inner.to_string(), source_name)),
                None => PyOSError::new_err((0, "I/O error".to_string(), source_name)),
            }
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

/// The bytes of a Python `bytes` object, shared with it rather than copied.
struct SharedBytes {
    _owner: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: `bytes` objects are immutable, and `_owner` keeps this one alive (and its buffer where it
// is) for as long as this value exists; reading its bytes needs no GIL. Dropping the `Py` without
// the GIL is deferred by PyO3 until a thread holds it.
unsafe impl Send for SharedBytes {}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see `Send` above: the pointer and length were read from the live object.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A Python binary file object read through `.read(n)`, holding the GIL only for that call.
struct PyStream {
    file: Py<PyAny>,
}

impl Read for PyStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let data = self.file.bind(py).call_method1("read", (buf.len(),)).map_err(io::Error::other)?;
            let mut read = |bytes: &[u8]| -> io::Result<usize> {
                let Some(target) = buf.get_mut(..bytes.len()) else {
                    return Err(io::Error::other(PyValueError::new_err(format!(
                        ".read({}) returned {} bytes",
                        buf.len(),
                        bytes.len()
                    ))));
                };
                target.copy_from_slice(bytes);
                Ok(bytes.len())
            };
            if let Ok(bytes) = data.cast::<PyBytes>() {
                read(bytes.as_bytes())
            } else if let Ok(bytes) = data.cast::<PyByteArray>() {
                read(&bytes.to_vec())
            } else if data.is_none() {
                // A non-blocking stream with nothing ready: report it rather than spin.
                Err(io::Error::other(PyValueError::new_err("the file object's .read() returned None (non-blocking?)")))
            } else {
                let kind = data.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                Err(io::Error::other(PyTypeError::new_err(format!(
                    "expected a binary file object, but its .read() returned {kind}, not bytes"
                ))))
            }
        })
    }
}

/// A source as the Python layer hands it over: a path (already `os.fspath`-ed), bytes-like, or a
/// binary file object.
fn to_source(item: &Bound<'_, PyAny>, index: usize) -> PyResult<Source> {
    let name = || format!("<source #{index}>");
    if item.is_instance_of::<PyString>() {
        // Through os.fsencode, so file names that are not valid UTF-8 still work.
        return Ok(Source::Path(item.extract::<PathBuf>()?));
    }
    if let Ok(bytes) = item.cast::<PyBytes>() {
        let data = bytes.as_bytes();
        let shared = SharedBytes { ptr: data.as_ptr(), len: data.len(), _owner: bytes.clone().unbind() };
        return Ok(Source::Memory { name: format!("<bytes #{index}>"), data: Buffer::from_owner(shared) });
    }
    if let Ok(bytes) = item.cast::<PyByteArray>() {
        // A bytearray can change under us: copy it.
        return Ok(Source::Memory { name: format!("<bytes #{index}>"), data: bytes.to_vec().into() });
    }
    if item.hasattr("read")? {
        let name = item.getattr("name").ok().and_then(|n| n.extract::<String>().ok()).unwrap_or_else(name);
        return Ok(Source::Stream { name, reader: Box::new(PyStream { file: item.clone().unbind() }) });
    }
    Err(PyTypeError::new_err(format!(
        "expected str, bytes, bytearray or a binary file object, got {}",
        item.get_type().name()?
    )))
}

fn to_sources(sources: &[Bound<'_, PyAny>]) -> PyResult<Vec<Source>> {
    sources.iter().enumerate().map(|(i, s)| to_source(s, i)).collect()
}

/// All the batches of an iterator that has not started, as one DataFrame.
#[pyfunction]
fn read_frame(py: Python<'_>, batches: &PyBatches) -> PyResult<PyDataFrame> {
    let taken = batches.batches.lock().unwrap_or_else(|e| e.into_inner()).take();
    let taken = taken.ok_or_else(|| PyValueError::new_err("this BatchIterator was already read or closed"))?;
    py.detach(|| pipeline::collect(taken, &batches.projection)).map(PyDataFrame).map_err(|e| to_pyerr(py, e))
}

/// DataFrame batches in input order. Once it has ended (or failed) it stays ended.
#[pyclass(name = "BatchIterator", module = "marc_polars._native")]
struct PyBatches {
    batches: Mutex<Option<Batches>>,
    projection: Arc<Projection>,
}

impl PyBatches {
    /// Stops the reader and waits for it with the GIL released: it may be waiting for the GIL
    /// to call a file object's `.read`.
    fn stop(&self, py: Python<'_>) {
        let batches = self.batches.lock().unwrap_or_else(|e| e.into_inner()).take();
        py.detach(move || drop(batches));
    }
}

#[pymethods]
impl PyBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyDataFrame>> {
        let next = {
            let mut guard = self.batches.lock().unwrap_or_else(|e| e.into_inner());
            let Some(batches) = guard.as_mut() else { return Ok(None) };
            py.detach(|| batches.next())
        };
        match next {
            Some(Ok(df)) => Ok(Some(PyDataFrame(df))),
            Some(Err(error)) => {
                self.stop(py);
                Err(to_pyerr(py, error))
            }
            None => {
                self.stop(py);
                Ok(None)
            }
        }
    }

    /// Stops reading; later calls to `next` raise `StopIteration`.
    fn close(&self, py: Python<'_>) {
        self.stop(py);
    }
}

impl Drop for PyBatches {
    fn drop(&mut self) {
        if self.batches.get_mut().map_or(false, |b| b.is_some()) {
            Python::attach(|py| self.stop(py));
        }
    }
}

/// The columns to build: `leader` and `fields`, (name, MARCspec) pairs, and the name of a column
/// for the source's name. An invalid spec raises `ValueError`.
fn projection(leader: bool, fields: bool, specs: Vec<(String, String)>, source_column: Option<String>) -> PyResult<Projection> {
    let specs = specs
        .into_iter()
        .map(|(name, text)| Ok((name.into(), Spec::parse(&text).map_err(|e| PyValueError::new_err(e.to_string()))?)))
        .collect::<PyResult<_>>()?;
    Ok(Projection { leader, fields, specs, source_column: source_column.map(Into::into) })
}

/// Starts reading `sources`; `read_frame` collects the result, or Python iterates it.
/// `map_files`: map files rather than read them in blocks (see `ReadOptions`).
#[pyfunction]
#[pyo3(signature = (sources, *, leader = true, fields = true, specs = Vec::new(), source_column = None, n_rows = None, threads = 0, chunk_size = pipeline::DEFAULT_CHUNK_SIZE, batch_size = usize::MAX, map_files = false))]
#[allow(clippy::too_many_arguments)]
fn iter_batches(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    leader: bool,
    fields: bool,
    specs: Vec<(String, String)>,
    source_column: Option<String>,
    n_rows: Option<u64>,
    threads: usize,
    chunk_size: usize,
    batch_size: usize,
    map_files: bool,
) -> PyResult<PyBatches> {
    let projection = Arc::new(projection(leader, fields, specs, source_column)?);
    let sources = to_sources(&sources)?;
    let options = ReadOptions { projection: projection.clone(), n_rows, threads, chunk_size, batch_size, map_files };
    let batches = py.detach(|| pipeline::batches(sources, &options)).map_err(|e| to_pyerr(py, e))?;
    Ok(PyBatches { batches: Mutex::new(Some(batches)), projection })
}

/// The schema `iter_batches` gives its batches for these columns.
#[pyfunction]
#[pyo3(signature = (*, leader = true, fields = true, specs = Vec::new(), source_column = None))]
fn schema(leader: bool, fields: bool, specs: Vec<(String, String)>, source_column: Option<String>) -> PyResult<PySchema> {
    Ok(PySchema(Arc::new(columns::schema(&projection(leader, fields, specs, source_column)?))))
}

/// Checks a MARCspec; returns whether it gives a list of values per record (else one string).
#[pyfunction]
fn parse_spec(spec: &str) -> PyResult<bool> {
    Spec::parse(spec).map(|spec| spec.is_list()).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The values `spec` selects in each row of a loaded `fields` (or `leader`) column.
#[pyfunction]
fn extract(py: Python<'_>, series: PySeries, spec: &str) -> PyResult<PySeries> {
    let spec = Spec::parse(spec).map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.detach(|| crate::extract::extract(&series.0, &spec)).map(PySeries).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The records of a lossless batch as plain Python values, for record-at-a-time readers:
/// `(leader, fields)` per record, each field `(tag, data)` for a control field or
/// `(tag, ind1, ind2, (code, value, code, value, ...))` for a data field, in record order.
#[pyfunction]
fn records<'py>(py: Python<'py>, batch: PyDataFrame) -> PyResult<Bound<'py, PyList>> {
    let column = |name: &str| batch.0.column(name).map(|c| c.as_materialized_series().clone());
    let (leaders, fields) = (column("leader"), column("fields"));
    let (Ok(leaders), Ok(fields)) = (leaders, fields) else {
        return Err(PyValueError::new_err("records() needs a batch with the lossless leader and fields columns"));
    };
    let leaders = leaders.str().map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut leaders = leaders.iter();
    // Only tuples of strings are made here, which cannot form cycles; the cyclic collector would
    // still scan them every 700 allocations (1.5-4x slower, measured). Paused while the GIL is
    // held throughout, so no other Python code runs meanwhile.
    let _paused = GcPause::new(py)?;
    let out = PyList::empty(py);
    let mut failed = None;
    let visited = crate::extract::for_each_row(&fields, |row| {
        if failed.is_some() {
            return;
        }
        let made = record_tuple(py, leaders.next().flatten(), row).and_then(|record| out.append(record));
        if let Err(error) = made {
            failed = Some(error);
        }
    });
    visited.map_err(|e| PyValueError::new_err(e.to_string()))?;
    match failed {
        Some(error) => Err(error),
        None => Ok(out),
    }
}

/// Disables Python's cyclic garbage collector until dropped, if it was enabled.
struct GcPause<'py>(Option<Bound<'py, PyModule>>);

impl<'py> GcPause<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import("gc")?;
        if !gc.call_method0("isenabled")?.is_truthy()? {
            return Ok(GcPause(None));
        }
        gc.call_method0("disable")?;
        Ok(GcPause(Some(gc)))
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.0 {
            let _ = gc.call_method0("enable");
        }
    }
}

fn record_tuple<'py>(py: Python<'py>, leader: Option<&str>, row: Option<&dyn RecordView<'_>>) -> PyResult<Bound<'py, PyTuple>> {
    let mut fields = Vec::with_capacity(row.map_or(0, |r| r.field_count()));
    for field in 0..row.map_or(0, |r| r.field_count()) {
        let row = row.expect("fields only when there is a row");
        let tag = row.tag(field);
        if let Some(data) = row.control_data(field) {
            fields.push(PyTuple::new(py, [tag, Some(data)])?);
            continue;
        }
        // Codes and values in one flat tuple: a tuple per subfield doubled the objects made.
        let mut subfields = Vec::new();
        row.subfields(field, &mut |code, value| subfields.extend([code, value]));
        let subfields = PyTuple::new(py, subfields)?;
        let (ind1, ind2) = (row.indicator(field, 1), row.indicator(field, 2));
        fields.push((tag, ind1, ind2, subfields).into_pyobject(py)?);
    }
    PyTuple::new(py, [leader.into_pyobject(py)?.into_any(), PyTuple::new(py, fields)?.into_any()])
}

#[pyfunction]
fn max_threads() -> usize {
    pipeline::max_threads()
}

#[pyfunction]
fn set_max_threads(threads: usize) {
    pipeline::set_max_threads(threads);
}

/// Test hook: make decoding panic at this record number (`None`: never).
#[pyfunction]
#[pyo3(signature = (record))]
fn _inject_panic(record: Option<u64>) {
    pipeline::inject_panic_at(record);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_frame, m)?)?;
    m.add_function(wrap_pyfunction!(iter_batches, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(parse_spec, m)?)?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_function(wrap_pyfunction!(records, m)?)?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_inject_panic, m)?)?;
    m.add_class::<PyBatches>()?;
    Ok(())
}
