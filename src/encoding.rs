//! Character encodings of record bytes.

/// The record as UTF-8 text, or the offset of its first byte that is not valid UTF-8.
///
/// One pass over the whole record: every slice of it between ASCII delimiters is then valid too.
/// simdutf8 validates several times faster than `std::str::from_utf8` on non-ASCII text; the slower
/// std pass runs only to locate an error.
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, usize> {
    simdutf8::basic::from_utf8(bytes).map_err(|_| std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_offset_of_the_first_bad_byte() {
        assert_eq!(decode_utf8("añb".as_bytes()), Ok("añb"));
        assert_eq!(decode_utf8(b"ab\xc3"), Err(2));
        assert_eq!(decode_utf8(b"a\xffb"), Err(1));
    }
}
