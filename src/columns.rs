//! Column builders: a batch of records to the selected columns (the lossless ones, MARCspec ones),
//! as one Polars DataFrame.
//!
//! Strings are not copied. The batch's bytes become the data buffer of every string column, and each
//! value is an Arrow string view pointing into it (values of up to 12 bytes are stored inline in the
//! view itself); only when `fields` is not built are the few values kept copied out, so that the
//! batch's bytes can be freed. A record is checked completely before anything of it is pushed, so a
//! damaged record leaves the builders untouched.

use std::sync::Arc;

use polars::prelude::{AnyValue, Column, DataFrame, DataType, PlSmallStr, Scalar, Schema, Series};
use polars_arrow::array::{Array, StructArray};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_buffer::Buffer;

use crate::encoding::{Reading, TextCodec};
use crate::error::{Damage, MarcError, OnError};
use crate::form::{Form, Framed, Scratch, Target};
use crate::record::{split_data_field, RecordText};
use crate::report::Repairs;
use crate::spec::Spec;
use crate::views::{arrow_list, arrow_str, Buffers, ListColumn, RawColumn, StrColumn, Text, TextBuffers};

/// Which columns to build: the lossless ones, derived ones selected by MARCspecs, and the name of a
/// column holding the source's name.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub leader: bool,
    pub fields: bool,
    /// Output name and spec of each derived column, in output order.
    pub specs: Vec<(PlSmallStr, Spec)>,
    pub source_column: Option<PlSmallStr>,
    /// The name of a column holding each record's byte offset in its (decompressed) source.
    pub offset_column: Option<PlSmallStr>,
    /// How records' text is read.
    pub reading: Reading,
    /// The name of a column saying which encoding each record was read in, if one is wanted.
    pub encoding_column: Option<PlSmallStr>,
    /// What to do with damaged records; `Collect` and `Repair` add the `error` and `raw` columns.
    pub on_error: OnError,
    /// The name of a column listing the repairs made to each record, if one is wanted.
    pub repairs_column: Option<PlSmallStr>,
}

/// Names of the columns `on_error="collect"` and `"repair"` add: what is wrong with a record (null
/// if nothing), and the exact bytes of a damaged (or repaired) record.
pub const ERROR_COLUMN: &str = "error";
pub const RAW_COLUMN: &str = "raw";

impl Projection {
    /// The lossless columns.
    pub fn lossless() -> Projection {
        Projection { leader: true, fields: true, ..Default::default() }
    }

    /// Whether damaged records are kept as rows, with the `error` and `raw` columns.
    pub fn keeps_damaged(&self) -> bool {
        matches!(self.on_error, OnError::Collect | OnError::Repair)
    }
}

fn subfield_struct() -> ArrowDataType {
    ArrowDataType::Struct(vec![arrow_str("code"), arrow_str("value")])
}

fn field_struct() -> ArrowDataType {
    ArrowDataType::Struct(vec![
        arrow_str("tag"),
        arrow_str("ind1"),
        arrow_str("ind2"),
        arrow_str("data"),
        ArrowField::new(PlSmallStr::from_static("subfields"), arrow_list(subfield_struct()), true),
    ])
}

/// The Polars schema of the columns that `projection` selects, in the order batches have them.
pub fn schema(projection: &Projection) -> Schema {
    let mut schema = Schema::default();
    if projection.leader {
        schema.insert(PlSmallStr::from_static("leader"), DataType::String);
    }
    if projection.fields {
        let dtype = DataType::from_arrow_dtype(&arrow_list(field_struct()));
        schema.insert(PlSmallStr::from_static("fields"), dtype);
    }
    for (name, spec) in &projection.specs {
        let dtype = if spec.is_list() { DataType::List(Box::new(DataType::String)) } else { DataType::String };
        schema.insert(name.clone(), dtype);
    }
    if let Some(name) = &projection.encoding_column {
        schema.insert(name.clone(), DataType::String);
    }
    if projection.keeps_damaged() {
        schema.insert(PlSmallStr::from_static(ERROR_COLUMN), DataType::String);
        schema.insert(PlSmallStr::from_static(RAW_COLUMN), DataType::Binary);
    }
    if let Some(name) = &projection.repairs_column {
        schema.insert(name.clone(), DataType::List(Box::new(DataType::String)));
    }
    if let Some(name) = &projection.source_column {
        schema.insert(name.clone(), DataType::String);
    }
    if let Some(name) = &projection.offset_column {
        schema.insert(name.clone(), DataType::UInt64);
    }
    schema
}

/// The lossless columns under construction.
#[derive(Default)]
struct Columns {
    leader: StrColumn,
    fields: ListColumn,
    tag: StrColumn,
    ind1: StrColumn,
    ind2: StrColumn,
    data: StrColumn,
    subfields: ListColumn,
    /// Set for each data field, clear for each control field: the null mask of `ind1`, `ind2` and
    /// `subfields`, and negated that of `data`, pushed once per field rather than four times.
    is_data: MutableBitmap,
    code: StrColumn,
    value: StrColumn,
    encoding: StrColumn,
    error: StrColumn,
    raw: RawColumn,
    /// The codes of each record's repairs.
    repairs: ListColumn,
    repair_codes: StrColumn,
    /// Each record's byte offset in its source.
    offsets: Vec<u64>,
}

/// The column of one MARCspec: at most one value per record, or a list.
enum SpecColumn {
    Single(StrColumn),
    List { lists: ListColumn, values: StrColumn },
}

impl SpecColumn {
    fn new(spec: &Spec) -> SpecColumn {
        if spec.is_list() {
            SpecColumn::List { lists: ListColumn::default(), values: StrColumn::default() }
        } else {
            SpecColumn::Single(StrColumn::default())
        }
    }

    fn push<'a>(&mut self, spec: &Spec, record: &RecordText<'a>, text: Text<'_>) {
        match self {
            SpecColumn::Single(column) => {
                let mut value = None;
                spec.eval(record, &mut |v| value = Some(v));
                match value {
                    Some(value) => column.push_slice(value, text),
                    None => column.push_null(),
                }
            }
            SpecColumn::List { lists, values } => {
                spec.eval(record, &mut |v| values.push_slice(v, text));
                lists.push(values.len(), true);
            }
        }
    }

    /// Room for `records` rows (and, for lists, one value each: most specs select one or none).
    fn reserve(&mut self, records: usize) {
        match self {
            SpecColumn::Single(column) => column.reserve(records),
            SpecColumn::List { lists, values } => {
                lists.reserve(records);
                values.reserve(records);
            }
        }
    }

    fn finish(self, buffers: &Buffers, compact: bool) -> Box<dyn Array> {
        match self {
            SpecColumn::Single(column) => column.finish(buffers, compact),
            SpecColumn::List { lists, values } => lists.finish(ArrowDataType::Utf8View, values.finish(buffers, compact)),
        }
    }
}

/// Builds the selected columns for the records of one batch buffer, read by a [`Form`].
pub struct BatchBuilder {
    form: Arc<dyn Form>,
    text: TextBuffers,
    projection: Arc<Projection>,
    rows: usize,
    /// The byte offset of the buffer's start in its source.
    offset: u64,
    columns: Columns,
    spec_columns: Vec<SpecColumn>,
    /// Room for the fields of the record being added, reused from record to record.
    scratch: Scratch,
}

impl BatchBuilder {
    /// A batch of the records of `buffer`, which lies at byte `offset` of its source.
    pub fn new(form: Arc<dyn Form>, buffer: Buffer<u8>, offset: u64, projection: Arc<Projection>) -> Self {
        let spec_columns = projection.specs.iter().map(|(_, spec)| SpecColumn::new(spec)).collect();
        BatchBuilder {
            form,
            text: TextBuffers::new(buffer),
            projection,
            rows: 0,
            offset,
            columns: Columns::default(),
            spec_columns,
            scratch: Scratch::default(),
        }
    }

    /// Reserves room for `records` (as framed), so the columns grow without reallocating.
    pub fn reserve_for(&mut self, records: &[Framed]) {
        let c = &mut self.columns;
        if self.projection.leader {
            c.leader.reserve(records.len());
        }
        for column in &mut self.spec_columns {
            column.reserve(records.len());
        }
        if !self.projection.fields {
            return;
        }
        let (fields, subfields) = self.form.capacity(self.text.input_bytes(), records);
        c.fields.reserve(records.len());
        for column in [&mut c.tag, &mut c.ind1, &mut c.ind2, &mut c.data] {
            column.reserve(fields);
        }
        c.subfields.reserve(fields);
        c.is_data.reserve(fields);
        c.code.reserve(subfields);
        c.value.reserve(subfields);
        for column in [&mut c.tag, &mut c.ind1, &mut c.ind2, &mut c.data, &mut c.code, &mut c.value] {
            column.prefault();
        }
        c.subfields.prefault();
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds the record that occupies `start..end` of the buffer (a range from framing), or gives
    /// its damage, adding nothing.
    pub fn push_record(&mut self, start: usize, end: usize) -> Result<(), Damage> {
        let codec = self.read_with(|form, to| form.read(start..end, to))?;
        self.push_row_notes(codec);
        self.push_offset(start);
        Ok(())
    }

    /// Adds a damaged record (`on_error="collect"`): what can be read of it, its error, and its
    /// exact bytes.
    pub fn push_damaged(&mut self, start: usize, end: usize, error: &MarcError) {
        let codec = self.read_with(|form, to| form.salvage(start..end, to));
        let at = self.text.decoded_bytes().len();
        self.text.decoded_mut().extend_from_slice(error.column_text().as_bytes());
        let message = std::str::from_utf8(&self.text.decoded_bytes()[at..]).expect("messages are UTF-8");
        self.columns.error.push_slice(message, self.text.decoded());
        self.push_kept_notes(codec, start, end);
    }

    /// Adds a damaged record as a careful cataloguer reads it (`on_error="repair"`), with its exact
    /// bytes; the repairs made, or an error (and nothing added) if no repair reads it.
    pub fn push_repaired(&mut self, start: usize, end: usize) -> Result<Repairs, Damage> {
        let (codec, repairs) = self.read_with(|form, to| form.repair(start..end, to))?;
        self.columns.error.push_null();
        if self.projection.repairs_column.is_some() {
            // Codes are longer than a view holds inline: kept with the decoded text.
            for repair in &repairs.0 {
                let at = self.text.decoded_bytes().len();
                self.text.decoded_mut().extend_from_slice(repair.kind.code().as_bytes());
                let code = std::str::from_utf8(&self.text.decoded_bytes()[at..]).expect("codes are ASCII");
                self.columns.repair_codes.push_unmasked(code, self.text.decoded());
            }
        }
        self.push_kept_notes(codec, start, end);
        Ok(repairs)
    }

    /// Lets the form read a record into this batch: its text goes to the batch's buffers, and on
    /// to the columns.
    fn read_with<R>(&mut self, read: impl FnOnce(&dyn Form, &mut Target<'_, '_>) -> R) -> R {
        let BatchBuilder { form, text, projection, columns, spec_columns, scratch, .. } = self;
        let mut push = |record: &RecordText<'_>, at: Text<'_>| push_columns(projection, columns, spec_columns, record, at);
        read(&**form, &mut Target { text, reading: projection.reading, scratch, push: &mut push })
    }

    /// Ends the row of a record kept with its bytes (damaged, or repaired): its encoding, its raw
    /// bytes, and its repairs' codes, pushed before.
    fn push_kept_notes(&mut self, codec: TextCodec, start: usize, end: usize) {
        let c = &mut self.columns;
        if self.projection.encoding_column.is_some() {
            c.encoding.push_short(codec.name());
        }
        c.raw.push(&self.text.input_bytes()[start..end], start);
        if self.projection.repairs_column.is_some() {
            c.repairs.push(c.repair_codes.len(), true);
        }
        self.rows += 1;
        self.push_offset(start);
    }

    /// Ends a row with the offset of its record, which starts at `start` of the buffer.
    fn push_offset(&mut self, start: usize) {
        if self.projection.offset_column.is_some() {
            self.columns.offsets.push(self.offset + start as u64);
        }
    }

    /// Ends a sound record's row: its encoding, under `on_error="collect"` (or `"repair"`) null
    /// error and raw, and no repairs.
    fn push_row_notes(&mut self, codec: TextCodec) {
        let c = &mut self.columns;
        if self.projection.encoding_column.is_some() {
            c.encoding.push_short(codec.name());
        }
        if self.projection.keeps_damaged() {
            c.error.push_null();
            c.raw.push_null();
        }
        if self.projection.repairs_column.is_some() {
            c.repairs.push(c.repair_codes.len(), true);
        }
        self.rows += 1;
    }

    /// The batch as a DataFrame; `source_name` fills the source column, if one is selected.
    pub fn finish(self, source_name: &str) -> DataFrame {
        let buffers = self.text.finish();
        let buffer = &buffers;
        let c = self.columns;
        // Without `fields`, the other columns hold a small part of the batch's text: copied out,
        // they let the batch buffer go (a scan of a few MARCspecs then keeps a few bytes a record
        // rather than the whole input).
        let compact = !self.projection.fields;
        let mut columns = Vec::new();
        if self.projection.leader {
            columns.push(series("leader", c.leader.finish(buffer, compact)));
        }
        if self.projection.fields {
            let field_count = c.subfields.len();
            let is_data: Option<Bitmap> = c.is_data.into();
            // Without a control field, the data column is all null.
            let is_control = is_data.as_ref().map_or_else(|| Bitmap::new_zeroed(field_count), |mask| !mask);
            let subfield_values = StructArray::new(
                subfield_struct(),
                c.code.len(),
                vec![c.code.finish(buffer, false), c.value.finish(buffer, false)],
                None,
            )
            .boxed();
            let subfields = c.subfields.finish_masked(subfield_struct(), subfield_values, is_data.clone());
            let members = vec![
                c.tag.finish(buffer, false),
                c.ind1.finish_masked(buffer, is_data.clone()),
                c.ind2.finish_masked(buffer, is_data),
                c.data.finish_masked(buffer, Some(is_control)),
                subfields,
            ];
            let fields_values = StructArray::new(field_struct(), field_count, members, None).boxed();
            columns.push(series("fields", c.fields.finish(field_struct(), fields_values)));
        }
        for ((name, _), column) in self.projection.specs.iter().zip(self.spec_columns) {
            columns.push(series(name, column.finish(buffer, compact)));
        }
        if let Some(name) = &self.projection.encoding_column {
            columns.push(series(name, c.encoding.finish(buffer, false)));
        }
        if self.projection.keeps_damaged() {
            columns.push(series(ERROR_COLUMN, c.error.finish(buffer, compact)));
            columns.push(series(RAW_COLUMN, c.raw.finish(buffer.input(), compact || !buffer.input_used())));
        }
        if let Some(name) = &self.projection.repairs_column {
            columns.push(series(name, c.repairs.finish(ArrowDataType::Utf8View, c.repair_codes.finish(buffer, false))));
        }
        if let Some(name) = &self.projection.source_column {
            let value = Scalar::new(DataType::String, AnyValue::StringOwned(source_name.into()));
            columns.push(Column::new_scalar(name.clone(), value, self.rows));
        }
        if let Some(name) = &self.projection.offset_column {
            columns.push(Column::new(name.clone(), c.offsets));
        }
        DataFrame::new(self.rows, columns).expect("columns of equal length")
    }
}

/// Pushes a checked record, whose text lies in `text`, to the selected columns.
fn push_columns(
    projection: &Projection,
    c: &mut Columns,
    spec_columns: &mut [SpecColumn],
    record: &RecordText<'_>,
    text: Text<'_>,
) {
    for ((_, spec), column) in projection.specs.iter().zip(spec_columns.iter_mut()) {
        column.push(spec, record, text);
    }
    if projection.leader {
        c.leader.push_slice(&record.text[..record.leader_len], text);
    }
    if !projection.fields {
        return;
    }
    for (index, field) in record.spans.iter().enumerate() {
        let content = record.content(index);
        // Tags are printable ASCII (checked with the directory): a slice of the text as it is.
        c.tag.push_unmasked(&record.text[field.tag_at..field.tag_at + 3], text);
        if field.is_control() {
            c.ind1.push_unmasked_null();
            c.ind2.push_unmasked_null();
            c.data.push_unmasked(content, text);
            c.subfields.push_unmasked(c.code.len());
            c.is_data.push(false);
            continue;
        }
        c.data.push_unmasked_null();
        let (ind1, ind2, subfields) = split_data_field(content);
        c.ind1.push_unmasked(ind1, text);
        c.ind2.push_unmasked(ind2, text);
        for (code, value) in subfields {
            c.code.push_unmasked(code, text);
            c.value.push_unmasked(value, text);
        }
        c.subfields.push_unmasked(c.code.len());
        c.is_data.push(true);
    }
    c.fields.push(c.tag.len(), true);
}

fn series(name: &str, array: Box<dyn Array>) -> Column {
    Series::from_arrow(PlSmallStr::from_str(name), array).expect("arrow dtype of the schema").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DamageKind;
    use crate::iso2709::tests::{build, sample};

    fn strings(series: &Series) -> Vec<String> {
        let values = series.str().unwrap();
        (0..values.len()).map(|i| values.get(i).expect("no null").to_string()).collect()
    }

    fn frame_of(records: &[Vec<u8>], projection: Arc<Projection>) -> Result<DataFrame, Damage> {
        let bytes: Vec<u8> = records.concat();
        let mut builder = BatchBuilder::new(crate::iso2709::form(), bytes.into(), 0, projection);
        let mut at = 0;
        for record in records {
            builder.push_record(at, at + record.len())?;
            at += record.len();
        }
        Ok(builder.finish(""))
    }

    /// The subfield values of field `field` of record `row`.
    fn values_of(df: &DataFrame, row: usize, field: usize) -> Vec<String> {
        let fields = df.column("fields").unwrap().list().unwrap().get_as_series(row).unwrap();
        let subfields = fields.struct_().unwrap().field_by_name("subfields").unwrap();
        let subfields = subfields.list().unwrap().get_as_series(field).unwrap();
        strings(&subfields.struct_().unwrap().field_by_name("value").unwrap())
    }

    const MARC8_LEADER: &[u8; 24] = b"00000nam  2200000   4500";

    #[test]
    fn marc8_records_are_decoded_field_by_field() {
        // ANSEL's acute (0xE2) precedes its letter, and is read as a combining acute after it (LC's
        // decomposed text, the default); ESC b ... ESC s is a subscript run.
        let marc8 = build(MARC8_LEADER, &[("001", b"x1"), ("245", b"10\x1faCaf\xe2e\x1fbCO\x1bb2\x1bs")]);
        let projection =
            Arc::new(Projection { specs: vec![("title".into(), Spec::parse("245$a").unwrap())], ..Projection::lossless() });
        let df = frame_of(&[marc8.clone(), sample(), marc8.clone()], projection).unwrap();
        assert_eq!(values_of(&df, 0, 1), ["Cafe\u{301}", "CO\u{2082}"]);
        assert_eq!(values_of(&df, 2, 1), ["Cafe\u{301}", "CO\u{2082}"]);
        assert_eq!(values_of(&df, 1, 1), ["A title /", "by me."]);
        // The leader is kept as read: leader/09 still says MARC-8.
        let leader = df.column("leader").unwrap().str().unwrap().get(0).unwrap().to_string();
        assert_eq!(leader.as_bytes()[9], b' ');
        let titles = df.column("title").unwrap().list().unwrap().get_as_series(0).unwrap();
        assert_eq!(strings(&titles), ["Cafe\u{301}"]);
        // Composed, when asked.
        let reading = Reading { nfc: true, ..Reading::default() };
        let df = frame_of(&[marc8], Arc::new(Projection { reading, ..Projection::lossless() })).unwrap();
        assert_eq!(values_of(&df, 0, 1), ["Caf\u{e9}", "CO\u{2082}"]);
    }

    #[test]
    fn a_record_labelled_marc8_holding_utf8_is_read_as_utf8() {
        let record = build(MARC8_LEADER, &[("245", "10\u{1f}aCaf\u{e9}".as_bytes())]);
        let df = frame_of(&[record], Arc::new(Projection::lossless())).unwrap();
        assert_eq!(values_of(&df, 0, 0), ["Caf\u{e9}"]);
    }

    #[test]
    fn bytes_marc8_cannot_read_name_their_field_and_offset() {
        // 0xCF is unassigned in ANSEL (and not UTF-8 here).
        let record = build(MARC8_LEADER, &[("001", b"x1"), ("245", b"10\x1faab\xcf")]);
        let damage = frame_of(std::slice::from_ref(&record), Arc::new(Projection::lossless())).unwrap_err();
        assert_eq!(damage.kind, DamageKind::InvalidMarc8);
        assert_eq!(record[damage.offset], 0xCF, "{damage:?}");
        assert!(damage.detail.contains("field 245"), "{damage:?}");
    }

    #[test]
    fn builds_the_lossless_schema() {
        let df = frame_of(&[sample(), sample()], Arc::new(Projection::lossless())).unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.schema().as_ref(), &schema(&Projection::lossless()));
        let fields = df.column("fields").unwrap().list().unwrap().get_as_series(0).unwrap();
        let fields = fields.struct_().unwrap();
        let tags = strings(&fields.field_by_name("tag").unwrap());
        assert_eq!(tags, ["001", "245", "650"]);
        let data = fields.field_by_name("data").unwrap();
        assert_eq!(data.str().unwrap().get(0), Some("12345"));
        assert_eq!(data.null_count(), 2);
        let ind1 = fields.field_by_name("ind1").unwrap();
        assert_eq!(ind1.str().unwrap().get(1), Some("1"));
        assert_eq!(ind1.str().unwrap().get(0), None);
        let subfields = fields.field_by_name("subfields").unwrap();
        let title = subfields.list().unwrap().get_as_series(1).unwrap();
        let title = title.struct_().unwrap();
        let values = strings(&title.field_by_name("value").unwrap());
        assert_eq!(values, ["A title /", "by me."]);
        let leader = df.column("leader").unwrap().str().unwrap().get(0).unwrap().to_string();
        assert_eq!(leader.len(), 24);
        assert!(leader.ends_with("a 4500"));
    }

    #[test]
    fn null_masks_hold_for_batches_of_only_data_fields_or_only_control_fields() {
        let leader = b"00000nam a2200000 a 4500";
        for (fields, nulls) in [
            (&[("245", &b"10\x1faA title"[..]), ("650", b" 0\x1faA subject")][..], [0, 0, 2, 0]),
            (&[("001", &b"12345"[..]), ("005", b"20160101")][..], [2, 2, 0, 2]),
        ] {
            let df = frame_of(&[build(leader, fields)], Arc::new(Projection::lossless())).unwrap();
            let fields = df.column("fields").unwrap().list().unwrap().get_as_series(0).unwrap();
            let fields = fields.struct_().unwrap();
            let counted = ["ind1", "ind2", "data", "subfields"].map(|name| fields.field_by_name(name).unwrap().null_count());
            assert_eq!(counted, nulls, "{:?}", fields.fields_as_series());
        }
    }

    #[test]
    fn builds_only_the_projected_columns() {
        let df = frame_of(&[sample()], Arc::new(Projection { leader: true, ..Default::default() })).unwrap();
        assert_eq!(df.get_column_names(), ["leader"]);
        let df = frame_of(&[sample()], Arc::new(Projection { fields: true, ..Default::default() })).unwrap();
        assert_eq!(df.get_column_names(), ["fields"]);
    }

    #[test]
    fn an_empty_batch_has_the_schema() {
        let df = frame_of(&[], Arc::new(Projection::lossless())).unwrap();
        assert_eq!(df.height(), 0);
        assert_eq!(df.schema().as_ref(), &schema(&Projection::lossless()));
    }

    #[test]
    fn rejects_invalid_utf8_naming_the_field() {
        let record = build(b"00000nam a2200000 a 4500", &[("001", b"1"), ("245", b"10\x1fa\xff")]);
        let damage = frame_of(&[record], Arc::new(Projection::lossless())).unwrap_err();
        assert_eq!(damage.kind, DamageKind::InvalidUtf8);
        assert!(damage.detail.contains("field 245"), "{}", damage.detail);
    }

    #[test]
    fn rejects_a_data_field_without_two_indicators() {
        let record = build(b"00000nam a2200000 a 4500", &[("245", b"1\x1faTitle")]);
        let damage = frame_of(&[record], Arc::new(Projection::lossless())).unwrap_err();
        assert_eq!(damage.kind, DamageKind::BadIndicators);
    }

    #[test]
    fn keeps_multibyte_values_and_codes() {
        let record = build(b"00000nam a2200000 a 4500", &[("880", "10\x1faКот и пёс\x1féx".as_bytes())]);
        let df = frame_of(&[record], Arc::new(Projection::lossless())).unwrap();
        let fields = df.column("fields").unwrap().list().unwrap().get_as_series(0).unwrap();
        let subs = fields.struct_().unwrap().field_by_name("subfields").unwrap();
        let subs = subs.list().unwrap().get_as_series(0).unwrap();
        let subs = subs.struct_().unwrap();
        let codes = strings(&subs.field_by_name("code").unwrap());
        let values = strings(&subs.field_by_name("value").unwrap());
        assert_eq!(codes, ["a", "é"]);
        assert_eq!(values, ["Кот и пёс", "x"]);
    }
}
