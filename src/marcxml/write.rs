//! A record as MARCXML, one `record` element a line in a `collection` of the slim namespace.
//!
//! Text is escaped as XML needs it, and a carriage return written as `&#13;` (an XML parser reads
//! a raw one as a line feed). XML 1.0 cannot hold the other control characters (but tab and line
//! feed) at all, nor U+FFFE and U+FFFF, even as character references: they are left out (in a
//! leader, tag, indicator or subfield code, whose characters are positions, replaced by the fill
//! character `|`), and counted, so that the caller can say how many were.

use crate::writer::{Field, Record};

pub const START: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n";
pub const END: &[u8] = b"</collection>\n";

/// Appends `record` to `out`; the number of characters XML cannot hold, left out.
pub fn record(record: &Record<'_, '_>, out: &mut Vec<u8>) -> Result<usize, String> {
    let mut left_out = 0;
    out.extend_from_slice(b"<record><leader>");
    left_out += positions(record.leader, false, out);
    out.extend_from_slice(b"</leader>");
    for field in record.fields() {
        match field? {
            Field::Control { tag, data } => {
                out.extend_from_slice(b"<controlfield tag=\"");
                left_out += positions(tag, true, out);
                out.extend_from_slice(b"\">");
                left_out += escape(data, false, out);
                out.extend_from_slice(b"</controlfield>");
            }
            Field::Data { tag, ind1, ind2, subfields } => {
                out.extend_from_slice(b"<datafield tag=\"");
                left_out += positions(tag, true, out);
                out.extend_from_slice(b"\" ind1=\"");
                left_out += positions(ind1, true, out);
                out.extend_from_slice(b"\" ind2=\"");
                left_out += positions(ind2, true, out);
                out.extend_from_slice(b"\">");
                for subfield in subfields {
                    let (code, value) = subfield?;
                    out.extend_from_slice(b"<subfield code=\"");
                    left_out += positions(code, true, out);
                    out.extend_from_slice(b"\">");
                    left_out += escape(value, false, out);
                    out.extend_from_slice(b"</subfield>");
                }
                out.extend_from_slice(b"</datafield>");
            }
        }
    }
    out.extend_from_slice(b"</record>\n");
    Ok(left_out)
}

/// Appends text whose characters are positions (a leader, a tag, an indicator, a subfield code):
/// one XML cannot hold becomes MARC's fill character, `|`, so that every other keeps its place.
fn positions(text: &str, attribute: bool, out: &mut Vec<u8>) -> usize {
    if text.chars().all(allowed) {
        return escape(text, attribute, out);
    }
    let filled: String = text.chars().map(|c| if allowed(c) { c } else { '|' }).collect();
    escape(&filled, attribute, out);
    text.chars().filter(|&c| !allowed(c)).count()
}

/// Whether XML 1.0 can hold a character.
fn allowed(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Whether a byte needs more than copying: markup, a control character, or the lead byte of
/// U+FFFE and U+FFFF.
fn special(byte: u8) -> bool {
    matches!(byte, b'&' | b'<' | b'>' | b'"' | 0xEF) || byte < 0x20
}

/// Appends `text` escaped (as an attribute value, where white space would be normalised, if
/// `attribute`); the number of characters XML 1.0 cannot hold, left out.
fn escape(text: &str, attribute: bool, out: &mut Vec<u8>) -> usize {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| special(b)) {
        out.extend_from_slice(bytes);
        return 0;
    }
    let mut left_out = 0;
    for ch in text.chars() {
        match ch {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' if attribute => out.extend_from_slice(b"&quot;"),
            '\r' => out.extend_from_slice(b"&#13;"),
            '\t' if attribute => out.extend_from_slice(b"&#9;"),
            '\n' if attribute => out.extend_from_slice(b"&#10;"),
            '\t' | '\n' => out.push(ch as u8),
            _ if !allowed(ch) => left_out += 1,
            _ => {
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    left_out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str, attribute: bool) -> (String, usize) {
        let mut out = Vec::new();
        let left_out = escape(text, attribute, &mut out);
        (String::from_utf8(out).unwrap(), left_out)
    }

    #[test]
    fn text_is_escaped_as_xml_1_0_reads_it_back() {
        assert_eq!(escaped("Smith & Sons <1901> \"x\"", false), ("Smith &amp; Sons &lt;1901&gt; \"x\"".into(), 0));
        assert_eq!(escaped("a\"b\tc\nd", true), ("a&quot;b&#9;c&#10;d".into(), 0));
        assert_eq!(escaped("line\r\nnext\tcol", false), ("line&#13;\nnext\tcol".into(), 0));
        assert_eq!(escaped("   00038361\u{1F}", false), ("   00038361".into(), 1));
        assert_eq!(escaped("é\u{FFFF}ü\u{1B}", false), ("éü".into(), 2));
        assert_eq!(escaped("plain text, no markup", false), ("plain text, no markup".into(), 0));
    }
}
