"""Validation: the published NK results on organisations as special cases of the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.validation.competition import competition_logit
from sim.validation.experiments import (
    EXPERIMENTS,
    VALIDATION_DIR,
    Measure,
    Outcome,
    Setup,
    Size,
)

#: The published NK results, then the analytic checks of markets of competing firms.
EXPERIMENTS = {**EXPERIMENTS, "competition_logit": competition_logit}


@dataclass
class ValidationReport:
    """Every measure of every experiment run, and their outcomes (for figures)."""

    quick: bool
    outcomes: dict[str, Outcome]

    @property
    def measures(self) -> list[Measure]:
        return [m for outcome in self.outcomes.values() for m in outcome.measures]

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.measures)

    def table(self) -> pd.DataFrame:
        """experiment | measure | source | reference | model | tolerance | within tolerance |
        z (the model's distance from the reference number in combined standard errors of the
        two; empty for claims)."""
        frame = pd.DataFrame([asdict(m) for m in self.measures])
        return frame.rename(columns={"ok": "within_tolerance"})


def run_validation(
    *,
    quick: bool = False,
    only: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> ValidationReport:
    """Run the experiments (all, or ``only`` those named) at full or quick size.

    ``overrides`` changes the protocols' rules on purpose (negative controls): per validation
    scenario name, dotted-path overrides applied on top of each experiment's own, e.g.
    ``{"levinthal_1997": {"strategies.levinthal.search": "best"}}``. Unknown scenario names
    are refused; bad paths or values fail as a scenario file would."""
    scenarios = sorted(path.stem for path in VALIDATION_DIR.glob("*.toml"))
    strangers = [name for name in overrides or {} if name not in scenarios]
    if strangers:
        raise KeyError(
            f"unknown validation scenario {strangers[0]!r}; allowed: {', '.join(scenarios)}"
        )
    setup = Setup(Size.of(quick), dict(overrides or {}))
    names = list(only) if only else list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise KeyError(f"unknown experiment {unknown[0]!r}; allowed: {', '.join(EXPERIMENTS)}")
    outcomes = {}
    for name in names:
        if progress is not None:
            progress(name)
        outcomes[name] = EXPERIMENTS[name](setup)
    return ValidationReport(quick, outcomes)


def save_figures(report: ValidationReport, out: Path) -> list[Path]:
    """One PNG per experiment that has a figure."""
    from sim.validation.figures import save

    paths = [save(name, outcome, out) for name, outcome in report.outcomes.items()]
    return [p for p in paths if p is not None]


__all__ = ["EXPERIMENTS", "Measure", "ValidationReport", "run_validation", "save_figures"]
