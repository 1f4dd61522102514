//! MARC-in-JSON, the community form of MARC records that pymarc's `JSONWriter`, MARC4J, ruby-marc
//! and yaz-marcdump (`-o json`) write, as a [`Form`]:
//!
//! ```text
//! {"leader": "01471cjm a2200349 a 4500",
//!  "fields": [{"001": "5674874"},
//!             {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "Title /"}, {"c": "by me."}]}}]}
//! ```
//!
//! Records come as a JSON array of record objects (pymarc), one object a line (NDJSON), or objects
//! one after another (yaz-marcdump's pretty-printed output): framing takes the whitespace, `[`, `]`
//! and `,` between records as the syntax it is, and each record is one object, found by matching
//! its braces outside strings. A record is read with serde_json, straight into the record's text
//! (see [`crate::record`]), without building a tree of values.

pub mod write;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::encoding::{decode_utf8, TextCodec};
use crate::error::{Damage, DamageKind};
use crate::form::{Cut, Form, Framed, Framing, Guess, Stop, Target};
use crate::iso2709::frame::MAX_DAMAGED_LEN;
use crate::record::{is_control_tag, FieldSpan, SUBFIELD_DELIMITER};
use crate::report::Repairs;

/// A leader is 24 characters, in this form as in every other.
const LEADER_LEN: usize = 24;

/// The longest record object framed: one that is not closed within this many bytes is damage (a
/// brace or quote lost), so that a broken record is not read on to the end of its input. Far more
/// than any real record takes (ISO 2709's largest, about 1 MB, is a few MB of JSON).
pub const MAX_OBJECT_LEN: usize = MAX_DAMAGED_LEN;

/// A UTF-8 byte order mark, which some tools write at the start of a text file: syntax, skipped.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// The two members a record object has, and only it: a record starts where an object opens on one.
const RECORD_KEYS: [&[u8; 8]; 2] = [b"\"leader\"", b"\"fields\""];

/// MARC-in-JSON.
#[derive(Debug)]
pub struct MarcJson;

/// The MARC-in-JSON form, for whoever reads it.
pub static MARC_JSON: MarcJson = MarcJson;

impl Form for MarcJson {
    fn cut(&self, buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool, source_start: bool) -> Cut {
        cut(buf, max_bytes, max_records, framing, at_end, source_start)
    }

    fn likely_record_start(&self, buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess {
        likely_record_start(buf, from, limit, at_end)
    }

    /// Records one after another (a line each, or not) split; the records of an array do not: a
    /// split's reader could not tell the array's commas and brackets from damage.
    fn splits(&self, prefix: &[u8]) -> bool {
        let text = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
        text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[')
    }

    /// Every field and every subfield is an object, and so is every data field's value: the
    /// objects of a batch are about three of them for two fields or subfields.
    fn capacity(&self, input: &[u8], records: &[Framed]) -> (usize, usize) {
        let objects = memchr::memchr_iter(b'{', input).count().saturating_sub(records.len());
        (objects / 3, objects * 2 / 3)
    }

    fn read(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<TextCodec, Damage> {
        let (input, decoded) = to.text.input_and_decoded();
        let at = decoded.len();
        if at == 0 {
            // A record's text is a third of its JSON or less (quotes, keys and braces go): one
            // allocation for the rest of the batch rather than a doubling at every overflow.
            decoded.reserve((input.len() - range.start) / 3);
        }
        if let Err(damage) = read_record(&input[range], decoded, &mut to.scratch.text_fields) {
            decoded.truncate(at);
            return Err(damage);
        }
        to.push_decoded(at, LEADER_LEN)?;
        Ok(TextCodec::Utf8)
    }

    /// No repair is known for a MARC-in-JSON record yet: a sound one is read, any other is not.
    fn repair(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> Result<(TextCodec, Repairs), Damage> {
        self.read(range, to).map(|codec| (codec, Repairs::default()))
    }

    fn salvage(&self, range: Range<usize>, to: &mut Target<'_, '_>) -> TextCodec {
        let (input, decoded) = to.text.input_and_decoded();
        let at = decoded.len();
        let leader_len = salvage(&input[range], decoded, &mut to.scratch.text_fields);
        // Salvaged text is read from valid UTF-8 (bytes that are not are replaced): this cannot fail.
        to.push_decoded(at, leader_len).expect("salvaged text is UTF-8");
        TextCodec::Utf8
    }
}

// Framing.

/// What lies between records: JSON's whitespace, and the syntax of the array that may hold them.
/// Which array, if any, is not kept track of, so that a record is framed the same way whatever
/// comes before it (framing from a guessed record start among them).
fn is_between(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'[' | b']' | b',')
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether the object whose `{` is just before `buf` opens on a record's member (`"leader"` or
/// `"fields"`, which no field or subfield has). `None` while the buffer ends too soon to tell.
fn opens_a_record(buf: &[u8], at_end: bool) -> Option<bool> {
    let undecided = if at_end { Some(false) } else { None };
    let Some(key_at) = buf.iter().position(|&b| !is_space(b)) else { return undecided };
    let rest = &buf[key_at..];
    match rest.first_chunk::<8>() {
        Some(key) => Some(RECORD_KEYS.contains(&key)),
        None if RECORD_KEYS.iter().any(|key| key.starts_with(rest)) => undecided,
        None => Some(false),
    }
}

/// The first `{` in `from..end` that opens a record object; `Err(())` where one may, but the
/// buffer ends too soon to tell.
fn find_record_start(buf: &[u8], from: usize, end: usize, at_end: bool) -> Result<Option<usize>, ()> {
    let mut at = from;
    while let Some(found) = buf.get(at..end).and_then(|rest| memchr::memchr(b'{', rest)) {
        let brace = at + found;
        match opens_a_record(&buf[brace + 1..], at_end) {
            Some(true) => return Ok(Some(brace)),
            Some(false) => at = brace + 1,
            None => return Err(()),
        }
    }
    Ok(None)
}

/// What [`frame_object`] found at the start of a buffer.
#[derive(Debug)]
enum Object {
    /// A whole object of this many bytes.
    Whole(usize),
    /// The buffer ends inside the object.
    Incomplete,
    /// The input ends inside the object.
    Unclosed,
    /// The object cannot be framed: the damage, counted from its `{`.
    Broken(Damage),
}

/// Frames the object whose `{` is `buf[0]`, matching braces outside strings. Only objects are
/// matched (arrays nest inside them, which a record's objects close around); an object that opens
/// on `"leader"` or `"fields"` inside it is a record starting before this one closed, and a line
/// that ends inside a string is a string that lost its closing quote (writers escape line ends):
/// both break the object, so that a record cut short does not swallow the records after it.
fn frame_object(buf: &[u8], at_end: bool) -> Object {
    let scan = &buf[..buf.len().min(MAX_OBJECT_LEN)];
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(found) = memchr::memchr3(b'{', b'}', b'"', &scan[at..]) {
        let i = at + found;
        at = i + 1;
        match scan[i] {
            b'"' => match string_end(scan, at) {
                Ok(Some(end)) => at = end,
                Ok(None) => break,
                Err(newline) => {
                    return Object::Broken(Damage::new(
                        DamageKind::MalformedJson,
                        newline,
                        format!("malformed JSON at byte {newline} of the record: a line ends inside a string"),
                    ))
                }
            },
            b'{' => {
                depth += 1;
                if depth > 1 {
                    match opens_a_record(&buf[at..], at_end) {
                        Some(false) => {}
                        Some(true) => {
                            return Object::Broken(Damage::new(
                                DamageKind::Truncated,
                                i,
                                format!("truncated record: the next record starts at byte {i}, before this one is closed"),
                            ))
                        }
                        None => return Object::Incomplete,
                    }
                }
            }
            _ => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Object::Whole(at);
                }
            }
        }
    }
    if scan.len() == MAX_OBJECT_LEN {
        let detail = format!("malformed JSON: the record is not closed within {MAX_OBJECT_LEN} bytes");
        return Object::Broken(Damage::new(DamageKind::MalformedJson, 0, detail));
    }
    if at_end {
        Object::Unclosed
    } else {
        Object::Incomplete
    }
}

/// The damage of a record object that is not closed, read as the `len` bytes before the next
/// record or the end of input (`rest` bytes on).
fn unclosed(len: usize, rest: usize) -> Damage {
    let detail = match len < rest {
        true => format!("truncated record: the next record starts at byte {len}, before this one is closed"),
        false => format!("truncated record: the input ends after {len} bytes, before the record is closed"),
    };
    Damage::new(DamageKind::Truncated, len, detail)
}

/// Where the string whose contents start at `buf[from]` ends, just past its closing quote:
/// `Ok(None)` if the buffer ends first, `Err(at)` at a line end inside it.
fn string_end(buf: &[u8], from: usize) -> Result<Option<usize>, usize> {
    let mut at = from;
    loop {
        let Some(found) = buf.get(at..).and_then(|rest| memchr::memchr3(b'"', b'\\', b'\n', rest)) else { return Ok(None) };
        let i = at + found;
        match buf[i] {
            b'"' => return Ok(Some(i + 1)),
            // An escape takes the byte after the backslash, whatever it is.
            b'\\' => at = i + 2,
            _ => return Err(i),
        }
    }
}

/// Where the damaged bytes at the start of `buf` end: just before the next record object, or the
/// end of input, and at most [`MAX_DAMAGED_LEN`] bytes on. `None`: more bytes are wanted.
fn resync(buf: &[u8], at_end: bool) -> Option<usize> {
    let limit = buf.len().min(MAX_DAMAGED_LEN);
    match find_record_start(buf, 1, limit, at_end) {
        Ok(Some(start)) => Some(start),
        Err(()) => None,
        Ok(None) if limit == MAX_DAMAGED_LEN => Some(MAX_DAMAGED_LEN),
        Ok(None) if at_end => Some(buf.len()),
        Ok(None) => None,
    }
}

/// The damage of bytes at the top level that neither are a record nor lie between records.
fn not_a_record(buf: &[u8]) -> Damage {
    let what = match buf[0] {
        byte if byte.is_ascii_graphic() => format!("{:?}", byte as char),
        byte => format!("byte 0x{byte:02X}"),
    };
    Damage::new(DamageKind::MalformedJson, 0, format!("malformed JSON: {what} where a record object was expected"))
}

/// Frames records from the start of `buf` (see [`Form::cut`]). Whitespace, `[`, `]` and `,` between
/// records are taken but are neither records nor padding; anything else outside a record is
/// damage: under [`Framing::Resync`], it and whatever follows up to the next record object
/// become one damaged record.
pub fn cut(buf: &[u8], max_bytes: usize, max_records: u64, framing: Framing, at_end: bool, source_start: bool) -> Cut {
    let mut out = Cut { records: Vec::new(), padding: Vec::new(), taken: 0, stop: None };
    let mut pos = 0;
    let incomplete = |mut out: Cut| {
        out.stop = Some(Stop::Incomplete { needed: None });
        out
    };
    while pos < buf.len() && pos < max_bytes && (out.records.len() as u64) < max_records {
        if source_start && pos == 0 {
            if buf.starts_with(BYTE_ORDER_MARK) {
                pos = BYTE_ORDER_MARK.len();
                out.taken = pos;
                continue;
            }
            if !at_end && BYTE_ORDER_MARK.starts_with(buf) {
                return incomplete(out);
            }
        }
        let between = buf[pos..].iter().position(|&b| !is_between(b)).unwrap_or(buf.len() - pos);
        if between > 0 {
            pos += between;
            out.taken = pos;
            continue;
        }
        let found = match buf[pos] {
            b'{' => match frame_object(&buf[pos..], at_end) {
                Object::Whole(len) => {
                    out.records.push(Framed { start: pos, end: pos + len, damage: None });
                    pos += len;
                    out.taken = pos;
                    continue;
                }
                Object::Incomplete => return incomplete(out),
                Object::Unclosed => unclosed(buf.len() - pos, buf.len() - pos),
                Object::Broken(damage) => damage,
            },
            _ => not_a_record(&buf[pos..]),
        };
        if framing == Framing::Strict {
            out.stop = Some(Stop::Damaged(found));
            return out;
        }
        if !out.records.is_empty() {
            // A damaged record starts a chunk of its own: where it stops the read, every record
            // before it has been handed out.
            return out;
        }
        let Some(len) = resync(&buf[pos..], at_end) else { return incomplete(out) };
        let damage = match found.kind {
            // Read only as far as the next record: where it ends, rather than where the input does.
            DamageKind::Truncated => unclosed(len, buf.len() - pos),
            _ => Damage { offset: found.offset.min(len), ..found },
        };
        out.records.push(Framed { start: pos, end: pos + len, damage: Some(damage) });
        pos += len;
        out.taken = pos;
    }
    out
}

/// Where a record object seems to start at or after `from`, looking no further than `limit` bytes
/// on: a `{` that opens on `"leader"` or `"fields"` (see [`Form::likely_record_start`]).
pub fn likely_record_start(buf: &[u8], from: usize, limit: usize, at_end: bool) -> Guess {
    let from = from.min(buf.len());
    let end = from.saturating_add(limit).min(buf.len());
    match find_record_start(buf, from, end, at_end) {
        Ok(Some(start)) => Guess::Start(start),
        Err(()) => Guess::NeedMore,
        Ok(None) => match end == buf.len() {
            true if at_end => Guess::Start(end),
            true if end < from.saturating_add(limit) => Guess::NeedMore,
            _ => Guess::NotFound,
        },
    }
}

// Reading.

/// Reads the record object `bytes` into `out` as a record's text (leader, then each field's tag
/// and content), its fields' spans (relative to where it starts in `out`) into `spans`. On damage,
/// `out` may hold part of the record after where it started.
fn read_record(bytes: &[u8], out: &mut Vec<u8>, spans: &mut Vec<FieldSpan>) -> Result<(), Damage> {
    spans.clear();
    let text = decode_utf8(bytes)
        .map_err(|at| Damage::new(DamageKind::InvalidUtf8, at, format!("invalid UTF-8 at byte {at} of the record")))?;
    let mut reader = Reader { base: out.len(), out, spans, leader: false };
    parse(text, &mut reader)
}

/// Parses the record object `text` into `reader`.
fn parse(text: &str, reader: &mut Reader<'_>) -> Result<(), Damage> {
    // The leader comes first in the text, wherever it comes in the object: room is kept for it.
    reader.out.extend_from_slice(&[b' '; LEADER_LEN]);
    // `from_str`: the text is known to be UTF-8, which spares serde_json checking each string.
    let mut json = serde_json::Deserializer::from_str(text);
    RecordSeed(reader).deserialize(&mut json).and_then(|()| json.end()).map_err(|error| damage_of(text, &error))
}

/// The damage a serde_json error stands for: a structure the form does not have (raised by the
/// visitors below, or a value of the wrong type), or JSON that is not well-formed.
fn damage_of(text: &str, error: &serde_json::Error) -> Damage {
    let offset = byte_offset(text, error.line(), error.column());
    let message = error.to_string();
    let message = message.strip_suffix(&format!(" at line {} column {}", error.line(), error.column())).unwrap_or(&message);
    match error.classify() {
        serde_json::error::Category::Data => Damage::new(DamageKind::BadStructure, offset, message.to_string()),
        _ => Damage::new(DamageKind::MalformedJson, offset, format!("malformed JSON at byte {offset} of the record: {message}")),
    }
}

/// The byte offset of serde_json's (1-based) line and (0-based, in bytes) column in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = match line {
        0 | 1 => 0,
        line => memchr::memchr_iter(b'\n', text.as_bytes()).nth(line - 2).map_or(text.len(), |at| at + 1),
    };
    (line_start + column).min(text.len())
}

/// Where a record is read to: its text from `base` of `out`, its fields' spans in `spans`.
struct Reader<'o> {
    out: &'o mut Vec<u8>,
    spans: &'o mut Vec<FieldSpan>,
    base: usize,
    /// Whether the leader was read into the room kept for it.
    leader: bool,
}

/// A JSON string as read: borrowed from the record where it holds no escape.
struct JsonStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// The record's structure breaks where a value holds one of ISO 2709's delimiters: its text
/// could not be split into fields and subfields again, nor written back.
fn check_delimiters<E: de::Error>(value: &str, what: impl FnOnce() -> String) -> Result<(), E> {
    found_delimiter(memchr::memchr3(0x1D, 0x1E, SUBFIELD_DELIMITER, value.as_bytes()), value, what)
}

/// A control field's data is taken whole, so a subfield delimiter in it is kept, as ISO 2709 keeps
/// it (LC's records have a few, at the end of 001); the terminators are not.
fn check_terminators<E: de::Error>(value: &str, what: impl FnOnce() -> String) -> Result<(), E> {
    found_delimiter(memchr::memchr2(0x1D, 0x1E, value.as_bytes()), value, what)
}

fn found_delimiter<E: de::Error>(found: Option<usize>, value: &str, what: impl FnOnce() -> String) -> Result<(), E> {
    match found {
        None => Ok(()),
        Some(at) => Err(E::custom(format!(
            "{} holds a MARC delimiter (0x{:02X}), which would break the record's structure",
            what(),
            value.as_bytes()[at]
        ))),
    }
}

/// A field's tag: three printable ASCII characters.
fn tag_of<E: de::Error>(key: &str) -> Result<[u8; 3], E> {
    match key.as_bytes() {
        &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_graphic) => Ok([a, b, c]),
        _ => Err(E::custom(format!("field tag {key:?} is not three printable ASCII characters"))),
    }
}

fn tag_str(tag: &[u8; 3]) -> &str {
    // Checked to be ASCII by `tag_of`.
    std::str::from_utf8(tag).unwrap_or("???")
}

/// One character, as an indicator or subfield code is: its `char`, or an error naming `what`.
fn one_char<E: de::Error>(value: &str, what: impl Fn() -> String) -> Result<char, E> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => {
            check_delimiters(value, &what)?;
            Ok(c)
        }
        _ => Err(E::custom(format!("{} is {value:?}, not one character", what()))),
    }
}

/// The record object: `leader` and `fields`, in either order, and nothing else.
struct RecordSeed<'r, 'o>(&'r mut Reader<'o>);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record object with a leader and fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let reader = self.0;
        let mut fields = false;
        while let Some(JsonStr(key)) = map.next_key()? {
            match &*key {
                "leader" if !reader.leader => map.next_value_seed(LeaderSeed(reader))?,
                "fields" if !fields => {
                    map.next_value_seed(FieldsSeed(reader))?;
                    fields = true;
                }
                "leader" | "fields" => return Err(de::Error::custom(format!("the record has two members {key:?}"))),
                _ => return Err(de::Error::custom(format!("member {key:?} of the record is not MARC-in-JSON"))),
            }
        }
        match (reader.leader, fields) {
            (false, _) => Err(de::Error::custom("the record has no leader")),
            (_, false) => Err(de::Error::custom("the record has no fields")),
            _ => Ok(()),
        }
    }
}

/// The leader: a string of 24 ASCII characters, written into the room kept for it.
struct LeaderSeed<'r, 'o>(&'r mut Reader<'o>);

impl<'de> DeserializeSeed<'de> for LeaderSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for LeaderSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the leader, a string")
    }

    fn visit_str<E: de::Error>(self, leader: &str) -> Result<(), E> {
        // 24 bytes, as the builders slice the leader's positions by byte.
        if leader.len() != LEADER_LEN || !leader.is_ascii() {
            let chars = leader.chars().count();
            return Err(E::custom(format!("the leader {leader:?} is {chars} characters, not 24 ASCII characters")));
        }
        check_delimiters(leader, || "the leader".to_string())?;
        let reader = self.0;
        reader.out[reader.base..reader.base + LEADER_LEN].copy_from_slice(leader.as_bytes());
        reader.leader = true;
        Ok(())
    }
}

/// The record's fields: an array of field objects, in record order.
struct FieldsSeed<'r, 'o>(&'r mut Reader<'o>);

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the record's fields, an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(FieldSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// A field: an object of one member, its tag, whose value is a control field's data (tags 001-009)
/// or a data field's object.
struct FieldSeed<'r, 'o>(&'r mut Reader<'o>);

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field, an object of one member named by its tag")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let reader = self.0;
        let Some(JsonStr(key)) = map.next_key()? else { return Err(de::Error::custom("a field has no tag")) };
        let tag = tag_of(&key)?;
        let tag_at = reader.out.len() - reader.base;
        reader.out.extend_from_slice(&tag);
        let start = reader.out.len() - reader.base;
        // The schema decides which fields are control fields, by their tags, as ISO 2709 does.
        if is_control_tag(&tag) {
            map.next_value_seed(ControlSeed { reader: &mut *reader, tag })?;
        } else {
            map.next_value_seed(DataFieldSeed { reader: &mut *reader, tag })?;
        }
        if let Some(JsonStr(other)) = map.next_key()? {
            return Err(de::Error::custom(format!(
                "field {} has a second member {other:?}: a field is an object of one member, its tag",
                tag_str(&tag)
            )));
        }
        reader.spans.push(FieldSpan { tag, tag_at, start, len: reader.out.len() - reader.base - start });
        Ok(())
    }
}

/// A control field's data: a string.
struct ControlSeed<'r, 'o> {
    reader: &'r mut Reader<'o>,
    tag: [u8; 3],
}

impl<'de> DeserializeSeed<'de> for ControlSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for ControlSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the data of control field {}, a string", tag_str(&self.tag))
    }

    fn visit_str<E: de::Error>(self, data: &str) -> Result<(), E> {
        check_terminators(data, || format!("control field {}", tag_str(&self.tag)))?;
        self.reader.out.extend_from_slice(data.as_bytes());
        Ok(())
    }
}

/// A data field's object: `ind1`, `ind2` and `subfields`, in any order, and nothing else.
struct DataFieldSeed<'r, 'o> {
    reader: &'r mut Reader<'o>,
    tag: [u8; 3],
}

impl<'de> DeserializeSeed<'de> for DataFieldSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataFieldSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data field {}, an object with ind1, ind2 and subfields", tag_str(&self.tag))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (reader, tag) = (self.reader, self.tag);
        let tag = tag_str(&tag);
        // The indicators come first in the text, wherever they come in the object (MARC4J and
        // yaz-marcdump write them after the subfields): room is kept for two ASCII ones.
        let indicators_at = reader.out.len();
        reader.out.extend_from_slice(b"  ");
        let (mut ind1, mut ind2, mut subfields) = (None, None, false);
        while let Some(JsonStr(key)) = map.next_key()? {
            match &*key {
                "ind1" if ind1.is_none() => ind1 = Some(map.next_value_seed(IndicatorSeed { tag: self.tag, which: 1 })?),
                "ind2" if ind2.is_none() => ind2 = Some(map.next_value_seed(IndicatorSeed { tag: self.tag, which: 2 })?),
                "subfields" if !subfields => {
                    map.next_value_seed(SubfieldsSeed { reader: &mut *reader, tag: self.tag })?;
                    subfields = true;
                }
                "ind1" | "ind2" | "subfields" => {
                    return Err(de::Error::custom(format!("field {tag} has two members {key:?}")));
                }
                _ => return Err(de::Error::custom(format!("member {key:?} of field {tag} is not MARC-in-JSON"))),
            }
        }
        // pymarc's reader fails on a data field without either indicator, or without subfields.
        let missing = |what: &str| -> A::Error { de::Error::custom(format!("field {tag} has no {what}")) };
        let (ind1, ind2) = (ind1.ok_or_else(|| missing("ind1"))?, ind2.ok_or_else(|| missing("ind2"))?);
        if !subfields {
            return Err(missing("subfields"));
        }
        if ind1.is_ascii() && ind2.is_ascii() {
            reader.out[indicators_at] = ind1 as u8;
            reader.out[indicators_at + 1] = ind2 as u8;
        } else {
            let indicators = format!("{ind1}{ind2}");
            reader.out.splice(indicators_at..indicators_at + 2, indicators.bytes());
        }
        Ok(())
    }
}

/// An indicator: a string of one character.
struct IndicatorSeed {
    tag: [u8; 3],
    which: u8,
}

impl<'de> DeserializeSeed<'de> for IndicatorSeed {
    type Value = char;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<char, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IndicatorSeed {
    type Value = char;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ind{} of field {}, a string of one character", self.which, tag_str(&self.tag))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<char, E> {
        one_char(value, || format!("ind{} of field {}", self.which, tag_str(&self.tag)))
    }
}

/// A data field's subfields: an array of subfield objects, in field order.
struct SubfieldsSeed<'r, 'o> {
    reader: &'r mut Reader<'o>,
    tag: [u8; 3],
}

impl<'de> DeserializeSeed<'de> for SubfieldsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SubfieldsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the subfields of field {}, an array", tag_str(&self.tag))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(SubfieldSeed { reader: &mut *self.reader, tag: self.tag })?.is_some() {}
        Ok(())
    }
}

/// A subfield: an object of one member, its code (one character), whose value is a string.
struct SubfieldSeed<'r, 'o> {
    reader: &'r mut Reader<'o>,
    tag: [u8; 3],
}

impl<'de> DeserializeSeed<'de> for SubfieldSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SubfieldSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a subfield of field {}, an object of one member named by its code", tag_str(&self.tag))
    }

    /// Each member is a subfield, in order: one member is the rule, but some systems (FOLIO's
    /// parsed records, say) write a field's subfields as one object, which pymarc reads so.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let tag = tag_str(&self.tag);
        let mut members = 0;
        while let Some(JsonStr(code)) = map.next_key()? {
            // An empty code is an empty subfield (two delimiters in a row in ISO 2709), which
            // holds no text either.
            let code = match code.is_empty() {
                true => None,
                false => Some(one_char(&code, || format!("a subfield code of field {tag}"))?),
            };
            let out = &mut *self.reader.out;
            out.push(SUBFIELD_DELIMITER);
            let mut utf8 = [0; 4];
            out.extend_from_slice(code.map_or("", |code| code.encode_utf8(&mut utf8)).as_bytes());
            let before = out.len();
            map.next_value_seed(ValueSeed { out: &mut *out, tag: self.tag, code: code.unwrap_or(' ') })?;
            if code.is_none() && out.len() > before {
                return Err(de::Error::custom(format!("a subfield of field {tag} without a code holds text")));
            }
            members += 1;
        }
        if members == 0 {
            return Err(de::Error::custom(format!("a subfield of field {tag} has no code")));
        }
        Ok(())
    }
}

/// A subfield's value: a string.
struct ValueSeed<'o> {
    out: &'o mut Vec<u8>,
    tag: [u8; 3],
    code: char,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the value of subfield ${} of field {}, a string", self.code, tag_str(&self.tag))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        check_delimiters(value, || format!("subfield ${} of field {}", self.code, tag_str(&self.tag)))?;
        self.out.extend_from_slice(value.as_bytes());
        Ok(())
    }
}

// Salvage.

/// Appends what can be read of a damaged record object to `out` as a record's text, its fields'
/// spans (relative to where it starts) to `spans` (cleared first), never failing: the length of
/// the leader read (0 if none was).
///
/// Bytes that are not UTF-8 are replaced. A record that is well-formed JSON is read leniently (see
/// [`salvage_value`]); one that is not is read as far as the first damage: the leader if it came
/// before it, and every field that did.
fn salvage(bytes: &[u8], out: &mut Vec<u8>, spans: &mut Vec<FieldSpan>) -> usize {
    spans.clear();
    let base = out.len();
    let text = String::from_utf8_lossy(bytes);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        return salvage_value(&value, out, spans);
    }
    // Not well-formed JSON (else it was read as a value above): read as far as the damage, keeping
    // every field read whole before it, and the leader if it was read.
    let mut reader = Reader { base, out, spans, leader: false };
    let _damage = parse(&text, &mut reader);
    let Reader { out, spans, leader, .. } = reader;
    let end = spans.last().map_or(LEADER_LEN, |span| span.start + span.len);
    out.truncate(base + end);
    if leader {
        return LEADER_LEN;
    }
    out.drain(base..base + LEADER_LEN);
    for span in spans.iter_mut() {
        span.tag_at -= LEADER_LEN;
        span.start -= LEADER_LEN;
    }
    0
}

/// Reads a record that is well-formed JSON but not (or not only) MARC-in-JSON as pymarc's reader
/// would where it can: the leader if it is a string, whatever its length; each field that is an
/// object whose first member has a three-byte tag and a value of the kind its tag wants (fields
/// that are not are left out); a missing indicator as a blank, and only an indicator's first
/// character; each member of a subfield object as a subfield, if its code is one character and its
/// value a string. MARC delimiters are replaced by U+FFFD where [`read_record`] rejects them.
fn salvage_value(value: &serde_json::Value, out: &mut Vec<u8>, spans: &mut Vec<FieldSpan>) -> usize {
    use serde_json::Value;
    let base = out.len();
    let push_clean = |out: &mut Vec<u8>, text: &str| {
        for piece in text.split(['\u{1D}', '\u{1E}', '\u{1F}']).enumerate() {
            if piece.0 > 0 {
                out.extend_from_slice("\u{FFFD}".as_bytes());
            }
            out.extend_from_slice(piece.1.as_bytes());
        }
    };
    let Value::Object(record) = value else { return 0 };
    if let Some(Value::String(leader)) = record.get("leader") {
        push_clean(out, leader);
    }
    let leader_len = out.len() - base;
    let Some(Value::Array(fields)) = record.get("fields") else { return leader_len };
    for field in fields {
        let Some((key, value)) = field.as_object().and_then(|field| field.iter().next()) else { continue };
        let Ok(tag) = tag_of::<serde_json::Error>(key) else { continue };
        let tag_at = out.len() - base;
        let start = tag_at + 3;
        match (is_control_tag(&tag), value) {
            (true, Value::String(data)) => {
                out.extend_from_slice(&tag);
                out.extend_from_slice(data.replace(['\u{1D}', '\u{1E}'], "\u{FFFD}").as_bytes());
            }
            (false, Value::Object(data)) => {
                out.extend_from_slice(&tag);
                for which in ["ind1", "ind2"] {
                    let indicator = data.get(which).and_then(Value::as_str).and_then(|s| s.chars().next());
                    let indicator = indicator.filter(|c| !matches!(c, '\u{1D}'..='\u{1F}')).unwrap_or(' ');
                    push_clean(out, indicator.encode_utf8(&mut [0; 4]));
                }
                let subfields = data.get("subfields").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
                for (code, value) in subfields.iter().filter_map(Value::as_object).flatten() {
                    let mut chars = code.chars();
                    let (Some(_), None, Value::String(value)) = (chars.next(), chars.next(), value) else { continue };
                    out.push(SUBFIELD_DELIMITER);
                    push_clean(out, code);
                    push_clean(out, value);
                }
            }
            _ => continue,
        }
        spans.push(FieldSpan { tag, tag_at, start, len: out.len() - base - start });
    }
    leader_len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Reading;
    use crate::form::Scratch;
    use crate::record::RecordText;
    use crate::views::{Text, TextBuffers};

    const YAZ: &[u8] = include_bytes!("../tests/data/forms/yaz__marc7.json");
    const MARC4J: &[u8] = include_bytes!("../tests/data/forms/marc4j__marc-in-json.json");
    const TRAJECT: &[u8] = include_bytes!("../tests/data/forms/traject__test_data.utf8.json");

    type Fields = Vec<(String, String)>;

    /// Runs `run` on a target over `input`: what it returned, what it pushed (the leader and each
    /// field's tag and content), and how long the decoded text is after it.
    fn with_target<R>(input: &[u8], run: impl FnOnce(&mut Target<'_, '_>) -> R) -> (R, Option<(String, Fields)>, usize) {
        let mut text = TextBuffers::new(input.to_vec().into());
        let mut scratch = Scratch::default();
        let mut pushed = None;
        let mut push = |record: &RecordText<'_>, _: Text<'_>| {
            let fields = (record.spans.iter().enumerate())
                .map(|(i, span)| {
                    // The tag stands where its span says, as the builders read it.
                    assert_eq!(&record.text.as_bytes()[span.tag_at..span.tag_at + 3], &span.tag);
                    (span.tag_str().to_string(), record.content(i).to_string())
                })
                .collect();
            pushed = Some((record.text[..record.leader_len].to_string(), fields));
        };
        let mut to = Target { text: &mut text, reading: Reading::default(), scratch: &mut scratch, push: &mut push };
        let result = run(&mut to);
        let decoded = text.decoded_bytes().len();
        (result, pushed, decoded)
    }

    fn read(bytes: &[u8]) -> Result<(String, Fields), Damage> {
        let (result, pushed, decoded) = with_target(bytes, |to| MARC_JSON.read(0..bytes.len(), to));
        match result {
            Ok(codec) => {
                assert_eq!(codec, TextCodec::Utf8);
                Ok(pushed.expect("a record read is handed on"))
            }
            Err(damage) => {
                assert!(pushed.is_none());
                assert_eq!(decoded, 0, "a damaged record leaves the decoded text as it was");
                Err(damage)
            }
        }
    }

    fn salvaged(bytes: &[u8]) -> (String, Fields) {
        let (codec, pushed, _) = with_target(bytes, |to| MARC_JSON.salvage(0..bytes.len(), to));
        assert_eq!(codec, TextCodec::Utf8);
        pushed.expect("a salvaged record is handed on")
    }

    fn damage(bytes: &[u8]) -> Damage {
        read(bytes).expect_err("damaged")
    }

    /// A record (start, end, damage kind), placed in the whole input.
    type Unit = (usize, usize, Option<DamageKind>);

    /// Frames `buf` as a stream whose first `first` bytes come at once, then `step` more at a time,
    /// cutting again from where each cut stopped, as the chunker does.
    fn frame_in_blocks(buf: &[u8], first: usize, step: usize, max_bytes: usize) -> Vec<Unit> {
        let (mut offset, mut have, mut units) = (0, first.min(buf.len()), Vec::new());
        while offset < buf.len() {
            let at_end = have == buf.len();
            let cut = cut(&buf[offset..have], max_bytes, u64::MAX, Framing::Resync, at_end, offset == 0);
            units.extend(cut.records.iter().map(|r| (offset + r.start, offset + r.end, r.damage.as_ref().map(|d| d.kind))));
            assert!(cut.padding.is_empty(), "nothing between records is junk");
            offset += cut.taken;
            let stuck = cut.taken == 0 || matches!(cut.stop, Some(Stop::Incomplete { .. })) || offset == have;
            assert!(!matches!(cut.stop, Some(Stop::Damaged(_))), "{:?}", cut.stop);
            if stuck && offset < buf.len() {
                assert!(!at_end, "framing stopped at the end of input: {:?}", cut.stop);
                have = (have + step).min(buf.len());
            }
        }
        units
    }

    fn frame(buf: &[u8]) -> Vec<Unit> {
        frame_in_blocks(buf, buf.len(), 0, usize::MAX)
    }

    fn sound(units: &[Unit]) -> Vec<(usize, usize)> {
        units
            .iter()
            .map(|&(start, end, damage)| {
                assert_eq!(damage, None, "record {start}..{end}");
                (start, end)
            })
            .collect()
    }

    /// The three layouts of `records` (each a record object): an array (pymarc), one a line, and
    /// pretty-printed objects one after another (yaz-marcdump).
    fn layouts(records: &[&[u8]]) -> [Vec<u8>; 3] {
        let array = [b"[".as_slice(), &records.join(b", ".as_slice()), b"]"].concat();
        let lines: Vec<u8> = records.iter().flat_map(|r| [*r, b"\n"].concat()).collect();
        let objects = records.join(b"\n".as_slice());
        [array, lines, objects]
    }

    fn traject_records() -> Vec<&'static [u8]> {
        TRAJECT.split(|&b| b == b'\n').filter(|line| !line.is_empty()).collect()
    }

    #[test]
    fn frames_the_three_layouts_and_reads_every_record() {
        let traject = traject_records();
        assert_eq!(traject.len(), 30);
        for layout in layouts(&traject) {
            let records = sound(&frame(&layout));
            assert_eq!(records.len(), 30);
            for (&(start, end), expected) in records.iter().zip(&traject) {
                assert_eq!(&&layout[start..end], expected);
                let (leader, fields) = read(&layout[start..end]).unwrap();
                assert_eq!(leader.len(), 24);
                assert!(!fields.is_empty());
            }
        }
        // A byte order mark and a trailing line end; yaz-marcdump's and MARC4J's pretty records.
        let pretty: Vec<u8> = [b"\xEF\xBB\xBF".as_slice(), YAZ, b"\n", MARC4J, YAZ, b"\n\n"].concat();
        let records = sound(&frame(&pretty));
        assert_eq!(records.len(), 3);
        for (start, end) in records {
            assert_eq!(read(&pretty[start..end]).unwrap().1.len(), 27);
        }
        // A single record written as a bare object, in each of the files.
        for one in [YAZ, MARC4J] {
            assert_eq!(sound(&frame(one)), [(0, one.iter().rposition(|&b| b == b'}').unwrap() + 1)]);
        }
    }

    #[test]
    fn reads_fields_as_the_file_has_them() {
        let (leader, fields) = read(YAZ.trim_ascii()).unwrap();
        assert_eq!(leader, "03114cam  2200349 i 4500");
        assert_eq!(fields.len(), 27);
        assert_eq!(fields[0], ("001".to_string(), "   77123332 ".to_string()));
        assert_eq!(fields[3], ("008".to_string(), "981008b2001    ilu           000 0 eng  ".to_string()));
        // yaz-marcdump writes the subfields before the indicators: the text has them first.
        assert_eq!(fields[7], ("040".to_string(), "  \x1faDLC\x1fcDLC".to_string()));
        assert_eq!(fields[10], ("245".to_string(), "00\x1faVoyager Diacritic test -- New input 001 (SBIE).".to_string()));
        // Braces inside strings are no part of the structure; escapes are read.
        let (tag, last) = fields.last().unwrap();
        assert_eq!(tag, "500");
        assert!(last.contains("qwertyuiop[]\\   QWERTYUIOP{}|"), "{last}");
        assert!(last.contains("ASDFGHJKL:\"   zxcvbnm"), "{last}");
        assert!(fields[25].1.contains("Open Curly Bracket ({); Close Curly Bracket (})"));
        let (_, fields) = read(traject_records()[29]).unwrap();
        let (tag, content) = fields.last().unwrap();
        assert_eq!((tag.as_str(), content.as_str()), ("880", "0 \x1f6490-05/$1\x1fa林行止作品集 ;\x1fv51"));
    }

    #[test]
    fn every_block_split_frames_the_same_records() {
        let traject = traject_records();
        let garbage: &[u8] = b"garbage }\n";
        let mut bytes = [b"\xEF\xBB\xBF[".as_slice(), traject[0], b",\n", traject[1], b"]\n", garbage, traject[2]].concat();
        bytes.extend_from_slice(b"\n{\"leader\": \"01471cjm a2200349 a 4500\", \"fields\": [{\"001\": \"cut off");
        let whole = frame(&bytes);
        let kinds: Vec<_> = whole.iter().map(|unit| unit.2).collect();
        assert_eq!(kinds, [None, None, Some(DamageKind::MalformedJson), None, Some(DamageKind::Truncated)]);
        for split in 0..=bytes.len() {
            assert_eq!(frame_in_blocks(&bytes, split, bytes.len(), usize::MAX), whole, "split at {split}");
        }
        for step in [1, 2, 3, 7, 64, 1000] {
            assert_eq!(frame_in_blocks(&bytes, step, step, usize::MAX), whole, "blocks of {step}");
        }
        for max_bytes in [1, 100, 5000] {
            assert_eq!(frame_in_blocks(&bytes, bytes.len(), 0, max_bytes), whole, "at most {max_bytes} bytes a cut");
        }
        // The pretty-printed records, in blocks of every size up to one record's.
        let pretty = [YAZ, MARC4J, YAZ].concat();
        let whole = frame(&pretty);
        assert_eq!(sound(&whole).len(), 3);
        for step in (1..YAZ.len()).step_by(97) {
            assert_eq!(frame_in_blocks(&pretty, step, step, usize::MAX), whole, "blocks of {step}");
        }
    }

    #[test]
    fn a_cut_takes_a_record_past_max_bytes_and_stops_at_max_records() {
        let [array, ..] = layouts(&traject_records());
        let first = frame(&array)[0];
        let cut = cut(&array, 10, u64::MAX, Framing::Resync, true, true);
        assert_eq!(cut.records.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>(), [(first.0, first.1)]);
        assert_eq!(cut.taken, first.1);
        let cut = super::cut(&array, usize::MAX, 2, Framing::Strict, true, true);
        assert_eq!(cut.records.len(), 2);
        assert!(cut.stop.is_none());
    }

    #[test]
    fn damage_between_records_is_one_damaged_record() {
        let traject = traject_records();
        let bytes = [traject[0], b"\n\"a string\", 12, } oops\n", traject[1]].concat();
        let units = frame(&bytes);
        assert_eq!(units.len(), 3);
        let (start, end, kind) = units[1];
        assert_eq!((start, end, kind), (traject[0].len() + 1, bytes.len() - traject[1].len(), Some(DamageKind::MalformedJson)));
        // Strict framing stops there instead, after the records before it.
        let cut = cut(&bytes, usize::MAX, u64::MAX, Framing::Strict, true, true);
        assert_eq!(cut.records.len(), 1);
        assert_eq!(cut.taken, traject[0].len() + 1);
        let Some(Stop::Damaged(damage)) = cut.stop else { panic!("{:?}", cut.stop) };
        assert_eq!(damage.kind, DamageKind::MalformedJson);
        assert!(damage.detail.contains("'\"'"), "{}", damage.detail);
    }

    #[test]
    fn a_record_cut_short_does_not_swallow_the_next() {
        let traject = traject_records();
        // Cut inside a string, then the next record on its own line: the line end breaks the string.
        let in_string = [&traject[0][..200], b"\n", traject[1], b"\n"].concat();
        // Cut between fields: the next record's object opens inside this one.
        let between = [&traject[0][..traject[0].len() - 50], b"}},", traject[1]].concat();
        for (bytes, next) in [(&in_string, 201), (&between, traject[0].len() - 47)] {
            let units = frame(bytes);
            assert_eq!(units.len(), 2, "{units:?}");
            assert_eq!(units[0].0, 0);
            let damage = cut(bytes, usize::MAX, u64::MAX, Framing::Resync, true, true).records.remove(0).damage.unwrap();
            assert_eq!(damage.offset, next.min(damage.offset), "{damage:?}");
            assert!(!damage.detail.contains("input ends"), "{damage:?}");
            assert_eq!((units[1].0, units[1].1 - units[1].0, units[1].2), (next, traject[1].len(), None));
            assert!(read(&bytes[units[1].0..units[1].1]).is_ok());
        }
        // At the end of input, an object not closed is truncated; before it, more is wanted.
        let short = &traject[0][..300];
        assert_eq!(frame(short), [(0, 300, Some(DamageKind::Truncated))]);
        let cut = cut(short, usize::MAX, u64::MAX, Framing::Resync, false, true);
        assert!(matches!(cut.stop, Some(Stop::Incomplete { needed: None })) && cut.taken == 0);
        let cut = super::cut(short, usize::MAX, u64::MAX, Framing::Strict, true, true);
        assert!(matches!(cut.stop, Some(Stop::Damaged(Damage { kind: DamageKind::Truncated, .. }))), "{:?}", cut.stop);
    }

    #[test]
    fn likely_record_starts_are_objects_opening_on_a_record_member() {
        let traject = traject_records();
        let [array, lines, objects] = layouts(&traject);
        for bytes in [&array, &lines, &objects] {
            let starts: Vec<usize> = frame(bytes).iter().map(|unit| unit.0).collect();
            for from in [1, starts[1], starts[1] + 1, starts[5] - 1] {
                let next = *starts.iter().find(|&&start| start >= from).unwrap();
                assert_eq!(likely_record_start(bytes, from, usize::MAX, true), Guess::Start(next), "from {from}");
            }
            let last = *starts.last().unwrap();
            assert_eq!(likely_record_start(bytes, last + 1, usize::MAX, true), Guess::Start(bytes.len()));
            assert_eq!(likely_record_start(bytes, last + 1, usize::MAX, false), Guess::NeedMore);
            assert_eq!(likely_record_start(bytes, starts[1] + 1, 10, true), Guess::NotFound);
            // Undecided where the bytes end inside the key.
            assert_eq!(likely_record_start(&bytes[..starts[2] + 4], starts[1] + 1, usize::MAX, false), Guess::NeedMore);
        }
        let pretty = [YAZ, MARC4J].concat();
        assert_eq!(likely_record_start(&pretty, 1, usize::MAX, true), Guess::Start(YAZ.len()));
    }

    #[test]
    fn syntax_errors_are_malformed_json_at_their_offset() {
        let record = br#"{"leader": "00000nam a2200000 a 4500", "fields": [{"001": "x"} {"003": "y"}]}"#;
        let damage = damage(record);
        assert_eq!(damage.kind, DamageKind::MalformedJson);
        let at = record.iter().position(|&b| b == b'}').unwrap() + 2;
        assert!((at..=at + 1).contains(&damage.offset), "{damage:?}");
        // Offsets count lines before the damage.
        let pretty = b"{\n  \"leader\": \"00000nam a2200000 a 4500\",\n  \"fields\": [\n    {\"001\": x}\n  ]\n}";
        let damage = super::tests::damage(pretty);
        assert_eq!(damage.kind, DamageKind::MalformedJson);
        let x = pretty.iter().position(|&b| b == b'x').unwrap();
        assert!((x..=x + 1).contains(&damage.offset), "{damage:?} (x at {x})");
        let mut invalid = record.to_vec();
        invalid[60] = 0xFF;
        assert_eq!(super::tests::damage(&invalid), Damage { offset: 60, ..super::tests::damage(&invalid) });
        assert_eq!(super::tests::damage(&invalid).kind, DamageKind::InvalidUtf8);
    }

    fn with_fields(fields: &str) -> Vec<u8> {
        format!(r#"{{"leader": "00000nam a2200000 a 4500", "fields": [{fields}]}}"#).into_bytes()
    }

    #[test]
    fn structure_the_form_does_not_have_is_bad_structure() {
        let cases: [(&[u8], &str); 17] = [
            (br#"{"fields": []}"#, "no leader"),
            (br#"{"leader": "00000nam a2200000 a 4500"}"#, "no fields"),
            (br#"{"leader": 42, "fields": []}"#, "the leader, a string"),
            (br#"{"leader": "00000nam", "fields": []}"#, "not 24"),
            (br#"{"leader": "00000nam a2200000 a 4500", "fields": {}}"#, "an array"),
            (br#"{"leader": "00000nam a2200000 a 4500", "fields": [], "foo": 1}"#, "member \"foo\" of the record"),
            (&with_fields(r#"{"24": {"ind1": " ", "ind2": " ", "subfields": []}}"#), "tag \"24\""),
            (&with_fields(r#"{"245": "A title"}"#), "data field 245"),
            (&with_fields(r#"{"001": {"ind1": " ", "ind2": " ", "subfields": []}}"#), "control field 001"),
            (&with_fields(r#"{"245": {"ind1": "10", "ind2": " ", "subfields": []}}"#), "ind1 of field 245"),
            (&with_fields(r#"{"245": {"ind2": " ", "subfields": []}}"#), "field 245 has no ind1"),
            (&with_fields(r#"{"245": {"ind1": " ", "ind2": " "}}"#), "no subfields"),
            (&with_fields(r#"{"245": {"ind1": " ", "ind2": " ", "subfields": [{"ab": "x"}]}}"#), "subfield code"),
            (&with_fields(r#"{"245": {"ind1": " ", "ind2": " ", "subfields": [{"a": "x\u001fby"}]}}"#), "0x1F"),
            (&with_fields(r#"{"245": {"ind1": " ", "ind2": " ", "subfields": [{"a": 3}]}}"#), "subfield $a of field 245"),
            (&with_fields(r#"{"001": "x", "003": "y"}"#), "second member"),
            (&with_fields(r#"{}"#), "no tag"),
        ];
        for (record, says) in cases {
            let damage = damage(record);
            assert_eq!(damage.kind, DamageKind::BadStructure, "{}", String::from_utf8_lossy(record));
            assert!(damage.detail.contains(says), "{:?} does not say {says:?}", damage.detail);
            assert!(!damage.detail.contains(" at line "), "{}", damage.detail);
            assert!(damage.offset <= record.len());
        }
    }

    #[test]
    fn members_come_in_any_order_and_escapes_are_read() {
        let record =
            br#"{"fields": [{"245": {"subfields": [{"a": "Caf\u00e9 \"x\""}, {"\u00e9": "y"}], "ind2": "0", "ind1": "\u00e9"}},
            {"001": "a\tb"}], "leader": "00000nam a2200000 a 4500"}"#;
        let (leader, fields) = read(record).unwrap();
        assert_eq!(leader, "00000nam a2200000 a 4500");
        assert_eq!(fields, [("245".into(), "é0\x1faCafé \"x\"\x1féy".into()), ("001".into(), "a\tb".into())]);
        // A control field's data may hold a subfield delimiter (LC's 001s have a few), not a terminator.
        let (_, lc) = read(&with_fields(r#"{"001": "   00038361\u001f"}"#)).unwrap();
        assert_eq!(lc, [("001".to_string(), "   00038361\x1f".to_string())]);
        assert!(damage(&with_fields(r#"{"001": "x\u001e"}"#)).detail.contains("0x1E"));
        // Subfields written as the members of one object (FOLIO's parsed records) are read in order.
        let (_, one_object) =
            read(&with_fields(r#"{"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "x", "c": "y"}, {"b": "z"}]}}"#))
                .unwrap();
        assert_eq!(one_object, [("245".to_string(), "10\x1fax\x1fcy\x1fbz".to_string())]);
        // repair reads a sound record as read does, and no other.
        let (result, pushed, _) = with_target(record, |to| MARC_JSON.repair(0..record.len(), to));
        assert_eq!(result.unwrap().1, Repairs::default());
        assert_eq!(pushed.unwrap().1, fields);
        let bad = with_fields(r#"{"245": "x"}"#);
        let (result, pushed, _) = with_target(&bad, |to| MARC_JSON.repair(0..bad.len(), to));
        assert_eq!(result.unwrap_err().kind, DamageKind::BadStructure);
        assert!(pushed.is_none());
    }

    #[test]
    fn salvage_reads_what_it_can() {
        // Well-formed JSON: every well-formed field, the others left out.
        let record = with_fields(
            r#"{"001": "x"}, {"245": "not an object"}, {"650": {"ind2": "0", "subfields": [{"a": "Cats", "x": "y"}]}}"#,
        );
        let (leader, fields) = salvaged(&record);
        assert_eq!(leader, "00000nam a2200000 a 4500");
        assert_eq!(fields, [("001".into(), "x".into()), ("650".into(), " 0\x1faCats\x1fxy".into())]);
        // Malformed: the leader and the fields before the damage.
        let record = with_fields(r#"{"001": "x"}, {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "T"}]}}, {"650" oops"#);
        let (leader, fields) = salvaged(&record);
        assert_eq!(leader.len(), 24);
        assert_eq!(fields, [("001".into(), "x".into()), ("245".into(), "10\x1faT".into())]);
        // No leader before the damage: none.
        let (leader, fields) = salvaged(br#"{"fields": [{"001": "x"}, {"003": "#);
        assert_eq!((leader.as_str(), fields), ("", vec![("001".to_string(), "x".to_string())]));
        // Anything at all.
        for bytes in [&b""[..], b"garbage", b"[1, 2]", b"{\"leader\": 5}", b"{\"leader\": \"\xff\"}", &YAZ[..YAZ.len() / 2]] {
            salvaged(bytes);
        }
        for cut in (0..YAZ.len()).step_by(7) {
            salvaged(&YAZ[..cut]);
        }
    }

    #[test]
    fn capacity_is_about_the_fields_and_subfields() {
        let records = frame(TRAJECT);
        let framed: Vec<Framed> = records.iter().map(|&(start, end, _)| Framed { start, end, damage: None }).collect();
        let (fields, subfields) = MARC_JSON.capacity(TRAJECT, &framed);
        let (mut real_fields, mut real_subfields) = (0, 0);
        for (start, end, _) in records {
            let (_, read) = read(&TRAJECT[start..end]).unwrap();
            real_fields += read.len();
            real_subfields += read.iter().map(|(_, content)| content.matches('\x1f').count()).sum::<usize>();
        }
        assert!(fields * 2 > real_fields && fields < real_fields * 2, "{fields} for {real_fields}");
        assert!(subfields * 2 > real_subfields && subfields < real_subfields * 2, "{subfields} for {real_subfields}");
    }

    /// Frames and reads `/tmp/booksall.json` (`yaz-marcdump -i marc -o json BooksAll.2016.part01.utf8`):
    /// `cargo test --release --lib marcjson::tests::speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn speed() {
        let path = std::env::var("MARC_JSON_BENCH").unwrap_or_else(|_| "/tmp/booksall.json".to_string());
        let bytes = std::fs::read(path).expect("the file to read");
        let started = std::time::Instant::now();
        let mut records = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let cut = cut(&bytes[at..], 1 << 24, u64::MAX, Framing::Resync, true, at == 0);
            records.extend(cut.records.iter().map(|r| (at + r.start, at + r.end, r.damage.is_some())));
            at += cut.taken;
        }
        let framing = started.elapsed();
        let mb = bytes.len() as f64 / 1e6;
        println!("framed {} records of {mb:.0} MB in {framing:?}: {:.0} MB/s", records.len(), mb / framing.as_secs_f64());
        assert!(records.iter().all(|r| !r.2));
        let mut text = TextBuffers::new(bytes.into());
        let mut scratch = Scratch::default();
        let mut fields = 0;
        let mut push = |record: &RecordText<'_>, _: Text<'_>| fields += record.spans.len();
        let mut to = Target { text: &mut text, reading: Reading::default(), scratch: &mut scratch, push: &mut push };
        let started = std::time::Instant::now();
        for &(start, end, _) in &records {
            MARC_JSON.read(start..end, &mut to).unwrap();
            if to.text.decoded_bytes().len() > 1 << 28 {
                to.text.decoded_mut().clear();
            }
        }
        let reading = started.elapsed();
        println!("read {fields} fields in {reading:?}: {:.0} MB/s", mb / reading.as_secs_f64());
    }
}
