"""The notebooks in notebooks/ run from a clean kernel without error, and their plots render.

Each notebook is read into memory and executed there by nbclient, in a fresh kernel whose working
directory is notebooks/; the committed file, with its saved outputs, is never written.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Notebooks that read the 250,000-record BooksAll file (fetched and cached on first use).
BOOKSALL = {"02_lazy_large_dump.ipynb", "04_scale_out.ipynb"}
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: Each notebook, marked slow when it reads BooksAll.
RUNS = [pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if path.name in BOOKSALL else []) for path in PATHS]


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run every cell of nb in a new python3 kernel; a cell's error raises CellExecutionError."""
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def plots(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and "plt." in cell.source


def images(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def test_there_are_notebooks():
    assert [p.name for p in PATHS] == [
        "01_quickstart.ipynb",
        "02_lazy_large_dump.ipynb",
        "03_from_pymarc.ipynb",
        "04_scale_out.ipynb",
    ]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_with_outputs(path: Path):
    """The committed notebooks carry the outputs of a full run, so that they read as they are."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    assert all(images(cell) for cell in code if plots(cell))


@pytest.mark.parametrize("path", RUNS)
def test_notebook_runs(path: Path, request: pytest.FixtureRequest):
    if path.name in BOOKSALL:
        request.getfixturevalue("booksall")  # fetch outside the notebook's cell timeout
    source = path.read_text(encoding="utf-8")
    nb = execute(nbformat.reads(source, as_version=4))
    assert path.read_text(encoding="utf-8") == source  # the committed file is untouched
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    if "matplotlib" in source:
        plotting = [cell for cell in code if plots(cell)]
        assert plotting, f"{path.name} imports matplotlib but no cell plots"
        for cell in plotting:
            assert images(cell), f"{path.name}: no image/png output from:\n{cell.source}"


def test_a_failing_cell_fails():
    """A cell that raises makes the execution raise, so a broken notebook cannot pass."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import marc_polars as mp"),
            nbformat.v4.new_code_cell("mp.read_marc(b'not a MARC record')"),
        ]
    )
    with pytest.raises(CellExecutionError, match=r"RecordLengthInvalid|MarcError|TruncatedRecord"):
        execute(nb)


def test_progress_updates_in_place_in_a_notebook():
    """`progress=True` in a notebook: one output, updated in place (not lines on standard error)."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import marc_polars as mp\ndf = mp.read_marc(mp.SAMPLE, progress=True)\ndf.height"
            ),
        ]
    )
    (cell,) = execute(nb).cells
    kinds = [output.output_type for output in cell.outputs]
    assert kinds == ["display_data", "execute_result"], cell.outputs
    assert (
        cell.outputs[0].data["text/plain"].startswith("100% |")
        and "1,000 records" in cell.outputs[0].data["text/plain"]
    )
    assert cell.outputs[1].data["text/plain"] == "1000"
