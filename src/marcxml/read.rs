//! Reading one MARCXML record (a `record` element framing found) into a record's text, with
//! quick-xml: its leader, control fields and data fields in document order, text unescaped and
//! line ends normalised as any XML parser does.
//!
//! What the slim schema does not have is damage: an element other than `leader`, `controlfield`,
//! `datafield` and `subfield`, text between fields, a record without a leader or with one that is
//! not 24 characters, a tag that is not three characters, a missing indicator or subfield code.
//! Under `on_error="repair"` a missing indicator is read as a blank, as pymarc reads it.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::frame::local_name;
use super::XmlEncoding;
use crate::error::{Damage, DamageKind};
use crate::form::Target;
use crate::iso2709::LEADER_LEN;
use crate::record::{is_control_tag, FieldSpan, SUBFIELD_DELIMITER};
use crate::report::{RepairKind, Repairs};

/// Reads the record at `range` (see [`crate::form::Form::read`]); `lenient`: as `repair` does.
pub(super) fn read(
    encoding: XmlEncoding,
    range: Range<usize>,
    to: &mut Target<'_, '_>,
    lenient: bool,
) -> Result<Repairs, Damage> {
    let (input, decoded) = to.text.input_and_decoded();
    let at = decoded.len();
    let bytes = &input[range];
    let latin1;
    let xml = match encoding {
        XmlEncoding::Utf8 => bytes,
        XmlEncoding::Latin1 => {
            latin1 = to_utf8(bytes);
            &latin1[..]
        }
    };
    let mut parser = Parser { out: decoded, base: at, spans: &mut to.scratch.text_fields, lenient, repairs: Repairs::default() };
    match parser.record(xml) {
        Ok(leader_len) => {
            let repairs = parser.repairs;
            to.push_decoded(at, leader_len)?;
            Ok(repairs)
        }
        Err(mut damage) => {
            if encoding == XmlEncoding::Latin1 {
                damage.offset = latin1_offset(xml, damage.offset);
            }
            parser.out.truncate(at);
            Err(damage)
        }
    }
}

/// Whatever can be read of a damaged record: the fields read before the damage, and the leader if
/// it was read (else an empty one).
pub(super) fn salvage(encoding: XmlEncoding, range: Range<usize>, to: &mut Target<'_, '_>) {
    let (input, decoded) = to.text.input_and_decoded();
    let at = decoded.len();
    let bytes = &input[range];
    let xml: Cow<[u8]> = match encoding {
        XmlEncoding::Utf8 => Cow::Borrowed(bytes),
        XmlEncoding::Latin1 => Cow::Owned(to_utf8(bytes)),
    };
    let mut parser =
        Parser { out: decoded, base: at, spans: &mut to.scratch.text_fields, lenient: true, repairs: Repairs::default() };
    let leader_len = parser.record(&xml).unwrap_or_else(|_| parser.kept());
    // The text is valid UTF-8 (only whole strings are appended): this cannot fail.
    let _ = to.push_decoded(at, leader_len);
}

/// ISO 8859-1 bytes as UTF-8.
fn to_utf8(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    crate::encoding::TextCodec::Latin1.decode_lossy(bytes, &mut out);
    out
}

/// The offset in ISO 8859-1 bytes of `offset` in their UTF-8 form: one byte a character.
fn latin1_offset(utf8: &[u8], offset: usize) -> usize {
    let prefix = &utf8[..offset.min(utf8.len())];
    prefix.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Writes a record's text to `out` from `base` on.
struct Parser<'a> {
    out: &'a mut Vec<u8>,
    base: usize,
    spans: &'a mut Vec<FieldSpan>,
    lenient: bool,
    repairs: Repairs,
}

/// A field's attributes as read from its start tag (borrowed from it where nothing was unescaped).
#[derive(Default)]
struct Attributes<'s> {
    tag: Option<Cow<'s, str>>,
    ind1: Option<Cow<'s, str>>,
    ind2: Option<Cow<'s, str>>,
    code: Option<Cow<'s, str>>,
}

fn malformed(position: u64, error: impl std::fmt::Display) -> Damage {
    Damage::new(DamageKind::MalformedXml, position as usize, format!("malformed XML at byte {position} of the record: {error}"))
}

fn structure(position: u64, what: String) -> Damage {
    Damage::new(DamageKind::BadStructure, position as usize, format!("{what}, at byte {position} of the record"))
}

impl Parser<'_> {
    /// The record's text: its leader first (moved there if it came after fields), then its fields;
    /// the leader's length.
    fn record(&mut self, xml: &[u8]) -> Result<usize, Damage> {
        self.spans.clear();
        let mut reader = Reader::from_reader(xml);
        let mut leader: Option<Range<usize>> = None;
        loop {
            let position = reader.buffer_position();
            match reader.read_event().map_err(|e| malformed(reader.error_position(), e))? {
                Event::Start(_) => break,
                Event::Empty(_) => return Err(structure(position, "the record is empty: it has no leader".into())),
                _ => {}
            }
        }
        loop {
            let position = reader.buffer_position();
            let Some((start, empty)) = next_child(&mut reader, || "text between the fields of a record".into())? else {
                break;
            };
            match local_name(start.name().as_ref()) {
                b"leader" => {
                    if leader.is_some() {
                        return Err(structure(position, "a second leader".into()));
                    }
                    let from = self.out.len();
                    if !empty {
                        self.text(&mut reader, b"leader")?;
                    }
                    let chars = std::str::from_utf8(&self.out[from..]).map_or(0, |s| s.chars().count());
                    if chars != LEADER_LEN {
                        let leader = String::from_utf8_lossy(&self.out[from..]).into_owned();
                        self.out.truncate(from);
                        return Err(structure(position, format!("the leader {leader:?} is {chars} characters, not 24")));
                    }
                    leader = Some(from..self.out.len());
                }
                b"controlfield" => self.control_field(&mut reader, &start, empty, position)?,
                b"datafield" => self.data_field(&mut reader, &start, empty, position)?,
                other => {
                    let detail = format!("<{}> is not an element of a MARCXML record", String::from_utf8_lossy(other));
                    if !self.lenient {
                        return Err(structure(position, detail));
                    }
                    if !empty {
                        reader.read_to_end(start.name()).map_err(|e| malformed(reader.error_position(), e))?;
                    }
                    self.repairs.note(RepairKind::ElementDropped, position as usize, || detail);
                }
            }
        }
        match leader {
            Some(range) => Ok(self.leader_first(range)),
            None => Err(structure(0, "the record has no leader".into())),
        }
    }

    /// Moves the leader read at `range` to the start of the record's text, if fields came before
    /// it; its length.
    fn leader_first(&mut self, range: Range<usize>) -> usize {
        let len = range.len();
        if range.start > self.base {
            let leader: Vec<u8> = self.out.drain(range.clone()).collect();
            self.out.splice(self.base..self.base, leader);
            // Fields before the leader move on by its length; those after it stay where they were.
            for span in self.spans.iter_mut().filter(|span| span.tag_at < range.start - self.base) {
                span.tag_at += len;
                span.start += len;
            }
        }
        len
    }

    /// What salvage keeps after damage: the fields read whole, without a leader unless one was
    /// read first; the leader's length.
    fn kept(&mut self) -> usize {
        let end = self.spans.last().map_or(self.base, |span| self.base + span.start + span.len);
        let leader_len = match self.spans.first() {
            Some(first) => first.tag_at,
            None => (self.out.len() - self.base).min(LEADER_LEN),
        };
        let leader_len = if leader_len == LEADER_LEN { leader_len } else { 0 };
        self.out.truncate(end.max(self.base + leader_len));
        if leader_len == 0 {
            // A partial leader or a field cut short: nothing before the first whole field is kept.
            let first = self.spans.first().map_or(self.out.len(), |span| self.base + span.tag_at);
            self.out.drain(self.base..first);
            let shift = first - self.base;
            for span in self.spans.iter_mut() {
                span.tag_at -= shift;
                span.start -= shift;
            }
        }
        leader_len
    }

    fn attributes<'s>(&self, start: &'s BytesStart, position: u64) -> Result<Attributes<'s>, Damage> {
        let mut found = Attributes::default();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| malformed(position, e))?;
            let slot = match attribute.key.local_name().as_ref() {
                b"tag" => &mut found.tag,
                b"ind1" => &mut found.ind1,
                b"ind2" => &mut found.ind2,
                b"code" => &mut found.code,
                _ => continue,
            };
            let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|e| malformed(position, e))?;
            *slot = Some(value);
        }
        Ok(found)
    }

    /// Starts a field of `tag`: writes the tag; where its content starts.
    fn field_tag(&mut self, tag: Option<Cow<str>>, control: bool, position: u64) -> Result<([u8; 3], usize), Damage> {
        let element = if control { "controlfield" } else { "datafield" };
        let Some(tag) = tag else { return Err(structure(position, format!("a <{element}> without a tag"))) };
        let bytes: [u8; 3] = match tag.as_bytes().try_into() {
            Ok(bytes) if tag.bytes().all(|b| b.is_ascii_graphic()) => bytes,
            _ => return Err(structure(position, format!("tag {tag:?} is not three letters or digits"))),
        };
        if is_control_tag(&bytes) != control {
            let should = if control { "datafield" } else { "controlfield" };
            return Err(structure(position, format!("tag {tag} is a <{element}>, which MARC 21 has as a <{should}>")));
        }
        self.out.extend_from_slice(&bytes);
        Ok((bytes, self.out.len()))
    }

    fn end_field(&mut self, tag: [u8; 3], start: usize) {
        let len = self.out.len() - start;
        self.spans.push(FieldSpan { tag, tag_at: start - 3 - self.base, start: start - self.base, len });
    }

    fn control_field(
        &mut self,
        reader: &mut Reader<&[u8]>,
        start: &BytesStart,
        empty: bool,
        position: u64,
    ) -> Result<(), Damage> {
        let attributes = self.attributes(start, position)?;
        let (tag, content) = self.field_tag(attributes.tag, true, position)?;
        if !empty {
            self.text(reader, b"controlfield")?;
        }
        self.end_field(tag, content);
        Ok(())
    }

    fn data_field(&mut self, reader: &mut Reader<&[u8]>, start: &BytesStart, empty: bool, position: u64) -> Result<(), Damage> {
        let attributes = self.attributes(start, position)?;
        let (tag, content) = self.field_tag(attributes.tag, false, position)?;
        for (which, indicator) in [("ind1", attributes.ind1), ("ind2", attributes.ind2)] {
            match indicator {
                Some(value) if value.chars().count() == 1 => self.push_checked(&value, position)?,
                missing => {
                    let detail = match &missing {
                        Some(value) => format!("{which} {value:?} of field {} is not one character", tag_text(&tag)),
                        None => format!("field {} has no {which}", tag_text(&tag)),
                    };
                    if !self.lenient || missing.is_some_and(|value| !value.is_empty()) {
                        return Err(structure(position, detail));
                    }
                    self.out.push(b' ');
                    self.repairs.note(RepairKind::MissingIndicators, position as usize, || detail);
                }
            }
        }
        if empty {
            self.end_field(tag, content);
            return Ok(());
        }
        loop {
            let position = reader.buffer_position();
            let outside = || format!("text outside the subfields of field {}", tag_text(&tag));
            let Some((start, empty)) = next_child(reader, outside)? else { break };
            if local_name(start.name().as_ref()) != b"subfield" {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                return Err(structure(position, format!("<{name}> in field {} is not a <subfield>", tag_text(&tag))));
            }
            let code = self.attributes(&start, position)?.code;
            match &code {
                // An empty code is an empty subfield (two delimiters in a row in ISO 2709).
                Some(code) if code.chars().count() <= 1 => {
                    self.out.push(SUBFIELD_DELIMITER);
                    self.push_checked(code, position)?;
                }
                _ => {
                    let detail = format!("a subfield of field {} without a one-character code", tag_text(&tag));
                    return Err(structure(position, detail));
                }
            }
            let before = self.out.len();
            if !empty {
                self.text(reader, b"subfield")?;
            }
            if code.is_some_and(|code| code.is_empty()) && self.out.len() > before {
                let detail = format!("a subfield of field {} without a code holds text", tag_text(&tag));
                return Err(structure(position, detail));
            }
        }
        self.end_field(tag, content);
        Ok(())
    }

    /// Appends the text of the element just started, up to its end tag.
    fn text(&mut self, reader: &mut Reader<&[u8]>, element: &[u8]) -> Result<(), Damage> {
        loop {
            let position = reader.buffer_position();
            match reader.read_event().map_err(|e| malformed(reader.error_position(), e))? {
                Event::Text(text) => {
                    let text = text.xml10_content().map_err(|_| invalid_utf8(text.as_ref(), position))?;
                    self.push_checked(&text, position)?;
                }
                Event::CData(data) => {
                    let text = data.xml10_content().map_err(|_| invalid_utf8(data.as_ref(), position))?;
                    self.push_checked(&text, position)?;
                }
                Event::GeneralRef(reference) => {
                    let mut buf = [0; 4];
                    let text = match reference.resolve_char_ref().map_err(|e| malformed(position, e))? {
                        Some(ch) => &*ch.encode_utf8(&mut buf),
                        None => {
                            let name = reference.decode().map_err(|e| malformed(position, e))?;
                            resolve_predefined_entity(&name)
                                .ok_or_else(|| malformed(position, format!("unknown entity &{name};")))?
                        }
                    };
                    self.push_checked(text, position)?;
                }
                Event::End(_) => return Ok(()),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Err(malformed(position, "the record ends inside an element")),
                Event::Start(start) | Event::Empty(start) => {
                    let (name, outer) =
                        (String::from_utf8_lossy(start.name().as_ref()).into_owned(), String::from_utf8_lossy(element));
                    return Err(structure(position, format!("<{name}> inside <{outer}>")));
                }
                other => return Err(malformed(position, format!("unexpected {other:?}"))),
            }
        }
    }

    /// Appends text, which must hold only characters XML 1.0 allows: no control character but tab,
    /// line feed and carriage return (so none of MARC's own delimiters, which would change the
    /// record's structure).
    fn push_checked(&mut self, text: &str, position: u64) -> Result<(), Damage> {
        if let Some(&byte) = text.as_bytes().iter().find(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) {
            return Err(malformed(position, format!("U+{byte:04X}, a control character XML 1.0 does not allow")));
        }
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// The next child element of the element being read: its start tag and whether it is empty, or
/// `None` at the element's end tag (quick-xml checks that it closes that element). White space,
/// comments and processing instructions between children are passed over; other text is damage,
/// which `text` describes.
fn next_child<'a>(reader: &mut Reader<&'a [u8]>, text: impl Fn() -> String) -> Result<Option<(BytesStart<'a>, bool)>, Damage> {
    loop {
        let position = reader.buffer_position();
        return match reader.read_event().map_err(|e| malformed(reader.error_position(), e))? {
            Event::Start(start) => Ok(Some((start, false))),
            Event::Empty(start) => Ok(Some((start, true))),
            Event::End(_) => Ok(None),
            Event::Text(blank) if blank.iter().all(u8::is_ascii_whitespace) => continue,
            Event::Comment(_) | Event::PI(_) => continue,
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => Err(structure(position, text())),
            Event::Eof => Err(malformed(position, "the record ends before its end tag")),
            other => Err(malformed(position, format!("unexpected {other:?}"))),
        };
    }
}

fn tag_text(tag: &[u8; 3]) -> String {
    String::from_utf8_lossy(tag).into_owned()
}

fn invalid_utf8(bytes: &[u8], position: u64) -> Damage {
    let at = crate::encoding::decode_utf8(bytes).err().unwrap_or(0);
    let offset = position as usize + at;
    Damage::new(DamageKind::InvalidUtf8, offset, format!("invalid UTF-8 at byte {offset} of the record"))
}
