//! MARCspecs evaluated on columns already loaded: the lossless `fields` column (or a `leader`
//! column), with the same evaluator that runs while decoding, so the two cannot disagree.

use polars::prelude::{
    DataType, IntoSeries, ListStringChunkedBuilder, ListBuilderTrait, PlSmallStr, PolarsError, PolarsResult, Series,
    StringChunked, StringChunkedBuilder,
};
use polars_arrow::array::{Array, ListArray, StructArray, Utf8ViewArray};

use crate::spec::{RecordView, Spec};

/// The values `spec` selects in each row of `series`, a `leader` column (`String`) for leader specs
/// or a lossless `fields` column for the others; named after `series`, typed as `Spec::is_list` says.
pub fn extract(series: &Series, spec: &Spec) -> PolarsResult<Series> {
    let name = series.name().clone();
    let mut out = Output::new(name, spec, series.len());
    if spec.reads_leader() {
        let leaders = series.str().map_err(|_| wrong_column(spec, series.dtype(), "a leader column (String)"))?;
        for leader in leaders.iter() {
            let record = LeaderOnly(leader);
            out.push(spec, &record);
        }
        return Ok(out.finish());
    }
    let fields = series.list().map_err(|_| wrong_column(spec, series.dtype(), "a lossless fields column"))?;
    for chunk in fields.rechunk().downcast_iter() {
        let columns = FieldColumns::of(chunk).ok_or_else(|| wrong_column(spec, series.dtype(), "a lossless fields column"))?;
        for row in 0..chunk.len() {
            if !chunk.is_valid(row) {
                out.push_null();
                continue;
            }
            let (start, end) = chunk.offsets().start_end(row);
            out.push(spec, &FieldRows { columns: &columns, start, end });
        }
    }
    Ok(out.finish())
}

fn wrong_column(spec: &Spec, dtype: &DataType, wanted: &str) -> PolarsError {
    PolarsError::InvalidOperation(format!("MARCspec {:?} needs {wanted}, got a column of type {dtype}", spec.text()).into())
}

enum Output {
    Single(StringChunkedBuilder),
    List(ListStringChunkedBuilder),
}

impl Output {
    fn new(name: PlSmallStr, spec: &Spec, len: usize) -> Output {
        if spec.is_list() {
            Output::List(ListStringChunkedBuilder::new(name, len, len * 2))
        } else {
            Output::Single(StringChunkedBuilder::new(name, len))
        }
    }

    fn push<'a>(&mut self, spec: &Spec, record: &impl RecordView<'a>) {
        match self {
            Output::Single(builder) => {
                let mut value = None;
                spec.eval(record, &mut |v| value = Some(v));
                builder.append_option(value);
            }
            Output::List(builder) => {
                let mut values: Vec<&str> = Vec::new();
                spec.eval(record, &mut |v| values.push(v));
                builder.append_values_iter(values.into_iter());
            }
        }
    }

    fn push_null(&mut self) {
        match self {
            Output::Single(builder) => builder.append_null(),
            Output::List(builder) => builder.append_null(),
        }
    }

    fn finish(self) -> Series {
        match self {
            Output::Single(builder) => {
                let values: StringChunked = builder.finish();
                values.into_series()
            }
            Output::List(mut builder) => builder.finish().into_series(),
        }
    }
}

struct LeaderOnly<'a>(Option<&'a str>);

impl<'a> RecordView<'a> for LeaderOnly<'a> {
    fn leader(&self) -> Option<&'a str> {
        self.0
    }
    fn field_count(&self) -> usize {
        0
    }
    fn tag(&self, _: usize) -> Option<&'a str> {
        None
    }
    fn control_data(&self, _: usize) -> Option<&'a str> {
        None
    }
    fn indicator(&self, _: usize, _: u8) -> Option<&'a str> {
        None
    }
    fn subfields(&self, _: usize, _: &mut dyn FnMut(&'a str, &'a str)) {}
}

/// The arrays of a lossless `fields` chunk.
struct FieldColumns<'a> {
    tag: &'a Utf8ViewArray,
    ind1: &'a Utf8ViewArray,
    ind2: &'a Utf8ViewArray,
    data: &'a Utf8ViewArray,
    subfields: &'a ListArray<i64>,
    code: &'a Utf8ViewArray,
    value: &'a Utf8ViewArray,
}

impl<'a> FieldColumns<'a> {
    fn of(chunk: &'a ListArray<i64>) -> Option<Self> {
        let fields = chunk.values().as_any().downcast_ref::<StructArray>()?;
        let child = |name: &str| {
            let at = fields.fields().iter().position(|f| f.name.as_str() == name)?;
            Some(&fields.values()[at])
        };
        let string = |name: &str| child(name)?.as_any().downcast_ref::<Utf8ViewArray>();
        let subfields = child("subfields")?.as_any().downcast_ref::<ListArray<i64>>()?;
        let pairs = subfields.values().as_any().downcast_ref::<StructArray>()?;
        let pair = |name: &str| {
            let at = pairs.fields().iter().position(|f| f.name.as_str() == name)?;
            pairs.values()[at].as_any().downcast_ref::<Utf8ViewArray>()
        };
        Some(FieldColumns {
            tag: string("tag")?,
            ind1: string("ind1")?,
            ind2: string("ind2")?,
            data: string("data")?,
            subfields,
            code: pair("code")?,
            value: pair("value")?,
        })
    }
}

/// One row of a `fields` column: fields `start..end` of its chunk's struct arrays.
struct FieldRows<'c, 'a> {
    columns: &'c FieldColumns<'a>,
    start: usize,
    end: usize,
}

impl<'a> RecordView<'a> for FieldRows<'_, 'a> {
    fn leader(&self) -> Option<&'a str> {
        None
    }

    fn field_count(&self) -> usize {
        self.end - self.start
    }

    fn tag(&self, field: usize) -> Option<&'a str> {
        self.columns.tag.get(self.start + field)
    }

    fn control_data(&self, field: usize) -> Option<&'a str> {
        self.columns.data.get(self.start + field)
    }

    fn indicator(&self, field: usize, which: u8) -> Option<&'a str> {
        let column = if which == 1 { self.columns.ind1 } else { self.columns.ind2 };
        column.get(self.start + field)
    }

    fn subfields(&self, field: usize, visit: &mut dyn FnMut(&'a str, &'a str)) {
        let at = self.start + field;
        if !self.columns.subfields.is_valid(at) {
            return;
        }
        let (from, to) = self.columns.subfields.offsets().start_end(at);
        for i in from..to {
            if let (Some(code), Some(value)) = (self.columns.code.get(i), self.columns.value.get(i)) {
                visit(code, value);
            }
        }
    }
}
