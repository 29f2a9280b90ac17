"""Issue 24's stories: the online shop whose customer service is given real-time data and the
strategy explained (cognitive alignment: per-department sensing and communication), and the
farm run with a purpose besides profit (purpose-driven alignment: `[purpose]`). Each
scenario's `expected` outcomes were written in the file and committed before it was first run;
these tests were written with them and are kept as written: where the model does not bear one
out, it stays here as an expected failure (`xfail(strict=True)`, with the measured reason), and
a separate test named "..._as_the_model_shows" checks what the model shows instead, its bounds
marked "set after the run". Everything is an effect size over 200 seeds with a 95% interval,
paired by seed (common random numbers); each assertion names what its interval must exclude.
Counterfactuals remove one mechanism from a strategy under its own name (so it keeps its own
random draws) and say which settings differ. docs/scenarios.md gives the numbers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.frames import decision_names
from sim.scenario import load_scenario
from sim.stats import equivalence, mean_ci, pareto_table
from tests.conftest import SEEDS

SHOP, FARM = "ecommerce_personalisation", "sustainable_agriculture"


@pytest.mark.parametrize("name", [SHOP, FARM])
def test_each_story_states_what_it_expects(name):
    assert len(load_scenario(name).expected.split()) >= 40


def _by_seed(runs: pd.DataFrame, strategy: str, column: str) -> pd.Series:
    return runs[runs["strategy"] == strategy].set_index("seed")[column]


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean of a - b over the seeds both have, with its 95% interval."""
    return mean_ci((a - b).dropna())


def _window(periods: pd.DataFrame, strategy: str, column: str, first: int, last: int):
    """Per seed: the mean of ``column`` over periods ``first`` .. ``last``."""
    rows = periods[(periods["strategy"] == strategy) & periods["period"].between(first, last)]
    return rows.groupby("seed")[column].mean()


# ---- the online shop: customer service informed and told, or not


@pytest.fixture(scope="module")
def shop():
    sc = load_scenario(SHOP)
    return sc, run_experiment(sc, seeds=SEEDS)


@pytest.fixture(scope="module")
def shop_without():
    """The cognitive shop with one mechanism removed, under its own name (its own draws):
    customer service sensing at the firm's 0.3 (no real-time data; sensing cost 0.25 k€ a month
    less), or told monthly like the rest (communication 0.05; 0.15 k€ a month less)."""
    out = {}
    for part, value in (("sensing", 0.3), ("communication", 0.05)):
        sc = load_scenario(SHOP, {f"strategies.cognitive.{part}": value})
        out[part] = run_experiment(sc, strategies=["cognitive"], seeds=SEEDS, periods=False).runs
    return out


def test_shop_customer_service_understands_when_told_weekly(shop):
    sc, result = shop
    at = result.periods[result.periods["period"] == sc.split]
    column = "understanding_customer_service"
    told = at[at["strategy"] == "cognitive"].set_index("seed")[column]
    monthly = at[at["strategy"] == "aligned"].set_index("seed")[column]
    mean, low, _ = _paired(told, monthly)
    assert low > 0, mean  # excludes 0
    for dept in ("marketing", "merchandising", "fulfilment"):
        column = f"understanding_{dept}"
        a = at[at["strategy"] == "cognitive"].set_index("seed")[column]
        b = at[at["strategy"] == "aligned"].set_index("seed")[column]
        test = equivalence((a - b).dropna(), 0.05)
        assert test.equivalent, (dept, test)  # within 0.05 (TOST)


def test_shop_the_head_office_sees_the_change_sooner(shop):
    sc, result = shop
    periods = result.periods.assign(
        gap=(result.periods["believed_market_value"] - result.periods["market_value"]).abs()
    )
    cognitive = _window(periods, "cognitive", "gap", sc.split, sc.split + 11)
    aligned = _window(periods, "aligned", "gap", sc.split, sc.split + 11)
    mean, _, high = _paired(cognitive, aligned)
    assert high < 0, mean  # a smaller gap: excludes 0


def test_shop_more_cognitive_shops_give_personal_advice(shop):
    _, result = shop
    rows = result.periods[result.periods["period"] == 72]
    held = rows.pivot(
        index="seed", columns="strategy", values=decision_names(["personalised_advice"])[0]
    )
    mean, low, _ = mean_ci(held["cognitive"] - held["aligned"])
    assert low > 0, mean  # excludes 0


def test_shop_market_value_after_the_shift_ranks_cognitive_aligned_silos(shop):
    _, result = shop
    runs = result.runs
    value = {s: _by_seed(runs, s, "market_value_post_shift_all") for s in result.strategies}
    mean, low, _ = _paired(value["cognitive"], value["aligned"])
    assert low > 0, mean  # excludes 0
    mean, low, _ = _paired(value["aligned"], value["efficiency_only"])
    assert low > 0, mean  # excludes 0


def test_shop_profit_after_the_shift_ranks_cognitive_aligned_silos(shop):
    _, result = shop
    runs = result.runs
    profit = {s: _by_seed(runs, s, "profit_post_shift") for s in result.strategies}
    mean, low, _ = _paired(profit["cognitive"], profit["aligned"])
    assert low > 0, mean  # net of the dashboard and the huddles: excludes 0
    mean, low, _ = _paired(profit["aligned"], profit["efficiency_only"])
    assert low > 0, mean  # excludes 0


def test_shop_both_the_data_and_the_explaining_matter(shop, shop_without):
    _, result = shop
    full = _by_seed(result.runs, "cognitive", "market_value_post_shift_all")
    for part, runs in shop_without.items():
        without = _by_seed(runs, "cognitive", "market_value_post_shift_all")
        mean, low, _ = _paired(full, without)
        assert low > 0, (part, mean)  # the full shop above the shop without it: excludes 0


# ---- the farm: profit alone, or purpose too


@pytest.fixture(scope="module")
def farm():
    sc = load_scenario(FARM)
    return sc, run_experiment(sc, seeds=SEEDS, periods=False)


@pytest.fixture(scope="module")
def farm_without():
    """The aligned and the purpose-driven farm with one mechanism removed (the same names, so
    the same draws): no buyers who value low emissions (`purpose.valued_by` empty), or no levy
    (`purpose.levy` 0), or purpose weight 0 (the purpose-driven farm's only difference)."""
    out = {}
    for part, overrides in (
        ("valued_by", {"purpose.valued_by": {}}),
        ("levy", {"purpose.levy": 0.0}),
        ("weight", {"strategies.purpose_driven.purpose": 0.0}),
    ):
        sc = load_scenario(FARM, overrides)
        strategies = ["aligned", "purpose_driven"]
        out[part] = run_experiment(sc, strategies=strategies, seeds=SEEDS, periods=False).runs
    return out


def test_farm_purpose_lowers_emissions(farm):
    _, result = farm
    runs = result.runs
    for column in ("impact_pre_shift", "impact_post_shift"):
        mean, _, high = _paired(
            _by_seed(runs, "purpose_driven", column), _by_seed(runs, "aligned", column)
        )
        assert high < 0, (column, mean)  # lower: excludes 0
    mean, _, high = _paired(
        _by_seed(runs, "aligned", "impact_post_shift"),
        _by_seed(runs, "efficiency_only", "impact_post_shift"),
    )
    assert high < 0, mean  # the aligned farm follows its buyers: excludes 0


def test_farm_purpose_costs_before_the_buyers_care(farm):
    _, result = farm
    runs = result.runs
    mean, _, high = _paired(
        _by_seed(runs, "purpose_driven", "profit_pre_shift"),
        _by_seed(runs, "aligned", "profit_pre_shift"),
    )
    assert high < 0, mean  # excludes 0
    mean, _, high = _paired(
        _by_seed(runs, "purpose_driven", "levy_pre_shift"),
        _by_seed(runs, "aligned", "levy_pre_shift"),
    )
    assert high < 0, mean  # less levy: excludes 0


def test_farm_purpose_pays_once_the_buyers_care(farm):
    _, result = farm
    runs = result.runs
    mean, low, _ = _paired(
        _by_seed(runs, "purpose_driven", "profit_post_shift"),
        _by_seed(runs, "aligned", "profit_post_shift"),
    )
    assert low > 0, mean  # excludes 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (4) as written: after the shift the aligned and the purpose-driven farm both "
    "on the Pareto front; the model shows the purpose-driven farm dominating the aligned one "
    "after the shift (profit 12.6 [12.3, 12.8] against 12.0 [11.7, 12.3] k€ a month, emissions "
    "10.3 [9.9, 10.7] against 28.9 [27.7, 30.1] t), because it is already where its buyers "
    "move and pays almost no levy; the trade-off is before the shift (docs/scenarios.md)",
)
def test_farm_the_pareto_front_is_purpose_and_profit_not_silos(farm):
    _, result = farm
    table = pareto_table(result.runs).set_index("strategy")
    assert table.loc["purpose_driven", "non_dominated"]
    assert table.loc["aligned", "non_dominated"]
    assert not table.loc["efficiency_only", "non_dominated"]


def test_farm_the_trade_off_is_before_the_shift_as_the_model_shows(farm):
    """Expected: both farms on the front after the shift. The model shows the purpose-driven
    farm alone on it after the shift (it dominates the aligned farm: more profit, less
    emissions), and the trade-off before the shift: there the aligned farm earns more and the
    purpose-driven farm emits less, both non-dominated, and the efficiency-only farm dominated
    in both windows (set after the run)."""
    _, result = farm
    runs = result.runs
    after = pareto_table(runs).set_index("strategy")["non_dominated"]
    assert after.to_dict() == {"efficiency_only": False, "aligned": False, "purpose_driven": True}
    mean, low, _ = _paired(
        _by_seed(runs, "purpose_driven", "profit_post_shift"),
        _by_seed(runs, "aligned", "profit_post_shift"),
    )
    assert low > 0, mean  # more profit after the shift: excludes 0 (as in (3))
    before = pareto_table(runs, profit="profit_pre_shift", impact="impact_pre_shift")
    before = before.set_index("strategy")["non_dominated"]
    assert before.to_dict() == {"efficiency_only": False, "aligned": True, "purpose_driven": True}


def _advantage(runs: pd.DataFrame) -> pd.Series:
    """Per seed: the purpose-driven farm's profit after the shift minus the aligned farm's."""
    return _by_seed(runs, "purpose_driven", "profit_post_shift") - _by_seed(
        runs, "aligned", "profit_post_shift"
    )


def test_farm_buyers_who_care_and_the_levy_make_purpose_pay(farm, farm_without):
    _, result = farm
    full = _advantage(result.runs)
    for part in ("valued_by", "levy"):
        mean, low, _ = _paired(full, _advantage(farm_without[part]))
        assert low > 0, (part, mean)  # the advantage smaller without it: excludes 0


def test_farm_purpose_weight_zero_is_the_aligned_farm(farm_without):
    """With weight 0 the two farms have the same settings and differ only in their own random
    draws (keyed by name): equal emissions in distribution, within 1 t CO2e a month (2% of the
    farm's 50 t; margin stated before the run), by an equivalence test on the paired
    differences."""
    runs = farm_without["weight"]
    a = _by_seed(runs, "purpose_driven", "impact_post_shift")
    b = _by_seed(runs, "aligned", "impact_post_shift")
    test = equivalence((a - b).dropna(), 1.0)
    assert test.equivalent, test


@pytest.mark.parametrize(("name", "target"), [(SHOP, "cognitive"), (FARM, "purpose_driven")])
def test_each_story_explains_and_decomposes(name, target):
    """`explain` describes the new settings; the factorial runs with the third strategy as
    target, whose per-department rates and purpose weight every arm keeps (but the ingredient
    switched): the arm with every ingredient on is that strategy."""
    from sim.decompose import arms_scenario, decompose
    from sim.explain import explain

    sc = load_scenario(name)
    text = explain(sc)
    assert ("Sensing by department" in text) == (name == SHOP)
    assert ("Purpose: greenhouse-gas emissions" in text) == (name == FARM)
    arms_sc, _ = arms_scenario(sc, "efficiency_only", target)
    everything = arms_sc.strategy("alpha_coordination_sensing")
    wanted = sc.strategy(target).model_dump()
    assert {k: v for k, v in everything.model_dump().items() if k != "description"} == {
        k: v for k, v in wanted.items() if k != "description"
    }
    result = decompose(sc, seeds=3, target=target)
    assert set(result.effects["term"]) >= {"alpha", "coordination", "sensing"}
