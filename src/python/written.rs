//! Records of the pymarc-compatible API written natively (see `crate::written`): the record's
//! leader and fields copied from its Python objects, when they are in the plain form.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

use crate::written::PlainRecord;

/// The classes of a plain record's parts: `Field`, `Indicators`, `Subfield`.
type Classes<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// A record with leader text `leader` and the `Field` objects `fields` written in `form`:
/// "iso2709" (UTF-8), "json", "xml" (UTF-8), "xml_ascii" or "text". `root_attributes`: the
/// escaped attributes of the MARCXML `record` element. `None` when anything in the record is not
/// plain: a field or pair of another class than `classes`, anything not a string where pymarc has
/// strings, a string Rust cannot hold (lone surrogates).
#[pyfunction]
#[pyo3(signature = (leader, fields, classes, form, root_attributes = ""))]
pub(super) fn written<'py>(
    py: Python<'py>,
    leader: &str,
    fields: &Bound<'py, PyAny>,
    classes: Classes<'py>,
    form: &str,
    root_attributes: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(record) = plain(py, leader, fields, &classes)? else { return Ok(None) };
    Ok(match form {
        "iso2709" => record.iso2709().map(|bytes| PyBytes::new(py, &bytes).into_any()),
        "json" => Some(PyString::new(py, &record.json()).into_any()),
        "xml" | "xml_ascii" => record.xml(root_attributes, form == "xml_ascii").map(|bytes| PyBytes::new(py, &bytes).into_any()),
        "text" => Some(PyString::new(py, &record.text()).into_any()),
        other => return Err(PyValueError::new_err(format!("no form {other:?}"))),
    })
}

/// The record copied, or `None` if it is not plain.
fn plain(py: Python<'_>, leader: &str, fields: &Bound<'_, PyAny>, classes: &Classes<'_>) -> PyResult<Option<PlainRecord>> {
    let (field_class, indicators_class, subfield_class) = classes;
    let Ok(fields) = fields.cast_exact::<PyList>() else { return Ok(None) };
    let mut record = PlainRecord::new(leader);
    for field in fields.iter() {
        if !field.get_type().is(field_class) {
            return Ok(None);
        }
        let tag = field.getattr(intern!(py, "tag"))?;
        let Some(tag) = text(&tag) else { return Ok(None) };
        let control = field.getattr(intern!(py, "control_field"))?;
        if control.is(PyBool::new(py, true)) {
            let data = field.getattr(intern!(py, "data"))?;
            if data.is_none() {
                record.push_control(tag, None);
                continue;
            }
            let Some(data) = text(&data) else { return Ok(None) };
            record.push_control(tag, Some(data));
            continue;
        }
        if !control.is(PyBool::new(py, false)) {
            return Ok(None);
        }
        let pair = field.getattr(intern!(py, "_indicators"))?;
        let Some((ind1, ind2)) = pair_of(&pair, indicators_class) else { return Ok(None) };
        let (Ok(ind1), Ok(ind2)) = (ind1.to_str(), ind2.to_str()) else { return Ok(None) };
        record.push_data(tag, ind1, ind2);
        let subfields = field.getattr(intern!(py, "subfields"))?;
        let Ok(subfields) = subfields.cast_exact::<PyList>() else { return Ok(None) };
        for subfield in subfields.iter() {
            let Some((code, value)) = pair_of(&subfield, subfield_class) else { return Ok(None) };
            let (Ok(code), Ok(value)) = (code.to_str(), value.to_str()) else { return Ok(None) };
            record.push_subfield(code, value);
        }
    }
    Ok(Some(record))
}

/// The two strings of an instance of the named tuple `class`.
fn pair_of<'py>(pair: &Bound<'py, PyAny>, class: &Bound<'_, PyAny>) -> Option<(Bound<'py, PyString>, Bound<'py, PyString>)> {
    if !pair.get_type().is(class) {
        return None;
    }
    let pair = pair.cast::<PyTuple>().ok()?;
    if pair.len() != 2 {
        return None;
    }
    let item = |index| pair.get_item(index).ok()?.cast_into_exact::<PyString>().ok();
    Some((item(0)?, item(1)?))
}

/// The text of an exact `str`.
fn text<'a>(value: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    value.cast_exact::<PyString>().ok()?.to_str().ok()
}
