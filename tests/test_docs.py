"""The documentation site (mkdocs.yml: docs/ pages, the notebooks and the API reference from
the docstrings) builds with no warning, offline, and its reference holds the public API only."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "reference"

#: Public names a user meets in the README, the notebooks and the issues: each must have its
#: entry (an anchor `id="<name>"`) in the API reference.
PUBLIC = (
    "sim.metrics.FirmLog",
    "sim.metrics.FirmLog.to_frame",
    "sim.population.Population",
    "sim.decompose.decompose",
    "sim.model.Market",
    "sim.model.Market.run_for",
    "sim.experiment.run_markets",
    "sim.experiment.run_experiment",
    "sim.stats.paired_difference",
    "sim.stats.benjamini_hochberg",
    "sim.stats.summary_table",
    "sim.frames.firm_frame",
    "sim.scenario.load_scenario",
)
#: Internal helpers (used by the package, not meant for users): none may be in the reference.
INTERNAL = (
    "sim.model.engine_for",
    "sim.model.step_together",
    "sim.model.build_schedule",
    "sim.agents.firm_settings",
    "sim.frames.shadows_dataframe",
    "sim.results.write_table",
    "sim.results.folder_lock",
    "sim.results.git_state",
    "sim.decompose.arms_scenario",
    "sim.plots.style_axes",
    "sim.plots.grown_limits",
    "sim.display.scenario_repr",
    "sim.experiment.market_bytes",
    "sim.stats.bounds_of",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("docs") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, warnings
    return site


def _anchors(site: Path) -> set[str]:
    return {
        anchor
        for page in (site / "reference").rglob("*.html")
        for anchor in re.findall(r'id="(sim\.[\w.]+)"', page.read_text(encoding="utf-8"))
    }


def test_the_site_builds_strictly_and_offline(site: Path):
    stats = (site / "reference" / "stats" / "index.html").read_text(encoding="utf-8")
    assert "paired_difference" in stats and "benjamini_hochberg" in stats
    assert (site / "ODD" / "index.html").is_file()
    # offline: no page loads fonts from another server
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text, page


def test_every_page_of_docs_is_in_the_navigation(site: Path):
    """A page left out of the navigation (limits.md was) is on the site but nowhere to be
    found; the home page's navigation links to every page of docs/."""
    home = (site / "index.html").read_text(encoding="utf-8")
    for page in (REPO / "docs").rglob("*.md"):
        name = page.relative_to(REPO / "docs").with_suffix("").as_posix()
        if name == "index":
            continue
        target = name[: -len("/index")] if name.endswith("/index") else name
        assert f'href="{target}/"' in home, f"docs/{name}.md is not in mkdocs.yml's nav"


def test_the_getting_started_page_and_the_notebooks_are_on_the_site(site: Path):
    started = (site / "getting-started" / "index.html").read_text(encoding="utf-8")
    assert "run_flagship.sh" in started and "run_markets" in started
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        page = site / "notebooks" / notebook.stem / "index.html"
        assert page.is_file(), f"{notebook.name} is not rendered on the site"
        text = page.read_text(encoding="utf-8")
        # rendered from the committed notebook (its code, no outputs: not executed)
        assert "jp-Notebook" in text or "jupyter-wrapper" in text, notebook.name


def test_the_reference_holds_the_public_api(site: Path):
    anchors = _anchors(site)
    missing = [name for name in PUBLIC if name not in anchors]
    assert not missing, f"not in the API reference: {missing}"


def test_the_reference_leaves_out_internal_helpers(site: Path):
    anchors = _anchors(site)
    for name in INTERNAL:
        module, _, attribute = name.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), f"{name} no longer exists"
    shown = [name for name in INTERNAL if name in anchors]
    assert not shown, f"internal helpers in the API reference: {shown}"
    assert not [a for a in anchors if any(part.startswith("_") for part in a.split("."))]


def test_every_member_the_reference_lists_exists():
    """A `members:` entry naming nothing renders nothing and warns not: a renamed or moved
    function would silently vanish from the reference."""
    for page in sorted(REFERENCE.glob("*.md")):
        module = None
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("::: "):
                module = line[4:].strip()
            elif module and re.fullmatch(r"\s+- \w+", line):
                name = line.strip()[2:]
                target = module
                try:
                    owner = importlib.import_module(target)
                except ModuleNotFoundError:  # a class: ::: sim.model.Market
                    path, _, attribute = target.rpartition(".")
                    owner = getattr(importlib.import_module(path), attribute)
                assert hasattr(owner, name), f"{page.name}: {module}.{name} does not exist"
