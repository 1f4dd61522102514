//! Character encodings of record bytes.

/// The record as UTF-8 text, or the offset of its first byte that is not valid UTF-8.
///
/// One pass over the whole record: every slice of it between ASCII delimiters is then valid too.
/// simdutf8 validates several times faster than `std::str::from_utf8` on non-ASCII text; the slower
/// std pass runs only to locate an error.
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, usize> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| 0))
}

/// Whether a record labelled UTF-8 is MARC-8 rather: its bytes after the leader are not UTF-8 but
/// read as MARC-8 without a fault, and look like MARC-8 text. The common mislabelling the other
/// way from a MARC-8 record holding UTF-8.
///
/// Bytes of other encodings can read as MARC-8 without a fault (ISO 5426 and Latin-1 accents
/// among them), so one sign of those rules it out: a byte 0xC0-0xC6 or 0xC8 followed by a
/// letter. In MARC-8 these are spacing symbols (°, ℓ, ℗, ©, ♯, ¿, ¡, €) that text never runs into
/// a letter, where ISO 5426 puts its diacritics (0xC1-0xCF) just before their letters.
pub fn reads_as_marc8(record: &[u8]) -> bool {
    let body = record.get(crate::iso2709::LEADER_LEN..).unwrap_or_default();
    let symbol_then_letter =
        body.windows(2).any(|pair| matches!(pair[0], 0xC0..=0xC6 | 0xC8) && pair[1].is_ascii_alphabetic());
    decode_utf8(body).is_err() && !symbol_then_letter && crate::marc8::decode(body).problems.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marc8_bytes_in_a_record_labelled_utf8_are_told_from_other_encodings() {
        let leader = [b'0'; 24];
        let record = |body: &[u8]| [&leader[..], body].concat();
        // ANSEL's acute (0xE2) before its letter: MARC-8.
        assert!(reads_as_marc8(&record(b"Caf\xe2e")));
        // UTF-8 is UTF-8; a byte no MARC-8 set defines is not MARC-8.
        assert!(!reads_as_marc8(&record("Café".as_bytes())));
        assert!(!reads_as_marc8(&record(b"Caf\xcfe")));
        // ISO 5426's acute (0xC2) before its letter: MARC-8's spacing ℗ would not run into it.
        assert!(!reads_as_marc8(&record(b"Caf\xc2e")));
        assert!(reads_as_marc8(&record(b"\xc21990")));
    }

    #[test]
    fn reports_the_offset_of_the_first_bad_byte() {
        assert_eq!(decode_utf8("añb".as_bytes()), Ok("añb"));
        assert_eq!(decode_utf8(b"ab\xc3"), Err(2));
        assert_eq!(decode_utf8(b"a\xffb"), Err(1));
    }
}
