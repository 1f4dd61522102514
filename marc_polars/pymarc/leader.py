"""The record leader: 24 characters, readable and writable by position or by name."""

from __future__ import annotations

from typing import overload

from marc_polars.exceptions import BadLeaderValue, RecordLeaderInvalid
from marc_polars.pymarc.constants import LEADER_LEN


class _Part:
    """A named run of leader positions, read and written as an attribute of `Leader`."""

    __slots__ = ("label", "start", "width")

    def __init__(self, start: int, width: int, label: str) -> None:
        self.start = start
        self.width = width
        self.label = label

    @overload
    def __get__(self, leader: None, owner: type) -> _Part: ...
    @overload
    def __get__(self, leader: Leader, owner: type) -> str: ...
    def __get__(self, leader: Leader | None, owner: type) -> _Part | str:
        if leader is None:
            return self
        return leader.leader[self.start : self.start + self.width]

    def __set__(self, leader: Leader, value: str) -> None:
        if len(value) != self.width:
            size = "1 char" if self.width == 1 else f"{self.width} chars"
            raise BadLeaderValue(f"{self.label} is {size} field, got {value}")
        leader._replace_values(self.start, value)


class Leader:
    """A record's leader, changed in place.

    ``leader[5]``, ``leader[12:17]`` and ``leader.record_status`` read positions; the same forms
    on the left of ``=`` write them. ``str(leader)`` gives the 24 characters.
    """

    __slots__ = ("leader",)

    def __init__(self, leader: str) -> None:
        if len(leader) != LEADER_LEN:
            raise RecordLeaderInvalid
        self.leader: str = leader

    def __getitem__(self, item: int | slice | str) -> str:
        if isinstance(item, (int, slice)):
            return self.leader[item]
        value: str = getattr(self, item)
        return value

    def __setitem__(self, item: int | slice | str, value: str) -> None:
        # A slice only gives the start: the value's own length decides how much is replaced.
        if isinstance(item, slice):
            self._replace_values(item.start or 0, value)
        elif isinstance(item, int):
            self._replace_values(item, value)
        else:
            setattr(self, item, value)

    def __str__(self) -> str:
        return self.leader

    def __repr__(self) -> str:
        return f"Leader({self.leader!r})"

    def __len__(self) -> int:
        return len(self.leader)

    def _replace_values(self, position: int, value: str) -> None:
        """Writes `value` over the characters starting at `position`."""
        if position < 0:
            raise IndexError("Position must be positive")
        end = position + len(value)
        if end > LEADER_LEN:
            raise BadLeaderValue(f"{value} is too long to be inserted at {position}")
        self.leader = self.leader[:position] + value + self.leader[end:]

    record_length = _Part(0, 5, "Record length")
    record_status = _Part(5, 1, "Record status")
    type_of_record = _Part(6, 1, "Type of record")
    bibliographic_level = _Part(7, 1, "Bibliographic level")
    type_of_control = _Part(8, 1, "Type of control")
    coding_scheme = _Part(9, 1, "Character coding scheme")
    indicator_count = _Part(10, 1, "Indicator count")
    subfield_code_count = _Part(11, 1, "Subfield code count")
    base_address = _Part(12, 5, "Base address of data")
    encoding_level = _Part(17, 1, "Encoding level")
    cataloging_form = _Part(18, 1, "Descriptive cataloging form")
    multipart_ressource = _Part(19, 1, "Multipart resource record level")
    length_of_field_length = _Part(20, 1, "Length of the length-of-field portion")
    starting_character_position_length = _Part(21, 1, "Length of the starting-character-position portion")
    implementation_defined_length = _Part(22, 1, "Length of the implementation-defined portion")


__all__ = ["Leader"]
