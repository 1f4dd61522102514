//! `iter_batches` and `read_frame`: DataFrame batches in input order, the columns asked for, and
//! the tally of what was left out.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::{PyDataFrame, PySchema};

use super::errors::{marc_error, to_pyerr};
use super::sources::{to_compression, to_format, to_sources};
use crate::batches::{self, Batches};
use crate::columns::{self, Projection};
use crate::encoding::{Encoding, Reading};
use crate::error::OnError;
use crate::executor::{self, ReadOptions};
use crate::report::Report;
use crate::spec::Spec;
use std::collections::HashMap;

/// All the batches of an iterator that has not started, as one DataFrame.
#[pyfunction]
pub(super) fn read_frame(py: Python<'_>, batches: &PyBatches) -> PyResult<PyDataFrame> {
    let taken = py.detach(|| batches.batches.lock().unwrap_or_else(|e| e.into_inner()).take());
    let mut taken = taken.ok_or_else(|| PyValueError::new_err("this BatchIterator was already read or closed"))?;
    // The batches are dropped without the GIL too: after an error the reader may still be waiting
    // for the GIL to call a file object's `.read`, and dropping them waits for the reader.
    let projection = &batches.projection;
    let frame = py.detach(move || batches::collect(&mut taken, projection));
    frame.map(PyDataFrame).map_err(|e| to_pyerr(py, e))
}

/// DataFrame batches in input order. Once it has ended (or failed) it stays ended.
#[pyclass(name = "BatchIterator", module = "marc_polars._native")]
pub(super) struct PyBatches {
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
            .map(|n| {
                (&*n.source, n.record, n.record_offset, n.repair.offset, n.repair.kind.code(), n.repair.count, &n.repair.detail)
            })
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
        if self.batches.get_mut().is_ok_and(|b| b.is_some()) {
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
pub(super) struct ProjectionArgs {
    leader: bool,
    fields: bool,
    specs: Vec<(String, String)>,
    source_column: Option<String>,
    offset_column: Option<String>,
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
            .map(|(name, text)| {
                let spec = Spec::parse(&text).map_err(|e| {
                    PyValueError::new_err(format!("unknown column '{text}': neither leader nor fields nor a MARCspec ({e})"))
                })?;
                Ok((name.into(), spec))
            })
            .collect::<PyResult<_>>()?;
        Ok(Projection {
            leader: self.leader,
            fields: self.fields,
            specs,
            source_column: self.source_column.map(Into::into),
            offset_column: self.offset_column.map(Into::into),
            encoding_column: self.encoding_column.map(Into::into),
            reading: Reading { encoding, nfc: self.nfc },
            on_error,
            repairs_column: self.repairs_column.map(Into::into),
        })
    }
}

/// Starts reading `sources`; `read_frame` collects the result, or Python iterates it. `columns`:
/// a dict of `ProjectionArgs` (default: the lossless columns). `map_files`: map files rather than read them in blocks (see
/// `ReadOptions`). `compression`: "infer", `None` or a codec's name (see `to_compression`); `format`: "auto" or a form's name.
#[pyfunction]
#[pyo3(signature = (sources, columns = None, *, n_rows = None, threads = 0, chunk_size = executor::DEFAULT_CHUNK_SIZE, batch_size = usize::MAX, map_files = false, compression = Some("infer"), format = "auto", split = None, storage_options = None))]
#[allow(clippy::too_many_arguments)]
pub(super) fn iter_batches(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    columns: Option<ProjectionArgs>,
    n_rows: Option<u64>,
    threads: usize,
    chunk_size: usize,
    batch_size: usize,
    map_files: bool,
    compression: Option<&str>,
    format: &str,
    split: Option<(u64, u64)>,
    storage_options: Option<HashMap<String, String>>,
) -> PyResult<PyBatches> {
    if split.is_some() && n_rows.is_some() {
        return Err(PyValueError::new_err("a split is read whole: n_rows does not apply"));
    }
    let projection = Arc::new(columns.map_or_else(|| Ok(Projection::lossless()), ProjectionArgs::projection)?);
    let sources = to_sources(py, &sources, &storage_options.unwrap_or_default().into_iter().collect())?;
    let compression = to_compression(compression)?;
    let format = to_format(format)?;
    let split = split.map(|(start, end)| start..end);
    let options =
        ReadOptions { n_rows, threads, chunk_size, batch_size, map_files, compression, format, split, ..Default::default() };
    let batches = py.detach(|| batches::batches(sources, &options, &projection)).map_err(|e| to_pyerr(py, e))?;
    let report = batches.report();
    Ok(PyBatches { batches: Mutex::new(Some(batches)), projection, report })
}

/// The schema `iter_batches` gives its batches for these columns.
#[pyfunction]
pub(super) fn schema(columns: ProjectionArgs) -> PyResult<PySchema> {
    Ok(PySchema(Arc::new(columns::schema(&columns.projection()?))))
}
