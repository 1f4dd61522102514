//! Column builders: a batch of records to the lossless schema, as one Polars DataFrame.
//!
//! Strings are not copied. The batch's bytes become the data buffer of every string column, and each
//! value is an Arrow string view pointing into it (values of up to 12 bytes are stored inline in the
//! view itself). A record is checked completely before anything of it is pushed, so a damaged record
//! leaves the builders untouched.

use polars::prelude::{Column, DataFrame, DataType, PlSmallStr, Schema, Series};
use polars_arrow::array::{Array, ListArray, StructArray, Utf8ViewArray, View};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::offset::OffsetsBuffer;
use polars_buffer::Buffer;

use crate::encoding;
use crate::error::{Damage, DamageKind};
use crate::iso2709::{DataFieldParts, RecordView};

/// Which of the lossless columns to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Projection {
    pub leader: bool,
    pub fields: bool,
}

impl Projection {
    pub const ALL: Projection = Projection { leader: true, fields: true };
}

fn arrow_str(name: &str) -> ArrowField {
    ArrowField::new(PlSmallStr::from_str(name), ArrowDataType::Utf8View, true)
}

fn arrow_list(inner: ArrowDataType) -> ArrowDataType {
    ArrowDataType::LargeList(Box::new(ArrowField::new(PlSmallStr::from_static("item"), inner, true)))
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

/// The Polars schema of the lossless columns that `projection` selects, in output order.
pub fn lossless_schema(projection: Projection) -> Schema {
    let mut schema = Schema::default();
    if projection.leader {
        schema.insert(PlSmallStr::from_static("leader"), DataType::String);
    }
    if projection.fields {
        let dtype = DataType::from_arrow_dtype(&arrow_list(field_struct()));
        schema.insert(PlSmallStr::from_static("fields"), dtype);
    }
    schema
}

/// String views into one shared buffer, with an optional null mask.
#[derive(Default)]
struct StrColumn {
    views: Vec<View>,
    validity: MutableBitmap,
}

impl StrColumn {
    /// `offset` is where `value` starts in the batch buffer.
    #[inline]
    fn push(&mut self, value: &str, offset: usize) {
        // Batches are cut well below 4 GiB (see `pipeline`), so the offset fits the view's u32.
        self.views.push(View::new_from_bytes(value.as_bytes(), 0, offset as u32));
        self.validity.push(true);
    }

    #[inline]
    fn push_null(&mut self) {
        self.views.push(View::default());
        self.validity.push(false);
    }

    fn finish(self, buffer: &Buffer<u8>) -> Box<dyn Array> {
        let validity: Option<Bitmap> = self.validity.into();
        // Only columns with values longer than 12 bytes need the data buffer.
        let buffers: Buffer<Buffer<u8>> =
            if self.views.iter().any(|v| v.length > View::MAX_INLINE_SIZE) { vec![buffer.clone()].into() } else { Buffer::new() };
        let array = Utf8ViewArray::try_new(ArrowDataType::Utf8View, self.views.into(), buffers, validity)
            .expect("views were built from validated UTF-8 slices of the buffer");
        array.boxed()
    }
}

/// List offsets with a null mask.
struct ListColumn {
    offsets: Vec<i64>,
    validity: MutableBitmap,
}

impl Default for ListColumn {
    fn default() -> Self {
        ListColumn { offsets: vec![0], validity: MutableBitmap::new() }
    }
}

impl ListColumn {
    #[inline]
    fn push(&mut self, end: usize, valid: bool) {
        self.offsets.push(end as i64);
        self.validity.push(valid);
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn finish(self, inner: ArrowDataType, values: Box<dyn Array>) -> Box<dyn Array> {
        // Offsets are pushed from the running length of `values`: monotone by construction.
        let offsets = OffsetsBuffer::try_from(self.offsets).expect("monotone offsets");
        ListArray::<i64>::new(arrow_list(inner), offsets, values, self.validity.into()).boxed()
    }
}

/// Builds the lossless columns for the records of one batch buffer.
pub struct BatchBuilder {
    buffer: Buffer<u8>,
    projection: Projection,
    rows: usize,
    leader: StrColumn,
    fields: ListColumn,
    tag: StrColumn,
    ind1: StrColumn,
    ind2: StrColumn,
    data: StrColumn,
    subfields: ListColumn,
    code: StrColumn,
    value: StrColumn,
}

impl BatchBuilder {
    pub fn new(buffer: Buffer<u8>, projection: Projection) -> Self {
        assert!(buffer.len() <= u32::MAX as usize, "a batch buffer must be smaller than 4 GiB");
        BatchBuilder {
            buffer,
            projection,
            rows: 0,
            leader: StrColumn::default(),
            fields: ListColumn::default(),
            tag: StrColumn::default(),
            ind1: StrColumn::default(),
            ind2: StrColumn::default(),
            data: StrColumn::default(),
            subfields: ListColumn::default(),
            code: StrColumn::default(),
            value: StrColumn::default(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds the record that occupies `start..end` of the buffer (a range from framing).
    pub fn push_record(&mut self, start: usize, end: usize) -> Result<(), Damage> {
        let buffer = self.buffer.clone();
        let bytes = &buffer[start..end];
        let record = RecordView::parse(bytes)?;
        let text = encoding::decode_utf8(bytes).map_err(|at| invalid_utf8(&record, at))?;
        let text = &text[..];
        if self.projection.fields {
            check_indicators(&record)?;
        }
        // Every slice below lies between ASCII delimiters or directory offsets of a record that is
        // valid UTF-8 throughout; `str_at` still checks the character boundaries the directory gives.
        let str_at = |from: usize, to: usize| -> Result<&str, Damage> {
            text.get(from..to).ok_or_else(|| {
                Damage::new(DamageKind::InvalidUtf8, from, format!("bytes {from}..{to} split a UTF-8 character"))
            })
        };
        let leader = str_at(0, crate::iso2709::LEADER_LEN)?;
        for field in record.fields() {
            str_at(field.start, field.start + field.content.len())?;
        }
        self.rows += 1;
        if self.projection.leader {
            self.leader.push(leader, start);
        }
        if !self.projection.fields {
            return Ok(());
        }
        for field in record.fields() {
            let field_at = start + field.start;
            let content = &text[field.start..field.start + field.content.len()];
            // Tags are printable ASCII (checked with the directory).
            let tag = std::str::from_utf8(field.tag).expect("ASCII tag");
            self.tag.push(tag, 0);
            if field.is_control() {
                self.ind1.push_null();
                self.ind2.push_null();
                self.data.push(content, field_at);
                self.subfields.push(self.code.views.len(), false);
                continue;
            }
            self.data.push_null();
            let parts = DataFieldParts::split(content.as_bytes());
            let mut indicators = content[..parts.indicators.len()].chars();
            let (ind1, ind2) = (indicators.next().unwrap_or(' '), indicators.next().unwrap_or(' '));
            self.ind1.push(ind1.encode_utf8(&mut [0; 4]), 0);
            self.ind2.push(ind2.encode_utf8(&mut [0; 4]), 0);
            for subfield in parts.subfields() {
                let sub_at = subfield.as_ptr() as usize - content.as_ptr() as usize;
                // `subfield` is bounded by ASCII delimiters inside valid UTF-8: a whole string.
                let subfield = &content[sub_at..sub_at + subfield.len()];
                let code_len = subfield.chars().next().map_or(0, char::len_utf8);
                self.code.push(&subfield[..code_len], 0);
                self.value.push(&subfield[code_len..], field_at + sub_at + code_len);
            }
            self.subfields.push(self.code.views.len(), true);
        }
        self.fields.push(self.tag.views.len(), true);
        Ok(())
    }

    pub fn finish(self) -> DataFrame {
        let buffer = &self.buffer;
        let mut columns = Vec::new();
        if self.projection.leader {
            columns.push(series("leader", self.leader.finish(buffer)));
        }
        if self.projection.fields {
            let subfield_len = self.subfields.len();
            let subfield_values = StructArray::new(
                subfield_struct(),
                self.code.views.len(),
                vec![self.code.finish(buffer), self.value.finish(buffer)],
                None,
            )
            .boxed();
            let subfields = self.subfields.finish(subfield_struct(), subfield_values);
            let fields_values = StructArray::new(
                field_struct(),
                subfield_len,
                vec![
                    self.tag.finish(buffer),
                    self.ind1.finish(buffer),
                    self.ind2.finish(buffer),
                    self.data.finish(buffer),
                    subfields,
                ],
                None,
            )
            .boxed();
            columns.push(series("fields", self.fields.finish(field_struct(), fields_values)));
        }
        DataFrame::new(self.rows, columns).expect("columns of equal length")
    }
}

fn series(name: &str, array: Box<dyn Array>) -> Column {
    Series::from_arrow(PlSmallStr::from_str(name), array).expect("arrow dtype of the lossless schema").into()
}

/// Every data field must start with exactly two indicator characters: the schema keeps one
/// character in each of `ind1` and `ind2`, and anything else could not be written back unchanged.
fn check_indicators(record: &RecordView<'_>) -> Result<(), Damage> {
    for field in record.fields().filter(|f| !f.is_control()) {
        let indicators = DataFieldParts::split(field.content).indicators;
        let chars = std::str::from_utf8(indicators).map_or(usize::MAX, |s| s.chars().count());
        if chars != 2 {
            return Err(Damage::new(
                DamageKind::BadIndicators,
                field.start,
                format!(
                    "field {} has {} bytes before its first subfield, not two indicators: {:?}",
                    String::from_utf8_lossy(field.tag),
                    indicators.len(),
                    String::from_utf8_lossy(indicators)
                ),
            ));
        }
    }
    Ok(())
}

fn invalid_utf8(record: &RecordView<'_>, at: usize) -> Damage {
    let place = record
        .fields()
        .find(|f| (f.start..=f.start + f.content.len()).contains(&at))
        .map(|f| format!("in field {}", String::from_utf8_lossy(f.tag)))
        .unwrap_or_else(|| "in the leader or directory".to_string());
    let leader09 = record.leader()[9] as char;
    Damage::new(
        DamageKind::InvalidUtf8,
        at,
        format!("invalid UTF-8 at byte {at} of the record, {place} (leader/09 is {leader09:?})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::{build, sample};

    fn frame_of(records: &[Vec<u8>], projection: Projection) -> Result<DataFrame, Damage> {
        let bytes: Vec<u8> = records.concat();
        let mut builder = BatchBuilder::new(bytes.into(), projection);
        let mut at = 0;
        for record in records {
            builder.push_record(at, at + record.len())?;
            at += record.len();
        }
        Ok(builder.finish())
    }

    #[test]
    fn builds_the_lossless_schema() {
        let df = frame_of(&[sample(), sample()], Projection::ALL).unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.schema().as_ref(), &lossless_schema(Projection::ALL));
        let fields = df.column("fields").unwrap().list().unwrap().get_as_series(0).unwrap();
        let fields = fields.struct_().unwrap();
        let tags: Vec<_> = fields.field_by_name("tag").unwrap().str().unwrap().into_no_null_iter().collect();
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
        let values: Vec<_> = title.field_by_name("value").unwrap().str().unwrap().into_no_null_iter().collect();
        assert_eq!(values, ["A title /", "by me."]);
        let leader = df.column("leader").unwrap().str().unwrap().get(0).unwrap().to_string();
        assert_eq!(leader.len(), 24);
        assert!(leader.ends_with("a 4500"));
    }

    #[test]
    fn builds_only_the_projected_columns() {
        let df = frame_of(&[sample()], Projection { leader: true, fields: false }).unwrap();
        assert_eq!(df.get_column_names(), ["leader"]);
        let df = frame_of(&[sample()], Projection { leader: false, fields: true }).unwrap();
        assert_eq!(df.get_column_names(), ["fields"]);
    }

    #[test]
    fn an_empty_batch_has_the_schema() {
        let df = frame_of(&[], Projection::ALL).unwrap();
        assert_eq!(df.height(), 0);
        assert_eq!(df.schema().as_ref(), &lossless_schema(Projection::ALL));
    }

    #[test]
    fn rejects_invalid_utf8_naming_the_field() {
        let record = build(b"00000nam a2200000 a 4500", &[("001", b"1"), ("245", b"10\x1fa\xff")]);
        let damage = frame_of(&[record], Projection::ALL).unwrap_err();
        assert_eq!(damage.kind, DamageKind::InvalidUtf8);
        assert!(damage.detail.contains("field 245"), "{}", damage.detail);
    }

    #[test]
    fn rejects_a_data_field_without_two_indicators() {
        let record = build(b"00000nam a2200000 a 4500", &[("245", b"1\x1faTitle")]);
        let damage = frame_of(&[record], Projection::ALL).unwrap_err();
        assert_eq!(damage.kind, DamageKind::BadIndicators);
    }

    #[test]
    fn keeps_multibyte_values_and_codes() {
        let record = build(b"00000nam a2200000 a 4500", &[("880", "10\x1faКот и пёс\x1féx".as_bytes())]);
        let df = frame_of(&[record], Projection::ALL).unwrap();
        let fields = df.column("fields").unwrap().list().unwrap().get_as_series(0).unwrap();
        let subs = fields.struct_().unwrap().field_by_name("subfields").unwrap();
        let subs = subs.list().unwrap().get_as_series(0).unwrap();
        let subs = subs.struct_().unwrap();
        let codes: Vec<_> = subs.field_by_name("code").unwrap().str().unwrap().into_no_null_iter().collect();
        let values: Vec<_> = subs.field_by_name("value").unwrap().str().unwrap().into_no_null_iter().collect();
        assert_eq!(codes, ["a", "é"]);
        assert_eq!(values, ["Кот и пёс", "x"]);
    }
}
