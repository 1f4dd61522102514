//! The binding layer: Python arguments in, `polars.DataFrame`s or typed exceptions out, one file
//! per job. Everything else lives in the pure-Rust modules.

mod batches;
mod errors;
mod expressions;
mod fields;
mod records;
mod sources;
mod text;
mod write;
mod written;

use pyo3::prelude::*;

use crate::executor;

#[pyfunction]
fn max_threads() -> usize {
    executor::max_threads()
}

#[pyfunction]
fn set_max_threads(threads: usize) {
    executor::set_max_threads(threads);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(batches::read_frame, m)?)?;
    m.add_function(wrap_pyfunction!(batches::iter_batches, m)?)?;
    m.add_function(wrap_pyfunction!(batches::schema, m)?)?;
    m.add_function(wrap_pyfunction!(write::write_marc, m)?)?;
    m.add_function(wrap_pyfunction!(expressions::parse_spec, m)?)?;
    m.add_function(wrap_pyfunction!(records::read_records, m)?)?;
    m.add_function(wrap_pyfunction!(text::marc8_to_unicode, m)?)?;
    m.add_function(wrap_pyfunction!(written::written, m)?)?;
    m.add_function(wrap_pyfunction!(sources::compression_of, m)?)?;
    m.add_function(wrap_pyfunction!(sources::splittable, m)?)?;
    m.add_function(wrap_pyfunction!(sources::glob_remote, m)?)?;
    m.add("PREFIX_LEN", crate::detect::PREFIX_LEN)?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_max_threads, m)?)?;
    m.add_class::<batches::PyBatches>()?;
    m.add_class::<records::PyRecordReader>()?;
    m.add_class::<records::PyRawRecord>()?;
    m.add_class::<fields::PyFieldMaker>()?;
    Ok(())
}
