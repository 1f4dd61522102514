//! Reading errors as Python exceptions: `marc_polars.exceptions` classes, `OSError`, or what a
//! Python file object raised.

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;

use crate::error::{MarcError, ReadError};

/// Turns a reading error into the matching `marc_polars.exceptions` class, `OSError`, or the
/// exception a Python file object raised.
pub(super) fn to_pyerr(py: Python<'_>, error: ReadError) -> PyErr {
    match error {
        ReadError::Marc(error) => marc_error(py, error).unwrap_or_else(|e| e),
        ReadError::Io { source_name, error } => {
            if let Some(errno) = error.raw_os_error() {
                // OSError(errno, strerror, filename) picks the subclass, e.g. FileNotFoundError.
                return PyOSError::new_err((errno, error.to_string(), source_name));
            }
            // A remote object that is not there, or not to be read: the subclass of OSError a
            // local file raises (FileNotFoundError, PermissionError), naming the URL.
            let errno = match error.kind() {
                std::io::ErrorKind::NotFound => Some(2),
                std::io::ErrorKind::PermissionDenied => Some(13),
                _ => None,
            };
            if let Some(errno) = errno {
                return PyOSError::new_err((errno, error.to_string(), source_name));
            }
            match error.into_inner().map(|inner| inner.downcast::<PyErr>()) {
                // What a Python file object's `.read` raised, unchanged.
                Some(Ok(raised)) => *raised,
                Some(Err(inner)) => PyOSError::new_err(format!("{source_name}: {inner}")),
                None => PyOSError::new_err(format!("{source_name}: I/O error")),
            }
        }
        ReadError::Polars(error) => PyRuntimeError::new_err(error.to_string()),
        ReadError::Internal(message) => PyRuntimeError::new_err(message),
    }
}

/// The `marc_polars.exceptions` class of the damage's code, made with its message and place.
pub(super) fn marc_error(py: Python<'_>, error: MarcError) -> PyResult<PyErr> {
    let make = py.import("marc_polars.exceptions")?.getattr("from_code")?;
    let args = (error.kind.code(), error.to_string(), &error.source, error.record, error.record_offset, error.offset_in_record);
    Ok(PyErr::from_value(make.call1(args)?))
}
