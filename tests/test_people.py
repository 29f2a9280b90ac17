"""The people mechanisms of the engine: alternatives examined, strategic understanding and
engagement (docs/ODD.md, sections 7.8, 7.15 and 7.16). Each is off by default; off, the numbers
are those of the model without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiment import simulate
from sim.model import Market
from sim.scenario import load_scenario
from sim.scenario.errors import ScenarioError

BAKERY = "bakery_gluten_free"


def _firm(overrides: dict, *, seed: int = 0, strategy: str = "aligned", trace: bool = False):
    sc = load_scenario(BAKERY, {"horizon": 80, "firm.initial_cash": 1e6, **overrides})
    market = Market(scenario=sc, strategies=[strategy], rng=seed)
    firm = market.firms[0]
    if trace:
        firm.trace()
    market.run()
    return firm


def _examined(firm) -> dict[tuple[int, int], int]:
    """One-bit alternatives each department examined per period (from the trace)."""
    frame = firm.trace_frame()
    flips = frame[(frame["step"] == "department") & (frame["alternative"] > 0)]
    n_local = {d.index: len(d.decisions) for d in firm.departments}
    flips = flips[flips["alternative"] <= flips["department"].map(n_local)]  # not the long jump
    return flips.groupby(["period", "department"]).size().to_dict()


# ---------------------------------------------------------------- alternatives examined
@pytest.mark.parametrize("k", [1, 2])
def test_a_department_examines_k_random_alternatives_per_period(k):
    firm = _firm(
        {"strategies.aligned.alternatives": k, "strategies.aligned.p_jump": 0.0}, trace=True
    )
    counts = _examined(firm)
    assert len(counts) == 80 * 4  # every department, every period
    assert set(counts.values()) == {k}
    frame = firm.trace_frame()
    picked = frame[(frame["step"] == "department") & (frame["alternative"] > 0)]
    # the draw changes from period to period: department 0 examines different flips
    assert picked[picked["department"] == 0]["alternative"].nunique() > 1


def test_examining_all_alternatives_is_the_default():
    n_max = 4  # the bakery's largest department
    everything = _firm({"strategies.aligned.alternatives": n_max})
    default = _firm({})
    limited = _firm({"strategies.aligned.alternatives": 1})
    np.testing.assert_array_equal(everything.log.ints["config"], default.log.ints["config"])
    assert not np.array_equal(limited.log.ints["config"], default.log.ints["config"])


def test_people_mechanisms_do_not_depend_on_the_batch():
    sc = load_scenario(
        BAKERY,
        {
            "horizon": 70,
            "strategies.aligned.alternatives": 1,
            "firm.engagement.initial": 0.7,
            "firm.engagement.turnover": 0.1,
            "firm.understanding.initial": 0.5,
            "strategies.aligned.communication": 0.1,
        },
    )
    runs = [(sc, strategy, seed) for strategy in ("aligned", "efficiency_only") for seed in (3, 4)]
    reference = simulate(runs)
    for batch_rows in (1, 3):
        again = simulate(runs, batch_rows=batch_rows)
        for (row, frame), (row2, frame2) in zip(reference, again, strict=True):
            assert row == row2 or pd.DataFrame([row]).equals(pd.DataFrame([row2]))
            pd.testing.assert_frame_equal(frame, frame2)
    assert "engagement_shop" in reference[0][1] and "understanding_shop" in reference[0][1]


# ---------------------------------------------------------------- strategic understanding
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    alpha=st.floats(0.05, 1.0),
    seed=st.integers(0, 50),
    mode=st.sampled_from(["decentralized", "sequential"]),
)
def test_zero_understanding_makes_an_aligned_department_act_as_alpha_zero(alpha, seed, mode):
    common = {
        "strategies.aligned.coordination": mode,
        "strategies.aligned.sensing": 0.3,
        "firm.learning.gain": 0.3,
    }
    blind = _firm(
        {**common, "strategies.aligned.alpha": alpha, "firm.understanding.initial": 0.0},
        seed=seed,
    )
    silo = _firm({**common, "strategies.aligned.alpha": 0.0}, seed=seed)
    np.testing.assert_array_equal(blind.log.ints["config"], silo.log.ints["config"])
    assert all(d.understanding == 0.0 for d in blind.departments)


def test_full_understanding_is_the_model_without_the_mechanism():
    on = _firm({"firm.understanding.initial": 1.0})
    off = _firm({})
    np.testing.assert_array_equal(on.log.ints["config"], off.log.ints["config"])
    np.testing.assert_array_equal(on.log.floats["profit"], off.log.floats["profit"])


def test_communication_closes_the_gap_and_costs_money():
    rate, forgetting, u0 = 0.1, 0.02, 0.3
    firm = _firm(
        {
            "firm.understanding.initial": u0,
            "firm.understanding.forgetting": forgetting,
            "strategies.aligned.communication": rate,
            "costs.communication": 1.5,
        }
    )
    u = u0
    for _ in range(80):
        u = u * (1 - forgetting)
        u = u + rate * (1 - u)
    assert firm.departments[0].understanding == pytest.approx(u, rel=1e-12)
    sc = firm.spec
    base = _firm({}).coordination_cost
    assert firm.coordination_cost == pytest.approx(base + 1.5 * rate)
    frame = firm.log.to_frame()
    assert frame["understanding_production"].iloc[0] == pytest.approx(u0)
    assert frame["understanding_production"].is_monotonic_increasing
    assert "engagement_production" not in frame
    assert sc.firm.engagement is None


def test_understanding_tables_must_name_every_department():
    with pytest.raises(ScenarioError, match=r"firm\.understanding\.initial: a table needs"):
        load_scenario(BAKERY, {"firm.understanding.initial": {"production": 0.5}})
    with pytest.raises(ScenarioError, match=r"firm\.understanding\.initial: .*\[0, 1\]"):
        load_scenario(BAKERY, {"firm.understanding.initial": 1.5})


# ---------------------------------------------------------------- engagement
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=st.floats(0.0, 1.0),
    erosion=st.floats(0.0, 1.0),
    recovery=st.floats(0.0, 1.0),
    turnover=st.floats(0.0, 1.0),
    understanding=st.floats(0.0, 1.0),
    strategy=st.sampled_from(["efficiency_only", "aligned"]),
    seed=st.integers(0, 20),
)
def test_engagement_and_understanding_stay_in_the_unit_interval(
    initial, erosion, recovery, turnover, understanding, strategy, seed
):
    firm = _firm(
        {
            "firm.engagement.initial": initial,
            "firm.engagement.erosion": erosion,
            "firm.engagement.recovery": recovery,
            "firm.engagement.turnover": turnover,
            "firm.understanding.initial": understanding,
            "firm.learning.gain": 0.3,
        },
        seed=seed,
        strategy=strategy,
    )
    frame = firm.log.to_frame()
    for part in ("engagement", "understanding"):
        values = frame.filter(like=f"{part}_").to_numpy()
        assert np.isfinite(values).all()
        assert (values >= 0).all() and (values <= 1).all()
    assert (firm.experience >= 0).all()


def test_unexplained_change_erodes_engagement_and_stability_restores_it():
    """Hand-computed: the efficiency-only firm (purpose 0) loses `erosion` of its engagement
    in every department that changes and regains `recovery / 2` of the gap where nothing
    changes."""
    erosion, recovery = 0.3, 0.1
    firm = _firm(
        {
            "firm.engagement.initial": 0.8,
            "firm.engagement.erosion": erosion,
            "firm.engagement.recovery": recovery,
            "firm.engagement.drives_search": False,
        },
        strategy="efficiency_only",
    )
    frame = firm.log.to_frame()
    configs = frame["config"].to_numpy()
    for dept in firm.departments:
        e = frame[f"engagement_{dept.name}"].to_numpy()
        assert e[0] == pytest.approx(0.8)
        for t in range(1, len(e)):
            changed = ((configs[t] ^ configs[t - 1]) & dept.mask) != 0
            if changed:
                expected = e[t - 1] - erosion * e[t - 1]
            else:
                expected = e[t - 1] + recovery * (1 - e[t - 1]) / 2
            assert e[t] == pytest.approx(expected, rel=1e-12)
    assert any(
        (frame[f"engagement_{d.name}"].diff() < 0).any() for d in firm.departments
    )  # something changed, so the check above was not vacuous


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_engagement_and_understanding_follow_the_documented_updates_with_purpose(seed):
    """Recomputed by hand from the recorded path, without clipping (docs/ODD.md 7.15, 7.16):
    an aligned firm whose understanding is partial, so purpose = alpha x u lies inside (0, 1),
    with communication, forgetting and turnover all on."""
    alpha, comm, forget = 0.7, 0.1, 0.02
    erosion, recovery, turnover = 0.3, 0.1, 0.1
    firm = _firm(
        {
            "firm.understanding.initial": 0.5,
            "firm.understanding.forgetting": forget,
            "strategies.aligned.communication": comm,
            "firm.engagement.initial": 0.7,
            "firm.engagement.erosion": erosion,
            "firm.engagement.recovery": recovery,
            "firm.engagement.turnover": turnover,
        },
        seed=seed,
    )
    frame = firm.log.to_frame()
    configs = frame["config"].to_numpy()
    pushed = 0
    for dept in firm.departments:
        e_rec = frame[f"engagement_{dept.name}"].to_numpy()
        u_rec = frame[f"understanding_{dept.name}"].to_numpy()
        assert (e_rec[0], u_rec[0]) == (0.7, 0.5)
        for t in range(1, len(e_rec)):
            push = float(((configs[t] ^ configs[t - 1]) & dept.mask) != 0)
            pushed += push
            e, u = e_rec[t - 1], u_rec[t - 1]
            purpose = alpha * u
            e_new = (
                e
                + recovery * (1 - e) * (purpose + (1 - push)) / 2
                - erosion * e * push * (1 - purpose)
            )
            leaving = turnover * (1 - e_new)
            u_new = (u * (1 - forget) + comm * (1 - u * (1 - forget))) * (1 - leaving)
            assert e_rec[t] == pytest.approx(e_new, abs=1e-12)
            assert u_rec[t] == pytest.approx(u_new, abs=1e-12)
    assert pushed > 0  # some department changed, so erosion with purpose was exercised


def test_turnover_takes_experience_and_a_disengaged_department_searches_less():
    firm = _firm(
        {
            "firm.engagement.initial": 0.3,
            "firm.engagement.erosion": 0.0,
            "firm.engagement.recovery": 0.0,
            "firm.engagement.turnover": 0.2,
            "firm.learning.gain": 0.3,
            "strategies.aligned.p_jump": 0.0,
        },
        trace=True,
    )
    counts = _examined(firm)
    for dept in firm.departments:  # max(1, round(0.3 * n))
        expected = max(1, int(np.floor(0.3 * len(dept.decisions) + 0.5)))
        assert {c for (t, d), c in counts.items() if d == dept.index} == {expected}
    engaged = _firm({"firm.learning.gain": 0.3, "strategies.aligned.p_jump": 0.0})
    # with staff leaving, experience never builds up as far
    assert firm.experience.max() < engaged.experience.max()
    # experience recomputed by hand from the path: +1 or x (1 - reset), then the leavers' share
    leaving, keep = 0.2 * (1 - 0.3), 1 - firm.spec.firm.learning.reset
    configs = firm.log.ints["config"]
    for dept in firm.departments:
        x = 24.0
        for t in range(1, 81):
            changed = ((configs[t] ^ configs[t - 1]) & dept.mask) != 0
            x = (x * keep if changed else x + 1.0) * (1 - leaving)
        assert firm.experience[dept.index] == pytest.approx(x, rel=1e-12)


def test_mechanisms_off_give_the_same_numbers_with_any_setting_of_their_parameters():
    """The parameters of an absent mechanism do nothing: communication without
    [firm.understanding] is only a cost."""
    talk = _firm({"strategies.aligned.communication": 0.5})
    quiet = _firm({})
    np.testing.assert_array_equal(talk.log.ints["config"], quiet.log.ints["config"])
    assert talk.coordination_cost > quiet.coordination_cost


def test_department_levels_can_be_inspected_and_set_between_steps():
    sc = load_scenario(BAKERY, {"horizon": 70, "firm.engagement.initial": 0.5})
    market = Market(scenario=sc, strategies=["aligned"], rng=1)
    dept = market.firms[0].departments[0]
    assert dept.engagement == 0.5 and dept.understanding == 1.0
    market.step()
    dept.engagement = 0.9
    assert dept.engagement == 0.9
    with pytest.raises(ValueError, match="engagement must be in"):
        dept.engagement = 1.2


# ---------------------------------------------------------------- per-department settings
DEPTS = ("production", "purchasing", "marketing", "shop")  # the bakery's, in order


def _table(**levels: float) -> dict[str, float]:
    """A table by department: the levels given, 0 for the others."""
    return {d: levels.get(d, 0.0) for d in DEPTS}


@pytest.mark.parametrize(
    "field",
    [
        "strategies.aligned.sensing",
        "strategies.aligned.communication",
        "firm.engagement.erosion",
        "firm.engagement.turnover",
    ],
)
def test_per_department_tables_name_every_department_and_hold_shares(field):
    with pytest.raises(ScenarioError) as missing:
        load_scenario(BAKERY, {field: {"production": 0.5}})
    message = str(missing.value)
    assert "bakery_gluten_free" in message and field in message
    assert "production, purchasing, marketing, shop" in message  # what is allowed
    assert "missing purchasing, marketing, shop" in message
    with pytest.raises(ScenarioError, match="unknown bakery"):
        load_scenario(BAKERY, {field: {**_table(), "bakery": 0.1}})
    with pytest.raises(ScenarioError, match=rf"{field.replace('.', r'\.')}.*\[0, 1\]|less than"):
        load_scenario(BAKERY, {field: {**_table(), "shop": 1.5}})


def test_communication_erosion_and_turnover_tables_of_one_level_are_the_number():
    """A table with the same level everywhere gives the number's results, bit for bit."""
    common = {
        "firm.understanding.initial": 0.4,
        "firm.understanding.forgetting": 0.02,
        "firm.engagement.initial": 0.7,
    }
    number = _firm(
        {
            **common,
            "strategies.aligned.communication": 0.1,
            "firm.engagement.erosion": 0.3,
            "firm.engagement.turnover": 0.1,
        }
    )
    table = _firm(
        {
            **common,
            "strategies.aligned.communication": dict.fromkeys(DEPTS, 0.1),
            "firm.engagement.erosion": dict.fromkeys(DEPTS, 0.3),
            "firm.engagement.turnover": dict.fromkeys(DEPTS, 0.1),
        }
    )
    pd.testing.assert_frame_equal(number.log.to_frame(), table.log.to_frame())
    assert number.coordination_cost == table.coordination_cost


def test_communication_by_department_reaches_only_the_departments_told():
    rate, forgetting, u0 = 0.2, 0.02, 0.4
    firm = _firm(
        {
            "firm.understanding.initial": u0,
            "firm.understanding.forgetting": forgetting,
            "strategies.aligned.communication": _table(shop=rate),
            "costs.communication": 2.0,
        }
    )
    told = u0
    for _ in range(80):
        told = told * (1 - forgetting)
        told = told + rate * (1 - told)
    levels = {d.name: d.understanding for d in firm.departments}
    assert levels["shop"] == pytest.approx(told, rel=1e-12)
    for name in DEPTS[:3]:  # not told: they only forget
        assert levels[name] == pytest.approx(u0 * (1 - forgetting) ** 80, rel=1e-12)
    base = _firm({}).coordination_cost
    assert firm.coordination_cost == pytest.approx(base + 2.0 * rate / 4)  # the mean rate


def test_erosion_and_turnover_by_department_act_where_they_are_given():
    firm = _firm(
        {
            "firm.engagement.initial": 0.6,
            "firm.engagement.recovery": 0.0,
            "firm.engagement.erosion": _table(production=0.5, purchasing=0.5, marketing=0.5),
            "firm.engagement.turnover": _table(production=0.3),
            "firm.learning.gain": 0.3,
            "firm.learning.initial_experience": 10.0,
        }
    )
    frame = firm.log.to_frame()
    shop = frame["engagement_shop"].to_numpy()
    np.testing.assert_array_equal(shop, np.full(shop.size, 0.6))  # no erosion, no recovery
    eroded = [frame[f"engagement_{d}"].iloc[-1] < 0.6 for d in DEPTS[:3]]
    assert any(eroded)  # a department that changed lost engagement
    # turnover only in production: the others keep every period of experience they earn
    experience = dict(zip(DEPTS, firm.experience, strict=True))
    assert experience["production"] < 10.0 + 80
    configs = frame["config"].to_numpy()
    for d in firm.departments[1:]:
        changed = np.flatnonzero(((configs[1:] ^ configs[:-1]) & d.mask) != 0)
        if not changed.size:  # never changed, never lost anybody: every period counted
            assert experience[d.name] == 10.0 + 80


def test_sensing_by_department_gives_each_department_its_own_belief():
    """A department sensing at 1 knows the market the period after a shift, one at 0 never
    learns of it; the head office's belief is their mean weighted by department size."""
    sensing = _table(shop=1.0)
    firm = _firm({"strategies.aligned.sensing": sensing, "horizon": 70})
    engine, row = firm.engine, firm.row
    truth = engine.truth[engine.market[row]]
    own = engine.department_belief[row]
    np.testing.assert_array_equal(own[3], truth)  # the shop: sensing 1
    initial = Market(scenario=firm.spec, strategies=["aligned"], rng=0).state.weights
    for d in range(3):  # sensing 0: the belief of period 0, though the market shifted at 60
        np.testing.assert_array_equal(own[d, : initial.size], initial)
    assert not np.array_equal(initial, truth[: initial.size])
    np.testing.assert_allclose(engine.belief[row], engine.weights @ own, rtol=1e-12)
    # the cost of sensing is the mean rate's
    number = _firm({"strategies.aligned.sensing": 0.25, "horizon": 70})
    assert firm.coordination_cost == pytest.approx(number.coordination_cost)


def test_sensing_by_department_changes_what_departments_propose():
    """Where departments sense at different rates, decisions differ from the firm sensing at
    the mean rate (the mechanism acts); a firm whose departments all sense at the firm's rate
    decides as the firm does (up to rounding of the pooled belief)."""
    split = _firm({"strategies.aligned.sensing": _table(shop=1.0, marketing=1.0)})
    mean = _firm({"strategies.aligned.sensing": 0.5})
    assert not np.array_equal(split.log.ints["config"], mean.log.ints["config"])
    same = _firm({"strategies.aligned.sensing": dict.fromkeys(DEPTS, 0.3)})
    firm = _firm({})
    np.testing.assert_array_equal(same.log.ints["config"], firm.log.ints["config"])
    np.testing.assert_allclose(same.engine.belief[0], firm.engine.belief[0], rtol=1e-12)


def test_sensing_by_department_is_refused_with_partners():
    with pytest.raises(ScenarioError, match=r"strategies\.aligned\.sensing: partners share"):
        load_scenario(
            BAKERY,
            {
                "competition": {"firms": {"aligned": 2}, "network": {"kind": "complete"}},
                "strategies.aligned.sensing": _table(shop=1.0),
            },
        )
