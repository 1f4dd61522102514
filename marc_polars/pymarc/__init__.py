"""A record-at-a-time API with pymarc's names and behaviour.

Scripts written for pymarc run unchanged after ``import marc_polars.pymarc as pymarc``::

    import marc_polars.pymarc as pymarc

    with open("catalogue.mrc", "rb") as handle:
        for record in pymarc.MARCReader(handle):
            print(record.title)
"""

from __future__ import annotations

from marc_polars.pymarc import constants, exceptions, field, leader, marc8, marcjson, marcxml, reader, record, writer
from marc_polars.pymarc.constants import *  # noqa: F403
from marc_polars.pymarc.exceptions import *  # noqa: F403
from marc_polars.pymarc.field import *  # noqa: F403
from marc_polars.pymarc.leader import *  # noqa: F403
from marc_polars.pymarc.marc8 import *  # noqa: F403
from marc_polars.pymarc.marcjson import *  # noqa: F403
from marc_polars.pymarc.marcxml import *  # noqa: F403
from marc_polars.pymarc.reader import *  # noqa: F403
from marc_polars.pymarc.record import *  # noqa: F403
from marc_polars.pymarc.writer import *  # noqa: F403

# What each module exports, as pymarc's package exports its modules' names.
__all__ = constants.__all__ + exceptions.__all__ + field.__all__ + leader.__all__ + marc8.__all__
__all__ += marcjson.__all__ + marcxml.__all__ + reader.__all__ + record.__all__ + writer.__all__
