//! A record as MARC-in-JSON, as pymarc's `JSONWriter` writes it: `{"leader": ..., "fields": [...]}`,
//! a control field `{"001": data}`, a data field `{"245": {"ind1": ..., "ind2": ..., "subfields":
//! [{"a": value}, ...]}}`. Text is written as UTF-8, escaped as JSON needs it: every character a
//! record holds can be.

use crate::writer::{Field, Record};

/// Appends `record` to `out`.
pub fn record(record: &Record<'_, '_>, out: &mut Vec<u8>) -> Result<usize, String> {
    out.extend_from_slice(b"{\"leader\": ");
    string(record.leader, out);
    out.extend_from_slice(b", \"fields\": [");
    for (entry, field) in record.fields().enumerate() {
        if entry > 0 {
            out.extend_from_slice(b", ");
        }
        out.push(b'{');
        match field? {
            Field::Control { tag, data } => {
                string(tag, out);
                out.extend_from_slice(b": ");
                string(data, out);
            }
            Field::Data { tag, ind1, ind2, subfields } => {
                string(tag, out);
                out.extend_from_slice(b": {\"ind1\": ");
                string(ind1, out);
                out.extend_from_slice(b", \"ind2\": ");
                string(ind2, out);
                out.extend_from_slice(b", \"subfields\": [");
                for (i, subfield) in subfields.enumerate() {
                    let (code, value) = subfield?;
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.push(b'{');
                    string(code, out);
                    out.extend_from_slice(b": ");
                    string(value, out);
                    out.push(b'}');
                }
                out.extend_from_slice(b"]}");
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(0)
}

/// Appends `text` as a JSON string.
fn string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut copied = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..at]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{byte:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        copied = at + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json_needs() {
        let mut out = Vec::new();
        string("a \"quoted\" \\ path\tand\nlines\r, \u{1F} and é", &mut out);
        let written = String::from_utf8(out).unwrap();
        assert_eq!(written, r#""a \"quoted\" \\ path\tand\nlines\r, \u001f and é""#);
        let read: String = serde_json::from_str(&written).unwrap();
        assert_eq!(read, "a \"quoted\" \\ path\tand\nlines\r, \u{1F} and é");
    }
}
