//! Fields for the pymarc-compatible API, made here from what the native readers read: as
//! `RawRecord.all_fields` gives them, `(tag, data)` or `(tag, indicators, subfields)`, the
//! indicators and subfields instances of the Python `Indicators` and `Subfield` named tuples.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::marcxml::handler::{self, HandlerContent};
use crate::record::is_control_tag;

/// Makes instances of the `Subfield` and `Indicators` named tuples as `tuple.__new__` makes them,
/// without its call (calling the classes would also run their Python-level `__new__`).
pub(super) struct PairFactory {
    subfield: Py<PyType>,
    indicators: Py<PyType>,
}

impl PairFactory {
    /// `subfield`, `indicators`: tuple classes whose instances have no `__dict__`, as named tuples.
    pub(super) fn new(py: Python<'_>, subfield: Bound<'_, PyAny>, indicators: Bound<'_, PyAny>) -> PyResult<Self> {
        let tuple = py.get_type::<PyTuple>();
        let checked = |class: Bound<'_, PyAny>| -> PyResult<Py<PyType>> {
            let class = class.cast_into::<PyType>()?;
            // What `make_of` and `untracked` rely on: an instance holds its items and nothing else,
            // and is allocated as a tuple (as any class made by a `class` statement is).
            let plain_tuple = class.getattr("__dictoffset__")?.extract::<isize>()? == 0;
            let heap_type = class.getattr("__flags__")?.extract::<u64>()? & ffi::Py_TPFLAGS_HEAPTYPE != 0;
            if !plain_tuple || !heap_type || !class.is_subclass(&tuple)? {
                return Err(PyTypeError::new_err("pairs are made of tuple classes without a __dict__, as named tuples"));
            }
            Ok(class.unbind())
        };
        Ok(PairFactory { subfield: checked(subfield)?, indicators: checked(indicators)? })
    }

    pub(super) fn subfield<'py>(&self, py: Python<'py>, code: &str, value: &str) -> PyResult<Bound<'py, PyAny>> {
        self.make(py, &self.subfield, code, value)
    }

    pub(super) fn indicators<'py>(&self, py: Python<'py>, first: &str, second: &str) -> PyResult<Bound<'py, PyAny>> {
        self.make(py, &self.indicators, first, second)
    }

    fn make<'py>(&self, py: Python<'py>, class: &Py<PyType>, first: &str, second: &str) -> PyResult<Bound<'py, PyAny>> {
        self.make_of(py, class, PyString::new(py, first), PyString::new(py, second))
    }

    /// A pair of the two strings. Allocated directly rather than through `tuple.__new__`: the
    /// all-fields script of `benchmarks/bench_shim.py` went from 4.4 s to 3.4 s.
    fn make_of<'py>(
        &self,
        py: Python<'py>,
        class: &Py<PyType>,
        first: Bound<'py, PyString>,
        second: Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: `class` is a tuple class made in Python without `__dict__` (checked in `new`), so
        // its instances are tuples allocated by `PyType_GenericAlloc` (as `tuple.__new__` does for
        // such a class) with room for two items. A new object has one reference, which
        // `PyTuple_SetItem` requires; it takes over the references to the two strings. The pair is
        // untracked before anything else can see it (see `untracked`).
        unsafe {
            let pair = ffi::PyType_GenericAlloc(class.as_ptr().cast(), 2);
            if pair.is_null() {
                return Err(PyErr::fetch(py));
            }
            let pair = Bound::from_owned_ptr(py, pair);
            if ffi::PyTuple_SetItem(pair.as_ptr(), 0, first.into_ptr()) != 0
                || ffi::PyTuple_SetItem(pair.as_ptr(), 1, second.into_ptr()) != 0
            {
                return Err(PyErr::fetch(py));
            }
            untracked(&pair);
            Ok(pair)
        }
    }
}

/// Takes `pair` out of the cyclic garbage collector's watch, as CPython does itself with exact
/// tuples of strings (but not with named tuples). A script that reads a catalogue into lists holds
/// millions of subfields, and each full pass of the collector went over every one: collections took
/// 6.0 of the 16.0 seconds of the shim benchmark's whole script, 4.4 s once pairs were untracked.
fn untracked(pair: &Bound<'_, PyAny>) {
    // SAFETY: `pair` is a live object of a tuple class without `__dict__` (checked in
    // `PairFactory::new`) holding two `str`s, which hold no references: it can never be part of a
    // reference cycle, and being immutable it stays so, so the collector has nothing to find in it.
    // Untracking a tracked GC object is always allowed (refcounting still frees it); the call is a
    // no-op on an untracked one.
    unsafe { ffi::PyObject_GC_UnTrack(pair.as_ptr().cast()) }
}

/// Makes fields for the pymarc-compatible readers of MARCXML and MARC-in-JSON.
#[pyclass(name = "FieldMaker", module = "marc_polars._native", frozen)]
pub(super) struct PyFieldMaker {
    pairs: PairFactory,
}

#[pymethods]
impl PyFieldMaker {
    #[new]
    fn new(py: Python<'_>, subfield: Bound<'_, PyAny>, indicators: Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyFieldMaker { pairs: PairFactory::new(py, subfield, indicators)? })
    }

    /// The records of the MARCXML document `xml` as pymarc's `XmlHandler(strict)` makes them, each
    /// as `(leader or None, fields)`; `None` where the handler must read the document itself (see
    /// `marcxml::handler`). `xml` must be well-formed.
    #[pyo3(signature = (xml, *, strict = false))]
    fn marcxml<'py>(&self, py: Python<'py>, xml: &[u8], strict: bool) -> PyResult<Option<Bound<'py, PyList>>> {
        let Ok(document) = py.detach(|| handler::read(xml, strict)) else { return Ok(None) };
        let records = PyList::empty(py);
        for record in &document.records {
            let fields = PyList::empty(py);
            for field in document.record_fields(record) {
                let tag = std::str::from_utf8(&field.tag).unwrap_or("???");
                let made = match &field.content {
                    HandlerContent::Control { data } => (tag, document.str(data)).into_pyobject(py)?,
                    HandlerContent::Data { ind1, ind2, subfields } => {
                        let list = PyList::empty(py);
                        for (code, value) in document.subfields(subfields) {
                            list.append(self.pairs.subfield(py, document.str(code), document.str(value))?)?;
                        }
                        let indicators = self.pairs.indicators(py, document.str(ind1), document.str(ind2))?;
                        (tag, indicators, list).into_pyobject(py)?
                    }
                };
                fields.append(made)?;
            }
            records.append((record.leader.as_ref().map(|leader| document.str(leader)), fields))?;
        }
        Ok(Some(records))
    }

    /// `(leader, fields)` of a MARC-in-JSON record object as `JSONReader` makes it; `None` for
    /// anything but the plain form (a leader, fields of one tag each, strings everywhere, control
    /// tags holding a string and the others subfields), which `JSONReader` makes itself.
    fn json_record<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(Bound<'py, PyString>, Bound<'py, PyList>)>> {
        let Ok(record) = record.cast_exact::<PyDict>() else { return Ok(None) };
        let Some(leader) = exact::<PyString>(record.get_item("leader")?) else { return Ok(None) };
        let Some(entries) = exact::<PyList>(record.get_item("fields")?) else { return Ok(None) };
        let fields = PyList::empty(py);
        for entry in entries.iter() {
            let Ok(entry) = entry.cast_exact::<PyDict>() else { return Ok(None) };
            let Some((tag, value)) = entry.iter().next() else { return Ok(None) };
            let Ok(tag) = tag.cast_exact::<PyString>() else { return Ok(None) };
            let Some(tag_bytes) = tag.to_str().ok().and_then(|tag| <[u8; 3]>::try_from(tag.as_bytes()).ok()) else {
                return Ok(None);
            };
            if !tag_bytes.is_ascii() {
                return Ok(None);
            }
            let made = if is_control_tag(&tag_bytes) {
                let Ok(data) = value.cast_exact::<PyString>() else { return Ok(None) };
                (tag, data).into_pyobject(py)?
            } else {
                let Ok(value) = value.cast_exact::<PyDict>() else { return Ok(None) };
                let (Some(ind1), Some(ind2), Some(subfields)) = (
                    exact::<PyString>(value.get_item("ind1")?),
                    exact::<PyString>(value.get_item("ind2")?),
                    exact::<PyList>(value.get_item("subfields")?),
                ) else {
                    return Ok(None);
                };
                let list = PyList::empty(py);
                for subfield in subfields.iter() {
                    let Ok(subfield) = subfield.cast_exact::<PyDict>() else { return Ok(None) };
                    // Each object normally holds one code; any more are kept in order, as by JSONReader.
                    for (code, text) in subfield.iter() {
                        let (Ok(code), Ok(text)) = (code.cast_into_exact::<PyString>(), text.cast_into_exact::<PyString>())
                        else {
                            return Ok(None);
                        };
                        list.append(self.pairs.make_of(py, &self.pairs.subfield, code, text)?)?;
                    }
                }
                let indicators = self.pairs.make_of(py, &self.pairs.indicators, ind1, ind2)?;
                (tag, indicators, list).into_pyobject(py)?
            };
            fields.append(made)?;
        }
        Ok(Some((leader, fields)))
    }
}

/// `item` if it is exactly a `T` (not a subclass, whose methods a script may have changed).
fn exact<'py, T: pyo3::type_object::PyTypeInfo>(item: Option<Bound<'py, PyAny>>) -> Option<Bound<'py, T>> {
    item?.cast_into_exact::<T>().ok()
}
