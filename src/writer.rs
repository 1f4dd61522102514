//! The lossless columns back to records, one per row, in any form that is read ([`Output`]): each
//! form's module writes a [`Record`], this one the document around them.
//!
//! A frame can be checked whole before a byte is written ([`check`]), so that an invalid frame
//! never leaves a half-written file; an [`Encoder`] then writes it batch by batch. A file is replaced by
//! renaming a finished temporary file over it ([`replace_file`]): a failed or interrupted write
//! leaves the file as it was, and a frame read from it (even mapped) keeps reading its old bytes.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::{DataFrame, DataType, PolarsError, StringChunked};
use polars_arrow::array::{Array, ListArray};

use crate::extract::FieldColumns;
use polars_arrow::array::Utf8ViewArray;

use crate::iso2709::{LEADER_LEN, MAX_RECORD_LEN};

/// Why a frame cannot be written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    /// The row (0-based) of the record at fault, if one is.
    pub row: Option<usize>,
    pub detail: String,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row}: {}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for WriteError {}

fn frame_error(detail: impl Into<String>) -> WriteError {
    WriteError { row: None, detail: detail.into() }
}

impl From<PolarsError> for WriteError {
    fn from(error: PolarsError) -> Self {
        frame_error(error.to_string())
    }
}

/// The `leader` and `fields` columns of a frame in the lossless schema.
pub struct Records<'a> {
    leaders: &'a StringChunked,
    fields: Vec<&'a ListArray<i64>>,
}

impl<'a> Records<'a> {
    /// The columns of `df`, checked for presence and type.
    pub fn of(df: &'a DataFrame) -> Result<Records<'a>, WriteError> {
        let column = |name: &str| {
            df.column(name)
                .map_err(|_| frame_error(format!("the frame has no {name:?} column (the lossless schema has leader and fields)")))
        };
        let leader = column("leader")?;
        if leader.dtype() != &DataType::String {
            return Err(frame_error(format!("column \"leader\" is {}, not String", leader.dtype())));
        }
        let fields = column("fields")?;
        let expected = crate::columns::schema(&crate::columns::Projection::lossless());
        if Some(fields.dtype()) != expected.get("fields") {
            return Err(frame_error(format!(
                "column \"fields\" is {}, not the lossless schema's {}",
                fields.dtype(),
                expected.get("fields").map_or(String::new(), |d| d.to_string())
            )));
        }
        let fields = fields.list()?.downcast_iter().collect();
        Ok(Records { leaders: leader.str()?, fields })
    }

    /// Visits every record in order: its row, and the record (a leader or fields that cannot be
    /// written is an error naming the row).
    fn each(&self, mut visit: impl FnMut(usize, Record<'_, 'a>) -> Result<(), WriteError>) -> Result<(), WriteError> {
        let mut row = 0;
        for chunk in &self.fields {
            let columns = FieldColumns::of(chunk)
                .ok_or_else(|| frame_error("column \"fields\" does not have the lossless schema's types"))?;
            for i in 0..chunk.len() {
                let range = chunk.is_valid(i).then(|| chunk.offsets().start_end(i));
                let record =
                    Record::of(self.leaders.get(row), &columns, range).map_err(|detail| WriteError { row: Some(row), detail })?;
                visit(row, record)?;
                row += 1;
            }
        }
        Ok(())
    }
}

/// The forms a frame is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Iso2709,
    /// A MARCXML `collection`.
    MarcXml,
    /// A JSON array of MARC-in-JSON records, as pymarc's `JSONWriter` writes them.
    Json,
    /// One MARC-in-JSON record a line.
    Ndjson,
}

impl Output {
    pub fn parse(name: &str) -> Option<Output> {
        Some(match name {
            "iso2709" => Output::Iso2709,
            "marcxml" => Output::MarcXml,
            "json" => Output::Json,
            "ndjson" => Output::Ndjson,
            _ => return None,
        })
    }

    /// What comes before the first record.
    fn start(self) -> &'static [u8] {
        match self {
            Output::Iso2709 | Output::Ndjson => b"",
            Output::MarcXml => crate::marcxml::write::START,
            Output::Json => b"[",
        }
    }

    /// What comes between two records.
    fn between(self) -> &'static [u8] {
        match self {
            Output::Json => b",\n",
            _ => b"",
        }
    }

    /// What comes after the last record.
    fn end(self) -> &'static [u8] {
        match self {
            Output::Iso2709 | Output::Ndjson => b"",
            Output::MarcXml => crate::marcxml::write::END,
            Output::Json => b"]\n",
        }
    }

    /// Appends one record; on error `out` may hold part of it. The number of characters the form
    /// cannot hold, left out.
    fn record(self, record: &Record<'_, '_>, out: &mut Vec<u8>) -> Result<usize, String> {
        match self {
            Output::Iso2709 => crate::iso2709::write::record(record, out),
            Output::MarcXml => crate::marcxml::write::record(record, out),
            Output::Json => crate::marcjson::write::record(record, out),
            Output::Ndjson => {
                let left_out = crate::marcjson::write::record(record, out)?;
                out.push(b'\n');
                Ok(left_out)
            }
        }
    }
}

/// One row of a lossless frame, as every form writes it: a leader of 24 ASCII characters, and
/// fields in order.
pub struct Record<'c, 'a> {
    pub leader: &'a str,
    columns: &'c FieldColumns<'a>,
    start: usize,
    end: usize,
}

/// A field as written: a control field's data, or a data field's indicators and subfields.
pub enum Field<'c, 'a> {
    Control { tag: &'a str, data: &'a str },
    Data { tag: &'a str, ind1: &'a str, ind2: &'a str, subfields: Subfields<'c, 'a> },
}

impl<'c, 'a> Record<'c, 'a> {
    fn of(leader: Option<&'a str>, columns: &'c FieldColumns<'a>, range: Option<(usize, usize)>) -> Result<Self, String> {
        let leader = leader.ok_or("leader is null")?;
        if leader.len() != LEADER_LEN || !leader.is_ascii() {
            return Err(format!("leader {leader:?} is not 24 ASCII characters"));
        }
        let (start, end) = range.ok_or("fields is null")?;
        Ok(Record { leader, columns, start, end })
    }

    /// How many fields the record has.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Each field, checked: a tag of 3 ASCII characters, and (for a data field, one whose data is
    /// null) one character in each indicator and subfields that are not null.
    pub fn fields(&self) -> impl Iterator<Item = Result<Field<'c, 'a>, String>> + use<'c, 'a> {
        let columns = self.columns;
        (self.start..self.end).enumerate().map(move |(entry, field)| {
            let tag = columns.tag.get(field).ok_or_else(|| format!("field {entry} has a null tag"))?;
            if tag.len() != 3 || !tag.is_ascii() {
                return Err(format!("field {entry}: tag {tag:?} is not 3 ASCII characters"));
            }
            if let Some(data) = columns.data.get(field) {
                return Ok(Field::Control { tag, data });
            }
            let indicator = |which: &str, column: &'a Utf8ViewArray| {
                let indicator =
                    column.get(field).ok_or_else(|| format!("field {entry} ({tag}): {which} is null and data too"))?;
                match indicator.chars().count() {
                    1 => Ok(indicator),
                    _ => Err(format!("field {entry} ({tag}): {which} {indicator:?} is not one character")),
                }
            };
            let (ind1, ind2) = (indicator("ind1", columns.ind1)?, indicator("ind2", columns.ind2)?);
            if !columns.subfields.is_valid(field) {
                return Err(format!("field {entry} ({tag}): subfields is null and data too"));
            }
            let (from, to) = columns.subfields.offsets().start_end(field);
            Ok(Field::Data { tag, ind1, ind2, subfields: Subfields { columns, entry, tag, from, at: from, to } })
        })
    }
}

/// The subfields of a data field, each a code and a value, checked not null.
pub struct Subfields<'c, 'a> {
    columns: &'c FieldColumns<'a>,
    entry: usize,
    tag: &'a str,
    from: usize,
    at: usize,
    to: usize,
}

impl<'a> Iterator for Subfields<'_, 'a> {
    type Item = Result<(&'a str, &'a str), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at == self.to {
            return None;
        }
        let i = self.at;
        self.at += 1;
        Some(match (self.columns.code.get(i), self.columns.value.get(i)) {
            (Some(code), Some(value)) => Ok((code, value)),
            _ => Err(format!("field {} ({}): subfield {} has a null code or value", self.entry, self.tag, i - self.from)),
        })
    }
}

/// What was written, or would be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub rows: usize,
    /// Characters the form cannot hold (control characters in XML), left out.
    pub left_out: usize,
    /// The first row they were left out of.
    pub first_left_out: Option<usize>,
}

impl Written {
    fn add(&mut self, row: usize, left_out: usize) {
        self.rows += 1;
        if left_out > 0 {
            self.left_out += left_out;
            self.first_left_out.get_or_insert(row);
        }
    }
}

/// Checks that every record can be written in `output`, without writing any.
pub fn check(records: &Records<'_>, output: Output) -> Result<Written, WriteError> {
    let mut scratch = Vec::new();
    let mut written = Written::default();
    records.each(|row, record| {
        scratch.clear();
        let left_out = output.record(&record, &mut scratch).map_err(|detail| WriteError { row: Some(row), detail })?;
        written.add(row, left_out);
        Ok(())
    })?;
    Ok(written)
}

/// Writes records in one form, from one frame or from several in turn, to a sink that takes about
/// `batch_bytes` at a time.
pub struct Encoder {
    output: Output,
    batch_bytes: usize,
    /// What was written so far; rows are counted across frames.
    pub written: Written,
}

impl Encoder {
    pub fn new(output: Output, batch_bytes: usize) -> Self {
        Encoder { output, batch_bytes, written: Written::default() }
    }

    /// Writes every record of `records`.
    pub fn encode<E: From<WriteError>>(
        &mut self,
        records: &Records<'_>,
        mut sink: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let output = self.output;
        let mut out = Vec::with_capacity(self.batch_bytes + MAX_RECORD_LEN);
        let mut failed = None;
        let written = &mut self.written;
        let batch_bytes = self.batch_bytes;
        let result = records.each(|_, record| {
            out.extend_from_slice(if written.rows == 0 { output.start() } else { output.between() });
            // Rows are numbered across the frames written.
            let row = written.rows;
            let left_out = output.record(&record, &mut out).map_err(|detail| WriteError { row: Some(row), detail })?;
            written.add(row, left_out);
            if out.len() >= batch_bytes {
                if let Err(error) = sink(&out) {
                    failed = Some(error);
                    return Err(frame_error("the sink failed"));
                }
                out.clear();
            }
            Ok(())
        });
        if let Some(error) = failed {
            return Err(error);
        }
        result?;
        if !out.is_empty() {
            sink(&out)?;
        }
        Ok(())
    }

    /// Ends the output: what follows the last record (and precedes it, when there was none).
    pub fn finish<E>(self, mut sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<Written, E> {
        if self.written.rows == 0 {
            sink(self.output.start())?;
        }
        sink(self.output.end())?;
        Ok(self.written)
    }
}

impl From<WriteError> for io::Error {
    fn from(error: WriteError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error.to_string())
    }
}

/// Writes `path` whole or not at all: `write` fills a new file beside it, which then replaces it
/// (with its permissions, if it existed; the file a symbolic link points to, if it is one). On
/// any error the new file is removed and `path` is left as it was.
pub fn replace_file<T>(path: &Path, write: impl FnOnce(&mut File) -> io::Result<T>) -> io::Result<T> {
    static TEMPORARY: AtomicU64 = AtomicU64::new(0);
    // A symbolic link is followed, as opening the path to write it would: its target is replaced.
    let resolved = std::fs::canonicalize(path);
    let path = resolved.as_deref().unwrap_or(path);
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}-{}.partial", std::process::id(), TEMPORARY.fetch_add(1, Ordering::Relaxed)));
    let temporary: PathBuf = path.with_file_name(temporary_name);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        if let Ok(metadata) = std::fs::metadata(path) {
            file.set_permissions(metadata.permissions())?;
        }
        let written = write(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        Ok(written)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::columns::{BatchBuilder, Projection};
    use crate::iso2709::tests::{build, sample};

    fn frame_of(records: &[Vec<u8>]) -> DataFrame {
        let bytes: Vec<u8> = records.concat();
        let mut builder = BatchBuilder::new(crate::iso2709::form(), bytes.into(), 0, Arc::new(Projection::lossless()));
        let mut at = 0;
        for record in records {
            builder.push_record(at, at + record.len()).unwrap();
            at += record.len();
        }
        builder.finish("")
    }

    fn written(df: &DataFrame) -> Result<Vec<u8>, WriteError> {
        let records = Records::of(df)?;
        check(&records, Output::Iso2709)?;
        let mut out = Vec::new();
        let mut encoder = Encoder::new(Output::Iso2709, 64);
        let mut sink = |bytes: &[u8]| {
            out.extend_from_slice(bytes);
            Ok::<(), WriteError>(())
        };
        encoder.encode(&records, &mut sink)?;
        encoder.finish(sink)?;
        Ok(out)
    }

    #[test]
    fn reading_then_writing_gives_the_records_back() {
        let records = vec![
            sample(),
            build(
                b"00000cam a2200000 a 4500",
                &[("001", b"6"), ("100", "1 \x1faAuteur é".as_bytes()), ("500", b"  "), ("520", b"  \x1fa\x1f\x1fbx\x1f")],
            ),
        ];
        assert_eq!(written(&frame_of(&records)).unwrap(), records.concat());
    }

    #[test]
    fn invalid_frames_are_refused_before_writing() {
        let df = frame_of(&[sample()]);
        assert!(written(&df.drop("fields").unwrap()).unwrap_err().detail.contains("no \"fields\" column"));
        let mut df = frame_of(&[sample(), sample()]);
        df.with_column(polars::prelude::Column::new("leader".into(), ["00000nam a2200000 a 4500", "short"])).unwrap();
        let error = written(&df).unwrap_err();
        assert_eq!(error.row, Some(1));
        assert!(error.detail.contains("not 24 ASCII characters"), "{error}");
    }
}
