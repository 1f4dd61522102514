"""MARC-in-JSON documents into records, through a handler one record at a time."""

from __future__ import annotations

from typing import IO, Any

from marc_polars.pymarc.field import Field, Indicators
from marc_polars.pymarc.leader import Leader
from marc_polars.pymarc.reader import JSONReader
from marc_polars.pymarc.record import Record

__all__ = ["JSONHandler", "parse_json_to_array"]


def _last_item(mapping: dict[str, Any]) -> tuple[str, Any]:
    """The last key and value of a one-entry object (the last entry if it has several)."""
    return next(reversed(mapping.items()))


class JSONHandler:
    """Builds records from decoded MARC-in-JSON objects.

    Each finished record goes to `process_record`, which appends it to `records`; override it to
    handle records one at a time. The input objects are left unchanged.
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._record: Record | None = None
        self._field: Field | None = None

    def element(self, element_dict: dict[str, Any], name: str | None = None) -> None:
        """Convert a record object; with `name`, only from that part of it onwards.

        The parts follow each other: "leader" goes on to "fields", which ends the record;
        "subfields" fills the field being built from a data field's object.
        """
        if not name:
            self._record = Record()
            name = "leader"
        if name == "leader" and self._record is not None:
            self._record.leader = Leader(element_dict["leader"])
            name = "fields"
        if name == "fields" and self._record is not None:
            for entry in element_dict["fields"]:
                tag, value = _last_item(entry)
                self._field = Field(tag)
                if self._field.control_field:
                    self._field.data = value
                else:
                    self.element(value, "subfields")
                    self._field.indicators = Indicators(value["ind1"], value["ind2"])
                self._record.add_field(self._field)
            self.process_record(self._record)
        elif name == "subfields" and self._field is not None:
            for subfield in element_dict["subfields"]:
                code, text = _last_item(subfield)
                self._field.add_subfield(code, text)

    def elements(self, dict_list: list[dict[str, Any]] | dict[str, Any]) -> list[Record]:
        """Convert one record object or a list of them; returns `records`."""
        if not isinstance(dict_list, list):
            dict_list = [dict_list]
        for obj in dict_list:
            self.element(obj)
        return self.records

    def process_record(self, record: Record) -> None:
        """Receive each record once all its fields are converted."""
        self.records.append(record)


def parse_json_to_array(json_file: str | bytes | IO[str]) -> list[Record]:
    """All records of a MARC-in-JSON document (file object, path or text), as a list."""
    return JSONHandler().elements(JSONReader(json_file).records)
