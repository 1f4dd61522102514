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
use polars_arrow::array::{Array, BinaryViewArray, ListArray, StructArray, Utf8ViewArray, View};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::offset::OffsetsBuffer;
use polars_buffer::Buffer;

use crate::{encoding, marc8};
use crate::error::{Damage, DamageKind, MarcError, OnError};
use crate::iso2709::{parse_digits, parse_record, DataFieldParts, FieldSpan, LEADER_LEN, SUBFIELD_DELIMITER};
use crate::repair::{repair, RepairKind, Repairs};
use crate::salvage::{salvage, TextCodec};
use crate::source::Framed;
use crate::spec::{RecordView, Spec};

/// Which columns to build: the lossless ones, derived ones selected by MARCspecs, and the name of a
/// column holding the source's name.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub leader: bool,
    pub fields: bool,
    /// Output name and spec of each derived column, in output order.
    pub specs: Vec<(PlSmallStr, Spec)>,
    pub source_column: Option<PlSmallStr>,
    pub encoding: Encoding,
    /// The name of a column saying which encoding each record was read in, if one is wanted.
    pub encoding_column: Option<PlSmallStr>,
    /// Keep MARC-8 text as decoded, each base letter followed by its marks, rather than NFC.
    pub decomposed: bool,
    /// What to do with damaged records; `Collect` and `Repair` add the `error` and `raw` columns.
    pub on_error: OnError,
    /// The name of a column listing the repairs made to each record, if one is wanted.
    pub repairs_column: Option<PlSmallStr>,
}

/// Names of the columns `on_error="collect"` and `"repair"` add: what is wrong with a record (null
/// if nothing), and the exact bytes of a damaged (or repaired) record.
pub const ERROR_COLUMN: &str = "error";
pub const RAW_COLUMN: &str = "raw";

/// How records' bytes become text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// As leader/09 says (`a`: UTF-8, else MARC-8), except that a record labelled MARC-8 whose
    /// bytes are valid UTF-8 without escape sequences is read as UTF-8 (see [`is_marc8`]).
    #[default]
    Auto,
    Utf8,
    Marc8,
    /// ISO 8859-1: each byte is the character of that code.
    Latin1,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Encoding> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        Some(match name.as_str() {
            "auto" => Encoding::Auto,
            "utf-8" | "utf8" => Encoding::Utf8,
            "marc-8" | "marc8" => Encoding::Marc8,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Encoding::Latin1,
            _ => return None,
        })
    }
}

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
    schema
}

/// Where a record's text lies: the batch buffer (index 0), or the UTF-8 text decoded from its
/// MARC-8 records (index 1).
#[derive(Clone, Copy)]
struct Text<'a> {
    bytes: &'a [u8],
    index: u32,
}

/// The view of the `len` bytes at `offset` in `text`, as `View::new_from_bytes` makes it, but
/// without its copy of a variable length into the view (a call to memmove for every short value,
/// most of them): the twelve bytes from `offset` are read at once and those past `len` cleared.
#[inline(always)]
fn view_in(text: Text<'_>, offset: usize, len: usize) -> View {
    let bytes = text.bytes;
    if len > View::MAX_INLINE_SIZE as usize {
        let prefix = u32::from_le_bytes(*bytes[offset..].first_chunk::<4>().expect("a long value"));
        return View { length: len as u32, prefix, buffer_idx: text.index, offset: offset as u32 };
    }
    let Some(window) = bytes[offset..].first_chunk::<12>() else {
        return View::new_inline(&bytes[offset..offset + len]);
    };
    // An inline view is the length, then the bytes over prefix, buffer_idx and offset, zero padded.
    let low = u64::from_le_bytes(*window.first_chunk::<8>().expect("12 bytes"));
    let high = u32::from_le_bytes(*window.last_chunk::<4>().expect("12 bytes"));
    let low = if len >= 8 { low } else { low & ((1 << (8 * len)) - 1) };
    let high = if len > 8 { high & (u32::MAX >> (8 * (12 - len))) } else { 0 };
    View { length: len as u32, prefix: low as u32, buffer_idx: (low >> 32) as u32, offset: high }
}

/// String views into the batch's buffers, with a null mask made at the first null.
#[derive(Default)]
struct StrColumn {
    views: Vec<View>,
    validity: Option<MutableBitmap>,
    /// Sum of the values' lengths, and whether any is too long to be inlined in its view.
    bytes_len: usize,
    in_buffer: bool,
}

impl StrColumn {
    /// Adds `value`, a slice of `text`, which is the batch buffer or the decoded text of its
    /// MARC-8 records: the view points into it, or holds it when it is short.
    #[inline(always)]
    fn push_slice(&mut self, value: &str, text: Text<'_>) {
        self.push_unmasked(value, text);
        if let Some(validity) = &mut self.validity {
            validity.push(true);
        }
    }

    /// `push_slice` for a column whose null mask the caller keeps, or that has no null: the
    /// columns of fields and subfields (see `finish_masked`).
    #[inline(always)]
    fn push_unmasked(&mut self, value: &str, text: Text<'_>) {
        let offset = (value.as_ptr() as usize).wrapping_sub(text.bytes.as_ptr() as usize);
        // What `finish` relies on: the value lies inside the buffer, at an offset a view's u32
        // holds. A batch's text is far smaller (chunks of a few MiB, damage cut at 16 MiB): a
        // failure here is a bug, caught as an error of the read, never a view of other bytes.
        assert!(offset <= text.bytes.len() && value.len() <= text.bytes.len() - offset, "value outside the batch buffer");
        assert!(offset + value.len() <= u32::MAX as usize, "value past the 4 GiB a view can address");
        self.views.push(view_in(text, offset, value.len()));
        self.bytes_len += value.len();
        self.in_buffer |= value.len() > View::MAX_INLINE_SIZE as usize;
    }

    /// Adds a value of at most 12 bytes that is not in the batch's text, stored in the view itself.
    fn push_short(&mut self, value: &str) {
        self.views.push(View::new_inline(value.as_bytes()));
        self.bytes_len += value.len();
        if let Some(validity) = &mut self.validity {
            validity.push(true);
        }
    }

    #[inline]
    fn push_null(&mut self) {
        let valid_so_far = self.views.len();
        let validity = self.validity.get_or_insert_with(|| {
            let mut validity = MutableBitmap::with_capacity(self.views.capacity());
            validity.extend_constant(valid_so_far, true);
            validity
        });
        validity.push(false);
        self.views.push(View::default());
    }

    /// Adds a null whose mask the caller keeps (see `finish_masked`).
    #[inline(always)]
    fn push_unmasked_null(&mut self) {
        self.views.push(View::default());
    }

    fn reserve(&mut self, additional: usize) {
        self.views.reserve(additional);
    }

    /// The column as an array with the null mask `validity`: for columns whose nulls were pushed
    /// with `push_unmasked_null`.
    fn finish_masked(self, buffers: &Buffer<Buffer<u8>>, validity: Option<Bitmap>) -> Box<dyn Array> {
        debug_assert!(self.validity.is_none(), "a column masked by its caller takes no masked push");
        self.finish_with(buffers, false, validity)
    }

    /// The column as an array whose views point into `buffers` (the batch buffer, the decoded
    /// text), or, when `compact`, into a buffer of its own holding only its values (so that the
    /// batch buffer can be freed).
    fn finish(mut self, buffers: &Buffer<Buffer<u8>>, compact: bool) -> Box<dyn Array> {
        let validity: Option<Bitmap> = self.validity.take().and_then(|v| v.into());
        self.finish_with(buffers, compact, validity)
    }

    fn finish_with(self, buffers: &Buffer<Buffer<u8>>, compact: bool, validity: Option<Bitmap>) -> Box<dyn Array> {
        // Only columns with values longer than 12 bytes need the data buffers.
        let buffers: Buffer<Buffer<u8>> = if self.in_buffer { buffers.clone() } else { Buffer::new() };
        let total_buffer_len = buffers.iter().map(Buffer::len).sum();
        if cfg!(debug_assertions) {
            // Debug builds (and so the unit tests) check every view the way the safe constructor does.
            Utf8ViewArray::try_new(ArrowDataType::Utf8View, self.views.clone().into(), buffers.clone(), validity.clone())
                .expect("views of validated UTF-8 inside the buffer");
            assert_eq!(self.bytes_len, self.views.iter().map(|v| v.length as usize).sum::<usize>());
        }
        // SAFETY: every view holds a `&str` (so valid UTF-8), inline (`push_short`, and `view_in`
        // for short values) or as a slice of the buffer its index names, at its checked offset
        // (`push_unmasked`: the batch buffer at index 0, the decoded text at index 1, both only ever
        // appended to; the prefix is the slice's first four bytes), and both buffers are
        // passed whenever any view is longer than the inline size; null views are the all-zero
        // inline view. The safe `try_new` validates all of this again, every string's UTF-8
        // included: measured at about a fifth of the decoding time of BooksAll (BENCHMARKS.md).
        let array = unsafe {
            Utf8ViewArray::new_unchecked(
                ArrowDataType::Utf8View,
                self.views.into(),
                buffers,
                validity,
                Some(self.bytes_len),
                total_buffer_len,
            )
        };
        if compact { array.gc().boxed() } else { array.boxed() }
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

    /// Adds a list whose mask the caller keeps (see `finish_masked`).
    #[inline(always)]
    fn push_unmasked(&mut self, end: usize) {
        self.offsets.push(end as i64);
    }

    fn reserve(&mut self, additional: usize) {
        self.offsets.reserve(additional);
        self.validity.reserve(additional);
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn finish(mut self, inner: ArrowDataType, values: Box<dyn Array>) -> Box<dyn Array> {
        let validity = std::mem::take(&mut self.validity).into();
        self.finish_masked(inner, values, validity)
    }

    fn finish_masked(self, inner: ArrowDataType, values: Box<dyn Array>, validity: Option<Bitmap>) -> Box<dyn Array> {
        // Offsets are pushed from the running length of `values`: monotone by construction.
        let offsets = OffsetsBuffer::try_from(self.offsets).expect("monotone offsets");
        ListArray::<i64>::new(arrow_list(inner), offsets, values, validity).boxed()
    }
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
}

/// Binary views into the batch buffer, null for every record but the damaged ones.
#[derive(Default)]
struct RawColumn {
    views: Vec<View>,
    validity: MutableBitmap,
}

impl RawColumn {
    fn push(&mut self, bytes: &[u8], start: usize) {
        self.views.push(View::new_from_bytes(bytes, 0, start as u32));
        self.validity.push(true);
    }

    fn push_null(&mut self) {
        self.views.push(View::default());
        self.validity.push(false);
    }

    /// The column, pointing into the batch buffer, or when `compact` into a copy of the damaged
    /// records' bytes alone (so that the batch buffer can be freed).
    fn finish(self, buffer: &Buffer<u8>, compact: bool) -> Box<dyn Array> {
        let buffers: Buffer<Buffer<u8>> = vec![buffer.clone()].into();
        // Few rows are damaged: the safe constructor's checks cost nothing worth avoiding.
        let array = BinaryViewArray::try_new(ArrowDataType::BinaryView, self.views.into(), buffers, self.validity.into())
            .expect("views of damaged records inside the batch buffer");
        if compact { array.gc().boxed() } else { array.boxed() }
    }
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

    fn push<'a>(&mut self, spec: &Spec, record: &IsoRecord<'a>, text: Text<'_>) {
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
                lists.push(values.views.len(), true);
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

    fn finish(self, buffers: &Buffer<Buffer<u8>>, compact: bool) -> Box<dyn Array> {
        match self {
            SpecColumn::Single(column) => column.finish(buffers, compact),
            SpecColumn::List { lists, values } => lists.finish(ArrowDataType::Utf8View, values.finish(buffers, compact)),
        }
    }
}

/// A record being decoded, as MARCspecs read it.
struct IsoRecord<'a> {
    /// The whole record, valid UTF-8.
    text: &'a str,
    /// The leader is `text[..leader_len]`: 24 bytes but in a salvaged record.
    leader_len: usize,
    spans: &'a [FieldSpan],
}

impl<'a> IsoRecord<'a> {
    fn content(&self, field: usize) -> &'a str {
        let span = &self.spans[field];
        &self.text[span.start..span.start + span.len]
    }
}

impl<'a> RecordView<'a> for IsoRecord<'a> {
    fn leader(&self) -> Option<&'a str> {
        Some(&self.text[..self.leader_len])
    }

    fn field_count(&self) -> usize {
        self.spans.len()
    }

    fn tag(&self, field: usize) -> Option<&'a str> {
        let at = self.spans[field].tag_at;
        Some(&self.text[at..at + 3])
    }

    fn control_data(&self, field: usize) -> Option<&'a str> {
        self.spans[field].is_control().then(|| self.content(field))
    }

    fn indicator(&self, field: usize, which: u8) -> Option<&'a str> {
        let (ind1, ind2, _) = split_data_field(self.content(field));
        Some(if which == 1 { ind1 } else { ind2 })
    }

    fn subfields(&self, field: usize, visit: &mut dyn FnMut(&'a str, &'a str)) {
        for (code, value) in split_data_field(self.content(field)).2 {
            visit(code, value);
        }
    }
}

/// A data field's content (valid UTF-8 whose indicators `check_indicators` passed): its two
/// indicators and its subfields as (code, value).
fn split_data_field(content: &str) -> (&str, &str, impl Iterator<Item = (&str, &str)>) {
    let parts = DataFieldParts::split(content.as_bytes());
    let indicators = &content[..parts.indicators.len()];
    let second_at = if indicators.as_bytes().first().is_some_and(u8::is_ascii) {
        1
    } else {
        indicators.chars().next().map_or(0, char::len_utf8)
    };
    let subfields = parts.subfields().map(move |subfield| {
        let at = subfield.as_ptr() as usize - content.as_ptr() as usize;
        // Bounded by ASCII delimiters inside valid UTF-8: a whole string.
        let subfield = &content[at..at + subfield.len()];
        let code_len = match subfield.as_bytes().first() {
            Some(byte) if byte.is_ascii() => 1,
            _ => subfield.chars().next().map_or(0, char::len_utf8),
        };
        subfield.split_at(code_len)
    });
    (&indicators[..second_at], &indicators[second_at..], subfields)
}

/// Builds the selected columns for the records of one batch buffer.
pub struct BatchBuilder {
    buffer: Buffer<u8>,
    projection: Arc<Projection>,
    rows: usize,
    columns: Columns,
    spec_columns: Vec<SpecColumn>,
    /// Directory of the record being added, reused from record to record.
    spans: Vec<FieldSpan>,
    /// The batch's MARC-8 records decoded to UTF-8, one after another (see [`transcode_marc8`]).
    decoded: Vec<u8>,
    /// Where the fields of the MARC-8 record being added lie in `decoded`.
    decoded_spans: Vec<FieldSpan>,
}

impl BatchBuilder {
    pub fn new(buffer: Buffer<u8>, projection: Arc<Projection>) -> Self {
        assert!(buffer.len() <= u32::MAX as usize, "a batch buffer must be smaller than 4 GiB");
        let spec_columns = projection.specs.iter().map(|(_, spec)| SpecColumn::new(spec)).collect();
        BatchBuilder {
            buffer,
            projection,
            rows: 0,
            columns: Columns::default(),
            spec_columns,
            spans: Vec::new(),
            decoded: Vec::new(),
            decoded_spans: Vec::new(),
        }
    }

    /// Reserves room for `records` (as framed), so the columns grow without reallocating: fields
    /// are counted from each directory's size, subfields bounded by the number of subfield
    /// delimiters.
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
        let buffer = &self.buffer[..];
        let fields: usize = records
            .iter()
            .filter_map(|record| buffer.get(record.start + 12..record.start + 17))
            .filter_map(parse_digits)
            .map(|base| base.saturating_sub(LEADER_LEN + 1) / 12)
            .sum();
        let subfields = memchr::memchr_iter(SUBFIELD_DELIMITER, buffer).count();
        c.fields.reserve(records.len());
        for column in [&mut c.tag, &mut c.ind1, &mut c.ind2, &mut c.data] {
            column.reserve(fields);
        }
        c.subfields.reserve(fields);
        c.is_data.reserve(fields);
        c.code.reserve(subfields);
        c.value.reserve(subfields);
        for column in [&mut c.tag, &mut c.ind1, &mut c.ind2, &mut c.data, &mut c.code, &mut c.value] {
            prefault(&mut column.views);
        }
        prefault(&mut c.subfields.offsets);
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// How a record's text is decoded, by `encoding=` and (under `Auto`) by the record.
    fn codec(&self, bytes: &[u8]) -> TextCodec {
        match self.projection.encoding {
            Encoding::Auto if is_marc8(bytes) => TextCodec::Marc8 { nfc: !self.projection.decomposed },
            Encoding::Marc8 => TextCodec::Marc8 { nfc: !self.projection.decomposed },
            Encoding::Latin1 => TextCodec::Latin1,
            Encoding::Auto | Encoding::Utf8 => TextCodec::Utf8,
        }
    }

    /// How a record labelled UTF-8 whose bytes are MARC-8 is read, when `encoding="auto"` lets it be.
    fn mislabelled_marc8(&self) -> Option<TextCodec> {
        (self.projection.encoding == Encoding::Auto).then_some(TextCodec::Marc8 { nfc: !self.projection.decomposed })
    }

    /// How a damaged record is best read: as a sound one would be, except that a record labelled
    /// UTF-8 whose bytes read as MARC-8 (see [`encoding::reads_as_marc8`]) is read as MARC-8.
    fn salvage_codec(&self, bytes: &[u8]) -> TextCodec {
        if bytes.len() <= LEADER_LEN {
            return TextCodec::Utf8;
        }
        match (self.codec(bytes), self.mislabelled_marc8()) {
            (TextCodec::Utf8, Some(marc8)) if encoding::reads_as_marc8(bytes) => marc8,
            (codec, _) => codec,
        }
    }

    /// Adds the record that occupies `start..end` of the buffer (a range from framing).
    pub fn push_record(&mut self, start: usize, end: usize) -> Result<(), Damage> {
        let bytes = &self.buffer[start..end];
        parse_record(bytes, &mut self.spans)?;
        let codec = self.codec(bytes);
        let decode = match codec {
            TextCodec::Marc8 { nfc: true } => Some(decode_marc8_into as DecodeInto),
            TextCodec::Marc8 { nfc: false } => Some(decode_marc8_decomposed_into as DecodeInto),
            TextCodec::Latin1 => Some(decode_latin1_into as DecodeInto),
            TextCodec::Utf8 => None,
        };
        if let Some(decode) = decode {
            // Every check runs whatever columns are built: whether a record is damaged never
            // depends on what is asked of it.
            check_indicators(bytes, &self.spans)?;
            let at = self.decoded.len();
            if at == 0 {
                // Decoded text is about as long as the records it comes from: one allocation for
                // the rest of the batch rather than a doubling at every overflow.
                self.decoded.reserve(self.buffer.len() - start + self.buffer.len() / 16);
            }
            transcode(bytes, &self.spans, decode, &mut self.decoded, &mut self.decoded_spans)?;
            // Made of the leader and tags (checked ASCII) and the decoder's strings: UTF-8 by
            // construction; checked all the same, as a bug must not become invalid strings.
            let text = encoding::decode_utf8(&self.decoded[at..])
                .map_err(|e| Damage::new(DamageKind::InvalidUtf8, e, "decoded to invalid UTF-8".to_string()))?;
            let record = IsoRecord { text, leader_len: LEADER_LEN, spans: &self.decoded_spans };
            push_columns(&self.projection, &mut self.columns, &mut self.spec_columns, &record, Text { bytes: &self.decoded, index: 1 });
        } else {
            let text = encoding::decode_utf8(bytes).map_err(|at| invalid_utf8(bytes, &self.spans, at))?;
            // The record is valid UTF-8 throughout, so every slice between ASCII delimiters is
            // too; only the leader's end and the field starts the directory gives need a boundary
            // check.
            for (from, to) in std::iter::once((0, LEADER_LEN)).chain(self.spans.iter().map(|f| (f.start, f.start + f.len))) {
                if !text.is_char_boundary(from) || !text.is_char_boundary(to) {
                    return Err(Damage::new(DamageKind::InvalidUtf8, from, format!("bytes {from}..{to} split a UTF-8 character")));
                }
            }
            check_indicators(bytes, &self.spans)?;
            let record = IsoRecord { text, leader_len: LEADER_LEN, spans: &self.spans };
            push_columns(&self.projection, &mut self.columns, &mut self.spec_columns, &record, Text { bytes: &self.buffer, index: 0 });
        }
        self.push_row_notes(codec);
        Ok(())
    }

    /// Adds a damaged record (`on_error="collect"`): what can be read of it, its error, and its
    /// exact bytes.
    pub fn push_damaged(&mut self, start: usize, end: usize, error: &MarcError) {
        let bytes = &self.buffer[start..end];
        let codec = self.salvage_codec(bytes);
        let at = self.decoded.len();
        let salvaged = salvage(bytes, codec, &mut self.decoded, &mut self.decoded_spans);
        let message = error.column_text();
        let message_at = self.decoded.len();
        self.decoded.extend_from_slice(message.as_bytes());
        // Salvaged text is decoded lossily, and the message is a `String`: UTF-8 both.
        let (Ok(text), Ok(message)) =
            (std::str::from_utf8(&self.decoded[at..message_at]), std::str::from_utf8(&self.decoded[message_at..]))
        else {
            unreachable!("salvaged text and messages are UTF-8")
        };
        let record = IsoRecord { text, leader_len: salvaged.leader_len, spans: &self.decoded_spans };
        let decoded = Text { bytes: &self.decoded, index: 1 };
        push_columns(&self.projection, &mut self.columns, &mut self.spec_columns, &record, decoded);
        let c = &mut self.columns;
        if self.projection.encoding_column.is_some() {
            c.encoding.push_short(codec.name());
        }
        c.error.push_slice(message, decoded);
        c.raw.push(bytes, start);
        if self.projection.repairs_column.is_some() {
            c.repairs.push(c.repair_codes.views.len(), true);
        }
        self.rows += 1;
    }

    /// Adds a damaged record as a careful cataloguer reads it (`on_error="repair"`), with its exact
    /// bytes; the repairs made, or an error (and nothing added) if no repair reads it.
    pub fn push_repaired(&mut self, start: usize, end: usize) -> Result<Repairs, Damage> {
        let bytes = &self.buffer[start..end];
        let codec = if bytes.len() > LEADER_LEN { self.codec(bytes) } else { TextCodec::Utf8 };
        let at = self.decoded.len();
        let repaired = repair(bytes, codec, self.mislabelled_marc8(), &mut self.decoded, &mut self.decoded_spans);
        let text = repaired.as_ref().ok().map(|_| encoding::decode_utf8(&self.decoded[at..]));
        let (Ok(repairs), Some(Ok(text))) = (repaired, text) else {
            self.decoded.truncate(at);
            return Err(Damage::new(DamageKind::BadDirectory, 0, "no repair reads it".to_string()));
        };
        let record = IsoRecord { text, leader_len: LEADER_LEN, spans: &self.decoded_spans };
        push_columns(&self.projection, &mut self.columns, &mut self.spec_columns, &record, Text { bytes: &self.decoded, index: 1 });
        let read_as_marc8 = repairs.0.iter().any(|r| r.kind == RepairKind::ReadAsMarc8);
        let read_as = if read_as_marc8 { self.mislabelled_marc8().unwrap_or(codec) } else { codec };
        let c = &mut self.columns;
        if self.projection.encoding_column.is_some() {
            c.encoding.push_short(read_as.name());
        }
        c.error.push_null();
        c.raw.push(bytes, start);
        if self.projection.repairs_column.is_some() {
            // Codes are longer than a view holds inline: kept with the decoded text.
            for repair in &repairs.0 {
                let at = self.decoded.len();
                self.decoded.extend_from_slice(repair.kind.code().as_bytes());
                let code = std::str::from_utf8(&self.decoded[at..]).expect("codes are ASCII");
                c.repair_codes.push_unmasked(code, Text { bytes: &self.decoded, index: 1 });
            }
            c.repairs.push(c.repair_codes.views.len(), true);
        }
        self.rows += 1;
        Ok(repairs)
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
            c.repairs.push(c.repair_codes.views.len(), true);
        }
        self.rows += 1;
    }

    /// The batch as a DataFrame; `source_name` fills the source column, if one is selected.
    pub fn finish(mut self, source_name: &str) -> DataFrame {
        // The decoded text was reserved for a batch of MARC-8 records: a batch with few of them
        // gives back what it did not use, as the frame keeps the buffer.
        if self.decoded.capacity() > self.decoded.len() + self.decoded.len() / 8 + 4096 {
            self.decoded.shrink_to_fit();
        }
        let buffer: Buffer<Buffer<u8>> = vec![self.buffer, self.decoded.into()].into();
        let buffer = &buffer;
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
                c.code.views.len(),
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
            columns.push(series(RAW_COLUMN, c.raw.finish(&buffer[0], compact)));
        }
        if let Some(name) = &self.projection.repairs_column {
            columns.push(series(name, c.repairs.finish(ArrowDataType::Utf8View, c.repair_codes.finish(buffer, false))));
        }
        if let Some(name) = &self.projection.source_column {
            let value = Scalar::new(DataType::String, AnyValue::StringOwned(source_name.into()));
            columns.push(Column::new_scalar(name.clone(), value, self.rows));
        }
        DataFrame::new(self.rows, columns).expect("columns of equal length")
    }
}

/// Maps in the spare capacity of `vec` in one call, as writing it would a page at a time: a
/// batch's columns are hundreds of fresh pages, and one call for all of them takes less kernel time
/// than a page fault for each (BENCHMARKS.md). Only a hint: nothing changes if it fails.
pub(crate) fn prefault<T>(vec: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let spare = vec.spare_capacity_mut();
        let start = (spare.as_mut_ptr() as usize).next_multiple_of(PAGE);
        let end = (spare.as_mut_ptr() as usize + std::mem::size_of_val(spare)) & !(PAGE - 1);
        if end > start {
            // SAFETY: the range lies inside memory `vec` owns and nothing refers to (its spare
            // capacity), and MADV_POPULATE_WRITE only maps pages in: it changes no byte of them,
            // and fails harmlessly (EINVAL) where the kernel predates it.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_POPULATE_WRITE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = vec;
}

/// Pushes a checked record, whose text lies in `text`, to the selected columns.
fn push_columns(projection: &Projection, c: &mut Columns, spec_columns: &mut [SpecColumn], record: &IsoRecord<'_>, text: Text<'_>) {
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
            c.subfields.push_unmasked(c.code.views.len());
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
        c.subfields.push_unmasked(c.code.views.len());
        c.is_data.push(true);
    }
    c.fields.push(c.tag.views.len(), true);
}

/// Whether a record is read as MARC-8: its leader/09 is not `a`, and its bytes are not UTF-8 or
/// hold an escape sequence. A record whose leader says MARC-8 but whose bytes are valid UTF-8 is
/// read as UTF-8: plain ASCII reads the same either way, and multibyte UTF-8 sequences in MARC-8
/// would be a rare accident next to the common mislabelled UTF-8 record.
fn is_marc8(record: &[u8]) -> bool {
    record[9] != b'a' && (memchr::memchr(ESCAPE, record).is_some() || encoding::decode_utf8(record).is_err())
}

const ESCAPE: u8 = 0x1B;

/// Decodes one control field or subfield value (`offset`: where it starts in its record) to UTF-8
/// at the end of `out`.
type DecodeInto = fn(&[u8], &FieldSpan, usize, &mut Vec<u8>) -> Result<(), Damage>;

/// Appends `record` to `out` with each control field and each subfield value decoded by
/// `decode` (MARC-8 starts each from the default sets, as MARC 21 asks), and the spans of its
/// fields there to `spans`: the leader, tags, indicators and subfield codes are copied as they are,
/// so they must be ASCII. Any byte the decoder cannot read is an error naming where it is.
fn transcode(
    record: &[u8],
    fields: &[FieldSpan],
    decode: DecodeInto,
    out: &mut Vec<u8>,
    spans: &mut Vec<FieldSpan>,
) -> Result<(), Damage> {
    let base = out.len();
    spans.clear();
    let leader = &record[..LEADER_LEN];
    if !leader.is_ascii() {
        return Err(Damage::new(DamageKind::InvalidMarc8, 0, "the leader is not ASCII".to_string()));
    }
    out.extend_from_slice(leader);
    for field in fields {
        let tag_at = out.len() - base;
        out.extend_from_slice(&field.tag);
        let start = out.len() - base;
        let content = field.content(record);
        let offset_of = |piece: &[u8]| field.start + (piece.as_ptr() as usize - content.as_ptr() as usize);
        if field.is_control() {
            decode(content, field, field.start, out)?;
        } else {
            let parts = DataFieldParts::split(content);
            copy_ascii(parts.indicators, field, offset_of(parts.indicators), "indicators", out)?;
            for subfield in parts.subfields() {
                out.push(SUBFIELD_DELIMITER);
                let (code, value) = subfield.split_at(subfield.len().min(1));
                copy_ascii(code, field, offset_of(subfield), "subfield code", out)?;
                decode(value, field, offset_of(value), out)?;
            }
        }
        spans.push(FieldSpan { tag: field.tag, tag_at, start, len: out.len() - base - start });
    }
    Ok(())
}

fn copy_ascii(bytes: &[u8], field: &FieldSpan, offset: usize, what: &str, out: &mut Vec<u8>) -> Result<(), Damage> {
    if !bytes.is_ascii() {
        return Err(Damage::new(
            DamageKind::InvalidMarc8,
            offset,
            format!("field {}: {what} {:?} is not ASCII", field.tag_str(), String::from_utf8_lossy(bytes)),
        ));
    }
    out.extend_from_slice(bytes);
    Ok(())
}

fn decode_marc8_into(bytes: &[u8], field: &FieldSpan, offset: usize, out: &mut Vec<u8>) -> Result<(), Damage> {
    marc8_into(bytes, true, field, offset, out)
}

fn decode_marc8_decomposed_into(bytes: &[u8], field: &FieldSpan, offset: usize, out: &mut Vec<u8>) -> Result<(), Damage> {
    marc8_into(bytes, false, field, offset, out)
}

fn marc8_into(bytes: &[u8], nfc: bool, field: &FieldSpan, offset: usize, out: &mut Vec<u8>) -> Result<(), Damage> {
    // Most values are printable ASCII, which MARC-8's default G0 set maps to itself: copied as
    // they are, without the decoder's allocations.
    if bytes.iter().all(|&b| (0x20..0x7F).contains(&b)) {
        out.extend_from_slice(bytes);
        return Ok(());
    }
    let decoded = marc8::decode_normalized(bytes, nfc);
    if let Some(problem) = decoded.problems.first() {
        let at = offset + problem.offset;
        return Err(Damage::new(
            DamageKind::InvalidMarc8,
            at,
            format!("field {}: invalid MARC-8 at byte {at} of the record: {}", field.tag_str(), problem.what()),
        ));
    }
    out.extend_from_slice(decoded.text.as_bytes());
    Ok(())
}

fn decode_latin1_into(bytes: &[u8], _: &FieldSpan, _: usize, out: &mut Vec<u8>) -> Result<(), Damage> {
    out.extend(bytes.iter().map(|&b| char::from(b)).collect::<String>().as_bytes());
    Ok(())
}

fn series(name: &str, array: Box<dyn Array>) -> Column {
    Series::from_arrow(PlSmallStr::from_str(name), array).expect("arrow dtype of the schema").into()
}

/// Every data field must start with exactly two indicator characters: the schema keeps one
/// character in each of `ind1` and `ind2`, and anything else could not be written back unchanged.
fn check_indicators(record: &[u8], spans: &[FieldSpan]) -> Result<(), Damage> {
    for field in spans {
        let content = field.content(record);
        // Nearly every data field: two ASCII indicators, then a delimiter (a control field so
        // made needs no check either).
        if let [a, b, SUBFIELD_DELIMITER, ..] = content {
            if a.is_ascii() && b.is_ascii() && *a != SUBFIELD_DELIMITER && *b != SUBFIELD_DELIMITER {
                continue;
            }
        }
        if field.is_control() {
            continue;
        }
        let indicators = DataFieldParts::split(content).indicators;
        let two = match indicators {
            [a, b] => a.is_ascii() && b.is_ascii(),
            _ => std::str::from_utf8(indicators).is_ok_and(|s| s.chars().count() == 2),
        };
        if !two {
            return Err(Damage::new(
                DamageKind::BadIndicators,
                field.start,
                format!(
                    "field {} has {} bytes before its first subfield, not two indicators: {:?}",
                    field.tag_str(),
                    indicators.len(),
                    String::from_utf8_lossy(indicators)
                ),
            ));
        }
    }
    Ok(())
}

fn invalid_utf8(record: &[u8], spans: &[FieldSpan], at: usize) -> Damage {
    let place = spans
        .iter()
        .find(|f| (f.start..=f.start + f.len).contains(&at))
        .map(|f| format!("in field {}", f.tag_str()))
        .unwrap_or_else(|| "in the leader or directory".to_string());
    let leader09 = record[9] as char;
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

    fn strings(series: &Series) -> Vec<String> {
        let values = series.str().unwrap();
        (0..values.len()).map(|i| values.get(i).expect("no null").to_string()).collect()
    }

    fn frame_of(records: &[Vec<u8>], projection: Arc<Projection>) -> Result<DataFrame, Damage> {
        let bytes: Vec<u8> = records.concat();
        let mut builder = BatchBuilder::new(bytes.into(), projection);
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
        // ANSEL's acute (0xE2) precedes its letter; ESC b ... ESC s is a subscript run.
        let marc8 = build(MARC8_LEADER, &[("001", b"x1"), ("245", b"10\x1faCaf\xe2e\x1fbCO\x1bb2\x1bs")]);
        let projection = Arc::new(Projection { specs: vec![("title".into(), Spec::parse("245$a").unwrap())], ..Projection::lossless() });
        let df = frame_of(&[marc8.clone(), sample(), marc8], projection).unwrap();
        assert_eq!(values_of(&df, 0, 1), ["Caf\u{e9}", "CO\u{2082}"]);
        assert_eq!(values_of(&df, 2, 1), ["Caf\u{e9}", "CO\u{2082}"]);
        assert_eq!(values_of(&df, 1, 1), ["A title /", "by me."]);
        // The leader is kept as read: leader/09 still says MARC-8.
        let leader = df.column("leader").unwrap().str().unwrap().get(0).unwrap().to_string();
        assert_eq!(leader.as_bytes()[9], b' ');
        let titles = df.column("title").unwrap().list().unwrap().get_as_series(0).unwrap();
        assert_eq!(strings(&titles), ["Caf\u{e9}"]);
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
        let damage = frame_of(&[record.clone()], Arc::new(Projection::lossless())).unwrap_err();
        assert_eq!(damage.kind, DamageKind::InvalidMarc8);
        assert_eq!(record[damage.offset], 0xCF, "{damage:?}");
        assert!(damage.detail.contains("field 245"), "{damage:?}");
    }

    #[test]
    #[should_panic(expected = "value past the 4 GiB a view can address")]
    fn a_value_past_4_gib_of_text_is_refused_not_wrapped() {
        // Zeroed pages that are never touched: address space, not memory.
        let text = vec![0u8; (1 << 32) + 64];
        let mut column = StrColumn::default();
        column.push_unmasked(std::str::from_utf8(&text[(1 << 32) + 10..(1 << 32) + 40]).unwrap(), Text { bytes: &text, index: 1 });
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
