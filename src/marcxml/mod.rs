//! MARCXML (the MARC 21 slim schema) as a [`Form`]: records found by their markup ([`frame`]),
//! each then parsed on its own with quick-xml (`read`) into the record text every form gives.
//!
//! A record is a `record` element of the slim namespace, with a namespace prefix or without, bare
//! or in a `collection` or any other XML (an OAI-PMH response, say): a `record` element is taken
//! to be MARC unless its prefix (or the default namespace) is bound to another namespace, on the
//! element itself or on the document's root and the elements before its first record. Those
//! bindings are read once, from the start of the document ([`MarcXml::of`]), so that parts of it
//! framed in parallel, which start mid-document, know them too.

mod frame;
pub mod handler;
mod read;
pub mod write;

use std::ops::Range;

use crate::encoding::TextCodec;
use crate::error::Damage;
use crate::form::{Cut, Form, Framed, Framing, Guess, Target};
use crate::report::Repairs;

/// The MARC 21 slim namespace.
pub const MARC_NAMESPACE: &[u8] = b"http://www.loc.gov/MARC21/slim";

/// The encodings a MARCXML document is read in, as its XML declaration names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmlEncoding {
    Utf8,
    /// ISO 8859-1, which some exports declare: each byte is the character of that code.
    Latin1,
}

/// MARCXML, with the namespace bindings and encoding of one document.
#[derive(Debug)]
pub struct MarcXml {
    /// `(prefix, namespace)` bound before the first record, innermost last; the empty prefix is
    /// the default namespace.
    bindings: Vec<(Vec<u8>, Vec<u8>)>,
    encoding: XmlEncoding,
}

impl MarcXml {
    /// The form of the document that starts with `prefix`: its encoding, from its XML declaration,
    /// and the namespaces bound before its first record. An encoding that is not read is an error
    /// naming it.
    pub fn of(prefix: &[u8]) -> Result<MarcXml, String> {
        let text = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
        let encoding = match declared_encoding(text) {
            None => XmlEncoding::Utf8,
            Some(name) => match name.to_ascii_lowercase().as_slice() {
                b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => XmlEncoding::Utf8,
                b"iso-8859-1" | b"iso8859-1" | b"latin1" | b"latin-1" | b"l1" => XmlEncoding::Latin1,
                _ => {
                    return Err(format!(
                        "MARCXML in {:?}, an encoding not read here; read are UTF-8 and ISO-8859-1",
                        String::from_utf8_lossy(&name)
                    ))
                }
            },
        };
        let mut form = MarcXml { bindings: Vec::new(), encoding };
        form.bindings = form.bindings_before_first_record(text);
        Ok(form)
    }

    /// The encoding records are read in, as `include_encoding` names it.
    fn codec(&self) -> TextCodec {
        match self.encoding {
            XmlEncoding::Utf8 => TextCodec::Utf8,
            XmlEncoding::Latin1 => TextCodec::Latin1,
        }
    }

    /// Bindings declared on the start tags before the first record of `text`.
    fn bindings_before_first_record(&self, text: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut bindings = Vec::new();
        let mut pos = 0;
        while let Some(found) = memchr::memchr(b'<', &text[pos..]) {
            let lt = pos + found;
            match frame::markup(text, lt) {
                frame::Markup::Start { name_end, end, .. } => {
                    let name = &text[lt + 1..name_end];
                    let declared = namespace_declarations(&text[name_end..end]);
                    if frame::local_name(name) == b"record" && self.in_marc_namespace(name, &text[name_end..end]) {
                        break;
                    }
                    bindings.extend(declared);
                    pos = end;
                }
                frame::Markup::End { end, .. } | frame::Markup::Other { end } => pos = end,
                frame::Markup::Stray => pos = lt + 1,
                frame::Markup::Incomplete => break,
            }
        }
        bindings
    }

    /// Whether an element of this qualified name, with these attributes, is in the slim namespace
    /// or in none: by a binding of its prefix on itself, else before the first record, else (an
    /// unknown prefix) it is taken to be.
    fn in_marc_namespace(&self, name: &[u8], attributes: &[u8]) -> bool {
        let prefix = match memchr::memchr(b':', name) {
            Some(colon) => &name[..colon],
            None => b"",
        };
        let own = namespace_declarations(attributes).into_iter().rev().find(|(p, _)| p == prefix).map(|(_, ns)| ns);
        let bound = own.or_else(|| self.bindings.iter().rev().find(|(p, _)| p == prefix).map(|(_, ns)| ns.clone()));
        bound.is_none_or(|ns| ns.is_empty() || ns == MARC_NAMESPACE)
    }
}

/// The `encoding` of an XML declaration at the start of `text`.
fn declared_encoding(text: &[u8]) -> Option<Vec<u8>> {
    let declaration = &text[..text.starts_with(b"<?xml").then(|| memchr::memmem::find(text, b"?>"))??];
    attribute_values(&declaration[5..]).into_iter().find(|(name, _)| name == b"encoding").map(|(_, value)| value)
}

/// The `xmlns` and `xmlns:prefix` attributes among `attributes`, as `(prefix, namespace)`.
fn namespace_declarations(attributes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    if memchr::memmem::find(attributes, b"xmlns").is_none() {
        return Vec::new();
    }
    (attribute_values(attributes).into_iter())
        .filter_map(|(name, value)| match name.strip_prefix(b"xmlns") {
            Some(b"") => Some((Vec::new(), value)),
            Some(rest) => rest.strip_prefix(b":").map(|prefix| (prefix.to_vec(), value)),
            None => None,
        })
        .collect()
}

/// `name="value"` pairs of a tag's attributes (values as written: namespace names and encoding
/// names hold no entities).
fn attribute_values(mut rest: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = Vec::new();
    while let Some(eq) = memchr::memchr(b'=', rest) {
        let name = rest[..eq].trim_ascii();
        let name = &name[name.iter().rposition(u8::is_ascii_whitespace).map_or(0, |at| at + 1)..];
        let value = rest[eq + 1..].trim_ascii_start();
        let Some(&quote) = value.first().filter(|q| **q == b'"' || **q == b'\'') else { break };
        let Some(close) = memchr::memchr(quote, &value[1..]) else { break };
        pairs.push((name.to_vec(), value[1..1 + close].to_vec()));
        rest = &value[close + 2..];
    }
    pairs
}

impl Form for MarcXml {
    fn cut(&self, buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool, _: bool) -> Cut {
        self.cut(buf, max_bytes, max_records, framing, at_end)
    }

    fn likely_record_start(&self, buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess {
        self.likely_record_start(buf, from, limit, at_end)
    }

    /// Fields and subfields counted by their tags' first letters, about.
    fn capacity(&self, input: &[u8], records: &[Framed]) -> (usize, usize) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else { return (0, 0) };
        let bytes = &input[first.start..last.end];
        // A field takes about 120 bytes of MARCXML, a subfield about 50.
        (bytes.len() / 120, bytes.len() / 50)
    }

    fn read(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<TextCodec, Damage> {
        read::read(self.encoding, range, to, false).map(|_| self.codec())
    }

    fn repair(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<(TextCodec, Repairs), Damage> {
        read::read(self.encoding, range, to, true).map(|repairs| (self.codec(), repairs))
    }

    fn salvage(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> TextCodec {
        read::salvage(self.encoding, range, to);
        self.codec()
    }
}
