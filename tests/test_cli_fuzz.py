"""Bad input, generated: valid scenario and sweep files mutated (types, non-finite numbers,
huge sizes, encodings, deleted or repeated lines) give either a finished run with finite
outputs, or exit code 2 with one line and nothing written (issue 12)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario import SCENARIO_DIR, validate_scenario

#: Columns that may be NaN by design: no recovery; the heading before its window is full.
MAY_BE_NAN = {"recovery_time", "heading"}
REPLACEMENTS = [
    "true", "false", '"0.5"', "'abc'", "nan", "inf", "-inf", "1e308", "-1e308", "-1", "0",
    "2", "0.5", "10000000", "[]", "{}", "[1, 2]", "[nan]", '"strategies.aligned.alpha"',
]  # fmt: skip
SCENARIO = re.sub(
    r"(?m)^(horizon|seeds) = \d+",
    lambda m: f"{m.group(1)} = {30 if m.group(1) == 'horizon' else 2}",
    (SCENARIO_DIR / "bakery_gluten_free.toml").read_text(encoding="utf-8"),
).replace("at = 60 ", "at = 15 ")
SWEEP = """\
name = "fuzz"
scenario = "SCENARIO"
seeds = 1
root_seed = 7
strategies = ["efficiency_only", "aligned"]
[overrides]
"metrics.split" = 15
[[parameters]]
name = "alignment"
path = "strategies.aligned.alpha"
values = [0.3, 0.9]
[[parameters]]
name = "cost"
path = "costs.coordination.hierarchical"
values = [1.0, 5.0]
[analysis]
metric = "profit_post_shift"
compare = ["aligned", "efficiency_only"]
"""


def _value_lines(text: str) -> list[int]:
    """Lines setting a value (not inside a multi-line string)."""
    lines, inside = [], False
    for i, line in enumerate(text.splitlines()):
        if line.count('"""') % 2:
            inside = not inside
            continue
        if not inside and re.match(r"\s*[\w\"'.]+\s*=\s*\S", line):
            lines.append(i)
    return lines


@st.composite
def mutated(draw, text: str) -> bytes:
    """``text`` with one to three mutations, as the bytes of a file."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(
            st.sampled_from(["number"] * 4 + ["value"] * 3 + ["delete", "repeat", "append"])
        )
        candidates = _value_lines("\n".join(lines))
        if kind == "number":  # another number where there is one: mostly valid files
            candidates = [i for i in candidates if re.search(r"= -?[\d.]+\s*(#|$)", lines[i])]
        i = draw(st.sampled_from(candidates))
        key = lines[i].split("=", 1)[0]
        if kind == "number":
            number = draw(st.sampled_from(["0", "1", "3", "0.0", "0.1", "0.5", "0.9", "2.5"]))
            lines[i] = f"{key}= {number}"
        elif kind == "value":
            lines[i] = f"{key}= {draw(st.sampled_from(REPLACEMENTS))}"
        elif kind == "delete":
            del lines[i]
        elif kind == "repeat":
            lines.insert(i, lines[i])
        else:
            lines.append(draw(st.sampled_from(["#" * 1_000_001, "x = " + "[" * 600 + "]" * 600])))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    encoding = draw(st.sampled_from(["utf-8"] * 12 + ["cp1252", "utf-16", "nul", "cut"]))
    if encoding in ("cp1252", "utf-16"):
        data = ("\n".join(lines) + "\n").replace("k€", "café").encode(encoding, "replace")
    elif encoding == "nul":
        data = data.replace(b"\n", b"\n\x00", 1)
    elif encoding == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _finite(table: pd.DataFrame, *, split: int = 2) -> bool:
    """No infinity anywhere; NaN only by design: in `MAY_BE_NAN`, for a firm that has exited
    (negative cash: nothing to measure from then on), and the outcomes before a split at
    period 1 (no period before it)."""
    numbers = table.select_dtypes("number").to_numpy(dtype=float)
    if np.isinf(numbers).any():
        return False
    if "cash" in table:
        exited = table["cash"] < 0
    elif "survived" in table:
        exited = ~table["survived"].astype(bool)
    else:
        exited = pd.Series(False, index=table.index)
    kept = table[~exited.to_numpy()].select_dtypes("number")
    kept = kept.drop(columns=MAY_BE_NAN, errors="ignore")
    if split < 2:
        pre = ("_pre_shift", "_change")  # (and their _all and _survivors columns)
        kept = kept.drop(columns=[c for c in kept if any(p in c for p in pre)])
    return bool(np.isfinite(kept.to_numpy(dtype=float)).all())


def _command(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


def _refused_or_finite(code: int, err: str, out: Path, kind: str) -> None:
    event(f"exit code {code}")
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert not out.exists(), "a refused command wrote something"
        return
    assert code == 0, err
    from sim.results import load

    data = load(out)
    manifest = data["manifest"]
    scenario = manifest["sweep"]["scenario_as_loaded"] if kind == "sweep" else manifest["scenario"]
    split = validate_scenario(scenario).split
    assert len(data["runs"]) and _finite(data["runs"], split=split), kind
    if data["periods"] is not None:
        assert _finite(data["periods"], split=split)


#: A longer, random search: SMB_SIM_FUZZ_EXAMPLES=2000 pytest tests/test_cli_fuzz.py
LONG = int(os.environ.get("SMB_SIM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG or 150,
    deadline=None,
    derandomize=not LONG,  # by default the same examples every run: a CI budget, not a lottery
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(data=mutated(SCENARIO))
def test_a_mutated_scenario_runs_with_finite_outputs_or_is_refused_in_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path, out = Path(folder) / "scenario.toml", Path(folder) / "out"
        path.write_bytes(data)
        code, err = _command(
            ["run", str(path), "--seeds", "2", "--out", str(out), "--no-figures", "--quiet"]
        )
        _refused_or_finite(code, err, out, "run")


@FUZZ
@given(data=mutated(SWEEP))
def test_a_mutated_sweep_runs_with_finite_outputs_or_is_refused_in_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "base.toml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        path, out = Path(folder) / "sweep.toml", Path(folder) / "out"
        path.write_bytes(data.replace(b"SCENARIO", str(scenario).encode()))
        code, err = _command(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"])
        _refused_or_finite(code, err, out, "sweep")
        shutil.rmtree(out, ignore_errors=True)
