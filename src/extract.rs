//! MARCspecs evaluated on columns already loaded: the lossless `fields` column (or a `leader`
//! column), with the same evaluator that runs while decoding, so the two cannot disagree.

use polars::prelude::{
    BooleanChunkedBuilder, ChunkedBuilder, DataType, IntoSeries, ListBuilderTrait, ListStringChunkedBuilder, PlSmallStr,
    PolarsError, PolarsResult, Series, StringChunked, StringChunkedBuilder,
};
use polars_arrow::array::{Array, ListArray, StructArray, Utf8ViewArray};

use crate::spec::{RecordView, Spec};

/// The values `spec` selects in each row of `series`, a `leader` column (`String`) for leader specs
/// or a lossless `fields` column for the others; named after `series`, typed as `Spec::is_list` says.
pub fn extract(series: &Series, spec: &Spec) -> PolarsResult<Series> {
    let mut out = Output::new(series.name().clone(), spec, series.len());
    for_each_record(series, spec, |row| match row {
        Some(record) => out.push(spec, record),
        None => out.push_null(),
    })?;
    Ok(out.finish())
}

/// Whether `spec` selects anything in each row of `series` (as [`extract`] takes it): `Boolean`,
/// null for a null row of a `fields` column.
pub fn has(series: &Series, spec: &Spec) -> PolarsResult<Series> {
    let mut out = BooleanChunkedBuilder::new(series.name().clone(), series.len());
    for_each_record(series, spec, |row| {
        out.append_option(row.map(|record| {
            let mut found = false;
            spec.eval(record, &mut |_| found = true);
            found
        }))
    })?;
    Ok(out.finish().into_series())
}

/// Calls `visit` with each row of `series` as a record: a `leader` column for a leader spec, a
/// lossless `fields` column for the others (`None` for a null row of it).
fn for_each_record(series: &Series, spec: &Spec, mut visit: impl for<'a> FnMut(Option<&dyn RecordView<'a>>)) -> PolarsResult<()> {
    if spec.reads_leader() {
        let leaders = series.str().map_err(|_| wrong_column(spec, series.dtype(), "a leader column (String)"))?;
        for leader in leaders.iter() {
            visit(Some(&LeaderOnly(leader)));
        }
        return Ok(());
    }
    for_each_row(series, visit).map_err(|_| wrong_column(spec, series.dtype(), "a lossless fields column"))
}

/// Calls `visit` with each row of a lossless `fields` column in turn, as a record without its
/// leader (`None` for a null row). Fails if `fields` does not have the lossless dtype.
pub fn for_each_row(fields: &Series, mut visit: impl for<'a> FnMut(Option<&dyn RecordView<'a>>)) -> PolarsResult<()> {
    let not_lossless = || PolarsError::SchemaMismatch(format!("not a lossless fields column: {}", fields.dtype()).into());
    let lists = fields.list().map_err(|_| not_lossless())?;
    for chunk in lists.rechunk().downcast_iter() {
        let columns = FieldColumns::of(chunk).ok_or_else(not_lossless)?;
        for row in 0..chunk.len() {
            if !chunk.is_valid(row) {
                visit(None);
                continue;
            }
            let (start, end) = chunk.offsets().start_end(row);
            visit(Some(&FieldRows { columns: &columns, start, end }));
        }
    }
    Ok(())
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

    fn push<'a, R: RecordView<'a> + ?Sized>(&mut self, spec: &Spec, record: &R) {
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
pub(crate) struct FieldColumns<'a> {
    pub tag: &'a Utf8ViewArray,
    pub ind1: &'a Utf8ViewArray,
    pub ind2: &'a Utf8ViewArray,
    pub data: &'a Utf8ViewArray,
    pub subfields: &'a ListArray<i64>,
    pub code: &'a Utf8ViewArray,
    pub value: &'a Utf8ViewArray,
}

impl<'a> FieldColumns<'a> {
    /// The arrays of `chunk`, or `None` if it does not have the lossless schema's types.
    pub fn of(chunk: &'a ListArray<i64>) -> Option<Self> {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::columns::{BatchBuilder, Projection};
    use crate::iso2709::tests::build;

    #[test]
    fn agrees_with_the_columns_built_while_decoding() {
        let records = [
            build(
                b"00000nam a2200000 a 4500",
                &[
                    ("001", b"12345"),
                    ("007", b"ta"),
                    ("007", b"cr"),
                    ("245", "10\x1faUn titre é /\x1fcby me.\x1f\x1fbx".as_bytes()),
                    ("650", b" 0\x1faCats.\x1faDogs."),
                    ("650", b" 7\x1faBirds.\x1f2fast"),
                ],
            ),
            build(b"00000cam a2200000 a 4500", &[("001", b"6"), ("100", b"1 \x1faAuthor")]),
        ];
        let texts = ["LDR/05-07", "001", "007[#]", "245$a/3-#", "245$a-c", "650[1]$a[0]", "65.$a", "650^2", "6..$2"];
        let specs = texts.iter().map(|t| (PlSmallStr::from_str(t), Spec::parse(t).unwrap())).collect();
        let projection = Arc::new(Projection { leader: true, fields: true, specs, ..Default::default() });
        let bytes: Vec<u8> = records.concat();
        let mut builder = BatchBuilder::new(crate::iso2709::form(), bytes.into(), 0, projection);
        builder.push_record(0, records[0].len()).unwrap();
        builder.push_record(records[0].len(), records[0].len() + records[1].len()).unwrap();
        let df = builder.finish("");
        for text in texts {
            let spec = Spec::parse(text).unwrap();
            let input = df.column(if spec.reads_leader() { "leader" } else { "fields" }).unwrap();
            let extracted = extract(input.as_materialized_series(), &spec).unwrap();
            let decoded = df.column(text).unwrap().as_materialized_series();
            assert_eq!(extracted.dtype(), decoded.dtype(), "{text}");
            assert!(extracted.equals_missing(decoded), "{text}: {extracted:?} != {decoded:?}");
        }
        let list = |text: &str| df.column(text).unwrap().list().unwrap().get_as_series(0).unwrap();
        assert_eq!(list("650^2").str().unwrap().iter().collect::<Vec<_>>(), [Some("0"), Some("7")]);
        assert_eq!(df.column("007[#]").unwrap().str().unwrap().get(0), Some("cr"));
        assert_eq!(df.column("007[#]").unwrap().str().unwrap().get(1), None);
    }
}
