"""A population that imitates (issue 23, items 2b and 5): with strategies that learn and copy
better-earning rivals, does the share of aligned firms rise in a turbulent market and fall in
a stable one?

EXPECTED, written before the first run (kept as written; a failed expectation is marked
xfail with the measured reason, never rewritten):

Set-up: the canteen (scenarios/canteen_stable.toml) as a market of ten competing firms
(`[competition]` firms: efficiency_only 5, aligned 5; the shipped choice model's defaults),
`[adaptation]` as in tests/test_adaptation_population.py (strategies `efficiency_only` and
`aligned`, each firm's first strategy drawn at random, review every 12 periods, recency 0.5,
aspiration speed 0.5, temperature 1 k€/month) plus imitation: at each review a firm looks at a
rival drawn at random with chance 0.5 (`imitation = 0.5`) and sees its profit exactly
(`imitation_noise = 0`). The stable arm is that market as shipped (no shift); the turbulent arm
differs in one setting only: a turbulence shift with probability 0.1 per period from period 1
on. 200 seeds (markets) each. The unit is a market: its share of aligned firms at the horizon
is over the firms open at the horizon (`adopted_final`), each market counting once.

E1. The share of aligned firms at the horizon is higher in the turbulent market than in the
    stable one (difference of means over markets > 0, Welch 95% interval above 0).
E2 (imitation does something): the firms of a market agree more with imitation than without:
    the share of a market's open firms following its majority strategy at the horizon is higher
    with imitation 0.5 than with 0 (everything else equal, paired by seed; 95% t interval of
    the paired difference above 0), in each market.
E3 (imitation follows money): in the stable market, where an aligned firm alone earns less
    (tests/test_adaptation_population.py: -1.63 k€/month after the split), imitation lowers the
    share of aligned firms at the horizon (imitation 0.5 minus 0, paired by seed, interval
    below 0).
E4 (the mechanism removed, a negative control): when the look carries no information
    (`imitation_noise` = 1e6 k€/month: a firm copies a rival of another strategy half the time
    whatever it earned) imitation no longer moves the share: imitation with noise minus without
    imitation is within +/- 0.05 (paired by seed, TOST at 5%) in each market.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.competition import run_competition
from sim.scenario import load_scenario
from sim.stats import equivalence, mean_ci

SEEDS = 200
LEARNING = {
    "strategies": ["efficiency_only", "aligned"],
    "start": "random",
    "review": 12,
    "recency": 0.5,
    "aspiration_speed": 0.5,
    "temperature": 1.0,
}
MARKET = {"competition": {"firms": {"efficiency_only": 5, "aligned": 5}}}
TURBULENCE = {"market.shifts": [{"kind": "turbulence", "probability": 0.1, "start": 1}]}
ARMS = {
    "off": {"imitation": 0.0},
    "on": {"imitation": 0.5},
    "noise": {"imitation": 0.5, "imitation_noise": 1e6},
}

pytestmark = pytest.mark.slow  # 6 arms x 200 markets of 10 firms


def _per_market(overrides: dict) -> pd.DataFrame:
    """Per market (seed): the share of open firms aligned at the horizon and the share that
    follows the market's majority strategy."""
    scenario = load_scenario("canteen_stable", {**MARKET, **overrides})
    runs = run_competition(scenario, seeds=SEEDS, periods=False).runs
    runs = runs[~runs["entrant"] & (runs["survived"] > 0)]
    aligned = (runs["adopted_final"] == "aligned").groupby(runs["seed"]).mean()
    majority = np.maximum(aligned, 1 - aligned)
    return pd.DataFrame({"aligned": aligned, "majority": majority})


@pytest.fixture(scope="module")
def markets() -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for market, shifts in (("stable", {}), ("turbulent", TURBULENCE)):
        for arm, imitation in ARMS.items():
            out[(market, arm)] = _per_market({**shifts, "adaptation": {**LEARNING, **imitation}})
    return out


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean of the paired differences a - b over the seeds both have, with a t interval."""
    joined = pd.concat([a, b], axis=1, join="inner")
    return mean_ci(joined.iloc[:, 0] - joined.iloc[:, 1])


def _welch(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Difference of two independent means with a Welch (normal) 95% interval."""
    diff = a.mean() - b.mean()
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return diff, diff - 1.96 * se, diff + 1.96 * se


MEASURED = (
    "measured at the first run (200 markets of 10 firms each; share of open firms aligned at "
    "the horizon, mean over markets [95% t interval]): stable market, imitation off 0.485 "
    "[0.457, 0.513], on 0.081 [0.062, 0.099], on with an uninformative look 0.189 [0.162, "
    "0.216]; turbulent market 0.240 [0.212, 0.268], 0.048 [0.037, 0.060], 0.115 [0.095, "
    "0.135]. Imitation spreads efficiency-only (the strategy a lone firm earns more with in "
    "this canteen, tests/test_adaptation_population.py), further than learning alone, and "
    "makes markets agree (majority share +0.27 [0.25, 0.30] stable, +0.16 [0.14, 0.19] "
    "turbulent, paired). "
)


@pytest.mark.xfail(
    strict=True,
    reason=MEASURED + "E1: turbulent minus stable with imitation = -0.032 [-0.053, -0.011]: "
    "turbulence does not make alignment pay here, so imitation (which copies what earns more) "
    "does not spread it; as for learning alone (tests/test_adaptation_population.py).",
)
def test_e1_turbulence_raises_the_share_of_aligned_firms(markets):
    diff, low, high = _welch(
        markets[("turbulent", "on")]["aligned"], markets[("stable", "on")]["aligned"]
    )
    assert low > 0, f"turbulent - stable = {diff:.3f} [{low:.3f}, {high:.3f}]"


@pytest.mark.parametrize("market", ["stable", "turbulent"])
def test_e2_imitation_makes_a_market_agree(markets, market):
    diff, low, high = _paired(
        markets[(market, "on")]["majority"], markets[(market, "off")]["majority"]
    )
    assert low > 0, f"{market}: on - off = {diff:.3f} [{low:.3f}, {high:.3f}]"


def test_e3_in_a_stable_market_imitation_lowers_the_share_of_aligned_firms(markets):
    diff, low, high = _paired(
        markets[("stable", "on")]["aligned"], markets[("stable", "off")]["aligned"]
    )
    assert high < 0, f"stable: on - off = {diff:.3f} [{low:.3f}, {high:.3f}]"


@pytest.mark.xfail(
    strict=True,
    reason=MEASURED + "E4: an uninformative look still lowers the share (noise minus off: "
    "-0.296 [-0.323, -0.269] stable, -0.125 [-0.150, -0.100] turbulent): copying a random "
    "rival's strategy is exploration, and the satisficing rule (win-stay, lose-shift) then "
    "moves a firm that tried the strategy that earns less away from it. The control removed "
    "the information in the look, not the exploration imitation brings, so it is not a null.",
)
@pytest.mark.parametrize("market", ["stable", "turbulent"])
def test_e4_an_uninformative_look_does_not_move_the_share(markets, market):
    joined = pd.concat(
        [markets[(market, "noise")]["aligned"], markets[(market, "off")]["aligned"]],
        axis=1,
        join="inner",
    )
    result = equivalence(joined.iloc[:, 0] - joined.iloc[:, 1], margin=0.05)
    assert result.p_value < 0.05, f"{market}: {result}"


# ---- written after the first run (post hoc), labelled so ----------------------------------


@pytest.mark.parametrize("market", ["stable", "turbulent"])
def test_post_hoc_the_information_in_the_look_moves_firms_further(markets, market):
    """POST HOC (written after E4 failed): imitation that sees profits exactly lowers the share
    of aligned firms (the strategy that earns less here) more than imitation whose look carries
    no information (imitation_noise 1e6, the same chance to look): exact minus noisy, paired
    by seed, interval below 0."""
    diff, low, high = _paired(
        markets[(market, "on")]["aligned"], markets[(market, "noise")]["aligned"]
    )
    assert high < 0, f"{market}: exact - noisy = {diff:.3f} [{low:.3f}, {high:.3f}]"
