//! The record reader behind `marc_polars.pymarc`: records decoded in batches off the GIL, made
//! into Python values one at a time as they are asked for.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use super::errors::to_pyerr;
use super::fields::PairFactory;
use super::sources::to_sources;
use crate::detect::Format;
use crate::executor::{self, Ordered, ReadOptions};
use crate::form::Framing;
use crate::records::{self, FieldEntry, RecordBatch, RecordDecoder};

/// Records one at a time, for the pymarc-compatible reader: each chunk is decoded by the executor
/// into a [`RecordBatch`] off the GIL; Python objects are made per record as it is asked for.
/// A framing error ends the iteration with its `marc_polars.exceptions` error, whose
/// `byte_offset` tells the caller where to go on reading the slow way.
#[pyclass(name = "RecordReader", module = "marc_polars._native")]
pub(super) struct PyRecordReader {
    state: Mutex<RecordCursor>,
    pairs: Arc<PairFactory>,
}

struct RecordCursor {
    batches: Option<Ordered<RecordBatch>>,
    batch: Option<Arc<RecordBatch>>,
    next: usize,
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
/// the subfields and indicators made; `marc8`: whether records not in UTF-8 are MARC-8.
#[pyfunction]
#[pyo3(signature = (sources, subfield, indicators, *, force_utf8 = false, marc8 = true, threads = 0, chunk_size = executor::DEFAULT_CHUNK_SIZE))]
#[allow(clippy::too_many_arguments)]
pub(super) fn read_records(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    subfield: Bound<'_, PyAny>,
    indicators: Bound<'_, PyAny>,
    force_utf8: bool,
    marc8: bool,
    threads: usize,
    chunk_size: usize,
) -> PyResult<PyRecordReader> {
    let sources = to_sources(py, &sources, &Vec::new())?;
    // pymarc's framing, which stops at the first framing error: what follows is pymarc's to read.
    // Records are read from their ISO 2709 bytes: `parse_xml_to_array` and `JSONReader` read the others.
    let options = ReadOptions { threads, chunk_size, framing: Framing::Strict, format: Format::Iso2709, ..Default::default() };
    let batches = py
        .detach(|| executor::decode_in_order(sources, &options, RecordDecoder { force_utf8, marc8 }))
        .map_err(|e| to_pyerr(py, e))?;
    let pairs = Arc::new(PairFactory::new(py, subfield, indicators)?);
    Ok(PyRecordReader { state: Mutex::new(RecordCursor { batches: Some(batches), batch: None, next: 0 }), pairs })
}

/// One record of a [`PyRecordReader`]: its bytes, and for a regular record its leader and fields
/// as Python values, made when asked for.
#[pyclass(name = "RawRecord", module = "marc_polars._native", frozen)]
pub(super) struct PyRawRecord {
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
        let content = self.batch.content(field);
        let Some([ind1, ind2]) = field.indicators else {
            return (tag, content).into_pyobject(py);
        };
        let subfields = PyList::empty(py);
        // Codes and indicators are ASCII (checked when the batch was made) and values start and end
        // at delimiters: all are whole UTF-8.
        fn ascii(byte: &u8) -> &str {
            std::str::from_utf8(std::slice::from_ref(byte)).unwrap_or("?")
        }
        for (code, value) in records::subfields(content.as_bytes()) {
            let value = std::str::from_utf8(value).unwrap_or("\u{FFFD}");
            subfields.append(self.pairs.subfield(py, ascii(&code), value)?)?;
        }
        let indicators = self.pairs.indicators(py, ascii(&ind1), ascii(&ind2))?;
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
