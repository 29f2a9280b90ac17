"""`python -m sim validate`'s rows for markets of competing firms (sim/validation/competition.py):
run as built every row holds; a wrong choice model, patched in, fails rows (negative controls)."""

from __future__ import annotations

import numpy as np
import pytest

import sim.engine
from sim.demand import logit_shares
from sim.validation import run_validation


@pytest.fixture(scope="module")
def table():
    return run_validation(quick=True, only=["competition_logit"]).table()


def test_every_competition_row_holds_as_built(table):
    assert len(table) == 6 and table["within_tolerance"].all(), table


def _failing(monkeypatch, wrong) -> set[str]:
    monkeypatch.setattr(sim.engine, "logit_shares", wrong)
    table = run_validation(quick=True, only=["competition_logit"]).table()
    return {m.split(":")[0] for m in table.loc[~table["within_tolerance"], "measure"]}


def test_lambda_applied_wrongly_fails_the_logit_and_even_split_rows(monkeypatch):
    def divided(values, market, sensitivity, outside_weight):  # exp(V / lambda), not lambda V
        lam = np.where(sensitivity > 0, sensitivity, 1.0)
        with np.errstate(divide="ignore"):  # log 0 where there is no outside option
            outside = np.where(outside_weight > 0, np.exp(np.log(outside_weight) / lam**2), 0.0)
        return logit_shares(values, market, 1.0 / lam, outside)

    failing = _failing(monkeypatch, divided)
    assert "shares" in failing  # the independent logit catches it


def test_shares_not_normalised_fail_the_sum_and_logit_rows(monkeypatch):
    def unnormalised(values, market, sensitivity, outside_weight):
        appeal = np.exp(sensitivity[market] * values)
        return appeal / (1.0 + outside_weight[market])  # not divided by the rivals' sum

    failing = _failing(monkeypatch, unnormalised)
    assert {"shares of the firms and the outside option", "shares"} <= failing
