"""The notebooks in notebooks/: each runs without error with small parameters (in well under a
minute on a quiet machine; the time is printed, not asserted: a loaded machine would fail a
timed test), and is committed without outputs.

Each notebook has one code cell tagged "parameters" (papermill's convention); papermill
injects the small values below in a cell after it, so the notebooks run at full size by hand
and small here. The executed copies go to a temporary folder; the notebooks are never written.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import nbformat
import papermill
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 600.0  # seconds per cell: a hung cell fails the test instead of stalling it

#: Small parameters per notebook. `out_dir` is set to a temporary folder for every notebook.
SMALL_PARAMETERS: dict[str, dict] = {
    "01_quickstart.ipynb": {"seeds": 3},
    "02_explore_alignment.ipynb": {"seeds": 3},
    "03_sweeps.ipynb": {"pilot_seeds": 2, "seeds": 3},
    "04_sensitivity.ipynb": {"morris_trajectories": 2, "sobol_samples": 8, "seeds": 2},
    "05_validation.ipynb": {"quick": True, "workers": 2},
    "06_your_own_business.ipynb": {"seeds": 3},
}


def _committed_notebooks() -> list[Path]:
    """Notebooks in notebooks/ on disk and in git's index (a staged one may differ on disk)."""
    paths = set(NOTEBOOKS)
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "notebooks/*.ipynb"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        listed = []
    paths.update(REPO / name for name in listed if (REPO / name).exists())
    return sorted(paths)


def _parameter_cells(nb) -> list:
    return [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", _committed_notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean(path: Path):
    """No outputs, execution counts or saved widget state: notebooks are committed clean."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace {path.relative_to(REPO)}`"
    )
    assert "widgets" not in nb.metadata, (
        f"{path.name} carries saved widget state (notebook metadata 'widgets'): remove it, and "
        "turn off JupyterLab's setting 'Save Jupyter widget state in notebooks'"
    )
    assert "papermill" not in nb.metadata, (
        f"{path.name} is a notebook executed by papermill: commit the source notebook instead"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_parameters_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    cells = _parameter_cells(nb)
    assert len(cells) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters'"
    assert cells[0].cell_type == "code"
    assert path.name in SMALL_PARAMETERS, (
        f"give {path.name} small parameters in SMALL_PARAMETERS of {Path(__file__).name}"
    )
    declared = cells[0].source
    for name in SMALL_PARAMETERS[path.name]:
        assert f"{name} =" in declared, f"{path.name}: the parameters cell does not set {name!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path):
    """Execute the notebook with small parameters: any error in any cell fails the test."""
    parameters = dict(SMALL_PARAMETERS.get(path.name, {}))
    nb = nbformat.read(path, as_version=4)
    if "out_dir =" in "".join(c.source for c in _parameter_cells(nb)):
        parameters["out_dir"] = str(tmp_path / "out")
    started = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(tmp_path),
        execution_timeout=CELL_TIMEOUT,
        progress_bar=False,
    )
    elapsed = time.perf_counter() - started
    print(f"{path.name}: {elapsed:.1f} s")
    # papermill raises on a cell error; an error shown by a widget callback is an output only
    executed = nbformat.read(tmp_path / path.name, as_version=4)
    errors = [
        output
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"


def _outputs_text(notebook) -> str:
    """Everything the executed cells printed or showed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            else:
                data = output.get("data", {})
                parts.append(data.get("text/markdown", "") + data.get("text/plain", ""))
    return "\n".join(parts)


def test_quickstart_speaks_of_the_scenario_it_runs(tmp_path: Path):
    """Notebook 01 on a scenario with no market shift (the canteen): its text is the
    scenario's, not the bakery's (issue 20: it said "bakery" and "the shift")."""
    path = NOTEBOOK_DIR / "01_quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells[1:], start=1):
        if cell.cell_type == "markdown":
            text = cell.source.lower()
            assert "bakery" not in text and "bakeries" not in text, f"cell {i}"
            assert "the shift" not in text, f"cell {i}: say which shift, or 'a market shift'"
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"scenario_name": "canteen_stable", "seeds": 3, "out_dir": str(tmp_path)},
        kernel_name="python3",
        cwd=str(tmp_path),
        execution_timeout=CELL_TIMEOUT,
        progress_bar=False,
    )
    printed = _outputs_text(nbformat.read(tmp_path / path.name, as_version=4))
    assert "canteen" in printed.lower()
    assert "bakery" not in printed.lower() and "bakeries" not in printed.lower()
    assert "after the shift" not in printed.lower()
    assert "from period 30 on (this market does not shift)" in printed


def test_sensitivity_conclusions_are_computed_from_its_tables():
    """Notebook 04's conclusions were typed and contradicted its own tables at other settings
    (issue 20): section 5 asks what to look for, and the code cell after it states each
    conclusion from the Morris ranking and the Sobol' indices of the run."""
    nb = nbformat.read(NOTEBOOK_DIR / "04_sensitivity.ipynb", as_version=4)
    (at,) = [i for i, c in enumerate(nb.cells) if c.source.startswith("## 5. What the indices")]
    answer = nb.cells[at + 1]
    assert answer.cell_type == "code"
    for table in ("ranking", "indices", "market_value"):
        assert table in answer.source
    for n in range(1, 6):
        assert f'"{n}. ' in answer.source or f'f"{n}. ' in answer.source
