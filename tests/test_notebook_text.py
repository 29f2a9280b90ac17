"""The notebooks' text quotes no result typed by hand: a number in Markdown that the model
computes goes stale when a setting or the model changes, so the notebooks print it instead.

What counts as a typed result (outside code spans and fenced code): a decimal number, a
signed number (+5, -4.7), a percentage, or a whole number said to be approximate ("about 75")
or an amount of money ("9 k€"), unless it is a setting: a number written in one of the
notebook's code cells or in a scenario file (`scenarios/`), or a confidence or error level
(95%, 90%, 5%). Other whole numbers are left alone: they are counts, periods and sizes of the
protocols, which the text may name.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
LEVELS = {"95%", "90%", "5%"}
NUMBER = re.compile(
    r"(?P<about>\b(?:about|roughly|nearly|~)\s+)?"
    r"(?<![\w.^/-])(?P<number>[-+−]?\d+(?:,\d{3})*(?:\.\d+)?%?)(?![\w^])"
    r"(?P<money>\s*k?€)?"
)
LITERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


def _prose(markdown: str) -> str:
    """Markdown without fenced code, code spans, link targets and citations' page ranges."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\d+\(\d+\):\s*\d+-\d+", " ", text)  # journal volume(issue): pages


def _value(number: str) -> float:
    return float(number.lstrip("+-−").rstrip("%").replace(",", ""))


def _settings(nb) -> set[float]:
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    files = (REPO / "scenarios").rglob("*.toml")
    scenarios = "\n".join(p.read_text(encoding="utf-8") for p in files)
    return {_value(n) for n in LITERAL.findall(code + "\n" + scenarios)}


def typed_results(markdown: str, settings: set[float]) -> list[str]:
    """The numbers in ``markdown`` that look like typed results (see the module docstring)."""
    found = []
    for match in NUMBER.finditer(_prose(markdown)):
        number = match["number"]
        signed = number[0] in "+-−"
        result_like = signed or "." in number or number.endswith("%")
        result_like = result_like or bool(match["about"] or match["money"])
        if number in LEVELS or not result_like:
            continue
        if _value(number) in settings and not signed:
            continue
        found.append(number)
    return found


def test_the_rule_on_hand_made_text():
    settings = {0.7, 0.3, 1.0}
    text = (
        "The aligned bakery (`alpha = 0.42`) earns about 14.5 k€ more, +5 k€ at coupling 0.7; "
        "77% survive [95% CI], about 75 peaks, 9 k€ a month; the bakery pays 1 k€. "
        "Levinthal (1997), 43(7): 934-950, K = 8, 1,024 set-ups, 100 firms."
    )
    assert typed_results(text, settings) == ["14.5", "+5", "77%", "75", "9"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_typed_result_in_the_text(path: Path):
    nb = nbformat.read(path, as_version=4)
    settings = _settings(nb)
    typed = {
        i: found
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown" and (found := typed_results(cell.source, settings))
    }
    assert not typed, (
        f"{path.name}: Markdown cells quote numbers the notebook computes (cell: numbers): "
        f"{typed}; print them from a code cell, or phrase the text without them"
    )
