"""Issue 13's businesses about people: the restaurant whose staff do or do not understand its
kitchen technology, and the metal works that automates with or without retraining. Each
scenario's `expected` outcomes were written in the file before it was first run; the tests were
written with them (commit 1babc19) and are kept as written: where the model does not bear one
out, it stays here as an expected failure (`xfail(strict=True)`, with the measured reason), and
a separate test, named "..._as_the_model_shows" or "..._found_after_the_run", checks what the
model shows instead; docs/scenarios.md gives the numbers and the reasons. Everything is an
effect size over 200 seeds with a 95% interval, paired by seed (common random numbers) where two
strategies or two settings are compared, and each assertion names what its interval must
exclude. "No difference" is only ever claimed by an equivalence test against a margin stated in
business terms; where the model shows an interval that includes 0 and no margin was stated, the
test asserts exactly that. Bounds and margins changed or added after the first run are marked
"set after the run". Paired by seed shares the market, not the firm's own draws: a firm's random
key hashes its strategy's name, so the third strategy draws other long jumps and examines other
alternatives than `aligned` (docs/scenarios.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment, simulate
from sim.frames import decision_names
from sim.model import Market
from sim.scenario import load_scenario
from sim.stats import equivalence, mean_ci, paired_difference, share_ci
from tests.conftest import SEEDS

PEOPLE = ("restaurant_kitchen_tech", "manufacturing_automation")


@pytest.mark.parametrize("name", PEOPLE)
def test_each_story_states_what_it_expects(name):
    sc = load_scenario(name)
    assert len(sc.expected.split()) >= 40
    assert sc.effects and sc.firm.understanding is not None and sc.firm.engagement is not None


def _per_seed(periods: pd.DataFrame, strategy: str, column: str, first: int, last: int):
    """Per seed: the mean of ``column`` over periods ``first`` .. ``last`` (periods alive)."""
    rows = periods[(periods["strategy"] == strategy) & periods["period"].between(first, last)]
    return rows[rows["alive"]].groupby("seed")[column].mean()


def _held(periods: pd.DataFrame, period: int, *decisions: str) -> pd.DataFrame:
    """Per seed (rows) and strategy (columns): 1 where every one of ``decisions`` is held at
    ``period``, else 0 (from the periods table's decision columns)."""
    rows = periods[periods["period"] == period]
    rows = rows.assign(held=(rows[decision_names(decisions)] == 1).all(axis=1).astype(float))
    return rows.pivot(index="seed", columns="strategy", values="held")


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean of a - b over the seeds both have, with its 95% interval."""
    return mean_ci((a - b).dropna())


def _flip_gains(name: str, decision: str, seeds: int) -> np.ndarray:
    """Per seed: what switching ``decision`` on, alone, from the starting set-up changes in
    the owning department's landscape efficiency and in the firm's landscape performance."""
    sc = load_scenario(name)
    bit = sc.decisions.index(decision)
    dept = next(i for i, d in enumerate(sc.departments) if decision in d.decisions)
    gains = []
    for seed in range(seeds):
        market = Market(scenario=sc, strategies=["aligned"], rng=seed)
        s = market.start_config
        t = s ^ (1 << bit)
        table, performance = market.department_efficiency, market.landscape_performance
        gains.append((table[t, dept] - table[s, dept], performance[t] - performance[s]))
    return np.array(gains)


# ---- the restaurant: kitchen technology, understood or imposed


@pytest.fixture(scope="module")
def restaurant():
    sc = load_scenario("restaurant_kitchen_tech")
    return sc, run_experiment(sc, seeds=SEEDS)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (1) as written: about 0.9, the interval above 0.85; the model shows 0.84 "
    "to 0.86 across departments at the shift, because leavers take their understanding with "
    "them (docs/scenarios.md)",
)
def test_restaurant_explaining_builds_understanding_and_silence_loses_it(restaurant):
    sc, result = restaurant  # as written before the first run (commit 1babc19)
    shift = sc.split
    at_shift = result.periods[result.periods["period"] == shift]
    for dept in sc.departments:
        column = f"understanding_{dept.name}"
        explained = at_shift[at_shift["strategy"] == "aligned_explained"][column]
        silent = at_shift[at_shift["strategy"] == "aligned"][column]
        assert mean_ci(explained)[1] > 0.85  # about 0.9: the interval excludes 0.85
        assert mean_ci(silent)[2] < 0.4  # below the initial 0.4: excludes it


def test_restaurant_understanding_as_the_model_shows(restaurant):
    """Expected: about 0.9 at the shift (the level where explaining balances forgetting) and
    below 0.4 without explaining. The model shows 0.84 to 0.86: leavers take their
    understanding with them, which the expectation counted as 'a little'."""
    sc, result = restaurant
    # both bounds set after the run (commit 1babc19 asked for above 0.85 and below 0.4)
    at_shift = result.periods[result.periods["period"] == sc.split]
    no_leavers = 0.15 / (1 - 0.98 * 0.85)  # the level with forgetting and explaining only
    forgetting_only = 0.4 * 0.98**sc.split
    for dept in sc.departments:
        column = f"understanding_{dept.name}"
        explained = at_shift[at_shift["strategy"] == "aligned_explained"][column]
        _, low, high = mean_ci(explained)
        assert low > 0.8 and high < no_leavers  # excludes 0.8 and the level without leavers
        silent = at_shift[at_shift["strategy"] == "aligned"][column]
        assert mean_ci(silent)[2] < forgetting_only  # leavers take it too: excludes 0.19


def test_restaurant_the_kitchen_embraces_a_change_it_understands(restaurant):
    sc, result = restaurant
    periods = result.periods
    engagement = {
        s: _per_seed(periods, s, "engagement_kitchen", 1, sc.horizon)
        for s in ("efficiency_only", "aligned", "aligned_explained")
    }
    mean, low, _ = _paired(engagement["aligned_explained"], engagement["aligned"])
    assert low > 0, mean  # explained above aligned over the ten years: excludes 0
    mean, low, _ = _paired(engagement["aligned"], engagement["efficiency_only"])
    assert low > 0, mean  # aligned above efficiency-only over the ten years: excludes 0


def test_restaurant_after_the_shift_the_aligned_kitchen_is_less_engaged_found_after_the_run(
    restaurant,
):
    """Not expected, found after the run: after the shift the aligned kitchen, changing for a
    strategy it no longer understands, is less engaged than the settled efficiency-only one."""
    sc, result = restaurant
    periods = result.periods
    after = {
        s: _per_seed(periods, s, "engagement_kitchen", sc.split, sc.horizon)
        for s in ("efficiency_only", "aligned")
    }
    mean, _, high = _paired(after["aligned"], after["efficiency_only"])
    assert high < 0, mean  # excludes 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (3) as written: most restaurants of every strategy have the combi ovens at "
    "month 35; the model shows 56.5% [49.6, 63.2] of aligned and 56% [49, 63] of explained "
    "restaurants: from a set-up tuned to cooking without them the ovens alone rarely pay the "
    "whole restaurant (docs/scenarios.md)",
)
def test_restaurant_every_restaurant_installs_the_combi_ovens(restaurant):
    sc, result = restaurant  # as written before the first run (commit 1babc19)
    held = _held(result.periods, sc.split - 1, "combi_steam_ovens")  # (the decision_ column)
    for strategy in held.columns:
        share, low, _ = share_ci(held[strategy] == 1)
        assert low > 0.5, f"{strategy}: {share:.0%} have the ovens"  # most: excludes a half


def test_restaurant_the_aligned_restaurants_install_the_technology_as_the_model_shows(
    restaurant,
):
    """Expected: most restaurants of every strategy have the combi ovens by period 35. The
    model shows it for the efficiency-only restaurant only; the aligned ones install them after
    the shift, when the ovens make the wider menu possible and guests taste the difference."""
    sc, result = restaurant
    before = _held(result.periods, sc.split - 1, "combi_steam_ovens")
    end = _held(result.periods, sc.horizon, "combi_steam_ovens")
    assert share_ci(before["efficiency_only"] == 1)[1] > 0.5  # most: excludes a half
    mean, low, _ = mean_ci(before["efficiency_only"] - before["aligned"])
    assert low > 0, mean  # more silo kitchens than aligned ones before the shift: excludes 0
    for strategy in ("aligned", "aligned_explained"):
        mean, low, _ = mean_ci(end[strategy] - before[strategy])
        assert low > 0, (strategy, mean)  # installed after the shift: excludes 0
        assert share_ci(end[strategy] == 1)[1] > 0.8  # by the end: excludes 0.8 (set after the run)
    # why: from the starting set-up, tuned to cooking without them, the ovens alone raise the
    # kitchen's efficiency by less than their 0.10, and the restaurant's performance (what the
    # owner weighs) in fewer markets than the kitchen's efficiency (what a silo kitchen weighs)
    gains = _flip_gains("restaurant_kitchen_tech", "combi_steam_ovens", SEEDS)
    assert mean_ci(gains[:, 0])[2] < 0.10  # excludes the designed 0.10
    assert share_ci(gains[:, 1] > 0)[2] < 0.6  # about half at most: excludes 0.6 (after the run)
    mean, low, _ = mean_ci((gains[:, 0] > 0).astype(float) - (gains[:, 1] > 0))
    assert low > 0, mean  # excludes 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (4) as written: the explained kitchen more efficient in months 6 to 35; "
    "the model shows +0.001 [-0.006, 0.008]: both kitchens examine 4 of their 5 alternatives "
    "and keep their experience (docs/scenarios.md)",
)
def test_restaurant_the_explained_kitchen_makes_more_of_the_technology(restaurant):
    sc, result = restaurant  # as written before the first run (commit 1babc19)
    first = sc.split - sc.metrics.window
    before = {
        s: _per_seed(result.periods, s, "efficiency_kitchen", first, sc.split - 1)
        for s in ("aligned", "aligned_explained")
    }
    mean, low, _ = _paired(before["aligned_explained"], before["aligned"])
    assert low > 0, mean  # excludes 0


def test_restaurant_the_explained_kitchen_is_not_more_efficient_as_the_model_shows(restaurant):
    """Expected: the explained kitchen more efficient before the shift. The model shows no
    difference within 0.02 (a fifth of the ovens' designed effect; a margin set after the run,
    when the test written before it had failed): both kitchens are engaged enough to examine 4
    of their 5 alternatives, and lose so few staff that their experience stays far beyond the 6
    months learning by doing needs."""
    sc, result = restaurant
    first = sc.split - sc.metrics.window
    before = {
        s: _per_seed(result.periods, s, "efficiency_kitchen", first, sc.split - 1)
        for s in ("aligned", "aligned_explained")
    }
    difference = (before["aligned_explained"] - before["aligned"]).dropna()
    test = equivalence(difference, margin=0.02)  # margin set after the run
    assert test.equivalent, test


def test_restaurant_explaining_turns_the_efficiency_towards_the_guests(restaurant):
    sc, result = restaurant
    runs = result.runs
    for a, b in (("aligned_explained", "aligned"), ("aligned", "efficiency_only")):
        diff = paired_difference(runs, "market_value_post_shift", a, b)
        assert diff.ci_low > 0, str(diff)  # excludes 0
    held = _held(result.periods, sc.horizon, "seasonal_menu")
    mean, low, _ = mean_ci(held["aligned_explained"] - held["aligned"])
    assert low > 0, mean  # more explained restaurants serve the seasonal menu: excludes 0


def test_restaurant_explaining_pays_for_its_briefings(restaurant):
    runs = restaurant[1].runs
    for a, b in (("aligned_explained", "aligned"), ("aligned", "efficiency_only")):
        diff = paired_difference(runs, "profit_post_shift", a, b)
        assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0


# ---- the metal works: automation with or without retraining


@pytest.fixture(scope="module")
def works():
    sc = load_scenario("manufacturing_automation")
    return sc, run_experiment(sc, seeds=SEEDS)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (1)-(2) as written: aligned above efficiency-only in shop-floor engagement "
    "over the twelve years; the model shows +0.004 [-0.011, 0.019]: the two swap places at the "
    "customer's move (docs/scenarios.md)",
)
def test_works_retraining_keeps_the_shop_floor_engaged_and_its_people(works):
    sc, result = works  # as written before the first run (commit 1babc19)
    engagement = {
        s: _per_seed(result.periods, s, "engagement_production", 1, sc.horizon)
        for s in ("efficiency_only", "aligned", "retraining")
    }
    mean, low, _ = _paired(engagement["retraining"], engagement["aligned"])
    assert low > 0, mean  # excludes 0
    mean, low, _ = _paired(engagement["aligned"], engagement["efficiency_only"])
    assert low > 0, mean  # excludes 0
    # staff leaving per year, 12 x turnover x (1 - engagement): the same order, reversed
    turnover = sc.firm.engagement.turnover
    leaving = {s: 12 * turnover * (1 - e) for s, e in engagement.items()}
    assert _paired(leaving["efficiency_only"], leaving["retraining"])[1] > 0  # excludes 0


def test_works_retraining_keeps_the_shop_floor_engaged_as_the_model_shows(works):
    """Expected: engagement retraining > aligned > efficiency-only over the twelve years, and
    staff leaving lowest with retraining and highest in the efficiency-only works. The model
    shows retraining above both (and its leavers fewest), but aligned against efficiency-only
    an interval that includes 0 over the twelve years: the aligned works is above only before
    the customer's move and below it after, when its shop floor changes for a strategy almost
    nobody on it understands any more, while the silo floor settles."""
    sc, result = works
    periods = result.periods

    def engagement(first: int, last: int) -> dict[str, pd.Series]:
        return {
            s: _per_seed(periods, s, "engagement_production", first, last)
            for s in ("efficiency_only", "aligned", "retraining")
        }

    whole = engagement(1, sc.horizon)
    for other in ("aligned", "efficiency_only"):
        mean, low, _ = _paired(whole["retraining"], whole[other])
        assert low > 0, (other, mean)  # excludes 0
    mean, low, high = _paired(whole["aligned"], whole["efficiency_only"])
    assert low < 0 < high, mean  # over the twelve years: an interval that includes 0
    before, after = engagement(1, sc.split - 1), engagement(sc.split, sc.horizon)
    mean, low, _ = _paired(before["aligned"], before["efficiency_only"])
    assert low > 0, mean  # before the move: excludes 0
    mean, _, high = _paired(after["aligned"], after["efficiency_only"])
    assert high < 0, mean  # after the move, the other way round: excludes 0
    # staff leaving per year, 12 x turnover x (1 - engagement): fewest with retraining
    turnover = sc.firm.engagement.turnover
    leaving = {s: 12 * turnover * (1 - e) for s, e in whole.items()}
    for other in ("aligned", "efficiency_only"):
        assert _paired(leaving[other], leaving["retraining"])[1] > 0  # excludes 0
    # efficiency-only against aligned (expected: more leavers) is reported, not claimed: it is
    # -12 x turnover times the engagement difference above, whose interval includes 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (3) as written: turnover costs the efficiency-only works production "
    "efficiency, more than with retraining; the model shows a loss of 0.002 [-0.003, 0.007] "
    "there: at about 1% of leavers a month experience stays far beyond what learning by doing "
    "needs (docs/scenarios.md)",
)
def test_works_turnover_costs_the_efficiency_only_works_more_practice(works):
    sc, result = works  # as written before the first run (commit 1babc19)
    steady = load_scenario("manufacturing_automation", {"firm.engagement.turnover": 0.0})
    kept = run_experiment(steady, strategies=["efficiency_only", "retraining"], seeds=SEEDS)
    loss = {
        s: _per_seed(kept.periods, s, "efficiency_production", sc.split, sc.horizon)
        - _per_seed(result.periods, s, "efficiency_production", sc.split, sc.horizon)
        for s in ("efficiency_only", "retraining")
    }
    mean, low, _ = mean_ci(loss["efficiency_only"])
    assert low > 0, mean  # turnover costs the silo works production efficiency: excludes 0
    mean, low, _ = _paired(loss["efficiency_only"], loss["retraining"])
    assert low > 0, mean  # more than it costs the works with retraining: excludes 0


def test_works_turnover_costs_little_practice_as_the_model_shows(works):
    """Expected: turnover costs production efficiency through lost experience, more in the
    efficiency-only works than with retraining. The model shows a loss within 0.01 in both and
    no difference within 0.01: at about 1% of staff leaving a month, experience settles far
    beyond the 18 months learning by doing needs; what costs practice is changing the set-up.
    The margin, 0.01 of efficiency, was set after the run, when the test written before it had
    failed. Leavers also take their understanding, so with retraining the arms differ in alpha
    x understanding too: this compares turnover with all it does, not lost experience alone."""
    sc, result = works
    steady = load_scenario("manufacturing_automation", {"firm.engagement.turnover": 0.0})
    kept = run_experiment(steady, strategies=["efficiency_only", "retraining"], seeds=SEEDS)
    loss = {
        s: _per_seed(kept.periods, s, "efficiency_production", sc.split, sc.horizon)
        - _per_seed(result.periods, s, "efficiency_production", sc.split, sc.horizon)
        for s in ("efficiency_only", "retraining")
    }
    # all three margins, 0.01 of efficiency, set after the run
    for strategy, values in loss.items():
        test = equivalence(values.dropna(), margin=0.01)
        assert test.equivalent, (strategy, test)
    test = equivalence((loss["efficiency_only"] - loss["retraining"]).dropna(), margin=0.01)
    assert test.equivalent, test


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (4) as written: before the customer's move more aligned works than "
    "efficiency-only ones run the robot cell with in-house programming; the model shows it only "
    "after the move: from a shop floor tuned to manual welding the cell alone rarely pays "
    "(docs/scenarios.md)",
)
def test_works_aligned_works_program_their_robots_in_house(works):
    sc, result = works  # as written before the first run (commit 1babc19)
    pair = _held(result.periods, sc.split - 1, "robotic_welding_cell", "in_house_cell_programming")
    mean, low, _ = mean_ci(pair["aligned"] - pair["efficiency_only"])
    assert low > 0, mean  # excludes 0


def test_works_aligned_works_pair_robots_with_in_house_programming_as_the_model_shows(works):
    """Expected: before the customer's move more aligned works than efficiency-only ones run
    the robot cell with in-house programming. The model shows it only after the move (when the
    pair also wins custom work); before it, fewer aligned works than silo ones have the robot
    at all: from a shop floor tuned to manual welding the cell alone rarely pays."""
    sc, result = works
    robot = _held(result.periods, sc.split - 1, "robotic_welding_cell")
    mean, low, _ = mean_ci(robot["efficiency_only"] - robot["aligned"])
    assert low > 0, mean  # the silo floor installs it more often before the move: excludes 0
    pair = ("robotic_welding_cell", "in_house_cell_programming")
    end = _held(result.periods, sc.horizon, *pair)
    for strategy in ("aligned", "retraining"):
        mean, low, _ = mean_ci(end[strategy] - end["efficiency_only"])
        assert low > 0, (strategy, mean)  # excludes 0
    # why: switched on alone from the starting set-up, the cell lowers the floor's landscape
    # efficiency on average and raises the works' performance in a minority of markets
    gains = _flip_gains("manufacturing_automation", "robotic_welding_cell", SEEDS)
    assert mean_ci(gains[:, 0])[2] < 0  # excludes 0
    assert share_ci(gains[:, 1] > 0)[2] < 0.5  # excludes a half


def test_works_the_twins_story_holds(works):
    runs = works[1].runs
    eff = runs[runs["strategy"] == "efficiency_only"].dropna(subset=["efficiency_post_shift"])
    _, low, _ = mean_ci(eff["efficiency_post_shift"] - eff["efficiency_pre_shift"])
    assert low > -0.01  # efficiency kept: excludes a fall of 0.01 or more
    _, _, high = mean_ci(eff["market_value_post_shift"] - eff["market_value_pre_shift"])
    assert high < 0  # excludes 0
    _, _, high = mean_ci(eff["profit_post_shift"] - eff["profit_pre_shift"])
    assert high < 0  # excludes 0
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (6) as written: retraining earns more than aligned after the move, net of "
    "the programme; the model shows +1.26 [-0.49, 3.01]: its gain before the cost is about what "
    "the programme costs, 4 k€ a month (docs/scenarios.md)",
)
def test_works_retraining_pays_for_itself(works):
    runs = works[1].runs  # as written before the first run (commit 1babc19)
    for metric in ("market_value_post_shift", "profit_post_shift"):
        diff = paired_difference(runs, metric, "retraining", "aligned")
        assert diff.ci_low > 0, str(diff)  # excludes 0


def test_works_retraining_wins_customers_and_its_net_gain_includes_0_as_the_model_shows(works):
    """Expected: higher market value and profit net of the programme after the move. The model
    shows the market value, and a profit gain before the programme's cost (4 k€ a month) that
    excludes 0; net of the cost, an interval that includes 0 (no equivalence is claimed)."""
    sc, result = works
    runs = result.runs
    diff = paired_difference(runs, "market_value_post_shift", "retraining", "aligned")
    assert diff.ci_low > 0, str(diff)  # excludes 0
    cost = sc.costs.communication * sc.all_strategies["retraining"].communication
    gross = paired_difference(
        runs.assign(
            profit_post_shift=runs["profit_post_shift"]
            + np.where(runs["strategy"] == "retraining", cost, 0.0)
        ),
        "profit_post_shift",
        "retraining",
        "aligned",
    )
    assert gross.ci_low > 0, str(gross)  # before the programme's cost: excludes 0
    net = paired_difference(runs, "profit_post_shift", "retraining", "aligned")
    assert net.ci_low < 0 < net.ci_high, str(net)  # net of its cost: an interval that includes 0


# ---- built in by the model's structure (issue 19; docs/scenarios.md, "what the stories build in")


@pytest.mark.parametrize(
    ("name", "third"),
    [("restaurant_kitchen_tech", "aligned_explained"), ("manufacturing_automation", "retraining")],
)
def test_without_understanding_the_third_strategy_is_aligned_less_its_cost(name, third):
    """Communication acts only through understanding: without `[firm.understanding]` the
    third strategy, on the aligned firm's random stream, earns exactly the aligned firm's
    profit less what it pays for communicating, in every period of every market (from period
    1: period 0 is the start, before anything is paid)."""
    sc = load_scenario(name, {"firm.understanding": None})
    cost = sc.costs.communication * sc.all_strategies[third].communication
    runs = [(sc, s, seed) for s in ("aligned", third) for seed in range(20)]
    done = simulate(runs, stream="aligned")
    for seed in range(20):
        aligned, other = done.frame(seed), done.frame(20 + seed)
        alive = aligned["alive"].to_numpy() & other["alive"].to_numpy()
        alive[0] = False
        gap = (other["profit"] - aligned["profit"]).to_numpy()[alive]
        np.testing.assert_allclose(gap, -cost, atol=1e-9)
