"""MARC records: a leader and a list of fields, read from and written to ISO 2709."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterator
from typing import Any, cast, overload

from marc_polars import _native
from marc_polars.exceptions import (
    BadSubfieldCodeWarning,
    BaseAddressInvalid,
    BaseAddressNotFound,
    FieldNotFound,
    MissingLinkedFields,
    NoFieldsFound,
    RecordDirectoryInvalid,
    RecordLeaderInvalid,
    TruncatedRecord,
)
from marc_polars.pymarc.constants import (
    DIRECTORY_ENTRY_LEN,
    END_OF_FIELD,
    END_OF_RECORD,
    LEADER_LEN,
    SUBFIELD_INDICATOR,
)
from marc_polars.pymarc.field import Field, Indicators, RawField, Subfield, map_marc8_field
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.marc8 import marc8_to_unicode

# Scripts written for pymarc configure this logger by name.
logger = logging.getLogger("pymarc")

#: The first run of ISBN characters (digits, hyphens, X) in 020 $a.
isbn_regex: re.Pattern[str] = re.compile(r"([0-9\-xX]+)")

_SUBFIELD_BYTE = SUBFIELD_INDICATOR.encode("ascii")

# Tags of the fields the record's convenience properties collect.
_SERIES = ("440", "490", "800", "810", "811", "830")
# 690-699 are local, but common in OCLC and RLIN records.
_SUBJECTS = (
    "600", "610", "611", "630", "648", "650", "651", "653", "654", "655",
    "656", "657", "658", "662", "690", "691", "696", "697", "698", "699",
)  # fmt: skip
# 790-799 are local, but common in OCLC and RLIN records.
_ADDED_ENTRIES = (
    "700", "710", "711", "720", "730", "740", "752", "753", "754", "790",
    "791", "792", "793", "796", "797", "798", "799",
)  # fmt: skip
_NOTES = (
    "500", "501", "502", "504", "505", "506", "507", "508", "510", "511",
    "513", "514", "515", "516", "518", "520", "521", "522", "524", "525",
    "526", "530", "533", "534", "535", "536", "538", "540", "541", "544",
    "545", "546", "547", "550", "552", "555", "556", "561", "562", "563",
    "565", "567", "580", "581", "583", "584", "585", "586", "590", "591",
    "592", "593", "594", "595", "596", "597", "598", "599",
)  # fmt: skip


class Record:
    """A MARC record: a `Leader` and a list of `Field`.

    ``Record(data)`` decodes one record in ISO 2709 transmission format; ``Record()`` starts an
    empty one, ``Record(fields=[...])`` one with the given fields. `as_marc()` writes it back.

    The fields are reached through the `fields` property, and nowhere else, so that a subclass
    may produce them on first use.
    """

    __slots__ = ("_fields", "force_utf8", "leader", "to_unicode")

    def __init__(
        self,
        data: bytes = b"",
        fields: list[Field] | None = None,
        to_unicode: bool = True,
        force_utf8: bool = False,
        hide_utf8_warnings: bool = False,
        utf8_handling: str = "strict",
        leader: str = " " * LEADER_LEN,
        file_encoding: str = "iso8859-1",
    ) -> None:
        # Indicator and subfield code counts (10-11) and the entry map (20-23) are fixed in MARC 21.
        self.leader: Leader = Leader(f"{leader[0:10]}22{leader[12:20]}4500")
        self._fields: list[Field] = fields if fields else []
        self.force_utf8: bool = force_utf8
        self.to_unicode: bool = to_unicode
        if fields:
            return
        if len(data) > 0:
            self.decode_marc(
                data,
                to_unicode=to_unicode,
                force_utf8=force_utf8,
                hide_utf8_warnings=hide_utf8_warnings,
                utf8_handling=utf8_handling,
                encoding=file_encoding,
            )
        elif force_utf8:
            self.leader.coding_scheme = "a"

    @property
    def fields(self) -> list[Field]:
        """The fields, in record order; changing the list changes the record."""
        return self._fields

    @fields.setter
    def fields(self, fields: list[Field]) -> None:
        self._fields = fields

    # -- access ----------------------------------------------------------------------------

    def __str__(self) -> str:
        """The record in MARCMaker form: ``=LDR  ...`` then one line per field."""
        if Field.__str__ is _FIELD_STR:
            text = written_natively(self, "text")
            if text is not None:
                return cast(str, text)
        lines = [f"=LDR  {self.leader}"]
        lines.extend(str(field) for field in self.fields)
        return "\n".join(lines) + "\n"

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __getitem__(self, tag: str) -> Field:
        """The first field with `tag`; KeyError if there is none."""
        for field in self.fields:
            if field.tag == tag:
                return field
        raise KeyError(tag)

    def __contains__(self, tag: object) -> bool:
        """Whether a field with `tag` is present."""
        for field in self.fields:  # noqa: SIM110 - a plain loop: faster than any() on short lists
            if field.tag == tag:
                return True
        return False

    @overload
    def get(self, tag: str, default: Field) -> Field: ...
    @overload
    def get(self, tag: str, default: None = None) -> Field | None: ...
    def get(self, tag: str, default: Field | None = None) -> Field | None:
        """The first field with `tag`, or `default`."""
        for field in self.fields:
            if field.tag == tag:
                return field
        return default

    def get_fields(self, *tags: str) -> list[Field]:
        """The fields with any of `tags`, in record order; with no tags, the `fields` list itself."""
        if not tags:
            return self.fields
        if len(tags) == 1:
            tag = tags[0]
            return [field for field in self.fields if field.tag == tag]
        wanted = set(tags)
        return [field for field in self.fields if field.tag in wanted]

    def get_linked_fields(self, field: Field) -> list[Field]:
        """The 880 fields linked to `field` through subfield 6.

        Raises MissingLinkedFields if `field` has a linkage but no 880 field matches it.
        """
        number = field.linkage_occurrence_num()
        linked = [other for other in self.get_fields("880") if other.linkage_occurrence_num() == number]
        if number is not None and not linked:
            raise MissingLinkedFields(field)
        return linked

    # -- changes ---------------------------------------------------------------------------

    def add_field(self, *fields: Field) -> None:
        """Appends `fields` to the record."""
        self.fields.extend(fields)

    def add_grouped_field(self, *fields: Field) -> None:
        """Adds each field after the last one of its hundred (1XX, 2XX, ...).

        Fields with non-numeric tags go at the end.
        """
        for field in fields:
            self._insert_sorted(field, grouped=True)

    def add_ordered_field(self, *fields: Field) -> None:
        """Adds each field after the last one whose tag is not greater than its own.

        Fields with non-numeric tags go at the end.
        """
        for field in fields:
            self._insert_sorted(field, grouped=False)

    def _insert_sorted(self, field: Field, grouped: bool) -> None:
        """Inserts `field` before the first field that sorts after it, or that has a non-numeric tag."""
        fields = self.fields
        if not fields or not field.tag.isdigit():
            fields.append(field)
            return
        key = int(field.tag[0]) if grouped else int(field.tag)
        for index, other in enumerate(fields):
            if not other.tag.isdigit() or (int(other.tag[0]) if grouped else int(other.tag)) > key:
                fields.insert(index, field)
                return
        fields.append(field)

    def remove_field(self, *fields: Field) -> None:
        """Removes each of `fields` (by identity); FieldNotFound if one is not in the record."""
        for field in fields:
            try:
                self.fields.remove(field)
            except ValueError:
                raise FieldNotFound from None

    def remove_fields(self, *tags: str) -> None:
        """Removes every field with any of `tags`."""
        if not tags:
            return
        wanted = set(tags)
        # In place, so that lists obtained from `fields` earlier see the change.
        self.fields[:] = [field for field in self.fields if field.tag not in wanted]

    # -- ISO 2709 --------------------------------------------------------------------------

    def decode_marc(
        self,
        marc: bytes,
        to_unicode: bool = True,
        force_utf8: bool = False,
        hide_utf8_warnings: bool = False,
        utf8_handling: str = "strict",
        encoding: str = "iso8859-1",
    ) -> None:
        """Sets the leader from a record in transmission format and appends its fields.

        With `to_unicode`, values are decoded: as UTF-8 (errors handled per `utf8_handling`) when
        leader/09 is ``a`` or `force_utf8` is set, as MARC-8 when `encoding` is the default
        ``iso8859-1``, else with `encoding`. Without it the fields are `RawField` of bytes.
        """
        leader = marc[0:LEADER_LEN].decode("ascii")
        if len(leader) != LEADER_LEN:
            raise RecordLeaderInvalid
        # Control fields follow the flag the record was made with; subfields also honour the argument.
        if leader[9] == "a" or self.force_utf8:
            encoding = "utf-8"
        self.leader = Leader(leader)
        utf8 = leader[9] == "a" or force_utf8

        base_address = int(marc[12:17])
        if base_address <= 0:
            raise BaseAddressNotFound
        if base_address >= len(marc):
            raise BaseAddressInvalid
        if len(marc) < int(leader[:5]):
            raise TruncatedRecord

        # The directory ends one byte before the base address, with a field terminator.
        directory = marc[LEADER_LEN : base_address - 1].decode("ascii")
        if len(directory) % DIRECTORY_ENTRY_LEN != 0:
            raise RecordDirectoryInvalid

        fields = self.fields
        count = 0
        for start in range(0, len(directory), DIRECTORY_ENTRY_LEN):
            tag = directory[start : start + 3]
            length = int(directory[start + 3 : start + 7])
            offset = base_address + int(directory[start + 7 : start + 12])
            # The field's bytes without their terminator.
            data = marc[offset : offset + length - 1]
            if tag < "010" and tag.isdigit():
                if to_unicode:
                    fields.append(Field(tag, data=data.decode(encoding)))
                else:
                    # A RawField holds the bytes as read, where a Field's annotations say text.
                    fields.append(RawField(tag, data=cast(str, data)))
            else:
                fields.append(
                    self._decode_data_field(tag, data, to_unicode, utf8, encoding, hide_utf8_warnings, utf8_handling)
                )
            count += 1
        if count == 0:
            raise NoFieldsFound

    @staticmethod
    def _decode_data_field(
        tag: str,
        data: bytes,
        to_unicode: bool,
        utf8: bool,
        encoding: str,
        hide_utf8_warnings: bool,
        utf8_handling: str,
    ) -> Field:
        """One data field from its bytes (indicators, then subfields)."""
        head, *chunks = data.split(_SUBFIELD_BYTE)
        prefix = head.decode("ascii")
        # Damaged indicators are common in the wild: a missing one reads as a blank, extra ones are
        # dropped, rather than rejecting the field or the record.
        if not prefix:
            logger.warning("missing indicators: %s", data)
            indicators = Indicators(" ", " ")
        elif len(prefix) == 1:
            logger.warning("only 1 indicator found: %s", data)
            indicators = Indicators(prefix, " ")
        else:
            if len(prefix) > 2:
                logger.warning("more than 2 indicators found: %s", data)
            indicators = Indicators(prefix[0], prefix[1])

        subfields: list[Subfield] = []
        for chunk in chunks:
            if not chunk:
                continue
            try:
                code = chunk[0:1].decode("ascii")
                skip = 1
            except UnicodeDecodeError:
                warnings.warn(BadSubfieldCodeWarning(chunk), stacklevel=3)
                code, skip = normalize_subfield_code(chunk)
            raw = chunk[skip:]
            if not to_unicode:
                # A RawField holds the bytes as read, where a Subfield's annotations say text.
                value = cast(str, raw)
            elif utf8:
                value = raw.decode("utf-8", utf8_handling)
            elif encoding == "iso8859-1":
                value = marc8_to_unicode(raw, hide_utf8_warnings)
            else:
                value = raw.decode(encoding)
            subfields.append(Subfield(code, value))

        cls = Field if to_unicode else RawField
        return cls(tag, indicators, subfields)

    def as_marc(self) -> bytes:
        """The record in ISO 2709 transmission format.

        Record length and base address are computed; a record made with `to_unicode` is written
        as UTF-8 and its leader/09 set to ``a`` (in place).
        """
        if self.to_unicode:
            if isinstance(self.leader, Leader):
                self.leader.coding_scheme = "a"
            else:  # a leader assigned as a plain string
                self.leader = self.leader[0:9] + "a" + self.leader[10:]
        leader = str(self.leader)
        encoding = "utf-8" if leader[9] == "a" or self.force_utf8 else "iso8859-1"
        if encoding == "utf-8" and Field.as_marc is _FIELD_AS_MARC:
            marc = written_natively(self, "iso2709")
            if marc is not None:
                return cast(bytes, marc)

        directory: list[bytes] = []
        body: list[bytes] = []
        offset = 0
        for field in self.fields:
            data = field.as_marc() if isinstance(field, RawField) else field.as_marc(encoding=encoding)
            tag = f"{int(field.tag):03d}" if field.tag.isdigit() else f"{field.tag:>03}"
            directory.append(f"{tag}{len(data):04d}{offset:05d}".encode(encoding))
            body.append(data)
            offset += len(data)
        directory.append(END_OF_FIELD.encode(encoding))
        body.append(END_OF_RECORD.encode(encoding))

        directory_bytes = b"".join(directory)
        base_address = LEADER_LEN + len(directory_bytes)
        length = base_address + offset + 1  # + 1: the record terminator
        head = f"{length:0>5}{leader[5:12]}{base_address:0>5}{leader[17:]}".encode(encoding)
        return head + directory_bytes + b"".join(body)

    # The name earlier versions used.
    as_marc21 = as_marc

    def as_dict(self) -> dict[str, Any]:
        """The record as MARC-in-JSON: ``{"leader": ..., "fields": [{tag: ...}, ...]}``."""
        fields: list[dict[str, Any]] = []
        for field in self.fields:
            if field.control_field:
                fields.append({field.tag: field.data})
            else:
                fields.append(
                    {
                        field.tag: {
                            "ind1": field.indicator1,
                            "ind2": field.indicator2,
                            "subfields": [{code: value} for code, value in field.subfields],
                        }
                    }
                )
        return {"leader": str(self.leader), "fields": fields}

    def as_json(self, **kwargs: Any) -> str:
        """`as_dict()` as a JSON string; `kwargs` go to `json.dumps`."""
        return json.dumps(self.as_dict(), **kwargs)

    # -- common data elements --------------------------------------------------------------

    def _title_of(self, tag: str) -> str | None:
        """$a, followed by $b when present, of the first field `tag`."""
        field = self.get(tag)
        if field is None:
            return None
        title = field.get("a")
        if title:
            subtitle = field.get("b")
            if subtitle:
                title += f" {subtitle}"
        return title

    @property
    def title(self) -> str | None:
        """245 $a and $b, or None."""
        return self._title_of("245")

    @property
    def issn_title(self) -> str | None:
        """The key title, 222 $a and $b, or None."""
        return self._title_of("222")

    @property
    def isbn(self) -> str | None:
        """The first ISBN (020 $a), digits and X only; None if absent or not ISBN-like."""
        field = self.get("020")
        if field is None:
            return None
        number = field.get("a")
        if not number:
            return None
        match = isbn_regex.search(number)
        return match.group(1).replace("-", "") if match else None

    @property
    def issn(self) -> str | None:
        """022 $a, or None."""
        field = self.get("022")
        return field.get("a") if field is not None else None

    @property
    def issnl(self) -> str | None:
        """The linking ISSN, 022 $l, or None."""
        field = self.get("022")
        return field.get("l") if field is not None else None

    @property
    def sudoc(self) -> str | None:
        """The SuDoc classification number (086), formatted, or None."""
        field = self.get("086")
        return field.format_field() if field is not None else None

    @property
    def author(self) -> str | None:
        """The main entry (100, 110 or 111), formatted, or None."""
        field = self.get("100") or self.get("110") or self.get("111")
        return field.format_field() if field is not None else None

    @property
    def uniformtitle(self) -> str | None:
        """The uniform title (130 or 240), formatted, or None."""
        field = self.get("130") or self.get("240")
        return field.format_field() if field is not None else None

    @property
    def series(self) -> list[Field]:
        """Series statements and series added entries (440, 490, 800, 810, 811, 830)."""
        return self.get_fields(*_SERIES)

    @property
    def subjects(self) -> list[Field]:
        """Subject access fields (600-662 and local 690-699)."""
        return self.get_fields(*_SUBJECTS)

    @property
    def addedentries(self) -> list[Field]:
        """Added entry fields (700-754 and local 790-799)."""
        return self.get_fields(*_ADDED_ENTRIES)

    @property
    def location(self) -> list[Field]:
        """Location fields (852)."""
        return self.get_fields("852")

    @property
    def notes(self) -> list[Field]:
        """Note fields (5XX)."""
        return self.get_fields(*_NOTES)

    @property
    def physicaldescription(self) -> list[Field]:
        """Physical description fields (300)."""
        return self.get_fields("300")

    def _imprint(self, code: str) -> str | None:
        """Subfield `code` of the first 260, or of a 264 with second indicator 1, whichever is first."""
        for field in self.get_fields("260", "264"):
            if field.tag == "260" or field.indicator2 == "1":
                return field.get(code)
        return None

    @property
    def publisher(self) -> str | None:
        """The publisher's name: $b of 260, or of 264 for publication (second indicator 1)."""
        return self._imprint("b")

    @property
    def pubyear(self) -> str | None:
        """The date of publication: $c of 260, or of 264 for publication (second indicator 1)."""
        return self._imprint("c")


def map_marc8_record(record: Record) -> Record:
    """Decodes a record's MARC-8 values to Unicode in place, sets leader/09 to ``a``, returns it."""
    record.fields = [map_marc8_field(field) for field in record.fields]
    leader = str(record.leader)
    record.leader = Leader(leader[:9] + "a" + leader[10:])
    return record


def normalize_subfield_code(subfield: bytes) -> tuple[str, int]:
    """An ASCII stand-in for a subfield's non-ASCII code, and the code's length in bytes.

    The code is read as UTF-8 (Latin-1 if that fails) and stripped of its diacritics.
    """
    skip = 1
    try:
        text = subfield.decode("utf-8")
        skip = len(text[0].encode("utf-8"))
    except UnicodeDecodeError:
        text = subfield.decode("latin-1")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return ascii_text[0], skip


__all__ = ["Record", "map_marc8_record", "normalize_subfield_code"]


#: The methods of `Field` that writing a record natively stands for: replaced, they are called.
_FIELD_STR = Field.__str__
_FIELD_AS_MARC = Field.as_marc

#: The classes of the parts of a record written natively.
_PLAIN_CLASSES = (Field, Indicators, Subfield)


def written_natively(record: Record, form: str, root_attributes: str = "") -> str | bytes | None:
    """`record` written in `form` as pymarc writes it ("iso2709" in UTF-8, "json", "xml",
    "xml_ascii" or "text"), natively; None if any of its fields or pairs is not a plain `Field`,
    `Indicators` or `Subfield` holding strings, for the Python code to write it."""
    return _native.written(str(record.leader), record.fields, _PLAIN_CLASSES, form, root_attributes)
