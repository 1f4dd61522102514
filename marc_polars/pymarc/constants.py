"""Sizes and separators of the ISO 2709 transmission format."""

from __future__ import annotations

#: Length of the leader, in characters.
LEADER_LEN: int = 24
#: Length of one directory entry: tag (3), field length (4), starting position (5).
DIRECTORY_ENTRY_LEN: int = 12
#: Starts each subfield (0x1F).
SUBFIELD_INDICATOR: str = "\x1f"
#: Ends the directory and each field (0x1E).
END_OF_FIELD: str = "\x1e"
#: Ends the record (0x1D).
END_OF_RECORD: str = "\x1d"

__all__ = [
    "DIRECTORY_ENTRY_LEN",
    "END_OF_FIELD",
    "END_OF_RECORD",
    "LEADER_LEN",
    "SUBFIELD_INDICATOR",
]
