"""A population that finds it (issue 23, item 5): with strategies that learn, does the share of
aligned firms rise in a turbulent market and fall in a stable one?

EXPECTED, written before the first run (kept as written; a failed expectation is marked
xfail with the measured reason, never rewritten):

Set-up: the canteen (scenarios/canteen_stable.toml) with `[adaptation]` on: strategies
`efficiency_only` and `aligned`, each firm's first strategy drawn at random, review every 12
periods, recency 0.5, aspiration speed 0.5, temperature 1 k€/month. The stable arm is the
canteen as shipped (no shift); the turbulent arm differs in one setting only: a turbulence
shift with probability 0.1 per period from period 1 on (customers flip between quick cheap
lunches and healthy bowls about once every ten months). 200 seeds each; one learning firm per
market (the firms do not compete: every seed is its own market).

E1. The share of firms following `aligned` at the horizon is higher in the turbulent canteen
    than in the stable one (difference > 0, its 95% interval above 0).
E2. In the stable canteen that share is below one half (95% interval below 0.5): alignment
    costs more there than it earns.
E3. In the turbulent canteen that share is above one half (95% interval above 0.5).
E4 (the mechanism removed): with choices made at random (temperature 1e6: the attractions do
    not matter), the share is within 0.5 +/- 0.1 in both markets (equivalence, TOST at 5%).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiment import run_experiment
from sim.scenario import load_scenario
from sim.stats import equivalence, share_ci

SEEDS = 200
LEARNING = {
    "adaptation": {
        "strategies": ["efficiency_only", "aligned"],
        "start": "random",
        "review": 12,
        "recency": 0.5,
        "aspiration_speed": 0.5,
        "temperature": 1.0,
    }
}
TURBULENCE = {"market.shifts": [{"kind": "turbulence", "probability": 0.1, "start": 1}]}


def _aligned_at_end(overrides: dict) -> np.ndarray:
    scenario = load_scenario("canteen_stable", overrides)
    runs = run_experiment(scenario, strategies=["efficiency_only"], seeds=SEEDS, periods=False).runs
    return (runs["adopted_final"] == "aligned").to_numpy()


@pytest.fixture(scope="module")
def shares() -> dict[str, np.ndarray]:
    random_choice = {"adaptation": {**LEARNING["adaptation"], "temperature": 1e6}}
    return {
        "stable": _aligned_at_end(LEARNING),
        "turbulent": _aligned_at_end({**LEARNING, **TURBULENCE}),
        "stable_random": _aligned_at_end(random_choice),
        "turbulent_random": _aligned_at_end({**random_choice, **TURBULENCE}),
    }


def _difference_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of two independent shares with a Wald 95% interval (independent seeds'
    markets: the arms share seeds but not the turbulence draws, so they are not paired)."""
    pa, pb = a.mean(), b.mean()
    se = np.sqrt(pa * (1 - pa) / a.size + pb * (1 - pb) / b.size)
    return pa - pb, pa - pb - 1.96 * se, pa - pb + 1.96 * se


MEASURED = (
    "measured at the first run (200 seeds): stable 0.590 [0.521, 0.656] end aligned, turbulent "
    "0.165 [0.120, 0.223]; random choice: stable 0.610, turbulent 0.260. In this canteen "
    "(customers' tastes are 20% of performance) alignment loses money in both markets, more "
    "under turbulence (aligned - efficiency_only profit after the split: stable -1.63 "
    "[-1.83, -1.44], turbulent -2.25 [-2.41, -2.08] k€/month, 200 paired seeds): turbulence "
    "does not make alignment pay here, it makes firms dissatisfied, so they review and leave "
    "the strategy that earns less; in the stable market few reviews are dissatisfied and most "
    "firms keep the strategy they were given. "
)


@pytest.mark.xfail(strict=True, reason=MEASURED + "E1 expected the opposite direction.")
def test_e1_turbulence_raises_the_share_of_aligned_firms(shares):
    diff, low, high = _difference_ci(shares["turbulent"], shares["stable"])
    assert low > 0, f"turbulent - stable = {diff:.3f} [{low:.3f}, {high:.3f}]"


@pytest.mark.xfail(strict=True, reason=MEASURED + "E2: inertia, not learning, sets the share.")
def test_e2_in_a_stable_market_fewer_than_half_end_aligned(shares):
    mean, low, high = share_ci(shares["stable"])
    assert high < 0.5, f"stable: {mean:.3f} [{low:.3f}, {high:.3f}]"


@pytest.mark.xfail(strict=True, reason=MEASURED + "E3: alignment does not pay in this market.")
def test_e3_in_a_turbulent_market_more_than_half_end_aligned(shares):
    mean, low, high = share_ci(shares["turbulent"])
    assert low > 0.5, f"turbulent: {mean:.3f} [{low:.3f}, {high:.3f}]"


@pytest.mark.xfail(
    strict=True,
    reason=MEASURED + "E4 removed the attractions only: satisficing (keep a strategy while it "
    "earns its aspiration, leave it when it does not) is itself a learning rule (win-stay, "
    "lose-shift), so random choices still drift away from the strategy that earns less.",
)
@pytest.mark.parametrize("market", ["stable_random", "turbulent_random"])
def test_e4_without_reinforcement_the_share_is_a_coin_toss(shares, market):
    flags = shares[market].astype(float)
    result = equivalence(flags - 0.5, margin=0.1)
    assert result.p_value < 0.05, f"{market}: {flags.mean():.3f}, {result}"


# ---- written after the first run (post hoc), labelled so ----------------------------------


def test_post_hoc_learning_moves_firms_towards_the_strategy_that_pays():
    """POST HOC (written after E1-E4 failed): learning follows money, not turbulence. In the
    bakery, where aligned earns about 10 k€/month more after the shift, more than half of the
    learning firms end aligned; in the turbulent canteen, where it earns 2.2 less, fewer than
    half do; with learning off, each firm keeps the strategy it is given (the control)."""
    bakery = load_scenario("bakery_gluten_free", LEARNING)
    runs = run_experiment(bakery, strategies=["efficiency_only"], seeds=SEEDS, periods=False).runs
    mean, low, _ = share_ci(runs["adopted_final"] == "aligned")
    assert low > 0.5, f"bakery: {mean:.3f}"
    turbulent = _aligned_at_end({**LEARNING, **TURBULENCE})
    mean, _, high = share_ci(turbulent)
    assert high < 0.5, f"turbulent canteen: {mean:.3f}"
