//! What can be read of a damaged record, for `on_error="collect"`.
//!
//! A damaged record's exact bytes are kept beside it (the `raw` column); this gives its other columns
//! whatever text can be recovered, never failing: the leader as far as it goes, then each directory
//! entry that names a tag and points at a field ending on a field terminator.
//! Bytes that do not decode become U+FFFD (or what MARC-8 writes for them), which the `raw` bytes
//! make good.

use super::{parse_digits, FIELD_TERMINATOR, LEADER_LEN, RECORD_TERMINATOR};
use crate::encoding::TextCodec;
use crate::record::{DataFieldParts, FieldSpan, SUBFIELD_DELIMITER};

/// A salvaged record in the buffer it was appended to: its leader is `..leader_len` of it, and
/// `spans` (relative to its start) its fields.
pub struct Salvaged {
    pub leader_len: usize,
}

/// Appends what can be read of `record` to `out` as UTF-8 text, and its fields' spans (relative to
/// where it starts in `out`) to `spans` (cleared first).
pub fn salvage(record: &[u8], codec: TextCodec, out: &mut Vec<u8>, spans: &mut Vec<FieldSpan>) -> Salvaged {
    spans.clear();
    let base = out.len();
    // The leader is ASCII in any encoding: read as UTF-8 (lossily), whatever the codec.
    TextCodec::Utf8.decode_lossy(&record[..record.len().min(LEADER_LEN)], out);
    let leader_len = out.len() - base;
    if record.len() <= LEADER_LEN {
        return Salvaged { leader_len };
    }
    // The directory ends just before the base address if that lies in the record (its terminator
    // may be what is damaged), else at the first field terminator; field offsets count from the
    // end of the directory in either case.
    let declared = parse_digits(&record[12..17]).filter(|&at| at > LEADER_LEN && at <= record.len());
    let directory_end = match declared {
        Some(at) => at - 1,
        None => match memchr::memchr(FIELD_TERMINATOR, &record[LEADER_LEN..]) {
            Some(at) => LEADER_LEN + at,
            None => return Salvaged { leader_len },
        },
    };
    let data_start = directory_end + 1;
    // An entry is taken when its field ends on a field terminator, which a shifted entry's does
    // not: past a byte lost or added in the directory, which shifts every entry after it, the
    // directory is searched byte by byte for the next such entry.
    let mut at = LEADER_LEN;
    while at + 12 <= directory_end {
        let entry = &record[at..at + 12];
        let tag = [entry[0], entry[1], entry[2]];
        let place = match (parse_digits(&entry[3..7]), parse_digits(&entry[7..12])) {
            (Some(length), Some(offset)) if tag.iter().all(u8::is_ascii_graphic) => {
                let start = data_start.saturating_add(offset);
                let end = start.saturating_add(length).min(record.len());
                let terminated = end > start && record[end - 1] == FIELD_TERMINATOR;
                terminated.then_some((start, end))
            }
            _ => None,
        };
        let Some((start, end)) = place else {
            at += 1;
            continue;
        };
        at += 12;
        let mut content = &record[start..end];
        if let Some(cut) = memchr::memchr2(FIELD_TERMINATOR, RECORD_TERMINATOR, content) {
            content = &content[..cut];
        }
        let tag_at = out.len() - base;
        out.extend_from_slice(&tag);
        let field_start = out.len() - base;
        let span = FieldSpan { tag, tag_at, start: field_start, len: 0 };
        if span.is_control() {
            codec.decode_lossy(content, out);
        } else {
            let parts = DataFieldParts::split(content);
            TextCodec::Utf8.decode_lossy(parts.indicators, out);
            for subfield in parts.subfields() {
                out.push(SUBFIELD_DELIMITER);
                // The code is ASCII in every encoding; a value is decoded on its own, as MARC-8
                // starts each from the default sets.
                let (code, value) = subfield.split_at(subfield.len().min(1));
                TextCodec::Utf8.decode_lossy(code, out);
                codec.decode_lossy(value, out);
            }
        }
        spans.push(FieldSpan { len: out.len() - base - field_start, ..span });
    }
    Salvaged { leader_len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso2709::tests::sample;

    fn salvaged(record: &[u8], codec: TextCodec) -> (String, Vec<(String, String)>) {
        let mut out = b"before".to_vec();
        let mut spans = Vec::new();
        let Salvaged { leader_len } = salvage(record, codec, &mut out, &mut spans);
        let text = std::str::from_utf8(&out[6..]).expect("salvaged text is UTF-8").to_string();
        let fields = spans.iter().map(|s| (s.tag_str().to_string(), text[s.start..s.start + s.len].to_string())).collect();
        (text[..leader_len].to_string(), fields)
    }

    #[test]
    fn a_sound_record_is_read_whole() {
        let (leader, fields) = salvaged(&sample(), TextCodec::Utf8);
        assert_eq!(leader.len(), 24);
        assert_eq!(fields[0], ("001".to_string(), "12345".to_string()));
        assert_eq!(fields[1], ("245".to_string(), "10\x1faA title /\x1fcby me.".to_string()));
        assert_eq!(fields.len(), 3);
    }

    #[test]
    fn bad_entries_are_passed_over_and_bad_bytes_replaced() {
        let mut record = sample();
        // Entry 0 (001) gets a non-numeric length; field 650 an invalid UTF-8 byte.
        record[LEADER_LEN + 3] = b'x';
        let at = record.len() - 4;
        record[at] = 0xFF;
        // And the base address is not a number: the directory ends at the first field terminator.
        record[12..17].copy_from_slice(b"00x99");
        let (_, fields) = salvaged(&record, TextCodec::Utf8);
        assert_eq!(fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["245", "650"]);
        assert!(fields[1].1.contains('\u{FFFD}'));
    }

    #[test]
    fn entries_after_a_lost_directory_byte_are_found_again() {
        let mut record = sample();
        // Drop the last byte of entry 0: entries 1 and 2 are shifted by one (and the base address
        // says where the directory now ends, as the writer of such a record computed it).
        record.remove(LEADER_LEN + 11);
        let base = parse_digits(&record[12..17]).unwrap() - 1;
        record[12..17].copy_from_slice(format!("{base:05}").as_bytes());
        let (_, fields) = salvaged(&record, TextCodec::Utf8);
        assert_eq!(fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["245", "650"]);
        assert_eq!(fields[1].1, " 0\x1faCats.");
    }

    #[test]
    fn never_fails_on_any_cut_or_byte() {
        let record = sample();
        for cut in 0..record.len() {
            let (leader, _) = salvaged(&record[..cut], TextCodec::Marc8 { nfc: true });
            assert_eq!(leader.len(), cut.min(24));
        }
        for at in 0..record.len() {
            for value in [0u8, b'9', 0x1B, 0x1D, 0x1E, 0x1F, 0xE2, 0xFF] {
                let mut damaged = record.clone();
                damaged[at] = value;
                for codec in [TextCodec::Utf8, TextCodec::Marc8 { nfc: false }, TextCodec::Latin1] {
                    salvaged(&damaged, codec);
                }
            }
        }
    }
}
