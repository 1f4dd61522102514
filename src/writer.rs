//! The lossless columns back to ISO 2709: one record per row, lengths, base address and directory
//! recomputed, leader/09 `a` (UTF-8).
//!
//! A frame is checked whole before a byte is written ([`check`]), so that an invalid frame never
//! leaves a half-written file; [`encode`] then writes it batch by batch. A file is replaced by
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
use crate::iso2709::{FIELD_TERMINATOR, LEADER_LEN, MAX_FIELD_LEN, MAX_RECORD_LEN, RECORD_TERMINATOR, SUBFIELD_DELIMITER};

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

    /// Visits every record in order: its row, leader and fields.
    fn each(
        &self,
        mut visit: impl FnMut(usize, Option<&'a str>, &FieldColumns<'a>, Option<(usize, usize)>) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let mut row = 0;
        for chunk in &self.fields {
            let columns = FieldColumns::of(chunk)
                .ok_or_else(|| frame_error("column \"fields\" does not have the lossless schema's types"))?;
            for i in 0..chunk.len() {
                let range = chunk.is_valid(i).then(|| chunk.offsets().start_end(i));
                visit(row, self.leaders.get(row), &columns, range)?;
                row += 1;
            }
        }
        Ok(())
    }
}

/// Checks that every record can be written, without writing any.
pub fn check(records: &Records<'_>) -> Result<usize, WriteError> {
    let mut scratch = Vec::new();
    let mut rows = 0;
    records.each(|row, leader, columns, range| {
        scratch.clear();
        encode_record(leader, columns, range, &mut scratch).map_err(|detail| WriteError { row: Some(row), detail })?;
        rows += 1;
        Ok(())
    })?;
    Ok(rows)
}

/// Writes every record, handing `sink` about `batch_bytes` of records at a time.
pub fn encode<E: From<WriteError>>(
    records: &Records<'_>,
    batch_bytes: usize,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut out = Vec::with_capacity(batch_bytes + MAX_RECORD_LEN);
    let mut failed = None;
    let result = records.each(|row, leader, columns, range| {
        encode_record(leader, columns, range, &mut out).map_err(|detail| WriteError { row: Some(row), detail })?;
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

impl From<WriteError> for io::Error {
    fn from(error: WriteError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error.to_string())
    }
}

/// Writes `path` whole or not at all: `write` fills a new file beside it, which then replaces it
/// (with its permissions, if it existed; the file a symbolic link points to, if it is one). On
/// any error the new file is removed and `path` is left as it was.
pub fn replace_file(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
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
        write(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Appends one record to `out`; on error `out` may hold part of it.
fn encode_record(
    leader: Option<&str>,
    columns: &FieldColumns<'_>,
    range: Option<(usize, usize)>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let leader = leader.ok_or("leader is null")?;
    if leader.len() != LEADER_LEN || !leader.is_ascii() {
        return Err(format!("leader {leader:?} is not 24 ASCII characters"));
    }
    let (start, end) = range.ok_or("fields is null")?;
    let record_start = out.len();
    // The directory goes before the data, whose length it needs: data is written after a
    // placeholder directory, which is filled in once the field lengths are known.
    let directory_len = (end - start) * 12 + 1;
    out.extend_from_slice(leader.as_bytes());
    let directory_at = out.len();
    out.resize(directory_at + directory_len, 0);
    let data_at = out.len();
    for (entry, field) in (start..end).enumerate() {
        let tag = columns.tag.get(field).ok_or_else(|| format!("field {entry} has a null tag"))?;
        if tag.len() != 3 || !tag.is_ascii() {
            return Err(format!("field {entry}: tag {tag:?} is not 3 ASCII characters"));
        }
        let field_at = out.len();
        match columns.data.get(field) {
            Some(data) => out.extend_from_slice(data.as_bytes()),
            None => write_data_field(columns, field, out).map_err(|detail| format!("field {entry} ({tag}): {detail}"))?,
        }
        out.push(FIELD_TERMINATOR);
        let length = out.len() - field_at;
        let offset = field_at - data_at;
        if length > MAX_FIELD_LEN {
            return Err(format!("field {entry} ({tag}) is {length} bytes long; ISO 2709 allows {MAX_FIELD_LEN}"));
        }
        if offset > MAX_RECORD_LEN {
            return Err(format!("field {entry} ({tag}) starts {offset} bytes into the data; ISO 2709 allows {MAX_RECORD_LEN}"));
        }
        let at = directory_at + entry * 12;
        out[at..at + 3].copy_from_slice(tag.as_bytes());
        write_digits(&mut out[at + 3..at + 7], length);
        write_digits(&mut out[at + 7..at + 12], offset);
    }
    out[data_at - 1] = FIELD_TERMINATOR;
    out.push(RECORD_TERMINATOR);
    let length = out.len() - record_start;
    if length > MAX_RECORD_LEN {
        return Err(format!("the record is {length} bytes long; ISO 2709 allows {MAX_RECORD_LEN}"));
    }
    let leader = &mut out[record_start..record_start + LEADER_LEN];
    write_digits(&mut leader[..5], length);
    leader[9] = b'a';
    write_digits(&mut leader[12..17], data_at - record_start);
    Ok(())
}

/// A data field's content: its two indicators, then each subfield's delimiter, code and value.
fn write_data_field(columns: &FieldColumns<'_>, field: usize, out: &mut Vec<u8>) -> Result<(), String> {
    for (which, column) in [("ind1", columns.ind1), ("ind2", columns.ind2)] {
        let indicator = column.get(field).ok_or_else(|| format!("{which} is null and data too"))?;
        if indicator.chars().count() != 1 {
            return Err(format!("{which} {indicator:?} is not one character"));
        }
        out.extend_from_slice(indicator.as_bytes());
    }
    if !columns.subfields.is_valid(field) {
        return Err("subfields is null and data too".to_string());
    }
    let (from, to) = columns.subfields.offsets().start_end(field);
    for i in from..to {
        let (Some(code), Some(value)) = (columns.code.get(i), columns.value.get(i)) else {
            return Err(format!("subfield {} has a null code or value", i - from));
        };
        out.push(SUBFIELD_DELIMITER);
        out.extend_from_slice(code.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    Ok(())
}

fn write_digits(into: &mut [u8], mut value: usize) {
    for digit in into.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::columns::{BatchBuilder, Projection};
    use crate::iso2709::tests::{build, sample};

    fn frame_of(records: &[Vec<u8>]) -> DataFrame {
        let bytes: Vec<u8> = records.concat();
        let mut builder = BatchBuilder::new(crate::iso2709::form(), bytes.into(), Arc::new(Projection::lossless()));
        let mut at = 0;
        for record in records {
            builder.push_record(at, at + record.len()).unwrap();
            at += record.len();
        }
        builder.finish("")
    }

    fn written(df: &DataFrame) -> Result<Vec<u8>, WriteError> {
        let records = Records::of(df)?;
        check(&records)?;
        let mut out = Vec::new();
        encode(&records, 64, |bytes| {
            out.extend_from_slice(bytes);
            Ok::<(), WriteError>(())
        })?;
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
