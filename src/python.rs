//! The binding layer: Python arguments in, `polars.DataFrame`s or typed exceptions out.
//! Everything else lives in the pure-Rust modules.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use polars_buffer::Buffer;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3_polars::{PyDataFrame, PySchema, PySeries};

use crate::columns::{self, Encoding, Projection};
use crate::error::{MarcError, OnError, ReadError};
use crate::report::Report;
use crate::marc8;
use crate::pipeline::{self, Batches, Ordered, ReadOptions};
use crate::records::{self, FieldEntry, RecordBatch, RecordDecoder};
use crate::source::{Framing, Source};
use crate::spec::Spec;
use crate::writer::{self, Records, WriteError};

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
    let instance =
        class.call1((error.to_string(), &error.source, error.record, error.record_offset, error.offset_in_record))?;
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

/// The descriptor of an open file object that is a plain view of a regular file (an `io.FileIO`, or
/// an `io.BufferedReader` or `io.BufferedRandom` over one, not a subclass of these), duplicated, and
/// the object's position; the object is then moved to its end, as if read through. Such a file is
/// read as its path would be (mapped, or read without the GIL), which saves copying every block
/// through a Python `bytes`. Any other file object, or one that cannot seek, is read by `.read`.
#[cfg(unix)]
fn regular_file(item: &Bound<'_, PyAny>) -> PyResult<Option<(std::fs::File, u64)>> {
    use std::os::fd::{BorrowedFd, RawFd};

    let io = item.py().import("io")?;
    let is = |object: &Bound<'_, PyAny>, class: &str| -> PyResult<bool> { Ok(object.get_type().is(io.getattr(class)?)) };
    let raw = if is(item, "BufferedReader")? || is(item, "BufferedRandom")? { item.getattr("raw")? } else { item.clone() };
    if !is(&raw, "FileIO")? || !item.call_method0("readable")?.is_truthy()? || !item.call_method0("seekable")?.is_truthy()? {
        return Ok(None);
    }
    // The logical position: a buffered file may have read ahead of it.
    let start: u64 = item.call_method0("tell")?.extract()?;
    let fd: RawFd = item.call_method0("fileno")?.extract()?;
    // SAFETY: `fd` is the descriptor of a live, open file object, and holding the GIL keeps any
    // Python code from closing it before it is duplicated on the next line.
    let file = std::fs::File::from(unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?);
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    item.call_method1("seek", (0, 2))?;
    Ok(Some((file, start)))
}

#[cfg(not(unix))]
fn regular_file(_item: &Bound<'_, PyAny>) -> PyResult<Option<(std::fs::File, u64)>> {
    Ok(None)
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
        if let Some((file, start)) = regular_file(item)? {
            return Ok(Source::File { name, file, start });
        }
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
    let taken = py.detach(|| batches.batches.lock().unwrap_or_else(|e| e.into_inner()).take());
    let mut taken = taken.ok_or_else(|| PyValueError::new_err("this BatchIterator was already read or closed"))?;
    // The batches are dropped without the GIL too: after an error the reader may still be waiting
    // for the GIL to call a file object's `.read`, and dropping them waits for the reader.
    let projection = &batches.projection;
    let frame = py.detach(move || pipeline::collect(&mut taken, projection));
    frame.map(PyDataFrame).map_err(|e| to_pyerr(py, e))
}

/// DataFrame batches in input order. Once it has ended (or failed) it stays ended.
#[pyclass(name = "BatchIterator", module = "marc_polars._native")]
struct PyBatches {
    batches: Mutex<Option<Batches>>,
    projection: Arc<Projection>,
    report: Arc<Mutex<Report>>,
}

impl PyBatches {
    /// Stops the reader and waits for it with the GIL released: it may be waiting for the GIL
    /// to call a file object's `.read`.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| drop(self.batches.lock().unwrap_or_else(|e| e.into_inner()).take()));
    }
}

#[pymethods]
impl PyBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyDataFrame>> {
        // The lock is taken without the GIL: a thread waiting for it with the GIL held would keep
        // the reader from calling a file object's `.read`, and so the thread holding it waiting.
        let next = py.detach(|| self.batches.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(Batches::next));
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

    /// What the batches read so far left out, kept as damaged or repaired: a dict of `rows`,
    /// `collected`, `repaired`, `skipped` (the errors of the records left out), `junk` ((source,
    /// offset, length) of padding skipped between records) and `repairs` ((source, record, byte
    /// offset of the record, offset in the record, code, count, detail) of each repair); of these
    /// three lists, only the items from `skipped_from`, `junk_from` and `repairs_from` on, so
    /// that a caller keeping up with a long read copies each item once.
    #[pyo3(signature = (skipped_from = 0, junk_from = 0, repairs_from = 0))]
    fn report<'py>(
        &self,
        py: Python<'py>,
        skipped_from: usize,
        junk_from: usize,
        repairs_from: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        let out = PyDict::new(py);
        out.set_item("rows", report.rows)?;
        out.set_item("collected", report.collected.len())?;
        out.set_item("repaired", report.repaired)?;
        let skipped = (report.skipped.iter().skip(skipped_from))
            .map(|error| Ok(marc_error(py, error.clone())?.into_value(py)))
            .collect::<PyResult<Vec<_>>>()?;
        out.set_item("skipped", skipped)?;
        let junk: Vec<_> = report.junk.iter().skip(junk_from).map(|j| (&*j.source, j.offset, j.len)).collect();
        out.set_item("junk", junk)?;
        let repairs: Vec<_> = (report.repairs.iter().skip(repairs_from))
            .map(|n| (&*n.source, n.record, n.record_offset, n.repair.offset, n.repair.kind.code(), n.repair.count, &n.repair.detail))
            .collect();
        out.set_item("repairs", repairs)?;
        Ok(out)
    }

    /// How far the batches handed out so far reach: (input bytes, records, damaged included).
    /// Cheap, and callable from another thread while `read_frame` reads.
    fn progress(&self) -> (u64, u64) {
        let report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        (report.bytes, report.rows + report.skipped.len() as u64)
    }
}

impl Drop for PyBatches {
    fn drop(&mut self) {
        if self.batches.get_mut().map_or(false, |b| b.is_some()) {
            Python::attach(|py| self.stop(py));
        }
    }
}

/// The columns to build and how: `leader` and `fields`, (name, MARCspec) pairs, the names of the
/// columns for the source's name, each record's encoding and its repairs, the encoding of the
/// records' text, and what to do with damaged records. An invalid spec or an unknown option
/// raises `ValueError`.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ProjectionArgs {
    leader: bool,
    fields: bool,
    specs: Vec<(String, String)>,
    source_column: Option<String>,
    encoding_column: Option<String>,
    encoding: String,
    nfc: bool,
    on_error: String,
    repairs_column: Option<String>,
}

impl ProjectionArgs {
    fn projection(self) -> PyResult<Projection> {
        let encoding = Encoding::parse(&self.encoding).ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown encoding {:?}: expected \"auto\", \"utf-8\", \"marc-8\" or \"latin-1\"",
                self.encoding
            ))
        })?;
        let on_error = OnError::parse(&self.on_error).ok_or_else(|| {
            PyValueError::new_err(format!(
                "on_error must be \"raise\", \"skip\", \"collect\" or \"repair\", got {:?}",
                self.on_error
            ))
        })?;
        let specs = (self.specs.into_iter())
            .map(|(name, text)| Ok((name.into(), Spec::parse(&text).map_err(|e| PyValueError::new_err(e.to_string()))?)))
            .collect::<PyResult<_>>()?;
        Ok(Projection {
            leader: self.leader,
            fields: self.fields,
            specs,
            source_column: self.source_column.map(Into::into),
            encoding_column: self.encoding_column.map(Into::into),
            encoding,
            decomposed: !self.nfc,
            on_error,
            repairs_column: self.repairs_column.map(Into::into),
        })
    }
}

/// Starts reading `sources`; `read_frame` collects the result, or Python iterates it. `columns`:
/// a dict of `ProjectionArgs` (default: the lossless columns). `map_files`: map files rather than read them in blocks (see
/// `ReadOptions`).
#[pyfunction]
#[pyo3(signature = (sources, columns = None, *, n_rows = None, threads = 0, chunk_size = pipeline::DEFAULT_CHUNK_SIZE, batch_size = usize::MAX, map_files = false))]
#[allow(clippy::too_many_arguments)]
fn iter_batches(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    columns: Option<ProjectionArgs>,
    n_rows: Option<u64>,
    threads: usize,
    chunk_size: usize,
    batch_size: usize,
    map_files: bool,
) -> PyResult<PyBatches> {
    let projection = Arc::new(columns.map_or_else(|| Ok(Projection::lossless()), ProjectionArgs::projection)?);
    let sources = to_sources(&sources)?;
    let options = ReadOptions { projection: projection.clone(), n_rows, threads, chunk_size, batch_size, map_files, ..Default::default() };
    let batches = py.detach(|| pipeline::batches(sources, &options)).map_err(|e| to_pyerr(py, e))?;
    let report = batches.report();
    Ok(PyBatches { batches: Mutex::new(Some(batches)), projection, report })
}

impl From<WriteError> for PyErr {
    fn from(error: WriteError) -> PyErr {
        PyValueError::new_err(error.to_string())
    }
}

/// Writes a frame in the lossless schema to `dest` (a path, or a binary file object's `.write`) as
/// ISO 2709, checked whole first: an invalid frame raises `ValueError` naming the row and writes
/// nothing. Returns the number of records written.
#[pyfunction]
fn write_marc(py: Python<'_>, frame: PyDataFrame, dest: Bound<'_, PyAny>) -> PyResult<usize> {
    const BATCH_BYTES: usize = 4 << 20;
    let df = frame.0;
    let records = Records::of(&df)?;
    let rows = py.detach(|| writer::check(&records))?;
    match dest.extract::<PathBuf>() {
        Ok(path) => py.detach(|| {
            // Checked whole above: only writing can fail now.
            let written = writer::replace_file(&path, |file| writer::encode(&records, BATCH_BYTES, |bytes| file.write_all(bytes)));
            written.map_err(|error| PyOSError::new_err((error.raw_os_error().unwrap_or(0), error.to_string(), path.display().to_string())))
        })?,
        Err(_) => writer::encode(&records, BATCH_BYTES, |bytes| dest.call_method1("write", (PyBytes::new(py, bytes),)).map(drop))?,
    }
    Ok(rows)
}

/// The schema `iter_batches` gives its batches for these columns.
#[pyfunction]
fn schema(columns: ProjectionArgs) -> PyResult<PySchema> {
    Ok(PySchema(Arc::new(columns::schema(&columns.projection()?))))
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

/// Records one at a time, for the pymarc-compatible reader: each chunk is decoded by the pipeline
/// into a [`RecordBatch`] off the GIL; Python objects are made per record as it is asked for.
/// A framing error ends the iteration with its `marc_polars.exceptions` error, whose
/// `byte_offset` tells the caller where to go on reading the slow way.
#[pyclass(name = "RecordReader", module = "marc_polars._native")]
struct PyRecordReader {
    state: Mutex<RecordCursor>,
    pairs: Arc<PairFactory>,
}

struct RecordCursor {
    batches: Option<Ordered<RecordBatch>>,
    batch: Option<Arc<RecordBatch>>,
    next: usize,
}

/// Makes instances of the Python `Subfield` and `Indicators` named tuples through `tuple.__new__`,
/// which runs in C; calling the classes would run their Python-level `__new__`.
struct PairFactory {
    subfield: Py<PyAny>,
    indicators: Py<PyAny>,
    tuple_new: Py<PyAny>,
}

impl PairFactory {
    fn make<'py>(&self, py: Python<'py>, class: &Py<PyAny>, first: &str, second: &str) -> PyResult<Bound<'py, PyAny>> {
        self.tuple_new.bind(py).call1((class.bind(py), (first, second)))
    }
}

#[pymethods]
impl PyRecordReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyRawRecord>> {
        // Without the GIL, for the reason `BatchIterator.__next__` gives.
        let next = py.detach(|| {
            let mut cursor = self.state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(batch) = &cursor.batch {
                    if cursor.next < batch.records.len() {
                        let record = PyRawRecord { batch: batch.clone(), index: cursor.next, pairs: self.pairs.clone() };
                        cursor.next += 1;
                        return Ok(Some(record));
                    }
                }
                let Some(batches) = cursor.batches.as_mut() else { return Ok(None) };
                match batches.next() {
                    Some(Ok(batch)) => {
                        cursor.batch = Some(Arc::new(batch));
                        cursor.next = 0;
                    }
                    Some(Err(error)) => {
                        cursor.batches = None;
                        return Err(error);
                    }
                    None => {
                        cursor.batches = None;
                        return Ok(None);
                    }
                }
            }
        });
        next.map_err(|error| to_pyerr(py, error))
    }

    /// Stops reading; later calls to `next` raise `StopIteration`.
    fn close(&self, py: Python<'_>) {
        // The reader may be waiting for the GIL to call a file object's `.read`.
        py.detach(|| drop(self.state.lock().unwrap_or_else(|e| e.into_inner()).batches.take()));
    }
}

impl Drop for PyRecordReader {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if state.batches.is_some() {
            let batches = state.batches.take();
            Python::attach(|py| py.detach(move || drop(batches)));
        }
    }
}

/// Starts reading `sources` record by record. `subfield`, `indicators`: the named-tuple classes of
/// the subfields and indicators made.
#[pyfunction]
#[pyo3(signature = (sources, subfield, indicators, *, force_utf8 = false, threads = 0, chunk_size = pipeline::DEFAULT_CHUNK_SIZE))]
#[allow(clippy::too_many_arguments)]
fn read_records(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    subfield: Bound<'_, PyAny>,
    indicators: Bound<'_, PyAny>,
    force_utf8: bool,
    threads: usize,
    chunk_size: usize,
) -> PyResult<PyRecordReader> {
    let sources = to_sources(&sources)?;
    // pymarc's framing, which stops at the first framing error: what follows is pymarc's to read.
    let options = ReadOptions { threads, chunk_size, framing: Framing::Strict, ..Default::default() };
    let batches = py
        .detach(|| pipeline::decode_in_order(sources, &options, RecordDecoder { force_utf8 }))
        .map_err(|e| to_pyerr(py, e))?;
    let tuple_new = py.get_type::<PyTuple>().getattr("__new__")?.unbind();
    Ok(PyRecordReader {
        state: Mutex::new(RecordCursor { batches: Some(batches), batch: None, next: 0 }),
        pairs: Arc::new(PairFactory { subfield: subfield.unbind(), indicators: indicators.unbind(), tuple_new }),
    })
}

/// One record of a [`PyRecordReader`]: its bytes, and for a regular record its leader and fields
/// as Python values, made when asked for.
#[pyclass(name = "RawRecord", module = "marc_polars._native", frozen)]
struct PyRawRecord {
    batch: Arc<RecordBatch>,
    index: usize,
    pairs: Arc<PairFactory>,
}

impl PyRawRecord {
    fn fields(&self) -> &[FieldEntry] {
        self.batch.record_fields(self.index)
    }

    fn field_tuple<'py>(&self, py: Python<'py>, field: &FieldEntry) -> PyResult<Bound<'py, PyTuple>> {
        let tag = std::str::from_utf8(&field.tag).unwrap_or("???");
        let content = self.batch.text(&field.content);
        let Some([ind1, ind2]) = field.indicators else {
            return (tag, content).into_pyobject(py);
        };
        let subfields = PyList::empty(py);
        for (code, value) in records::subfields(content.as_bytes()) {
            // Codes are ASCII and values start and end at delimiters: both are whole UTF-8.
            let code = char::from(code).to_string();
            let value = std::str::from_utf8(value).unwrap_or("\u{FFFD}");
            subfields.append(self.pairs.make(py, &self.pairs.subfield, &code, value)?)?;
        }
        let indicators =
            self.pairs.make(py, &self.pairs.indicators, &char::from(ind1).to_string(), &char::from(ind2).to_string())?;
        (tag, indicators, subfields).into_pyobject(py)
    }
}

#[pymethods]
impl PyRawRecord {
    /// Whether the record was decoded here; if not, read `bytes()` the way pymarc does.
    #[getter]
    fn regular(&self) -> bool {
        self.batch.records[self.index].fields.is_some()
    }

    /// The record's bytes, exactly as read.
    fn bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.batch.bytes(&self.batch.records[self.index].bytes))
    }

    #[getter]
    fn leader(&self) -> &str {
        let start = self.batch.records[self.index].bytes.start;
        self.batch.text(&(start..start + crate::iso2709::LEADER_LEN as u32))
    }

    fn __len__(&self) -> usize {
        self.fields().len()
    }

    /// The position of the first field tagged `tag`, or -1.
    fn find(&self, tag: &str) -> isize {
        let tag = tag.as_bytes();
        self.fields().iter().position(|f| f.tag == tag).map_or(-1, |i| i as isize)
    }

    /// Field `index`: `(tag, data)` for a control field, `(tag, indicators, subfields)` for a data
    /// field.
    fn field<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyTuple>> {
        let field = self.fields().get(index).ok_or_else(|| PyValueError::new_err(format!("no field {index}")))?;
        self.field_tuple(py, field)
    }

    /// Every field, as `field` gives them.
    fn all_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for field in self.fields() {
            out.append(self.field_tuple(py, field)?)?;
        }
        Ok(out)
    }
}

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
fn marc8_to_unicode(
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
    let problems =
        decoded.problems.iter().map(|p| (p.offset, p.kind.name(), p.kind.code(), p.sets.g0, p.sets.g1)).collect();
    Ok((decoded.text, problems, decoded.sets.g0, decoded.sets.g1))
}

#[pyfunction]
fn max_threads() -> usize {
    pipeline::max_threads()
}

#[pyfunction]
fn set_max_threads(threads: usize) {
    pipeline::set_max_threads(threads);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_frame, m)?)?;
    m.add_function(wrap_pyfunction!(iter_batches, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(write_marc, m)?)?;
    m.add_function(wrap_pyfunction!(parse_spec, m)?)?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_function(wrap_pyfunction!(read_records, m)?)?;
    m.add_function(wrap_pyfunction!(marc8_to_unicode, m)?)?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_threads, m)?)?;
    m.add_class::<PyBatches>()?;
    m.add_class::<PyRecordReader>()?;
    m.add_class::<PyRawRecord>()?;
    Ok(())
}
