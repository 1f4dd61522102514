//! MARCspec: a subset of the MARCspec syntax (<https://marcspec.github.io/MARCspec/>), parsed once
//! and evaluated on each record while it is decoded.
//!
//! | spec | selects |
//! |---|---|
//! | `LDR`, `LDR/06`, `LDR/06-07` | the leader, or character positions of it |
//! | `001`, `008/35-37`, `007[1]` | a control field (its first occurrence unless indexed), or positions of it |
//! | `245$a`, `245$a$b`, `650$a-c`, `6..$a` | subfields of every occurrence, in record order (`.` matches any character of a tag) |
//! | `245[0]$a[0]`, `650[#]$a`, `245$a/0-3` | occurrence indexes (`#` is the last) and character positions |
//! | `245^1`, `245^2` | an indicator of every occurrence |
//!
//! A spec yields at most one value per record (a `String` column) when it is the leader, a control
//! field without an index range, or a data field at one index with one subfield code at one index
//! (or one indicator); otherwise a list of values. Whatever lies outside this subset (subspecs in
//! `{...}`, a data field without subfield or indicator, ...) is rejected with the position of the
//! first character that is not understood.

use std::fmt;

/// An invalid spec: the spec, the character position (0-based) where it stops making sense, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub spec: String,
    pub position: usize,
    pub reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid MARCspec {:?} at position {}: {}", self.spec, self.position, self.reason)
    }
}

impl std::error::Error for SpecError {}

/// A position in an index or a character range: a number, or `#`, the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    At(usize),
    Last,
}

impl Position {
    fn resolve(self, count: usize) -> Option<usize> {
        match self {
            Position::At(at) => (at < count).then_some(at),
            Position::Last => count.checked_sub(1),
        }
    }
}

/// `n`, `n-m`, `#`, `n-#`: inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    from: Position,
    to: Position,
}

impl Range {
    fn is_single(&self) -> bool {
        self.from == self.to
    }

    /// Whether occurrence `at` of `count` lies in the range.
    fn contains(&self, at: usize, count: usize) -> bool {
        let from = match self.from {
            Position::At(from) => from,
            Position::Last => count.saturating_sub(1),
        };
        let to = match self.to {
            Position::At(to) => to,
            Position::Last => count.saturating_sub(1),
        };
        from <= at && at <= to
    }

    fn needs_count(&self) -> bool {
        self.from == Position::Last || self.to == Position::Last
    }

    /// Characters `from..=to` of `text`, cut short at its end; `None` when `from` lies past it.
    fn chars_of<'a>(&self, text: &'a str) -> Option<&'a str> {
        if text.is_ascii() {
            let from = self.from.resolve(text.len())?;
            let to = self.to.resolve(text.len()).unwrap_or(text.len() - 1).min(text.len() - 1);
            return (from <= to).then(|| &text[from..=to]);
        }
        let count = text.chars().count();
        let from = self.from.resolve(count)?;
        let to = self.to.resolve(count).unwrap_or(count - 1).min(count - 1);
        if from > to {
            return None;
        }
        let mut starts = text.char_indices().map(|(at, _)| at).chain(std::iter::once(text.len()));
        let start = starts.nth(from).unwrap_or(text.len());
        let end = starts.nth(to - from).unwrap_or(text.len());
        Some(&text[start..end])
    }
}

/// Subfield codes `first..=last` (one code, or a range like `a-c`), at an index, cut to characters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubfieldSpec {
    first: u8,
    last: u8,
    index: Option<Range>,
    chars: Option<Range>,
}

impl SubfieldSpec {
    fn matches(&self, code: &str) -> bool {
        matches!(code.as_bytes(), [c] if (self.first..=self.last).contains(c))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Leader {
        chars: Option<Range>,
    },
    Control {
        chars: Option<Range>,
    },
    Subfields(Vec<SubfieldSpec>),
    /// 1 or 2.
    Indicator(u8),
}

/// A parsed spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    text: String,
    /// Three characters; `.` matches any. Unused for the leader.
    tag: [u8; 3],
    index: Option<Range>,
    target: Target,
}

/// What a spec reads of a record. Both the record being decoded and a row of a loaded `fields`
/// column provide it, so the two evaluations cannot disagree.
pub trait RecordView<'a> {
    fn leader(&self) -> Option<&'a str>;
    fn field_count(&self) -> usize;
    fn tag(&self, field: usize) -> Option<&'a str>;
    /// A control field's data; `None` for a data field.
    fn control_data(&self, field: usize) -> Option<&'a str>;
    /// Indicator 1 or 2 of a data field.
    fn indicator(&self, field: usize, which: u8) -> Option<&'a str>;
    /// Calls `visit(code, value)` for each subfield of a data field, in order.
    fn subfields(&self, field: usize, visit: &mut dyn FnMut(&'a str, &'a str));
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        Parser { text, at: 0 }.spec()
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the spec gives a list of values per record rather than at most one.
    pub fn is_list(&self) -> bool {
        match &self.target {
            Target::Leader { .. } => false,
            Target::Control { .. } => self.index.is_some_and(|i| !i.is_single()),
            Target::Indicator(_) => !self.index.is_some_and(|i| i.is_single()),
            Target::Subfields(subfields) => {
                let one_field = self.index.is_some_and(|i| i.is_single());
                let one_subfield = matches!(subfields.as_slice(),
                    [s] if s.first == s.last && s.index.is_some_and(|i| i.is_single()));
                !(one_field && one_subfield)
            }
        }
    }

    /// Whether the spec reads the leader only (so applies to a `leader` column).
    pub fn reads_leader(&self) -> bool {
        matches!(self.target, Target::Leader { .. })
    }

    fn tag_matches(&self, tag: &str) -> bool {
        let tag = tag.as_bytes();
        tag.len() == 3 && self.tag.iter().zip(tag).all(|(want, have)| *want == b'.' || want == have)
    }

    /// Calls `out` with each value the spec selects in `record`, in record order. A single-valued
    /// spec (see [`Spec::is_list`]) calls it at most once.
    pub fn eval<'a, R: RecordView<'a> + ?Sized>(&self, record: &R, out: &mut impl FnMut(&'a str)) {
        let control = matches!(self.target, Target::Control { .. });
        if let Target::Leader { chars } = &self.target {
            if let Some(value) = record.leader().and_then(|l| cut(l, chars)) {
                out(value);
            }
            return;
        }
        let matching = |field: &usize| {
            record.tag(*field).is_some_and(|t| self.tag_matches(t)) && record.control_data(*field).is_some() == control
        };
        let count = match self.index {
            Some(index) if index.needs_count() => (0..record.field_count()).filter(matching).count(),
            _ => 0,
        };
        // A control field without an index is its first occurrence.
        let index = self.index.or(control.then_some(Range { from: Position::At(0), to: Position::At(0) }));
        for (occurrence, field) in (0..record.field_count()).filter(matching).enumerate() {
            if !index.is_none_or(|i| i.contains(occurrence, count)) {
                continue;
            }
            match &self.target {
                Target::Control { chars } => {
                    if let Some(value) = record.control_data(field).and_then(|d| cut(d, chars)) {
                        out(value);
                    }
                }
                Target::Indicator(which) => {
                    if let Some(value) = record.indicator(field, *which) {
                        out(value);
                    }
                }
                Target::Subfields(specs) => select_subfields(record, field, specs, out),
                Target::Leader { .. } => unreachable!("handled above"),
            }
            if !self.is_list() {
                return;
            }
        }
    }
}

fn cut<'a>(text: &'a str, chars: &Option<Range>) -> Option<&'a str> {
    match chars {
        Some(range) => range.chars_of(text),
        None => Some(text),
    }
}

fn select_subfields<'a, R: RecordView<'a> + ?Sized>(
    record: &R,
    field: usize,
    specs: &[SubfieldSpec],
    out: &mut impl FnMut(&'a str),
) {
    // Occurrences are numbered per subfield spec; `#` needs the spec's count in the field first.
    // Counters on the stack for the usual few subfield specs: this runs for every matching field.
    const ON_STACK: usize = 8;
    let (mut stack, mut heap) = ([0usize; 2 * ON_STACK], Vec::new());
    let (counts, seen) = if specs.len() <= ON_STACK {
        let (counts, seen) = stack.split_at_mut(ON_STACK);
        (&mut counts[..specs.len()], &mut seen[..specs.len()])
    } else {
        heap.resize(2 * specs.len(), 0);
        heap.split_at_mut(specs.len())
    };
    if specs.iter().any(|s| s.index.is_some_and(|i| i.needs_count())) {
        record.subfields(field, &mut |code, _| {
            for (spec, count) in specs.iter().zip(counts.iter_mut()) {
                *count += usize::from(spec.matches(code));
            }
        });
    }
    record.subfields(field, &mut |code, value| {
        let mut emitted = false;
        for (i, spec) in specs.iter().enumerate() {
            if !spec.matches(code) {
                continue;
            }
            let at = seen[i];
            seen[i] += 1;
            if emitted || !spec.index.is_none_or(|index| index.contains(at, counts[i])) {
                continue;
            }
            emitted = true;
            if let Some(value) = cut(value, &spec.chars) {
                out(value);
            }
        }
    });
}

struct Parser<'t> {
    text: &'t str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn error<T>(&self, reason: impl Into<String>) -> Result<T, SpecError> {
        let position = self.text.get(..self.at).map_or(self.at, |s| s.chars().count());
        Err(SpecError { spec: self.text.to_string(), position, reason: reason.into() })
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn spec(mut self) -> Result<Spec, SpecError> {
        let tag = self.tag()?;
        let leader = &tag == b"LDR";
        let index = if self.peek() == Some(b'[') { Some(self.range(b'[')?) } else { None };
        if leader && index.is_some() {
            return self.error("the leader has no occurrences to index");
        }
        let control = tag[..2] == *b"00" && (tag[2].is_ascii_digit() || tag[2] == b'.');
        let target = match self.peek() {
            None | Some(b'/') => {
                let chars = if self.peek() == Some(b'/') { Some(self.range(b'/')?) } else { None };
                if leader {
                    Target::Leader { chars }
                } else if control {
                    Target::Control { chars }
                } else {
                    return self.error("a data field needs subfields ($a) or an indicator (^1)");
                }
            }
            Some(b'$') if !leader && !control => Target::Subfields(self.subfields()?),
            Some(b'^') if !leader && !control => {
                self.at += 1;
                match self.peek() {
                    Some(which @ (b'1' | b'2')) => {
                        self.at += 1;
                        Target::Indicator(which - b'0')
                    }
                    _ => return self.error("an indicator is ^1 or ^2"),
                }
            }
            Some(b'$' | b'^') => return self.error("the leader and control fields have no subfields or indicators"),
            Some(b'{') => return self.error("subspecs ({...}) are not supported"),
            Some(_) => return self.error("expected $, ^, / or [ after the tag"),
        };
        match self.peek() {
            None => Ok(Spec { text: self.text.to_string(), tag, index, target }),
            Some(b'{') => self.error("subspecs ({...}) are not supported"),
            Some(_) => self.error("unexpected character"),
        }
    }

    /// `LDR`, or three digits, lowercase letters or `.`, or three digits, uppercase letters or `.`.
    fn tag(&mut self) -> Result<[u8; 3], SpecError> {
        let bytes = self.text.as_bytes();
        if bytes.len() < 3 {
            self.at = bytes.len();
            return self.error("expected a three-character tag (like 245, 6.. or LDR)");
        }
        let tag = [bytes[0], bytes[1], bytes[2]];
        if &tag == b"LDR" {
            self.at = 3;
            return Ok(tag);
        }
        let lower = tag.iter().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || *b == b'.');
        let upper = tag.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || *b == b'.');
        if !(lower || upper) {
            let bad = tag.iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'.')).unwrap_or(0);
            self.at = bad;
            return self.error("a tag is three digits, letters of one case, or . (any)");
        }
        self.at = 3;
        Ok(tag)
    }

    /// One or more `$code[index]/chars`, codes being a letter or digit or a range like `a-c`.
    fn subfields(&mut self) -> Result<Vec<SubfieldSpec>, SpecError> {
        let mut specs = Vec::new();
        while self.eat(b'$') {
            let first = match self.peek() {
                Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => c,
                _ => return self.error("a subfield code is a lowercase letter or a digit"),
            };
            self.at += 1;
            let mut last = first;
            if self.eat(b'-') {
                last = match self.peek() {
                    Some(c)
                        if (c.is_ascii_lowercase() && first.is_ascii_lowercase())
                            || (c.is_ascii_digit() && first.is_ascii_digit()) =>
                    {
                        c
                    }
                    _ => return self.error("a subfield code range joins two letters or two digits"),
                };
                if last < first {
                    return self.error("a subfield code range must go upwards");
                }
                self.at += 1;
            }
            let index = if self.peek() == Some(b'[') { Some(self.range(b'[')?) } else { None };
            let chars = if self.peek() == Some(b'/') { Some(self.range(b'/')?) } else { None };
            specs.push(SubfieldSpec { first, last, index, chars });
        }
        Ok(specs)
    }

    /// `[range]` or `/range`.
    fn range(&mut self, opener: u8) -> Result<Range, SpecError> {
        self.at += 1;
        let from = self.position()?;
        let to = if self.eat(b'-') { self.position()? } else { from };
        if let (Position::At(from), Position::At(to)) = (from, to) {
            if to < from {
                return self.error("a range must go upwards");
            }
        }
        if from == Position::Last && to != Position::Last {
            return self.error("a range starting at the last (#) ends there");
        }
        if opener == b'[' && !self.eat(b']') {
            return self.error("expected ] to close the index");
        }
        Ok(Range { from, to })
    }

    fn position(&mut self) -> Result<Position, SpecError> {
        if self.eat(b'#') {
            return Ok(Position::Last);
        }
        let digits = self.text.as_bytes()[self.at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return self.error("expected a position: digits or #");
        }
        let number = self.text[self.at..self.at + digits].parse::<usize>();
        let Ok(number) = number else { return self.error("position too large") };
        self.at += digits;
        Ok(Position::At(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field as plain data: tag, control data, indicators, subfields.
    type FakeField = (&'static str, Option<&'static str>, [&'static str; 2], Vec<(&'static str, &'static str)>);

    /// A record as plain data.
    struct Fake {
        leader: &'static str,
        fields: Vec<FakeField>,
    }

    impl<'a> RecordView<'a> for &'a Fake {
        fn leader(&self) -> Option<&'a str> {
            Some(self.leader)
        }
        fn field_count(&self) -> usize {
            self.fields.len()
        }
        fn tag(&self, field: usize) -> Option<&'a str> {
            Some(self.fields[field].0)
        }
        fn control_data(&self, field: usize) -> Option<&'a str> {
            self.fields[field].1
        }
        fn indicator(&self, field: usize, which: u8) -> Option<&'a str> {
            Some(self.fields[field].2[usize::from(which) - 1])
        }
        fn subfields(&self, field: usize, visit: &mut dyn FnMut(&'a str, &'a str)) {
            for (code, value) in &self.fields[field].3 {
                visit(code, value);
            }
        }
    }

    fn record() -> Fake {
        Fake {
            leader: "00000nam a2200000 a 4500",
            fields: vec![
                ("001", Some("ocm123"), ["", ""], vec![]),
                ("007", Some("ta"), ["", ""], vec![]),
                ("007", Some("cr"), ["", ""], vec![]),
                ("008", Some("850101s1985    xx            000 0 eng d"), ["", ""], vec![]),
                ("245", None, ["1", "0"], vec![("a", "Title :"), ("b", "sub /"), ("c", "by me.")]),
                ("650", None, [" ", "0"], vec![("a", "Cats"), ("x", "History"), ("a", "Dogs")]),
                ("651", None, [" ", "7"], vec![("a", "Paris"), ("2", "fast")]),
                ("650", None, [" ", "0"], vec![("a", "Кошки")]),
            ],
        }
    }

    fn eval(spec: &str) -> Vec<String> {
        let record = record();
        let spec = Spec::parse(spec).unwrap();
        let mut values = Vec::new();
        spec.eval(&&record, &mut |v: &str| values.push(v.to_string()));
        values
    }

    #[test]
    fn evaluates_each_form() {
        assert_eq!(eval("LDR"), ["00000nam a2200000 a 4500"]);
        assert_eq!(eval("LDR/06"), ["a"]);
        assert_eq!(eval("LDR/06-07"), ["am"]);
        assert_eq!(eval("LDR/#"), ["0"]);
        assert_eq!(eval("001"), ["ocm123"]);
        assert_eq!(eval("007"), ["ta"]);
        assert_eq!(eval("007[1]"), ["cr"]);
        assert_eq!(eval("007[0-#]"), ["ta", "cr"]);
        assert_eq!(eval("008/35-37"), ["eng"]);
        assert_eq!(eval("008/38-45"), [" d"], "cut short at the end");
        assert!(eval("008/99").is_empty());
        assert_eq!(eval("245$a"), ["Title :"]);
        assert_eq!(eval("245$a$c"), ["Title :", "by me."]);
        assert_eq!(eval("245$c$a"), ["Title :", "by me."], "record order, not spec order");
        assert_eq!(eval("245$a-b"), ["Title :", "sub /"]);
        assert_eq!(eval("650$a"), ["Cats", "Dogs", "Кошки"]);
        assert_eq!(eval("650[0]$a[0]"), ["Cats"]);
        assert_eq!(eval("650$a[#]"), ["Dogs", "Кошки"]);
        assert_eq!(eval("650[#]$a"), ["Кошки"]);
        assert_eq!(eval("650[1]$a/1-2"), ["ош"]);
        assert_eq!(eval("65.$a"), ["Cats", "Dogs", "Paris", "Кошки"]);
        assert_eq!(eval("6..$2"), ["fast"]);
        assert_eq!(eval("650^2"), ["0", "0"]);
        assert_eq!(eval("245^1"), ["1"]);
        assert!(eval("100$a").is_empty());
    }

    #[test]
    fn knows_which_specs_give_one_value() {
        for single in ["LDR", "LDR/06", "001", "008/35-37", "007[1]", "245[0]$a[0]", "245[0]^1", "650[#]$a[#]"] {
            assert!(!Spec::parse(single).unwrap().is_list(), "{single}");
        }
        for list in ["007[0-1]", "245$a", "245[0]$a", "245$a[0]", "245[0]$a-b[0]", "245[0]$a[0]$b[0]", "245^1"] {
            assert!(Spec::parse(list).unwrap().is_list(), "{list}");
        }
    }

    #[test]
    fn rejects_with_the_position() {
        for (spec, position) in [
            ("", 0),
            ("24", 2),
            ("2-5$a", 1),
            ("245", 3),
            ("245$", 4),
            ("245$A", 4),
            ("245$a[", 6),
            ("245$a[1", 7),
            ("245$a[2-1]", 9),
            ("245$c-a", 6),
            ("245$a{$b}", 5),
            ("001$a", 3),
            ("LDR[0]", 6),
            ("LDR^1", 3),
            ("245^3", 4),
            ("245$a ", 5),
            ("008/1-", 6),
            ("245$a$é", 6),
        ] {
            let error = Spec::parse(spec).unwrap_err();
            assert_eq!(error.position, position, "{spec}: {error}");
            assert!(error.to_string().contains(&format!("{spec:?}")), "{error}");
        }
    }
}
