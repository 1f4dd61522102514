"""The record API's exceptions: the classes of `marc_polars.exceptions`, under pymarc's module name."""

from __future__ import annotations

from marc_polars import exceptions
from marc_polars.exceptions import *  # noqa: F403

__all__ = exceptions.__all__
