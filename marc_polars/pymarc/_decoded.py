"""Records decoded by the native reader, whose `Field` objects are made on first use.

A script that reads one field of each record (``record["245"]["a"]``) should not pay for making
the other twenty: a `DecodedRecord` keeps the natively decoded record and makes a `Field` only when
it is asked for, and the whole list the first time anything needs all of them. From then on it is
an ordinary `Record`. The same field asked for twice is the same object, as with pymarc.
"""

from __future__ import annotations

from typing import IO, overload

from marc_polars import _native
from marc_polars._native import RawRecord, RecordReader
from marc_polars._sources import NativeSource, is_stream
from marc_polars.pymarc._collector import CollectorPaused
from marc_polars.pymarc.field import Field, Indicators, Subfield
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.record import Record

_new_field = object.__new__

#: Fields of MARCXML and MARC-in-JSON records, made natively.
FIELD_MAKER: _native.FieldMaker[Subfield, Indicators] = _native.FieldMaker(Subfield, Indicators)


#: A field as the native readers give it: ``(tag, data)`` or ``(tag, indicators, subfields)``.
FieldParts = tuple[str, str] | tuple[str, Indicators, list[Subfield]]


def make_field(parts: FieldParts) -> Field:
    """A `Field` from the native reader's ``(tag, data)`` or ``(tag, indicators, subfields)``."""
    field: Field = _new_field(Field)
    if len(parts) == 2:
        field.tag, field.data = parts
        field.subfields = []
        field._indicators = None
        field.control_field = True
    else:
        field.tag, field._indicators, field.subfields = parts
        field.data = None
        field.control_field = False
    return field


class DecodedRecord(Record):
    """A `Record` over a natively decoded record (see the module's docstring)."""

    __slots__ = ("_made", "_raw")

    _raw: RawRecord[Subfield, Indicators] | None
    #: Fields made so far by position, before the whole list is.
    _made: dict[int, Field] | None

    @classmethod
    def from_raw(cls, raw: RawRecord[Subfield, Indicators], force_utf8: bool) -> DecodedRecord:
        record: DecodedRecord = _new_field(cls)
        record._raw = raw
        record._made = None
        record._fields = []
        leader = record.leader = _new_field(Leader)  # its 24 characters were checked natively
        leader.leader = raw.leader
        record.force_utf8 = force_utf8
        record.to_unicode = True
        return record

    @property
    def fields(self) -> list[Field]:
        raw = self._raw
        if raw is not None:
            made = self._made or {}
            with CollectorPaused():
                self._fields = [made.get(i) or make_field(parts) for i, parts in enumerate(raw.all_fields())]
            self._raw = self._made = None
        return self._fields

    @fields.setter
    def fields(self, fields: list[Field]) -> None:
        self._raw = self._made = None
        self._fields = fields

    def __getstate__(self) -> tuple[None, dict[str, object]]:
        # What copy, deepcopy and pickle see: the fields made, not the native record.
        fields = self.fields
        slots = {"leader": self.leader, "_fields": fields, "force_utf8": self.force_utf8, "to_unicode": self.to_unicode}
        return None, {**slots, "_raw": None, "_made": None}

    def _field_at(self, raw: RawRecord[Subfield, Indicators], index: int) -> Field:
        made = self._made
        if made is None:
            made = self._made = {}
        field = made.get(index)
        if field is None:
            field = made[index] = make_field(raw.field(index))
        return field

    def __getitem__(self, tag: str) -> Field:
        raw = self._raw
        if raw is None:
            return Record.__getitem__(self, tag)
        index = raw.find(tag) if isinstance(tag, str) else -1
        if index < 0:
            raise KeyError(tag)
        # _field_at, inlined: this is the line every record-at-a-time script runs.
        made = self._made
        if made is None:
            first = make_field(raw.field(index))
            self._made = {index: first}
            return first
        field = made.get(index)
        if field is None:
            field = made[index] = make_field(raw.field(index))
        return field

    @overload
    def get(self, tag: str, default: Field) -> Field: ...
    @overload
    def get(self, tag: str, default: None = None) -> Field | None: ...
    def get(self, tag: str, default: Field | None = None) -> Field | None:
        raw = self._raw
        if raw is None:
            return Record.get(self, tag, default)
        index = raw.find(tag) if isinstance(tag, str) else -1
        return default if index < 0 else self._field_at(raw, index)

    def __contains__(self, tag: object) -> bool:
        raw = self._raw
        if raw is None:
            return Record.__contains__(self, tag)
        return isinstance(tag, str) and raw.find(tag) >= 0


def native_records(
    source: NativeSource, file_handle: IO[bytes], force_utf8: bool, marc8: bool
) -> tuple[RecordReader[Subfield, Indicators], int] | None:
    """The native reader over what `MARCReader` was given, and where in `file_handle` (opened on
    it) it starts.

    None when the native reader cannot take over: a stream that cannot seek could not be
    positioned for the slow path after a framing error.
    """
    if is_stream(source):
        try:
            if not file_handle.seekable():
                return None
        except (AttributeError, ValueError, OSError):
            return None
    start = file_handle.tell()
    reader = _native.read_records([source], Subfield, Indicators, force_utf8=force_utf8, marc8=marc8)
    return reader, start
