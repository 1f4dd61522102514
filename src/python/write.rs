//! `write_marc`: lossless frames to records in a form, in a file replaced whole or a binary file
//! object.

use std::io::Write;
use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_polars::PyDataFrame;

use crate::compression::{Codec, Compressor};
use crate::writer::{self, Encoder, Output, Records, WriteError, Written};

impl From<WriteError> for PyErr {
    fn from(error: WriteError) -> PyErr {
        PyValueError::new_err(error.to_string())
    }
}

/// Bytes handed to the file at a time.
const BATCH_BYTES: usize = 4 << 20;

/// Writes the frames `frames` yields (each in the lossless schema), one after another, to `dest` (a
/// path, or a binary file object's `.write`) as records of `format`, a path compressed with
/// `compression` (a codec's name) if given. `check`: check every frame whole before writing (it
/// then must be a list): an invalid frame raises `ValueError` naming the row and writes nothing.
/// A path is replaced only once written whole. Returns the records written, the characters the
/// form could not hold and left out, and the first row they were left out of.
#[pyfunction]
#[pyo3(signature = (frames, dest, *, format = "iso2709", compression = None, check = true))]
pub(super) fn write_marc(
    py: Python<'_>,
    frames: Bound<'_, PyAny>,
    dest: Bound<'_, PyAny>,
    format: &str,
    compression: Option<&str>,
    check: bool,
) -> PyResult<(usize, usize, Option<usize>)> {
    let output = Output::parse(format).ok_or_else(|| PyValueError::new_err(format!("unknown format {format:?}")))?;
    let codec = match compression {
        Some(name) => Some(Codec::named(name).ok_or_else(|| PyValueError::new_err(format!("unknown compression {name:?}")))?),
        None => None,
    };
    if check {
        let all: Vec<PyDataFrame> = frames.extract()?;
        for frame in &all {
            let records = Records::of(&frame.0)?;
            py.detach(|| writer::check(&records, output))?;
        }
    }
    let mut encoder = Encoder::new(output, BATCH_BYTES);
    let written = match dest.extract::<PathBuf>() {
        Ok(path) => {
            let mut failed: Option<PyErr> = None;
            let result = writer::replace_file(&path, |file| {
                let mut sink = Compressor::new(codec, file)?;
                for frame in frames.try_iter().map_err(|e| io_failure(&mut failed, e))? {
                    let frame: PyDataFrame = frame.and_then(|frame| frame.extract()).map_err(|e| io_failure(&mut failed, e))?;
                    let records = Records::of(&frame.0).map_err(|e| io_failure(&mut failed, e.into()))?;
                    let encoded = py.detach(|| encoder.encode(&records, |bytes| sink.write_all(bytes).map_err(Failure::Io)));
                    match encoded {
                        Ok(()) => {}
                        Err(Failure::Io(error)) => return Err(error),
                        Err(Failure::Frame(error)) => return Err(io_failure(&mut failed, error.into())),
                    }
                }
                let mut sink = sink;
                let written = encoder.finish(|bytes| sink.write_all(bytes))?;
                sink.finish()?;
                Ok(written)
            });
            match (result, failed) {
                (_, Some(error)) => return Err(error),
                (Ok(written), None) => written,
                (Err(error), None) => {
                    let code = error.raw_os_error().unwrap_or(0);
                    return Err(PyOSError::new_err((code, error.to_string(), path.display().to_string())));
                }
            }
        }
        Err(_) => {
            let write = |bytes: &[u8]| dest.call_method1("write", (PyBytes::new(py, bytes),)).map(drop);
            for frame in frames.try_iter()? {
                let frame: PyDataFrame = frame?.extract()?;
                encoder.encode(&Records::of(&frame.0)?, write)?;
            }
            encoder.finish(write)?
        }
    };
    let Written { rows, left_out, first_left_out } = written;
    Ok((rows, left_out, first_left_out))
}

/// Why encoding a frame into a file stopped.
enum Failure {
    Io(std::io::Error),
    Frame(WriteError),
}

impl From<WriteError> for Failure {
    fn from(error: WriteError) -> Self {
        Failure::Frame(error)
    }
}

/// Keeps a Python error met while writing a file, to raise once the file is given up.
fn io_failure(failed: &mut Option<PyErr>, error: PyErr) -> std::io::Error {
    let message = error.to_string();
    *failed = Some(error);
    std::io::Error::other(message)
}
