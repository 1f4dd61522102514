//! A MARCXML document read the way pymarc 5.4's `XmlHandler` reads it, for the pymarc-compatible
//! `parse_xml_to_array` and `map_xml`.
//!
//! `XmlHandler` is lax where the slim schema is strict: it keys on the local names `record`,
//! `leader`, `controlfield`, `datafield` and `subfield` wherever they are, keeps the text each
//! element gathered since the last element began or ended, and passes over everything else. Its
//! rules are followed here event for event, so that the records come out as it makes them.
//!
//! What this does not decide is left to the caller's own parsing, by [`Unsupported`]: whether the
//! document is well-formed (the caller checks that first with the parser pymarc uses, whose errors
//! are the ones to raise), any encoding but UTF-8, a document type, and any case where `XmlHandler`
//! would raise or make fields of a kind no reader makes (a `controlfield` with a data field's tag,
//! a `subfield` in a control field, a tag pymarc would pad or that is not three characters).

use std::ops::Range;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

use super::MARC_NAMESPACE;
use crate::record::is_control_tag;

/// The document is one this module does not read as `XmlHandler` would; read it the slow way.
#[derive(Debug, PartialEq, Eq)]
pub struct Unsupported;

/// The records of a document: their strings are ranges into `text`.
#[derive(Debug, Default)]
pub struct Document {
    pub text: String,
    pub records: Vec<HandlerRecord>,
    pub fields: Vec<HandlerField>,
    /// (code, value) of each subfield.
    pub subfields: Vec<(Range<usize>, Range<usize>)>,
}

/// A record, as `XmlHandler` hands it to `process_record`.
#[derive(Debug)]
pub struct HandlerRecord {
    /// The text of its last `leader`; `None` leaves `Record()`'s own.
    pub leader: Option<Range<usize>>,
    /// Its fields in [`Document::fields`].
    pub fields: Range<usize>,
}

#[derive(Debug)]
pub struct HandlerField {
    pub tag: [u8; 3],
    pub content: HandlerContent,
}

#[derive(Debug)]
pub enum HandlerContent {
    Control {
        data: Range<usize>,
    },
    /// Indicators as given (any length, a blank if missing); subfields in [`Document::subfields`].
    Data {
        ind1: Range<usize>,
        ind2: Range<usize>,
        subfields: Range<usize>,
    },
}

impl Document {
    pub fn str(&self, range: &Range<usize>) -> &str {
        &self.text[range.clone()]
    }

    pub fn record_fields(&self, record: &HandlerRecord) -> &[HandlerField] {
        &self.fields[record.fields.clone()]
    }

    pub fn subfields(&self, subfields: &Range<usize>) -> &[(Range<usize>, Range<usize>)] {
        &self.subfields[subfields.clone()]
    }
}

/// The field `XmlHandler` is building (its `_field`).
enum OpenField {
    Control { tag: [u8; 3] },
    Data { tag: [u8; 3], ind1: Range<usize>, ind2: Range<usize>, first_subfield: usize },
}

/// `XmlHandler`'s state, over a [`Document`] being filled.
struct Handler {
    strict: bool,
    out: Document,
    /// The record being built (`_record`): its leader and where its fields start.
    record: Option<(Option<Range<usize>>, usize)>,
    field: Option<OpenField>,
    /// The code of the subfield being read (`_subfield_code`).
    code: Option<Range<usize>>,
    /// The text gathered since an element last began or ended (`_text`).
    gathered: String,
}

/// Reads `xml`, a well-formed document, as `XmlHandler(strict)` would, without `normalize_form`.
pub fn read(xml: &[u8], strict: bool) -> Result<Document, Unsupported> {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let mut reader = NsReader::from_reader(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut handler =
        Handler { strict, out: Document::default(), record: None, field: None, code: None, gathered: String::new() };
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(|_| Unsupported)?;
        let in_marc = match namespace {
            ResolveResult::Bound(namespace) => namespace.as_ref() == MARC_NAMESPACE,
            ResolveResult::Unbound => false,
            ResolveResult::Unknown(_) => return Err(Unsupported),
        };
        match event {
            Event::Start(start) => handler.start(in_marc, &start)?,
            Event::End(end) => handler.end(in_marc, end.local_name().as_ref())?,
            Event::Text(text) => handler.gathered.push_str(&text.xml10_content().map_err(|_| Unsupported)?),
            Event::CData(data) => handler.gathered.push_str(&data.xml10_content().map_err(|_| Unsupported)?),
            Event::GeneralRef(reference) => match reference.resolve_char_ref().map_err(|_| Unsupported)? {
                Some(ch) => handler.gathered.push(ch),
                None => {
                    let name = reference.decode().map_err(|_| Unsupported)?;
                    handler.gathered.push_str(resolve_predefined_entity(&name).ok_or(Unsupported)?);
                }
            },
            Event::Decl(declaration) => {
                if let Some(encoding) = declaration.encoding() {
                    let encoding = encoding.map_err(|_| Unsupported)?;
                    if !encoding.eq_ignore_ascii_case(b"utf-8") {
                        return Err(Unsupported);
                    }
                }
            }
            Event::DocType(_) => return Err(Unsupported),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => return Ok(handler.out),
            // Not produced: empty elements are expanded into a start and an end.
            Event::Empty(_) => return Err(Unsupported),
        }
    }
}

/// The value of the attribute without a prefix named `name`, normalised as XML parsers do.
fn attribute(start: &BytesStart, name: &[u8]) -> Result<Option<String>, Unsupported> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|_| Unsupported)?;
        if attribute.key.as_ref() == name {
            let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|_| Unsupported)?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// A tag as pymarc keeps it, unchanged: three ASCII characters (pymarc pads a numeric tag of
/// another length, and a missing one is a KeyError in `XmlHandler`).
fn tag_of(value: Option<String>) -> Result<[u8; 3], Unsupported> {
    let value = value.ok_or(Unsupported)?;
    match <[u8; 3]>::try_from(value.as_bytes()) {
        Ok(bytes) if bytes.is_ascii() => Ok(bytes),
        _ => Err(Unsupported),
    }
}

impl Handler {
    fn push(&mut self, text: &str) -> Range<usize> {
        let start = self.out.text.len();
        self.out.text.push_str(text);
        start..self.out.text.len()
    }

    fn start(&mut self, in_marc: bool, start: &BytesStart) -> Result<(), Unsupported> {
        if self.strict && !in_marc {
            return Ok(());
        }
        self.gathered.clear();
        match start.local_name().as_ref() {
            b"record" => self.record = Some((None, self.out.fields.len())),
            b"controlfield" => {
                let tag = tag_of(attribute(start, b"tag")?)?;
                if !is_control_tag(&tag) {
                    return Err(Unsupported);
                }
                self.field = Some(OpenField::Control { tag });
            }
            b"datafield" => {
                let tag = tag_of(attribute(start, b"tag")?)?;
                if is_control_tag(&tag) {
                    return Err(Unsupported);
                }
                let ind1 = attribute(start, b"ind1")?;
                let ind2 = attribute(start, b"ind2")?;
                let ind1 = self.push(ind1.as_deref().unwrap_or(" "));
                let ind2 = self.push(ind2.as_deref().unwrap_or(" "));
                self.field = Some(OpenField::Data { tag, ind1, ind2, first_subfield: self.out.subfields.len() });
            }
            b"subfield" => {
                let code = attribute(start, b"code")?.ok_or(Unsupported)?;
                self.code = Some(self.push(&code));
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, in_marc: bool, local_name: &[u8]) -> Result<(), Unsupported> {
        if self.strict && !in_marc {
            return Ok(());
        }
        let text = std::mem::take(&mut self.gathered);
        match local_name {
            b"record" => {
                if let Some((leader, first_field)) = self.record.take() {
                    self.out.records.push(HandlerRecord { leader, fields: first_field..self.out.fields.len() });
                }
            }
            b"leader" if self.record.is_some() => {
                let leader = self.push(&text);
                if let Some((slot, _)) = &mut self.record {
                    *slot = Some(leader);
                }
            }
            // A field ends outside a record: `XmlHandler` keeps it, unadded, as the open field.
            b"controlfield" if self.record.is_some() => match self.field.take() {
                Some(OpenField::Control { tag }) => {
                    let data = self.push(&text);
                    self.out.fields.push(HandlerField { tag, content: HandlerContent::Control { data } });
                }
                // A data field ended by a `controlfield` tag: not well-formed, so not seen.
                Some(OpenField::Data { .. }) => return Err(Unsupported),
                None => {}
            },
            b"datafield" if self.record.is_some() => match self.field.take() {
                Some(OpenField::Data { tag, ind1, ind2, first_subfield }) => {
                    let subfields = first_subfield..self.out.subfields.len();
                    let content = HandlerContent::Data { ind1, ind2, subfields };
                    self.out.fields.push(HandlerField { tag, content });
                }
                Some(OpenField::Control { .. }) => return Err(Unsupported),
                None => {}
            },
            b"subfield" => match (&self.field, &self.code) {
                // An empty code adds nothing, and stays until the next subfield begins.
                (Some(_), Some(code)) if code.is_empty() => {}
                (Some(OpenField::Data { .. }), Some(_)) => {
                    let code = self.code.take().unwrap_or_default();
                    let value = self.push(&text);
                    self.out.subfields.push((code, value));
                }
                // pymarc would add a subfield to a control field.
                (Some(OpenField::Control { .. }), Some(_)) => return Err(Unsupported),
                _ => {}
            },
            _ => {}
        }
        self.gathered = text;
        self.gathered.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(document: &Document, record: usize) -> Vec<String> {
        let record = &document.records[record];
        document
            .record_fields(record)
            .iter()
            .map(|field| {
                let tag = String::from_utf8_lossy(&field.tag);
                match &field.content {
                    HandlerContent::Control { data } => format!("{tag} {}", document.str(data)),
                    HandlerContent::Data { ind1, ind2, subfields } => {
                        let subfields: String = document
                            .subfields(subfields)
                            .iter()
                            .map(|(code, value)| format!("${}{}", document.str(code), document.str(value)))
                            .collect();
                        format!("{tag} {}{}{subfields}", document.str(ind1), document.str(ind2))
                    }
                }
            })
            .collect()
    }

    const SLIM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<collection xmlns="http://www.loc.gov/MARC21/slim">
  <record>
    <leader>00000nam a2200000 a 4500</leader>
    <controlfield tag="001">  12 &amp; 3 </controlfield>
    <datafield tag="245" ind1="1" ind2="0">
      <subfield code="a">A &lt;b&gt; <![CDATA[c&d]]>&#233;</subfield>
      <subfield code="">dropped</subfield>
      <subfield code="c">line&#13;one
two</subfield>
    </datafield>
    <datafield tag="650"><subfield code="a"/></datafield>
  </record>
</collection>"#;

    #[test]
    fn text_and_attributes_come_out_as_an_xml_parser_gives_them() {
        let document = read(SLIM.as_bytes(), false).unwrap();
        assert_eq!(document.records.len(), 1);
        assert_eq!(document.str(document.records[0].leader.as_ref().unwrap()), "00000nam a2200000 a 4500");
        assert_eq!(fields(&document, 0), ["001   12 & 3 ", "245 10$aA <b> c&dé$cline\rone\ntwo", "650   $a"]);
    }

    #[test]
    fn strict_skips_elements_outside_the_namespace_but_keeps_their_text() {
        let xml = r#"<r:record xmlns:r="http://www.loc.gov/MARC21/slim" xmlns:x="urn:x"><r:leader>L</r:leader>
            <r:datafield tag="245" ind1=" " ind2=" "><r:subfield code="a">one <x:i>two</x:i> three</r:subfield></r:datafield>
            <x:record/></r:record>"#;
        let strict = read(xml.as_bytes(), true).unwrap();
        assert_eq!(fields(&strict, 0), ["245   $aone two three"]);
        // Without strict, `x:i` is an element like any other: its start and end reset the text.
        let lax = read(xml.as_bytes(), false).unwrap();
        assert_eq!(lax.records.len(), 1);
        assert!(lax.records[0].leader.is_none(), "the inner record element started a new record");
        assert!(lax.record_fields(&lax.records[0]).is_empty());
    }

    #[test]
    fn what_pymarc_would_raise_on_or_make_oddly_is_left_to_it() {
        for xml in [
            r#"<record><controlfield>x</controlfield></record>"#,
            r#"<record><controlfield tag="245">x</controlfield></record>"#,
            r#"<record><datafield tag="001"/></record>"#,
            r#"<record><datafield tag="24"/></record>"#,
            r#"<record><controlfield tag="001"><subfield code="a">x</subfield></controlfield></record>"#,
            r#"<record><datafield tag="245"><subfield>x</subfield></datafield></record>"#,
            r#"<?xml version="1.0" encoding="ISO-8859-1"?><record/>"#,
            r#"<!DOCTYPE record><record/>"#,
        ] {
            assert_eq!(read(xml.as_bytes(), false).err(), Some(Unsupported), "{xml}");
        }
    }
}
