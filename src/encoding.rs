//! Character encodings of record bytes, and the policy that picks one for each record.

use crate::marc8;

/// The encoding `encoding=` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// As leader/09 says (`a`: UTF-8, else MARC-8), except that a record labelled MARC-8 whose
    /// bytes are valid UTF-8 without escape sequences is read as UTF-8 (see [`Reading::codec`]).
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

/// How records' text is to be read: the encoding asked for, and whether text decoded from MARC-8
/// is normalised to NFC (by default it keeps MARC 21's decomposed order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub encoding: Encoding,
    pub nfc: bool,
}

impl Reading {
    /// How the text of a record with these bytes (leader first) is decoded.
    pub fn codec(self, record: &[u8]) -> TextCodec {
        match self.encoding {
            Encoding::Auto if labelled_marc8(record) => self.marc8(),
            Encoding::Marc8 => self.marc8(),
            Encoding::Latin1 => TextCodec::Latin1,
            Encoding::Auto | Encoding::Utf8 => TextCodec::Utf8,
        }
    }

    /// How a record labelled UTF-8 whose bytes are MARC-8 (see [`reads_as_marc8`]) is read, when
    /// `encoding="auto"` lets it be.
    pub fn mislabelled_marc8(self) -> Option<TextCodec> {
        (self.encoding == Encoding::Auto).then_some(self.marc8())
    }

    fn marc8(self) -> TextCodec {
        TextCodec::Marc8 { nfc: self.nfc }
    }
}

/// Whether a record is read as MARC-8 under `encoding="auto"`: its leader/09 is not `a`, and its
/// bytes are not UTF-8 or hold an escape sequence. A record whose leader says MARC-8 but whose
/// bytes are valid UTF-8 is read as UTF-8: plain ASCII reads the same either way, and multibyte
/// UTF-8 sequences in MARC-8 would be a rare accident next to the common mislabelled UTF-8 record.
fn labelled_marc8(record: &[u8]) -> bool {
    const ESCAPE: u8 = 0x1B;
    record.get(9) != Some(&b'a') && (memchr::memchr(ESCAPE, record).is_some() || decode_utf8(record).is_err())
}

/// How a record's text is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCodec {
    Utf8,
    Marc8 { nfc: bool },
    Latin1,
}

impl TextCodec {
    /// The encoding's name, as `encoding=` takes it.
    pub fn name(self) -> &'static str {
        match self {
            TextCodec::Utf8 => "utf-8",
            TextCodec::Marc8 { .. } => "marc-8",
            TextCodec::Latin1 => "latin-1",
        }
    }

    /// Appends `bytes` decoded to `out`, what cannot be decoded as U+FFFD (or, in MARC-8, as the
    /// decoder writes it); never fails.
    pub fn decode_lossy(self, bytes: &[u8], out: &mut Vec<u8>) {
        match self {
            TextCodec::Utf8 => out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes()),
            TextCodec::Marc8 { nfc } => out.extend_from_slice(marc8::decode_normalized(bytes, nfc).text.as_bytes()),
            TextCodec::Latin1 => latin1_into(bytes, out),
        }
    }

    /// Appends `bytes` decoded to `out`, or gives the first place (counted from `bytes[0]`) where
    /// they are not text of this encoding, and what is wrong there.
    pub fn decode(self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), (usize, String)> {
        match self {
            TextCodec::Utf8 => {
                let text = decode_utf8(bytes).map_err(|at| (at, format!("byte 0x{:02X} is not UTF-8", bytes[at])))?;
                out.extend_from_slice(text.as_bytes());
            }
            TextCodec::Marc8 { nfc } => {
                // Most values are printable ASCII, which MARC-8's default G0 set maps to itself:
                // copied as they are, without the decoder's allocations.
                if bytes.iter().all(|&b| (0x20..0x7F).contains(&b)) {
                    out.extend_from_slice(bytes);
                    return Ok(());
                }
                let decoded = marc8::decode_normalized(bytes, nfc);
                if let Some(problem) = decoded.problems.first() {
                    return Err((problem.offset, problem.what()));
                }
                out.extend_from_slice(decoded.text.as_bytes());
            }
            TextCodec::Latin1 => latin1_into(bytes, out),
        }
        Ok(())
    }
}

/// ISO 8859-1: each byte is the character of that code.
fn latin1_into(bytes: &[u8], out: &mut Vec<u8>) {
    let mut buf = [0; 4];
    for &byte in bytes {
        out.extend_from_slice(char::from(byte).encode_utf8(&mut buf).as_bytes());
    }
}

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
    let symbol_then_letter = body.windows(2).any(|pair| matches!(pair[0], 0xC0..=0xC6 | 0xC8) && pair[1].is_ascii_alphabetic());
    decode_utf8(body).is_err() && !symbol_then_letter && marc8::decode(body).problems.is_empty()
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
