//! A record as ISO 2709: lengths, base address and directory computed anew, leader/09 `a` (the
//! text is written as UTF-8), every other leader position as it is.

use super::{FIELD_TERMINATOR, LEADER_LEN, MAX_FIELD_LEN, MAX_RECORD_LEN, RECORD_TERMINATOR, SUBFIELD_DELIMITER};
use crate::writer::{Field, Record};

/// Appends `record` to `out`; on error `out` may hold part of it. Every character can be written:
/// none is left out.
pub fn record(record: &Record<'_, '_>, out: &mut Vec<u8>) -> Result<usize, String> {
    let record_start = out.len();
    // The directory goes before the data, whose length it needs: data is written after a
    // placeholder directory, which is filled in once the field lengths are known.
    let directory_len = record.len() * 12 + 1;
    out.extend_from_slice(record.leader.as_bytes());
    let directory_at = out.len();
    out.resize(directory_at + directory_len, 0);
    let data_at = out.len();
    for (entry, field) in record.fields().enumerate() {
        let field_at = out.len();
        let tag = match field? {
            Field::Control { tag, data } => {
                out.extend_from_slice(data.as_bytes());
                tag
            }
            Field::Data { tag, ind1, ind2, subfields } => {
                out.extend_from_slice(ind1.as_bytes());
                out.extend_from_slice(ind2.as_bytes());
                for subfield in subfields {
                    let (code, value) = subfield?;
                    out.push(SUBFIELD_DELIMITER);
                    out.extend_from_slice(code.as_bytes());
                    out.extend_from_slice(value.as_bytes());
                }
                tag
            }
        };
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
    Ok(0)
}

fn write_digits(into: &mut [u8], mut value: usize) {
    for digit in into.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}
