//! A record of the pymarc-compatible API written as pymarc 5.4 writes it: ISO 2709 (`as_marc`),
//! MARC-in-JSON (`json.dumps(as_dict())`), MARCXML (`record_to_xml`) and MARCMaker text
//! (`str(record)`), byte for byte.
//!
//! The record is a copy of what a script's record holds, whatever the script changed; only the
//! plain form is copied (strings everywhere, tags of three ASCII characters), the binding layer
//! leaving anything else to the Python code this follows.

use std::fmt::Write;
use std::ops::Range;

use crate::iso2709::{FIELD_TERMINATOR, LEADER_LEN, RECORD_TERMINATOR, SUBFIELD_DELIMITER};

/// A record's strings, as ranges into `text`.
#[derive(Debug, Default)]
pub struct PlainRecord {
    text: String,
    leader: Range<usize>,
    fields: Vec<PlainField>,
    /// (code, value) of each subfield.
    subfields: Vec<(Range<usize>, Range<usize>)>,
}

#[derive(Debug)]
struct PlainField {
    tag: Range<usize>,
    content: PlainContent,
}

#[derive(Debug)]
enum PlainContent {
    /// A control field's data; `None` where the script left none.
    Control(Option<Range<usize>>),
    Data {
        ind1: Range<usize>,
        ind2: Range<usize>,
        subfields: Range<usize>,
    },
}

impl PlainRecord {
    pub fn new(leader: &str) -> Self {
        let mut record = PlainRecord::default();
        record.leader = record.push(leader);
        record
    }

    fn push(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    fn str(&self, range: &Range<usize>) -> &str {
        &self.text[range.clone()]
    }

    pub fn push_control(&mut self, tag: &str, data: Option<&str>) {
        let tag = self.push(tag);
        let data = data.map(|data| self.push(data));
        self.fields.push(PlainField { tag, content: PlainContent::Control(data) });
    }

    /// Starts a data field; its subfields follow with `push_subfield`.
    pub fn push_data(&mut self, tag: &str, ind1: &str, ind2: &str) {
        let (tag, ind1, ind2) = (self.push(tag), self.push(ind1), self.push(ind2));
        let at = self.subfields.len();
        self.fields.push(PlainField { tag, content: PlainContent::Data { ind1, ind2, subfields: at..at } });
    }

    pub fn push_subfield(&mut self, code: &str, value: &str) {
        let pair = (self.push(code), self.push(value));
        self.subfields.push(pair);
        if let Some(PlainField { content: PlainContent::Data { subfields, .. }, .. }) = self.fields.last_mut() {
            subfields.end = self.subfields.len();
        }
    }

    fn subfields_of(&self, subfields: &Range<usize>) -> impl Iterator<Item = (&str, &str)> {
        self.subfields[subfields.clone()].iter().map(|(code, value)| (self.str(code), self.str(value)))
    }

    /// `Record.as_marc()` of a record written in UTF-8; `None` unless the leader is 24 ASCII
    /// characters and every tag three (pymarc slices and pads them as characters).
    pub fn iso2709(&self) -> Option<Vec<u8>> {
        let leader = self.str(&self.leader);
        if leader.len() != LEADER_LEN || !leader.is_ascii() {
            return None;
        }
        let mut directory = Vec::with_capacity(self.fields.len() * 12 + 1);
        let mut body = Vec::with_capacity(self.text.len() + self.subfields.len() + self.fields.len());
        for field in &self.fields {
            let tag = self.str(&field.tag);
            if tag.len() != 3 || !tag.is_ascii() {
                return None;
            }
            let start = body.len();
            match &field.content {
                // No data is written as pymarc formats it, "None".
                PlainContent::Control(data) => body.extend_from_slice(data.as_ref().map_or("None", |d| self.str(d)).as_bytes()),
                PlainContent::Data { ind1, ind2, subfields } => {
                    body.extend_from_slice(self.str(ind1).as_bytes());
                    body.extend_from_slice(self.str(ind2).as_bytes());
                    for (code, value) in self.subfields_of(subfields) {
                        body.push(SUBFIELD_DELIMITER);
                        body.extend_from_slice(code.as_bytes());
                        body.extend_from_slice(value.as_bytes());
                    }
                }
            }
            body.push(FIELD_TERMINATOR);
            // Lengths and offsets too long for their digits are written in full, as Python formats them.
            let entry = format!("{tag}{:04}{start:05}", body.len() - start);
            directory.extend_from_slice(entry.as_bytes());
        }
        directory.push(FIELD_TERMINATOR);
        body.push(RECORD_TERMINATOR);
        let base_address = LEADER_LEN + directory.len();
        let length = base_address + body.len();
        let mut out = Vec::with_capacity(length + 8);
        write!(Bytes(&mut out), "{length:05}{}{base_address:05}{}", &leader[5..12], &leader[17..]).ok()?;
        out.extend_from_slice(&directory);
        out.extend_from_slice(&body);
        Some(out)
    }

    /// `json.dumps(record.as_dict(), separators=(",", ":"))`.
    pub fn json(&self) -> String {
        let mut out = String::with_capacity(self.text.len() * 11 / 10 + 64 * self.fields.len());
        out.push_str("{\"leader\":");
        json_string(&mut out, self.str(&self.leader));
        out.push_str(",\"fields\":[");
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            json_string(&mut out, self.str(&field.tag));
            out.push(':');
            match &field.content {
                PlainContent::Control(Some(data)) => json_string(&mut out, self.str(data)),
                PlainContent::Control(None) => out.push_str("null"),
                PlainContent::Data { ind1, ind2, subfields } => {
                    out.push_str("{\"ind1\":");
                    json_string(&mut out, self.str(ind1));
                    out.push_str(",\"ind2\":");
                    json_string(&mut out, self.str(ind2));
                    out.push_str(",\"subfields\":[");
                    for (j, (code, value)) in self.subfields_of(subfields).enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        out.push('{');
                        json_string(&mut out, code);
                        out.push(':');
                        json_string(&mut out, value);
                        out.push('}');
                    }
                    out.push_str("]}");
                }
            }
            out.push('}');
        }
        out.push_str("]}");
        out
    }

    /// `record_to_xml` as ElementTree serialises it, `root_attributes` (already escaped) on the
    /// `record` element: in UTF-8, or with `ascii` in ASCII with character references. `None` if
    /// an attribute value holds a tab or line end, which Python versions escape differently.
    pub fn xml(&self, root_attributes: &str, ascii: bool) -> Option<Vec<u8>> {
        let mut out = String::with_capacity(self.text.len() * 2 + 64 * self.fields.len());
        out.push_str("<record");
        out.push_str(root_attributes);
        out.push('>');
        xml_element(&mut out, "leader", &[], self.str(&self.leader));
        for field in &self.fields {
            let tag = self.str(&field.tag);
            match &field.content {
                PlainContent::Control(data) => {
                    xml_element(&mut out, "controlfield", &[("tag", tag)], data.as_ref().map_or("", |d| self.str(d)))?
                }
                PlainContent::Data { ind1, ind2, subfields } => {
                    out.push_str("<datafield");
                    for (name, value) in [("ind1", self.str(ind1)), ("ind2", self.str(ind2)), ("tag", tag)] {
                        xml_attribute(&mut out, name, value)?;
                    }
                    if subfields.is_empty() {
                        out.push_str(" />");
                        continue;
                    }
                    out.push('>');
                    for (code, value) in self.subfields_of(subfields) {
                        xml_element(&mut out, "subfield", &[("code", code)], value)?;
                    }
                    out.push_str("</datafield>");
                }
            }
        }
        out.push_str("</record>");
        Some(if ascii { with_character_references(&out) } else { out.into_bytes() })
    }

    /// `str(record)`: MARCMaker text, blanks in data and indicators written as backslashes.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 16 * self.fields.len());
        out.push_str("=LDR  ");
        out.push_str(self.str(&self.leader));
        for field in &self.fields {
            out.push_str("\n=");
            out.push_str(self.str(&field.tag));
            out.push_str("  ");
            match &field.content {
                PlainContent::Control(data) => {
                    out.extend(data.as_ref().map_or("", |d| self.str(d)).chars().map(|c| if c == ' ' { '\\' } else { c }))
                }
                PlainContent::Data { ind1, ind2, subfields } => {
                    for indicator in [self.str(ind1), self.str(ind2)] {
                        out.push_str(if indicator == " " || indicator == "\\" { "\\" } else { indicator });
                    }
                    for (code, value) in self.subfields_of(subfields) {
                        out.push('$');
                        out.push_str(code);
                        out.push_str(value);
                    }
                }
            }
        }
        out.push('\n');
        out
    }
}

/// `fmt::Write` into bytes.
struct Bytes<'a>(&'a mut Vec<u8>);

impl Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A string as Python's `json` writes it with `ensure_ascii`: printable ASCII as it is, short
/// escapes for the usual controls, `\uXXXX` (lower-case, surrogate pairs above the BMP) for the rest.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// An element without children as ElementTree writes it: empty text makes an empty tag.
fn xml_element(out: &mut String, name: &str, attributes: &[(&str, &str)], text: &str) -> Option<()> {
    out.push('<');
    out.push_str(name);
    for (key, value) in attributes {
        xml_attribute(out, key, value)?;
    }
    if text.is_empty() {
        out.push_str(" />");
        return Some(());
    }
    out.push('>');
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
    Some(())
}

fn xml_attribute(out: &mut String, name: &str, value: &str) -> Option<()> {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => return None,
            _ => out.push(c),
        }
    }
    out.push('"');
    Some(())
}

/// `text.encode("ascii", "xmlcharrefreplace")`: each character outside ASCII as `&#DECIMAL;`.
fn with_character_references(text: &str) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let _ = write!(out, "&#{};", c as u32);
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PlainRecord {
        let mut record = PlainRecord::new("00000nam a2200000 a 4500");
        record.push_control("001", Some("ocm 1"));
        record.push_control("005", None);
        record.push_data("245", "1", " ");
        record.push_subfield("a", "Caf\u{e9} & \"bar\" <b>\u{1F600}\t");
        record.push_subfield("c", "");
        record.push_data("650", " ", "\\");
        record
    }

    #[test]
    fn iso2709_counts_bytes_and_writes_the_directory() {
        let marc = sample().iso2709().unwrap();
        let text = String::from_utf8(marc.clone()).unwrap();
        assert_eq!(&text[..5], format!("{:05}", marc.len()));
        assert!(text.starts_with(&format!("{:05}nam a22000", marc.len())));
        // 4 entries of 12, then the terminator: the base address is 24 + 49.
        assert_eq!(&text[12..17], "00073");
        assert_eq!(&text[24..36], "001000600000");
        assert_eq!(&text[36..48], "005000500006", "no data is written as None");
        assert!(text.ends_with("\u{1e} \\\u{1e}\u{1d}"));
    }

    #[test]
    fn json_escapes_as_python_does_with_ensure_ascii() {
        let json = sample().json();
        assert!(json.starts_with(r#"{"leader":"00000nam a2200000 a 4500","fields":[{"001":"ocm 1"},{"005":null},"#));
        assert!(json.contains(r#"{"a":"Caf\u00e9 & \"bar\" <b>\ud83d\ude00\t"},{"c":""}"#), "{json}");
        assert!(json.ends_with(r#"{"650":{"ind1":" ","ind2":"\\","subfields":[]}}]}"#));
    }

    #[test]
    fn xml_writes_empty_elements_short_and_refuses_line_ends_in_attributes() {
        let xml = String::from_utf8(sample().xml("", true).unwrap()).unwrap();
        assert!(xml.contains(r#"<controlfield tag="005" />"#));
        assert!(xml.contains("<subfield code=\"a\">Caf&#233; &amp; \"bar\" &lt;b&gt;&#128512;\t</subfield>"));
        assert!(xml.contains(r#"<subfield code="c" /></datafield><datafield ind1=" " ind2="\" tag="650" /></record>"#));
        let mut record = sample();
        record.push_data("500", "\n", " ");
        assert!(record.xml("", false).is_none());
    }

    #[test]
    fn text_writes_blanks_as_backslashes() {
        let text = sample().text();
        assert_eq!(text.lines().nth(1), Some("=001  ocm\\1"));
        assert_eq!(text.lines().nth(2), Some("=005  "));
        assert!(text.ends_with("=650  \\\\\n"));
    }
}
