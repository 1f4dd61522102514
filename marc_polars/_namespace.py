"""The ``.marc`` expression namespace: MARCspecs evaluated on a loaded lossless frame, lazily."""

from __future__ import annotations

import polars as pl
from polars.plugins import register_plugin_function

from marc_polars import _native

#: The library Polars calls the expressions in: the native module itself.
LIBRARY = _native.__file__


@pl.api.register_expr_namespace("marc")
class MarcExpr:
    """``pl.col("fields").marc.extract("245$a")``: the values a MARCspec selects in each record.

    Applies to a lossless ``fields`` column, or to a ``leader`` column for ``LDR`` specs, and gives
    exactly what ``read_marc(f, columns=[spec])`` gives while decoding. The expressions are Polars
    expression plugins: evaluated in Rust, in parallel, without the GIL, on either engine, and
    usable in the filters of a lazy query.
    """

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def extract(self, spec: str) -> pl.Expr:
        """The values `spec` selects: ``String``, or ``List(String)`` when it may select several.

        Raises ``ValueError`` at once for an invalid spec, naming it and the position of the error.
        """
        return self._call("marc_extract", spec)

    def has(self, spec: str) -> pl.Expr:
        """Whether `spec` selects anything in each record: ``Boolean``, for filters.

        Raises ``ValueError`` at once for an invalid spec, naming it and the position of the error.
        """
        return self._call("marc_has", spec)

    def _call(self, function: str, spec: str) -> pl.Expr:
        _native.parse_spec(spec)  # an invalid spec raises here, not when the query runs
        return register_plugin_function(
            plugin_path=LIBRARY, function_name=function, args=[self._expr], kwargs={"spec": spec}, is_elementwise=True
        )
