//! What an input is, told by its first bytes (after decompression): records in a form that is
//! read, or something else, named so that the error says what the input looks like rather than
//! complaining about a record length made of a magic number.

use std::sync::Arc;

use crate::compression::{decompressed, Codec, Compression};
use crate::error::{DamageKind, MarcError, ReadError};
use crate::form::{Form, Guess};
use crate::marcjson::MarcJson;
use crate::marcxml::MarcXml;
use crate::source::Source;

/// Bytes an input is told by: its compression, then the form of what it holds.
pub const PREFIX_LEN: usize = 512;

/// Bytes of an XML document searched for its first MARC record (and the namespaces bound before
/// it): an OAI-PMH response's header comes first.
const XML_PREFIX_LEN: usize = 64 << 10;

/// The form records are read in: `Auto` tells it from each source's first bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Auto,
    Iso2709,
    MarcXml,
    Json,
}

impl Format {
    /// The names of the forms, as `format=` takes them.
    pub const NAMES: [&str; 3] = ["\"iso2709\"", "\"marcxml\"", "\"json\""];

    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "auto" => Format::Auto,
            "iso2709" => Format::Iso2709,
            "marcxml" => Format::MarcXml,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

/// The forms read, for the error that says so.
const READ_HERE: &str = "read are ISO 2709, MARCXML and MARC-in-JSON records, plain or compressed with gzip, zstd, bzip2 or xz";

/// `source` ready to be framed, and the form it is framed in: decompressed as `compression` says,
/// and in the form `format` names, or (`Format::Auto`) the form its first bytes show. Input that
/// is none of them (or, `format` given, clearly another) is an `unknown_format` error naming the
/// source and what it looks like.
pub fn opened(source: Source, compression: Compression, format: Format) -> Result<(Source, Arc<dyn Form>), ReadError> {
    let (prefix, source) = source.peek(PREFIX_LEN)?;
    let codec = match compression {
        Compression::Infer => Codec::sniff(&prefix),
        Compression::Codec(codec) => Some(codec),
        Compression::Off => None,
    };
    let (prefix, source) = match codec {
        Some(codec) => decompressed(source, codec)?.peek(PREFIX_LEN)?,
        None => (prefix, source),
    };
    let unknown = |source: Source, looks: String| {
        let looks = match codec {
            Some(codec) => format!("{looks}, once {codec}-decompressed"),
            None => looks,
        };
        Err(unknown_format(source.name(), format!("it looks like {looks}; {READ_HERE}")))
    };
    let looks = match (format, looks(&prefix)) {
        (Format::MarcXml, _) => Looks::Xml,
        (Format::Json, _) => Looks::Json,
        // Asked for ISO 2709, input that is something else is still named for what it is.
        (Format::Iso2709, Looks::Xml) => Looks::Other("XML".to_string()),
        (Format::Iso2709, Looks::Json) => Looks::Other("JSON".to_string()),
        (_, looks) => looks,
    };
    match looks {
        Looks::Iso2709 => Ok((source, crate::iso2709::form())),
        Looks::Xml => {
            let (prefix, source) = source.peek(XML_PREFIX_LEN)?;
            let form = match MarcXml::of(&prefix) {
                Ok(form) => form,
                Err(what) => return Err(unknown_format(source.name(), what)),
            };
            let has_record =
                matches!(form.likely_record_start(&prefix, 0, prefix.len(), true), Guess::Start(at) if at < prefix.len());
            if format == Format::Auto && !has_record && !first_element_is_marcxml(skip_preamble(&prefix)) {
                let kib = XML_PREFIX_LEN >> 10;
                return unknown(source, format!("XML without a MARCXML record in its first {kib} KiB"));
            }
            Ok((source, Arc::new(form)))
        }
        Looks::Json if format == Format::Auto && !mentions_a_record(&prefix) => {
            unknown(source, "JSON without a MARC-in-JSON record's \"leader\" or \"fields\" in its first bytes".to_string())
        }
        Looks::Json => Ok((source, Arc::new(MarcJson))),
        Looks::Other(looks) => unknown(source, looks),
    }
}

/// Whether JSON's first bytes name a member only MARC-in-JSON records have at their top.
fn mentions_a_record(prefix: &[u8]) -> bool {
    memchr::memmem::find(prefix, b"\"leader\"").is_some() || memchr::memmem::find(prefix, b"\"fields\"").is_some()
}

fn unknown_format(source: String, detail: String) -> ReadError {
    let detail = format!("this is not MARC 21 in a form read here: {detail}");
    ReadError::Marc(MarcError {
        kind: DamageKind::UnknownFormat,
        source,
        record: 0,
        record_offset: 0,
        offset_in_record: 0,
        detail,
    })
}

/// What the start of an input looks like.
#[derive(Debug, PartialEq, Eq)]
pub enum Looks {
    /// ISO 2709 records, or bytes that look like nothing known: those are read as ISO 2709, whose
    /// framing reports them as damage under every `on_error` mode.
    Iso2709,
    /// XML, which may hold MARCXML records.
    Xml,
    /// JSON, which may be MARC-in-JSON records.
    Json,
    /// Something else, described for the error.
    Other(String),
}

/// What the start of an input looks like.
pub fn looks(prefix: &[u8]) -> Looks {
    if let Some(codec) = Codec::sniff(prefix) {
        return Looks::Other(format!("{codec}-compressed data, read as it is (compression=None)"));
    }
    let text = skip_preamble(prefix);
    let lower: Vec<u8> = text.iter().take(32).map(u8::to_ascii_lowercase).collect();
    let starts = |what: &[u8]| lower.starts_with(what);
    let looks = if starts(b"%pdf") {
        "a PDF document"
    } else if starts(b"pk\x03\x04") {
        "a zip archive (unpack it first)"
    } else if starts(b"<!doctype html") || starts(b"<html") || starts(b"<head") {
        "an HTML page"
    } else if starts(b"<") {
        return Looks::Xml;
    } else if starts(b"{") || starts(b"[") {
        return Looks::Json;
    } else if is_prose(text) {
        "text"
    } else {
        return Looks::Iso2709;
    };
    Looks::Other(looks.to_string())
}

/// Text that no ISO 2709 record starts with, even a damaged one: it does not start with a digit,
/// holds none of the three MARC delimiters, and is mostly letters and spaces (a leader and a
/// directory are mostly digits). Shorter prefixes say too little and are left to the framing.
fn is_prose(text: &[u8]) -> bool {
    let words = text.iter().filter(|b| b.is_ascii_alphabetic() || **b == b' ').count();
    text.len() >= 64
        && !text[0].is_ascii_digit()
        && !text.iter().any(|b| matches!(b, 0x1D..=0x1F))
        && std::str::from_utf8(text).is_ok_and(|t| !t.contains(|c: char| c.is_control() && !c.is_whitespace()))
        && words * 2 > text.len()
}

/// After a UTF-8 byte order mark and whitespace, which text formats may start with.
fn skip_preamble(prefix: &[u8]) -> &[u8] {
    let text = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    &text[start..]
}

/// Whether the first element of XML, past its declaration, comments and doctype, is MARCXML's
/// `collection` or `record` (with a namespace prefix or not).
fn first_element_is_marcxml(text: &[u8]) -> bool {
    let mut rest = text;
    while let Some(at) = memchr::memchr(b'<', rest) {
        let name = &rest[at + 1..];
        if name.first().is_some_and(|&b| b == b'?' || b == b'!') {
            rest = name;
            continue;
        }
        let end = name.iter().position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/').unwrap_or(name.len());
        let name = &name[..end];
        let local = name.iter().position(|&b| b == b':').map_or(name, |colon| &name[colon + 1..]);
        return local == b"collection" || local == b"record";
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::tests::{compress, memory, read_all};
    use crate::iso2709::tests::sample;

    fn opened(source: Source, compression: Compression) -> Result<Source, ReadError> {
        super::opened(source, compression, Format::Auto).map(|(source, _)| source)
    }

    fn not_iso2709(prefix: &[u8]) -> Option<String> {
        match looks(prefix) {
            Looks::Iso2709 => None,
            Looks::Xml => Some("XML".to_string()),
            Looks::Json => Some("JSON".to_string()),
            Looks::Other(looks) => Some(looks),
        }
    }

    fn unknown_format(result: Result<Source, ReadError>) -> String {
        match result {
            Err(ReadError::Marc(error)) if error.kind == DamageKind::UnknownFormat => error.to_string(),
            Err(error) => panic!("another error: {error}"),
            Ok(_) => panic!("no error"),
        }
    }

    #[test]
    fn records_are_opened_plain_or_decompressed_and_anything_else_is_named() {
        let record = sample();
        let plain = opened(memory(record.clone()), Compression::Infer).unwrap();
        assert!(matches!(plain, Source::Memory { .. }));
        for codec in Codec::ALL {
            let packed = compress(codec, &record);
            assert_eq!(read_all(opened(memory(packed.clone()), Compression::Infer).unwrap()).unwrap(), record);
            assert_eq!(read_all(opened(memory(packed.clone()), Compression::Codec(codec)).unwrap()).unwrap(), record);
            let message = unknown_format(opened(memory(packed), Compression::Off));
            assert!(message.contains(&format!("it looks like {codec}-compressed data, read as it is")), "{message}");
        }
        let page = compress(Codec::Gzip, b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>");
        let message = unknown_format(opened(memory(page), Compression::Infer));
        assert_eq!(
            message,
            "test: record 0 at byte offset 0: this is not MARC 21 in a form read here: it looks like an HTML page, once \
             gzip-decompressed; read are ISO 2709, MARCXML and MARC-in-JSON records, plain or compressed with \
             gzip, zstd, bzip2 or xz"
        );
    }

    #[test]
    fn iso2709_and_unknown_bytes_are_left_to_the_framing() {
        assert_eq!(not_iso2709(b"00714cam a2200205 a 4500"), None);
        assert_eq!(not_iso2709(b"\xEF\xBB\xBF00714cam a2200205 a 4500"), None);
        // Too short to tell; damaged records; a leader and directory that are not digits.
        assert_eq!(not_iso2709(b"random text that is no record"), None);
        assert_eq!(not_iso2709(b"abcdecam a2200205 a 4500001001300000003000400013005001700017\x1e"), None);
        assert_eq!(not_iso2709(&b"x0714cam a2200205 a 4500".repeat(4)), None);
        assert_eq!(not_iso2709(b""), None);
    }

    #[test]
    fn other_inputs_are_named() {
        let cases: [(&[u8], &str); 8] = [
            (b"Dear cataloguer,\n\nPlease find attached the records you asked for last week.\n", "text"),
            (b"\x1F\x8B\x08\x08", "gzip-compressed data, read as it is (compression=None)"),
            (b"%PDF-1.7\n", "a PDF document"),
            (b"PK\x03\x04", "a zip archive (unpack it first)"),
            (b"\n<!DOCTYPE html>\n<html>", "an HTML page"),
            (b"<?xml version=\"1.0\"?>\n<collection>", "XML"),
            (b"\xEF\xBB\xBF  <record>", "XML"),
            (b"[{\"leader\": ", "JSON"),
        ];
        for (prefix, looks) in cases {
            assert_eq!(not_iso2709(prefix).as_deref(), Some(looks), "{prefix:?}");
        }
    }
}
