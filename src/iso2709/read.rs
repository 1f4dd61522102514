//! Reading a sound ISO 2709 record into a record's text: in place where the record is UTF-8 (the
//! builders' views point into the input), else each control field and subfield value decoded into
//! the batch's decoded text, MARC-8 starting each from the default sets as MARC 21 asks.

use std::ops::Range;

use super::{parse_record, LEADER_LEN};
use crate::encoding::{self, TextCodec};
use crate::error::{Damage, DamageKind};
use crate::form::Target;
use crate::record::{DataFieldParts, FieldSpan, RecordText, SUBFIELD_DELIMITER};

/// Reads the record at `range` of the input (see [`crate::form::Form::read`]).
pub(super) fn read(range: Range<usize>, to: &mut Target<'_, '_>) -> Result<TextCodec, Damage> {
    let spans = &mut to.scratch.fields;
    let bytes = &to.text.input_bytes()[range.clone()];
    parse_record(bytes, spans)?;
    let codec = to.reading.codec(bytes);
    if codec == TextCodec::Utf8 {
        let record = utf8(bytes, spans)?;
        // Every check runs whatever columns are built: whether a record is damaged never depends
        // on what is asked of it.
        check_indicators(bytes, spans)?;
        (to.push)(&RecordText { text: record, leader_len: LEADER_LEN, spans }, to.text.input());
        return Ok(codec);
    }
    check_indicators(bytes, spans)?;
    let (input, decoded) = to.text.input_and_decoded();
    let at = decoded.len();
    if at == 0 {
        // Decoded text is about as long as the records it comes from: one allocation for the rest
        // of the batch rather than a doubling at every overflow.
        decoded.reserve(input.len() - range.start + input.len() / 16);
    }
    if let Err(damage) = transcode(&input[range], spans, codec, decoded, &mut to.scratch.text_fields) {
        decoded.truncate(at);
        return Err(damage);
    }
    to.push_decoded(at, LEADER_LEN)?;
    Ok(codec)
}

/// The record as UTF-8 text, each field starting and ending on a character boundary.
fn utf8<'a>(bytes: &'a [u8], spans: &[FieldSpan]) -> Result<&'a str, Damage> {
    let text = encoding::decode_utf8(bytes).map_err(|at| invalid_utf8(bytes, spans, at))?;
    // The record is valid UTF-8 throughout, so every slice between ASCII delimiters is too; only
    // the leader's end and the field starts the directory gives need a boundary check.
    for (from, to) in std::iter::once((0, LEADER_LEN)).chain(spans.iter().map(|f| (f.start, f.start + f.len))) {
        if !text.is_char_boundary(from) || !text.is_char_boundary(to) {
            return Err(Damage::new(DamageKind::InvalidUtf8, from, format!("bytes {from}..{to} split a UTF-8 character")));
        }
    }
    Ok(text)
}

/// Appends `record` to `out` with each control field and each subfield value decoded by `codec`,
/// and the spans of its fields there to `spans`: the leader, tags, indicators and subfield codes
/// are copied as they are, so they must be ASCII. Any byte the codec cannot read is an error
/// naming where it is in the record.
fn transcode(
    record: &[u8],
    fields: &[FieldSpan],
    codec: TextCodec,
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
        let decode = |bytes: &[u8], out: &mut Vec<u8>| {
            codec.decode(bytes, out).map_err(|(at, what)| {
                let at = offset_of(bytes) + at;
                Damage::new(
                    DamageKind::InvalidMarc8,
                    at,
                    format!("field {}: invalid MARC-8 at byte {at} of the record: {what}", field.tag_str()),
                )
            })
        };
        if field.is_control() {
            decode(content, out)?;
        } else {
            let parts = DataFieldParts::split(content);
            copy_ascii(parts.indicators, field, offset_of(parts.indicators), "indicators", out)?;
            for subfield in parts.subfields() {
                out.push(SUBFIELD_DELIMITER);
                let (code, value) = subfield.split_at(subfield.len().min(1));
                copy_ascii(code, field, offset_of(subfield), "subfield code", out)?;
                decode(value, out)?;
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
