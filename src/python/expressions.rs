//! MARCspecs for Python: checking one, and the `.marc` expressions, Polars expression plugins that
//! Polars calls in this library without Python, on any engine, with the evaluator decoding uses.

use polars::prelude::{DataType, Field, PolarsError, PolarsResult, Series};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3_polars::derive::polars_expr;
use serde::Deserialize;

use crate::extract;
use crate::spec::Spec;

/// Checks a MARCspec; returns whether it gives a list of values per record (else one string).
#[pyfunction]
pub(super) fn parse_spec(spec: &str) -> PyResult<bool> {
    Spec::parse(spec).map(|spec| spec.is_list()).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// What the `.marc` expressions take besides their column: the MARCspec.
#[derive(Deserialize)]
struct SpecArgument {
    spec: String,
}

impl SpecArgument {
    fn spec(&self) -> PolarsResult<Spec> {
        Spec::parse(&self.spec).map_err(|e| PolarsError::InvalidOperation(e.to_string().into()))
    }
}

fn extract_field(inputs: &[Field], kwargs: SpecArgument) -> PolarsResult<Field> {
    let dtype = if kwargs.spec()?.is_list() { DataType::List(Box::new(DataType::String)) } else { DataType::String };
    Ok(Field::new(inputs[0].name().clone(), dtype))
}

/// `.marc.extract(spec)`: the values `spec` selects in each row of a `fields` (or `leader`) column.
#[polars_expr(output_type_func_with_kwargs = extract_field)]
fn marc_extract(inputs: &[Series], kwargs: SpecArgument) -> PolarsResult<Series> {
    extract::extract(&inputs[0], &kwargs.spec()?)
}

/// `.marc.has(spec)`: whether `spec` selects anything in each row.
#[polars_expr(output_type = Boolean)]
fn marc_has(inputs: &[Series], kwargs: SpecArgument) -> PolarsResult<Series> {
    extract::has(&inputs[0], &kwargs.spec()?)
}
