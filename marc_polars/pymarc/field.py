"""MARC fields: control fields (tag and data) and data fields (tag, indicators, subfields)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, cast, overload

from marc_polars.pymarc.constants import END_OF_FIELD, SUBFIELD_INDICATOR
from marc_polars.pymarc.marc8 import marc8_to_unicode

# Scripts written for pymarc configure this logger by name.
logger = logging.getLogger("pymarc")


class Subfield(NamedTuple):
    """One subfield of a data field."""

    code: str
    value: str


class Indicators(NamedTuple):
    """The two indicators of a data field."""

    first: str
    second: str


# Subject subdivisions (form, general, chronological, geographic), set off by "--" for display.
_SUBDIVISIONS = ("v", "x", "y", "z")


def _normalize_tag(tag: Any) -> str:
    """A numeric tag zero-padded to three digits; any other tag as text."""
    if isinstance(tag, str):
        if tag.isdigit() and len(tag) != 3:
            return f"{int(tag):03}"
        return tag
    try:
        return f"{int(tag):03}"
    except (TypeError, ValueError):
        return f"{tag}"


class Field:
    """A field of a record.

    A control field has a tag below ``010`` and text in `data`; it has no indicators and no
    subfields. Any other tag makes a data field, with `indicators` and a list of `Subfield`::

        Field("245", Indicators("1", "0"), [Subfield("a", "Title :"), Subfield("b", "sub.")])
        Field("001", data="ocm12345")
    """

    __slots__ = ("_indicators", "control_field", "data", "subfields", "tag")

    def __init__(
        self,
        tag: str,
        indicators: Indicators | Sequence[str] | None = None,
        subfields: list[Subfield] | None = None,
        data: str | None = None,
    ) -> None:
        # The usual three-character tag as it is; anything else zero-padded or made text.
        self.tag: str = tag if type(tag) is str and len(tag) == 3 else _normalize_tag(tag)
        if subfields and isinstance(subfields[0], str):
            raise ValueError(
                "subfields must be a list of Subfield(code, value); "
                "Field.convert_legacy_subfields() converts a flat list of codes and values"
            )
        self.subfields: list[Subfield] = []
        self._indicators: Indicators | None = None
        self.data: str | None = None
        # Numeric tags below 010 are control fields, whatever the arguments say.
        self.control_field: bool = self.tag < "010" and self.tag.isdigit()
        if self.control_field:
            self.data = data
            return
        # The caller's list is kept, not copied: changes to it show in the field.
        self.subfields = subfields or []
        if type(indicators) is Indicators:  # kept, as pymarc keeps it
            self._indicators = indicators
        elif not indicators:
            self._indicators = Indicators(" ", " ")
        elif isinstance(indicators, (list, tuple)) and len(indicators) == 2:
            self._indicators = Indicators(*indicators)
        else:
            self.indicators = indicators

    @classmethod
    def made(cls, tag: str, indicators: Indicators, subfields: list[Subfield]) -> Field:
        """`Field(tag, indicators, subfields)` from what a reader has made right already (an
        `Indicators`, a list of `Subfield`), without checking them again."""
        tag = _normalize_tag(tag)
        if tag < "010" and tag.isdigit():  # a control field, whatever it holds
            return cls(tag, indicators, subfields)
        field = object.__new__(cls)
        field.tag, field._indicators, field.subfields = tag, indicators, subfields
        field.data, field.control_field = None, False
        return field

    @property
    def indicators(self) -> Indicators | None:
        """The two indicators; None for a control field."""
        return self._indicators

    @indicators.setter
    def indicators(self, value: Indicators | Sequence[str] | None) -> None:
        if value and isinstance(value, (list, tuple)) and len(value) != 2:
            raise ValueError(f"a field has two indicators, got {len(value)}: use Indicators(first, second)")
        if value is None:
            return
        self._indicators = value if isinstance(value, Indicators) else Indicators(*value)

    @property
    def indicator1(self) -> str:
        """The first indicator; empty for a control field."""
        return self._indicators.first if self._indicators else ""

    @indicator1.setter
    def indicator1(self, value: str) -> None:
        # A control field has no indicators to set.
        if self._indicators is not None and not self.control_field:
            self._indicators = self._indicators._replace(first=value)

    @property
    def indicator2(self) -> str:
        """The second indicator; empty for a control field."""
        return self._indicators.second if self._indicators else ""

    @indicator2.setter
    def indicator2(self, value: str) -> None:
        if self._indicators is not None and not self.control_field:
            self._indicators = self._indicators._replace(second=value)

    @classmethod
    def convert_legacy_subfields(cls, subfields: Iterable[str]) -> list[Subfield]:
        """Pairs a flat ``[code, value, code, value, ...]`` list into a list of `Subfield`.

        Raises ValueError for a list of odd length.
        """
        items = iter(subfields)
        return [Subfield(code, value) for code, value in zip(items, items, strict=True)]

    def __iter__(self) -> Iterator[Subfield]:
        """The subfields in order; nothing for a control field."""
        if self.control_field:
            return iter(())
        return iter(self.subfields)

    def __str__(self) -> str:
        """The field in MARCMaker form: ``=245  10$aTitle``, blanks written as backslashes."""
        if self.control_field:
            data = self.data.replace(" ", "\\") if self.data else ""
            return f"={self.tag}  {data}"
        indicators = "".join("\\" if i in (" ", "\\") else i for i in self._indicators or ())
        subfields = "".join(f"${code}{value}" for code, value in self.subfields)
        return f"={self.tag}  {indicators}{subfields}"

    @overload
    def get(self, code: str, default: str) -> str: ...
    @overload
    def get(self, code: str, default: None = None) -> str | None: ...
    def get(self, code: str, default: str | None = None) -> str | None:
        """The value of the first subfield `code`, or `default` (always for a control field)."""
        if not self.control_field:
            for subfield in self.subfields:
                if subfield.code == code:
                    return subfield.value
        return default

    def __getitem__(self, code: str) -> str:
        """The value of the first subfield `code`; KeyError if there is none."""
        if not self.control_field:
            for subfield in self.subfields:
                if subfield.code == code:
                    return subfield.value
        raise KeyError(code)

    def __contains__(self, code: object) -> bool:
        """Whether a subfield `code` is present; always False for a control field."""
        if self.control_field:
            return False
        for subfield in self.subfields:  # noqa: SIM110 - a plain loop: faster than any() on short lists
            if subfield.code == code:
                return True
        return False

    def __setitem__(self, code: str, value: str) -> None:
        """Replaces the value of the only subfield `code`.

        KeyError if the field is a control field, or has no subfield `code`, or more than one.
        """
        if self.control_field:
            raise KeyError("field is a control field")
        found: int | None = None
        for index, subfield in enumerate(self.subfields):
            if subfield.code == code:
                if found is not None:
                    raise KeyError(f"more than one code '{code}'")
                found = index
        if found is None:
            raise KeyError(f"no code '{code}'")
        self.subfields[found] = Subfield(code, value)

    def value(self) -> str:
        """The data of a control field, or the stripped subfield values joined by spaces."""
        if self.control_field:
            return self.data or ""
        return " ".join(subfield.value.strip() for subfield in self.subfields)

    def get_subfields(self, *codes: str) -> list[str]:
        """The values of the subfields with any of `codes`, in field order."""
        if self.control_field or not codes:
            return []
        return [subfield.value for subfield in self.subfields if subfield.code in codes]

    def add_subfield(self, code: str, value: str, pos: int | None = None) -> None:
        """Adds a subfield at `pos`, or at the end when `pos` is None or past the end.

        Does nothing on a control field.
        """
        if self.control_field:
            return
        if pos is None or pos > len(self.subfields):
            self.subfields.append(Subfield(code, value))
        else:
            self.subfields.insert(pos, Subfield(code, value))

    def delete_subfield(self, code: str) -> str | None:
        """Removes the first subfield `code` and returns its value; None if there is none."""
        if self.control_field:
            return None
        for index, subfield in enumerate(self.subfields):
            if subfield.code == code:
                del self.subfields[index]
                return subfield.value
        return None

    def subfields_as_dict(self) -> dict[str, list[str]]:
        """Subfield values by code, in field order; empty for a control field."""
        result: dict[str, list[str]] = {}
        if not self.control_field:
            for code, value in self.subfields:
                result.setdefault(code, []).append(value)
        return result

    def is_control_field(self) -> bool:
        """Whether this is a control field (same as the `control_field` attribute)."""
        return self.control_field

    def is_subject_field(self) -> bool:
        """Whether the tag is a 6XX subject access field."""
        return self.tag.startswith("6")

    def linkage_occurrence_num(self) -> str | None:
        """The occurrence number in subfield 6 (``01`` in ``880-01/(2/r``), or None."""
        linkage = self.get("6", "")
        if not linkage:
            return None
        # A linkage without "-NN" is malformed; it links to nothing.
        _, dash, rest = linkage.partition("-")
        return rest.split("/")[0] if dash else None

    def format_field(self) -> str:
        """Like `value()`, for display: subfield 6 left out, subject subdivisions after ``--``."""
        if self.control_field:
            return self.data or ""
        subject = self.is_subject_field()
        parts = []
        for code, value in self.subfields:
            if code == "6":
                continue
            parts.append(f" -- {value}" if subject and code in _SUBDIVISIONS else f" {value}")
        return "".join(parts).strip()

    def as_marc(self, encoding: str) -> bytes:
        """The field's bytes in a record: data, or indicators and subfields, then 0x1E."""
        if self.control_field:
            # No data is written as pymarc writes it: "None".
            return f"{self.data}{END_OF_FIELD}".encode(encoding)
        subfields = "".join(f"{SUBFIELD_INDICATOR}{code}{value}" for code, value in self.subfields)
        return f"{self.indicator1}{self.indicator2}{subfields}{END_OF_FIELD}".encode(encoding)

    # The name earlier versions used.
    as_marc21 = as_marc


class RawField(Field):
    """A field whose data and subfield values are undecoded bytes.

    Records read with ``to_unicode=False`` hold these, for data in an unknown or wrong encoding.
    """

    __slots__ = ()

    def as_marc(self, encoding: str | None = None) -> bytes:
        """The field's bytes, as read; `encoding` is ignored."""
        if encoding is not None:
            logger.warning("Attempt to force a RawField into encoding %s", encoding)
        terminator = END_OF_FIELD.encode("ascii")
        # Data and subfield values hold the bytes as read, whatever their annotations say.
        if self.control_field:
            return cast(bytes, self.data or b"") + terminator
        parts = [self.indicator1.encode("ascii"), self.indicator2.encode("ascii")]
        for code, value in self.subfields:
            parts.append(SUBFIELD_INDICATOR.encode("ascii") + code.encode("ascii"))
            parts.append(cast(bytes, value))
        parts.append(terminator)
        return b"".join(parts)

    as_marc21 = as_marc


def map_marc8_field(field: Field) -> Field:
    """Decodes a field's MARC-8 data or subfield values to Unicode, in place; returns it.

    The values are those of a `RawField` (bytes); text values are passed to the decoder as they are.
    """
    if field.control_field:
        field.data = marc8_to_unicode(cast(bytes, field.data))
    else:
        field.subfields = [Subfield(code, marc8_to_unicode(cast(bytes, value))) for code, value in field.subfields]
    return field


__all__ = ["Field", "Indicators", "RawField", "Subfield", "map_marc8_field"]
