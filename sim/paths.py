"""Where the package finds its files, from a checkout or installed from a wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
#: Whether the package runs from a checkout of the repository (not an installed wheel).
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "scenarios").is_dir()
#: The scenario files: `scenarios/` of the checkout, or the copy a wheel ships as the package
#: data `sim/scenarios/` (pyproject.toml maps one to the other).
SCENARIO_DIR = REPO_ROOT / "scenarios" if IN_CHECKOUT else PACKAGE_DIR / "scenarios"
#: `results/` of the checkout; installed, `results/` in the current folder.
RESULTS_DIR = REPO_ROOT / "results" if IN_CHECKOUT else Path("results")
