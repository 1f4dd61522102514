//! Python objects as sources: paths, `bytes` shared rather than copied, open regular files read
//! through their descriptors, and any other binary file object read by `.read`.

use std::io::{self, Read};
use std::path::PathBuf;

use polars_buffer::Buffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use std::collections::HashMap;
use std::sync::Arc;

use super::errors::to_pyerr;
use crate::compression::{Codec, Compression};
use crate::detect::Format;
use crate::remote::{self, Remote};
use crate::source::Source;

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
pub(super) fn regular_file(item: &Bound<'_, PyAny>) -> PyResult<Option<(std::fs::File, u64)>> {
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
pub(super) fn regular_file(_item: &Bound<'_, PyAny>) -> PyResult<Option<(std::fs::File, u64)>> {
    Ok(None)
}

/// A source as the Python layer hands it over: a path (already `os.fspath`-ed) or a URL (read with
/// the store's `options`), bytes-like, or a binary file object.
pub(super) fn to_source(py: Python<'_>, item: &Bound<'_, PyAny>, index: usize, options: &StorageOptions) -> PyResult<Source> {
    let name = || format!("<source #{index}>");
    if let Ok(text) = item.cast::<PyString>() {
        let text = text.to_cow()?;
        if remote::is_url(&text) {
            return Ok(Source::Remote(Arc::new(Remote::new(&text, options).map_err(|e| to_pyerr(py, e))?)));
        }
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
    Err(PyTypeError::new_err(format!("expected str, bytes, bytearray or a binary file object, got {}", item.get_type().name()?)))
}

pub(super) fn to_sources(py: Python<'_>, sources: &[Bound<'_, PyAny>], options: &StorageOptions) -> PyResult<Vec<Source>> {
    sources.iter().enumerate().map(|(i, s)| to_source(py, s, i, options)).collect()
}

/// `storage_options=` as Polars' cloud readers take it: keys and values of the remote store's
/// settings.
pub(super) type StorageOptions = Vec<(String, String)>;

/// The URLs of the remote objects `pattern` matches, sorted (see `remote::glob`).
#[pyfunction]
#[pyo3(signature = (pattern, storage_options = None))]
pub(super) fn glob_remote(
    py: Python<'_>,
    pattern: &str,
    storage_options: Option<HashMap<String, String>>,
) -> PyResult<Vec<String>> {
    let options: StorageOptions = storage_options.unwrap_or_default().into_iter().collect();
    py.detach(|| remote::glob(pattern, &options)).map_err(|e| to_pyerr(py, e))
}

/// `compression=` as pandas takes it: "infer" (by the magic bytes), `None` (read the bytes as they
/// are), or the name of one codec.
pub(super) fn to_compression(name: Option<&str>) -> PyResult<Compression> {
    match name {
        None => Ok(Compression::Off),
        Some("infer") => Ok(Compression::Infer),
        Some(name) => Codec::named(name).map(Compression::Codec).ok_or_else(|| {
            let names: Vec<String> = Codec::ALL.iter().map(|codec| format!("{:?}", codec.name())).collect();
            PyValueError::new_err(format!("unknown compression {name:?}: \"infer\", None, {}", names.join(", ")))
        }),
    }
}

/// `format=`: "auto" (by the first bytes) or the name of one form.
pub(super) fn to_format(name: &str) -> PyResult<Format> {
    Format::parse(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown format {name:?}: \"auto\", {}", Format::NAMES.join(", "))))
}

/// The compression whose magic bytes `prefix` starts with, by its `compression=` name.
#[pyfunction]
pub(super) fn compression_of(prefix: &[u8]) -> Option<&'static str> {
    Codec::sniff(prefix).map(Codec::name)
}

/// The length of the file (or remote object) at `path`, and whether it can be read in byte
/// ranges: a compressed file, or one whose form does not split, is read as one (see
/// `split::splittable`).
#[pyfunction]
#[pyo3(signature = (path, compression = Some("infer"), format = "auto", storage_options = None))]
pub(super) fn splittable(
    py: Python<'_>,
    path: Bound<'_, PyString>,
    compression: Option<&str>,
    format: &str,
    storage_options: Option<HashMap<String, String>>,
) -> PyResult<(u64, bool)> {
    let (compression, format) = (to_compression(compression)?, to_format(format)?);
    let options: StorageOptions = storage_options.unwrap_or_default().into_iter().collect();
    let source = to_source(py, path.as_any(), 0, &options)?;
    py.detach(|| crate::split::splittable(source, compression, format)).map_err(|e| to_pyerr(py, e))
}
