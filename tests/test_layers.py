"""The package is laid out in layers that import only downwards (docs/architecture.md).

Every import is counted: at module level, inside functions and under ``TYPE_CHECKING`` (a
type-only import is still a dependency of the code that reads it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1] / "sim"

#: The layers, lowest first; a module may import modules of its own layer or of a lower one.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundations",
        (
            "sim",
            "sim.errors",
            "sim.limits",
            "sim.paths",
            "sim.streams",
            "sim.arguments",
            "sim.stats",
            "sim.display",
        ),
    ),
    (
        "scenario",
        (
            "sim.scenario",
            "sim.scenario.errors",
            "sim.scenario.schema",
            "sim.scenario.load",
            "sim.scenario.checks",
        ),
    ),
    (
        "landscapes and market",
        (
            "sim.landscape",
            "sim.market",
            "sim.environment",
            "sim.effects",
            "sim.demand",
            "sim.purpose",
        ),
    ),
    ("engine", ("sim.adaptation", "sim.resources", "sim.engine", "sim.metrics", "sim.frames")),
    ("compiled settings", ("sim.settings",)),
    ("Mesa views", ("sim.agents", "sim.population", "sim.rivals", "sim.model")),
    ("experiment", ("sim.experiment", "sim.competition")),
    ("results and figures", ("sim.results", "sim.plots")),
    (
        "analysis",
        (
            "sim.decompose",
            "sim.claims",
            "sim.explain",
            "sim.sweep",
            "sim.sweep.spec",
            "sim.sweep.design",
            "sim.sweep.load",
            "sim.sweep.store",
            "sim.sweep.execute",
            "sim.sweep.analyze",
            "sim.sweep.discover",
            "sim.validation",
            "sim.validation.reference",
            "sim.validation.experiments",
            "sim.validation.figures",
            "sim.validation.competition",
            "sim.validation.march",
        ),
    ),
    ("interfaces", ("sim.cli", "sim.__main__", "sim.app")),
]

#: Plain numpy and networkx: testable alone, never Mesa (docs/architecture.md).
PLAIN = ("sim.landscape", "sim.market", "sim.engine", "sim.streams")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every module of ours and every top-level third-party package ``path`` imports."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                out.add(name if name in MODULES else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def _layer_of(module: str) -> int:
    for rank, (_, members) in enumerate(LAYERS):
        if module in members or (module.startswith("sim.app") and "sim.app" in members):
            return rank
    raise KeyError(module)


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target in _imports(path):
            if target in MODULES and target != module:
                graph.add_edge(module, target)
    return graph


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODULES if not _safe_layer(m))
    assert not unplaced, f"put these modules in a layer of tests/test_layers.py: {unplaced}"


def _safe_layer(module: str) -> bool:
    try:
        _layer_of(module)
    except KeyError:
        return False
    return True


def test_no_import_circles_outside_the_app():
    core = _graph().subgraph(m for m in MODULES if not m.startswith("sim.app"))
    circles = [sorted(c) for c in nx.strongly_connected_components(core) if len(c) > 1]
    assert not circles, f"import circles: {circles}"


def test_modules_import_only_downwards():
    upward = [
        f"{a} ({LAYERS[_layer_of(a)][0]}) imports {b} ({LAYERS[_layer_of(b)][0]})"
        for a, b in _graph().edges
        if _layer_of(b) > _layer_of(a)
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("module", PLAIN)
def test_landscape_market_and_engine_are_plain_numpy(module):
    third_party = {
        name.split(".")[0] for name in _imports(MODULES[module]) if not name.startswith("sim")
    }
    assert not third_party & {"mesa", "pandas", "matplotlib", "solara", "pydantic"}


def test_the_checker_sees_an_upward_import(tmp_path):
    """Negative control: the parser finds imports inside functions and under TYPE_CHECKING."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from sim.model import Market\n"
        "def f():\n    from sim.cli import main\n"
    )
    assert {"sim.model", "sim.cli"} <= _imports(source)


def test_moved_coordination_cost_still_importable_with_a_warning():
    import sim.agents
    from sim.settings import coordination_cost

    with pytest.warns(DeprecationWarning, match="sim.settings"):
        assert sim.agents.coordination_cost is coordination_cost
