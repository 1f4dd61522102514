"""An independent MARCspec evaluator over pymarc records: regular expressions and Python slicing,
sharing nothing with the Rust parser it checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pymarc

POSITION = r"(?:[0-9]+|#)"
RANGE = rf"{POSITION}(?:-{POSITION})?"
TAG = r"(?:LDR|[0-9a-z.]{3}|[0-9A-Z.]{3})"
SUBFIELD = rf"\$(?:[a-z](?:-[a-z])?|[0-9](?:-[0-9])?)(?:\[{RANGE}\])?(?:/{RANGE})?"
SPEC = re.compile(rf"(?P<tag>{TAG})(?:\[(?P<index>{RANGE})\])?(?P<rest>(?:/{RANGE})?|\^[12]|(?:{SUBFIELD})+)")
ONE_SUBFIELD = re.compile(rf"\$(?P<codes>[a-z0-9](?:-[a-z0-9])?)(?:\[(?P<index>{RANGE})\])?(?:/(?P<chars>{RANGE}))?")


@dataclass
class Range:
    start: int | None  # None: '#', the last
    end: int | None

    @staticmethod
    def of(text: str | None) -> Range | None:
        if text is None:
            return None
        first, _, last = text.partition("-")
        last = last or first
        return Range(None if first == "#" else int(first), None if last == "#" else int(last))

    def valid(self) -> bool:
        if self.start is None:
            return self.end is None
        return self.end is None or self.start <= self.end

    def single(self) -> bool:
        return self.start == self.end

    def positions(self, count: int) -> range:
        start = count - 1 if self.start is None else self.start
        end = count - 1 if self.end is None else self.end
        return range(start, end + 1)

    def cut(self, text: str) -> str | None:
        if not text:
            return None
        start = len(text) - 1 if self.start is None else self.start
        end = len(text) - 1 if self.end is None else min(self.end, len(text) - 1)
        if start > len(text) - 1 or start > end:
            return None
        return text[start : end + 1]


def _tag_matches(pattern: str, tag: str) -> bool:
    return len(tag) == 3 and all(p in (".", t) for p, t in zip(pattern, tag, strict=True))


class Spec:
    def __init__(self, text: str):
        match = SPEC.fullmatch(text)
        if not match:
            raise ValueError(f"invalid MARCspec {text!r}")
        self.text = text
        self.tag = match["tag"]
        self.index = Range.of(match["index"])
        rest = match["rest"]
        self.control = self.tag[:2] == "00" and (self.tag[2].isdigit() or self.tag[2] == ".")
        self.leader = self.tag == "LDR"
        self.indicator = int(rest[1]) if rest.startswith("^") else None
        self.chars = Range.of(rest[1:]) if rest.startswith("/") else None
        self.subfields = (
            [
                (m["codes"][0], m["codes"][-1], Range.of(m["index"]), Range.of(m["chars"]))
                for m in ONE_SUBFIELD.finditer(rest)
            ]
            if rest.startswith("$")
            else []
        )
        ranges = [self.index, self.chars, *(r for s in self.subfields for r in s[2:])]
        problems = [
            any(r is not None and not r.valid() for r in ranges),
            any(first > last or first.isdigit() != last.isdigit() for first, last, _, _ in self.subfields),
            self.leader and self.index is not None,
            (self.leader or self.control) and (self.indicator is not None or bool(self.subfields)),
            not (self.leader or self.control) and self.indicator is None and not self.subfields,
        ]
        if any(problems):
            raise ValueError(f"invalid MARCspec {text!r}")

    def is_list(self) -> bool:
        if self.leader:
            return False
        one_field = self.index is not None and self.index.single()
        if self.control:
            return self.index is not None and not self.index.single()
        if self.indicator is not None:
            return not one_field
        one_subfield = (
            len(self.subfields) == 1
            and self.subfields[0][0] == self.subfields[0][1]
            and self.subfields[0][2] is not None
            and self.subfields[0][2].single()
        )
        return not (one_field and one_subfield)

    def values(self, record: pymarc.Record) -> list[str]:
        if self.leader:
            leader = str(record.leader)
            value = self.chars.cut(leader) if self.chars else leader
            return [] if value is None else [value]
        fields = [f for f in record.fields if _tag_matches(self.tag, f.tag) and f.is_control_field() == self.control]
        index = self.index or (Range(0, 0) if self.control else None)
        if index is not None:
            wanted = set(index.positions(len(fields)))
            fields = [f for i, f in enumerate(fields) if i in wanted]
        out: list[str] = []
        for field in fields:
            if self.control:
                value = self.chars.cut(field.data) if self.chars else field.data
                out += [] if value is None else [value]
            elif self.indicator is not None:
                out.append(field.indicators[self.indicator - 1])
            else:
                out += self._subfield_values(field)
        return out if self.is_list() else out[:1]

    def _subfield_values(self, field: pymarc.Field) -> list[str]:
        selected = []
        for first, last, index, chars in self.subfields:
            matching = [i for i, s in enumerate(field.subfields) if len(s.code) == 1 and first <= s.code <= last]
            if index is not None:
                wanted = set(index.positions(len(matching)))
                matching = [i for n, i in enumerate(matching) if n in wanted]
            selected += [(i, chars) for i in matching]
        # Record order; a subfield selected by several specs counts once, cut by the first.
        out, seen = [], set()
        for i, chars in sorted(selected, key=lambda pair: pair[0]):
            if i in seen:
                continue
            seen.add(i)
            value = field.subfields[i].value
            value = chars.cut(value) if chars else value
            if value is not None:
                out.append(value)
        return out
