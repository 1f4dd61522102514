//! What a careful cataloguer reads of a damaged record, for `on_error="repair"`.
//!
//! Exports from real catalogues break ISO 2709's rules in ways that leave a record readable: a
//! stray byte in a leader position MARC 21 fixes, three indicators or one, a tag with a space in
//! it, a base address that disagrees with where the directory ends, directory lengths that count
//! characters rather than bytes, text before the first subfield delimiter, bytes no MARC-8 set
//! defines. [`repair`] reads such a record the one way its bytes allow, into the same text a sound
//! record becomes, and lists every change it made ([`crate::report::Repair`]): nothing is changed silently, and
//! the record's exact bytes stay beside it. A record whose fields cannot be found is left damaged.

use unicode_normalization::UnicodeNormalization;

use super::{parse_digits, FIELD_TERMINATOR, LEADER_LEN, MAX_RECORD_LEN, RECORD_TERMINATOR, SUBFIELD_DELIMITER};
use crate::encoding;
use crate::encoding::TextCodec;
use crate::error::{Damage, DamageKind};
use crate::marc8;
use crate::record::FieldSpan;
use crate::report::{RepairKind, Repairs};

/// The code of the subfield that keeps text found before a data field's first subfield delimiter.
/// `@` is no MARC 21 subfield code, so it cannot be taken for one; Koha names the text of fields
/// without subfields the same way.
pub const TEXT_BEFORE_SUBFIELD_CODE: u8 = b'@';

/// A field as the repaired directory finds it: `start..end` is its content, terminator excluded.
struct Entry {
    tag: [u8; 3],
    start: usize,
    end: usize,
}

/// Reads `record` (one framed unit, terminator included) as a careful cataloguer would, appending
/// its text to `out` as a sound record's would be (the leader, then each field's tag and content,
/// data fields as two indicators and their subfields), and its fields' spans (relative to where
/// it starts in `out`) to `spans`. `codec` is how a sound record of these bytes is read;
/// `marc8`: how a record labelled UTF-8 whose bytes are MARC-8 is read, if it may be
/// (`encoding="auto"`). Fails, appending nothing, where no repair finds the record's fields.
pub fn repair(
    record: &[u8],
    codec: TextCodec,
    marc8: Option<TextCodec>,
    out: &mut Vec<u8>,
    spans: &mut Vec<FieldSpan>,
) -> Result<Repairs, Damage> {
    let mut repairs = Repairs::default();
    if record.len() < LEADER_LEN + 2 || record.last() != Some(&RECORD_TERMINATOR) {
        return Err(Damage::new(DamageKind::Truncated, 0, "no record terminator ends it".to_string()));
    }
    let declared = parse_digits(&record[..5]);
    if declared != Some(record.len()) && record.len() <= MAX_RECORD_LEN {
        repairs.note(RepairKind::RecordLength, 0, || {
            format!("leader/00-04 is {:?}; the record ends at its terminator after {} bytes", lossy(&record[..5]), record.len())
        });
    }
    let entries = directory(record, &mut repairs)?;
    let codec = match (codec, marc8) {
        (TextCodec::Utf8, Some(marc8)) if encoding::reads_as_marc8(record) => {
            repairs.note(RepairKind::ReadAsMarc8, 0, || "labelled UTF-8, its bytes are MARC-8".to_string());
            marc8
        }
        (codec, _) => codec,
    };
    let base = out.len();
    spans.clear();
    leader(record, out, &mut repairs);
    for entry in &entries {
        let tag_at = out.len() - base;
        out.extend_from_slice(&entry.tag);
        let start = out.len() - base;
        let span = FieldSpan { tag: entry.tag, tag_at, start, len: 0 };
        let text = RecordBytes { record, codec };
        if span.is_control() {
            text.decode(entry.start..entry.end, out, &mut repairs);
        } else {
            data_field(text, entry, out, &mut repairs);
        }
        spans.push(FieldSpan { len: out.len() - base - start, ..span });
    }
    Ok(repairs)
}

/// The leader, with the positions MARC 21 fixes set as it says, and any byte that is not printable
/// ASCII read as the fill character.
fn leader(record: &[u8], out: &mut Vec<u8>, repairs: &mut Repairs) {
    let leader = &record[..LEADER_LEN];
    if &leader[10..12] != b"22" {
        repairs.note(RepairKind::LeaderCounts, 10, || format!("leader/10-11 {:?} read as \"22\"", lossy(&leader[10..12])));
    }
    if &leader[20..24] != b"4500" {
        repairs.note(RepairKind::LeaderEntryMap, 20, || format!("leader/20-23 {:?} read as \"4500\"", lossy(&leader[20..24])));
    }
    for (at, &byte) in leader.iter().enumerate() {
        out.push(match at {
            10 | 11 => b'2',
            20..=23 => b"4500"[at - 20],
            _ if (0x20..0x7F).contains(&byte) => byte,
            _ => {
                repairs.note(RepairKind::LeaderFill, at, || format!("leader/{at:02} 0x{byte:02X} read as \"|\""));
                b'|'
            }
        });
    }
}

/// The fields the directory finds: as the base address says where that makes every field end on
/// its terminator, else just past the first field terminator (where the directory really ends);
/// else, with either, each field from one terminator to the next.
fn directory(record: &[u8], repairs: &mut Repairs) -> Result<Vec<Entry>, Damage> {
    let data_end = record.len() - 1;
    let declared = parse_digits(&record[12..17]).filter(|&base| base > LEADER_LEN && base <= data_end).map(|base| base - 1);
    let terminated = memchr::memchr(FIELD_TERMINATOR, &record[LEADER_LEN..data_end]).map(|at| LEADER_LEN + at);
    let ends = [declared, terminated.filter(|&end| Some(end) != declared)];
    let parsed: Vec<(usize, Vec<RawEntry>)> =
        ends.into_iter().flatten().filter_map(|end| Some((end, entries(&record[LEADER_LEN..end])?))).collect();
    // By the directory as it is, then by the terminators: the first reading that finds every field.
    let found = (parsed.iter().find_map(|(end, raw)| Some((*end, by_directory(record, *end, raw)?, false))))
        .or_else(|| parsed.iter().find_map(|(end, raw)| Some((*end, by_terminators(record, *end, raw)?, true))));
    let Some((end, fields, by_terminators)) = found else {
        return Err(Damage::new(
            DamageKind::BadDirectory,
            LEADER_LEN,
            "no reading of the directory finds its fields".to_string(),
        ));
    };
    if Some(end) != declared {
        repairs.note(RepairKind::BaseAddress, 12, || {
            format!(
                "leader/12-16 is {:?}; the directory ends at byte {end}, so the fields start at {}",
                lossy(&record[12..17]),
                end + 1
            )
        });
    } else if record[end] != FIELD_TERMINATOR {
        repairs.note(RepairKind::DirectoryTerminator, end, || format!("the directory ends with 0x{:02X}, not 0x1E", record[end]));
    }
    let raw = &parsed.iter().find(|(e, _)| *e == end).expect("the reading found").1;
    for (entry, field) in raw.iter().zip(&fields) {
        if entry.tag.contains(&b' ') {
            repairs.note(RepairKind::TagCharacters, entry.at, || format!("tag {:?} has a space in it", lossy(&entry.tag)));
        }
        if by_terminators
            && (field.start, field.end) != (end + 1 + entry.offset, end + 1 + entry.offset + entry.length.saturating_sub(1))
        {
            repairs.note(RepairKind::FieldBounds, entry.at, || {
                format!("field {} (directory entry at byte {}) read from terminator to terminator", lossy(&entry.tag), entry.at)
            });
        }
    }
    Ok(fields)
}

/// A directory entry as written: where it is, its tag, its field's length and offset.
struct RawEntry {
    at: usize,
    tag: [u8; 3],
    length: usize,
    offset: usize,
}

/// The entries of a directory of whole 12-byte entries whose tags are printable ASCII (a space
/// included) and whose lengths and offsets are numbers.
fn entries(directory: &[u8]) -> Option<Vec<RawEntry>> {
    if directory.len() % 12 != 0 {
        return None;
    }
    (directory.chunks_exact(12).enumerate())
        .map(|(index, entry)| {
            let tag = [entry[0], entry[1], entry[2]];
            tag.iter().all(|b| (0x20..0x7F).contains(b)).then_some(())?;
            let (length, offset) = (parse_digits(&entry[3..7])?, parse_digits(&entry[7..12])?);
            Some(RawEntry { at: LEADER_LEN + index * 12, tag, length, offset })
        })
        .collect()
}

/// The fields where the entries say, if each lies in the field data and ends on a terminator.
fn by_directory(record: &[u8], end: usize, raw: &[RawEntry]) -> Option<Vec<Entry>> {
    let (data_start, data_end) = (end + 1, record.len() - 1);
    (raw.iter())
        .map(|entry| {
            let start = data_start + entry.offset;
            let stop = start.checked_add(entry.length).filter(|&stop| entry.length > 0 && stop <= data_end)?;
            (record[stop - 1] == FIELD_TERMINATOR).then_some(Entry { tag: entry.tag, start, end: stop - 1 })
        })
        .collect()
}

/// The fields from one terminator to the next, in directory order, if the field data is exactly
/// as many terminated fields as there are entries, and the entries are in that order.
fn by_terminators(record: &[u8], end: usize, raw: &[RawEntry]) -> Option<Vec<Entry>> {
    let data = &record[end + 1..record.len() - 1];
    if !raw.windows(2).all(|pair| pair[0].offset <= pair[1].offset) || data.last() != Some(&FIELD_TERMINATOR) {
        return None;
    }
    let mut start = end + 1;
    let fields: Vec<Entry> = data
        .split_inclusive(|&b| b == FIELD_TERMINATOR)
        .zip(raw)
        .map(|(piece, entry)| {
            let field = Entry { tag: entry.tag, start, end: start + piece.len() - 1 };
            start += piece.len();
            field
        })
        .collect();
    (fields.len() == raw.len() && start == record.len() - 1).then_some(fields)
}

/// A record's bytes and how its text is decoded.
#[derive(Clone, Copy)]
struct RecordBytes<'a> {
    record: &'a [u8],
    codec: TextCodec,
}

impl RecordBytes<'_> {
    /// Appends the text of `range` of the record, noting what could not be read as it is.
    fn decode(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>, repairs: &mut Repairs) {
        let bytes = &self.record[range.clone()];
        match self.codec {
            TextCodec::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => out.extend_from_slice(text.as_bytes()),
                Err(error) => {
                    let at = range.start + error.valid_up_to();
                    repairs.note(RepairKind::Utf8Replaced, at, || format!("byte {at} (0x{:02X}) is not UTF-8", self.record[at]));
                    out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes());
                }
            },
            TextCodec::Marc8 { nfc } => {
                let decoded = marc8::decode_replacing(bytes, nfc);
                if let Some(problem) = decoded.problems.first() {
                    let at = range.start + problem.offset;
                    repairs.note(RepairKind::Marc8Replaced, at, || format!("MARC-8 at byte {at}: {}", problem.what()));
                }
                out.extend_from_slice(decoded.text.as_bytes());
            }
            TextCodec::Latin1 => TextCodec::Latin1.decode_lossy(bytes, out),
        }
    }

    /// The character that starts at `at` as an indicator reads it, and the bytes it takes: ASCII
    /// as it is; in UTF-8 one character (U+FFFD for bytes that are none); in MARC-8 and Latin-1,
    /// where indicators are ASCII, U+FFFD.
    fn character(&self, at: usize, end: usize, replaced: RepairKind, repairs: &mut Repairs) -> (char, usize) {
        let byte = self.record[at];
        if byte.is_ascii() {
            return (char::from(byte), 1);
        }
        match self.codec {
            TextCodec::Utf8 => {
                let bytes = &self.record[at..end.min(at + 4)];
                let valid = match std::str::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(error) => std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or_default(),
                };
                match valid.chars().next() {
                    Some(c) => (c, c.len_utf8()),
                    None => {
                        repairs.note(RepairKind::Utf8Replaced, at, || format!("byte {at} (0x{byte:02X}) is not UTF-8"));
                        (char::REPLACEMENT_CHARACTER, 1)
                    }
                }
            }
            TextCodec::Marc8 { .. } | TextCodec::Latin1 => {
                repairs.note(replaced, at, || format!("byte {at} (0x{byte:02X}) is not ASCII"));
                (char::REPLACEMENT_CHARACTER, 1)
            }
        }
    }
}

/// A data field's indicators and subfields, as a sound one's content is: two indicators, then each
/// subfield's delimiter, code and value.
fn data_field(text: RecordBytes<'_>, entry: &Entry, out: &mut Vec<u8>, repairs: &mut Repairs) {
    let content = &text.record[entry.start..entry.end];
    let first_delimiter = memchr::memchr(SUBFIELD_DELIMITER, content).map(|at| entry.start + at);
    let prefix_end = first_delimiter.unwrap_or(entry.end);
    let mut at = entry.start;
    let mut indicators = 0;
    while indicators < 2 && at < prefix_end {
        let (c, len) = text.character(at, prefix_end, RepairKind::IndicatorReplaced, repairs);
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        (at, indicators) = (at + len, indicators + 1);
    }
    if indicators < 2 {
        repairs.note(RepairKind::MissingIndicators, entry.start, || {
            format!("field {} has {indicators} indicator(s): padded with blanks", lossy(&entry.tag))
        });
        out.extend(std::iter::repeat_n(b' ', 2 - indicators));
    }
    let rest = &text.record[at..prefix_end];
    if !rest.is_empty() {
        // Blanks, or one byte, after two indicators are a third indicator; more is text.
        if first_delimiter.is_some() && (rest.len() == 1 || rest.iter().all(|&b| b == b' ')) {
            repairs.note(RepairKind::ExtraIndicators, at, || {
                format!("field {}: {:?} after its two indicators left out", lossy(&entry.tag), lossy(rest))
            });
        } else {
            repairs.note(RepairKind::TextBeforeSubfield, at, || {
                format!(
                    "field {}: text before its first subfield delimiter kept as subfield ${}",
                    lossy(&entry.tag),
                    TEXT_BEFORE_SUBFIELD_CODE as char
                )
            });
            out.extend_from_slice(&[SUBFIELD_DELIMITER, TEXT_BEFORE_SUBFIELD_CODE]);
            text.decode(at..prefix_end, out, repairs);
        }
    }
    let Some(mut delimiter) = first_delimiter else { return };
    loop {
        let start = delimiter + 1;
        let end = memchr::memchr(SUBFIELD_DELIMITER, &text.record[start..entry.end]).map_or(entry.end, |at| start + at);
        out.push(SUBFIELD_DELIMITER);
        if start < end {
            let (code, len) = subfield_code(&text.record[start..end]).unwrap_or((char::REPLACEMENT_CHARACTER, 1));
            if !text.record[start].is_ascii() {
                repairs.note(RepairKind::SubfieldCodeReplaced, start, || {
                    format!(
                        "field {}: subfield code {:?} read as {code:?}",
                        lossy(&entry.tag),
                        lossy(&text.record[start..start + len])
                    )
                });
            }
            out.extend_from_slice(code.encode_utf8(&mut [0; 4]).as_bytes());
            text.decode(start + len..end, out, repairs);
        }
        if end == entry.end {
            return;
        }
        delimiter = end;
    }
}

/// A subfield's code, and the bytes it takes, as pymarc 5.4 reads one that is not ASCII: the
/// subfield as UTF-8 (or, if it is not, Latin-1), decomposed (NFKD), and its first ASCII character
/// (the letter a diacritic decorates, say); one character, or one byte, is taken. `None` where no
/// ASCII character follows.
fn subfield_code(subfield: &[u8]) -> Option<(char, usize)> {
    let first = *subfield.first()?;
    if first.is_ascii() {
        return Some((char::from(first), 1));
    }
    let (text, len) = match std::str::from_utf8(subfield) {
        Ok(text) => (text.to_string(), text.chars().next()?.len_utf8()),
        Err(_) => (subfield.iter().map(|&b| char::from(b)).collect(), 1),
    };
    Some((text.nfkd().find(char::is_ascii)?, len))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::{build, sample};

    /// A repaired record: its leader, its fields as (tag, content), and the codes of its repairs.
    type Read = (String, Vec<(String, String)>, Vec<&'static str>);

    fn repaired(record: &[u8], codec: TextCodec) -> Result<Read, Damage> {
        let (mut out, mut spans) = (Vec::new(), Vec::new());
        let repairs = repair(record, codec, Some(TextCodec::Marc8 { nfc: false }), &mut out, &mut spans)?;
        let text = String::from_utf8(out).expect("UTF-8");
        let fields = spans
            .iter()
            .map(|s| (text[s.tag_at..s.tag_at + 3].to_string(), text[s.start..s.start + s.len].to_string()))
            .collect();
        Ok((text[..LEADER_LEN].to_string(), fields, repairs.0.iter().map(|r| r.kind.code()).collect()))
    }

    #[test]
    fn a_sound_record_reads_as_it_is_with_no_repair() {
        let (leader, fields, codes) = repaired(&sample(), TextCodec::Utf8).unwrap();
        assert_eq!(leader.as_bytes(), &sample()[..24]);
        assert_eq!(fields[1], ("245".to_string(), "10\x1faA title /\x1fcby me.".to_string()));
        assert!(codes.is_empty());
    }

    #[test]
    fn the_base_address_is_the_one_that_finds_every_field() {
        let record = sample();
        let base = parse_digits(&record[12..17]).unwrap();
        // Wrong base address, right directory terminator.
        let mut wrong = record.clone();
        wrong[12..17].copy_from_slice(format!("{:05}", base + 7).as_bytes());
        let (_, fields, codes) = repaired(&wrong, TextCodec::Utf8).unwrap();
        assert_eq!((fields.len(), codes), (3, vec!["base_address"]));
        // Right base address, the directory's terminator another byte: read by the base address.
        let mut unterminated = record.clone();
        unterminated[base - 1] = SUBFIELD_DELIMITER;
        let (_, fields, codes) = repaired(&unterminated, TextCodec::Utf8).unwrap();
        assert_eq!((fields.len(), codes), (3, vec!["directory_terminator"]));
    }

    #[test]
    fn fields_are_read_from_terminator_to_terminator_when_the_lengths_lie() {
        let record = build(b"00000nam a2200000 a 4500", &[("245", "10\x1faΚαλημέρα".as_bytes()), ("500", b"  \x1faNote")]);
        // The first field's length counts characters, not bytes: 7 fewer.
        let mut lying = record.clone();
        let length = parse_digits(&lying[27..31]).unwrap();
        lying[27..31].copy_from_slice(format!("{:04}", length - 7).as_bytes());
        let (_, fields, codes) = repaired(&lying, TextCodec::Utf8).unwrap();
        assert_eq!(fields[0].1, "10\x1faΚαλημέρα");
        assert_eq!(fields[1].1, "  \x1faNote");
        assert_eq!(codes, ["field_bounds"]);
    }

    #[test]
    fn indicators_are_padded_or_cut_and_text_before_a_delimiter_is_kept() {
        let record = build(
            b"00000nam a2200000 a 4500",
            &[("100", b"1\x1faOne"), ("245", b"100\x1faThree"), ("500", b"  A note with no delimiter"), ("600", b"")],
        );
        let (_, fields, codes) = repaired(&record, TextCodec::Utf8).unwrap();
        let contents: Vec<&str> = fields.iter().map(|(_, content)| content.as_str()).collect();
        assert_eq!(contents, ["1 \x1faOne", "10\x1faThree", "  \x1f@A note with no delimiter", "  "]);
        assert_eq!(codes, ["missing_indicators", "extra_indicators", "text_before_subfield"]);
    }

    #[test]
    fn indicators_and_codes_that_are_not_ascii_are_replaced_in_marc8_and_latin1() {
        let record = build(b"00000nam  2200000   4500", &[("082", b"\xb2 \x1fa020"), ("260", b"  \x1f\xe2bParis")]);
        for codec in [TextCodec::Marc8 { nfc: false }, TextCodec::Latin1] {
            let (_, fields, codes) = repaired(&record, codec).unwrap();
            assert_eq!(fields[0].1, "\u{FFFD} \x1fa020");
            // pymarc's reading of a code that is not ASCII: the letter its diacritic decorates.
            assert!(fields[1].1.starts_with("  \x1fa"), "{:?}", fields[1].1);
            assert_eq!(codes, ["indicator_replaced", "subfield_code_replaced"], "{codec:?}");
        }
    }

    #[test]
    fn leader_positions_marc21_fixes_are_set_and_others_filled() {
        let mut record = sample();
        record[10] = b'0';
        record[21] = 0xA0;
        record[17] = 0xC3;
        let (leader, _, codes) = repaired(&record, TextCodec::Utf8).unwrap();
        assert_eq!(&leader[10..12], "22");
        assert_eq!(&leader[20..24], "4500");
        assert_eq!(&leader[17..18], "|");
        assert_eq!(codes, ["leader_counts", "leader_entry_map", "leader_fill"]);
    }

    #[test]
    fn a_record_whose_fields_cannot_be_found_is_not_repaired() {
        let mut record = sample();
        // The directory is not whole entries, and no terminator ends one.
        record.insert(30, b'9');
        let base = parse_digits(&record[12..17]).unwrap();
        record[12..17].copy_from_slice(format!("{:05}", base + 1).as_bytes());
        let (mut out, mut spans) = (b"kept".to_vec(), Vec::new());
        assert!(repair(&record, TextCodec::Utf8, None, &mut out, &mut spans).is_err());
        assert_eq!(out, b"kept");
        assert!(repair(&sample()[..40], TextCodec::Utf8, None, &mut out, &mut spans).is_err(), "cut short");
    }
}
