"""The ``.marc`` expression namespace: MARCspecs evaluated on a loaded lossless frame, lazily."""

from __future__ import annotations

import polars as pl

from marc_polars import _native


@pl.api.register_expr_namespace("marc")
class MarcExpr:
    """``pl.col("fields").marc.extract("245$a")``: the values a MARCspec selects in each record.

    Applies to a lossless ``fields`` column, or to a ``leader`` column for ``LDR`` specs, and gives
    exactly what ``read_marc(f, columns=[spec])`` gives while decoding.
    """

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def extract(self, spec: str) -> pl.Expr:
        """The values `spec` selects: ``String``, or ``List(String)`` when it may select several.

        Raises ``ValueError`` at once for an invalid spec, naming it and the position of the error.
        """
        dtype = pl.List(pl.String) if _native.parse_spec(spec) else pl.String
        return self._expr.map_batches(
            lambda series: _native.extract(series, spec), return_dtype=dtype, is_elementwise=True
        )
