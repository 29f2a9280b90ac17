"""sim.claims: a gap with and without a mechanism, its share before the event, and the
generated tables of docs/scenarios.md (which must be what the generator prints)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.claims import (
    Gap,
    ScenarioClaims,
    block,
    blocks_in,
    compare,
    markdown_table,
    ratio_ci,
    replace_blocks,
    scenario_claims,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"


def test_ratio_ci_is_the_ratio_of_means_with_an_interval_that_covers_it():
    rng = np.random.default_rng(1)
    den = rng.normal(2.0, 1.0, 400)
    num = 0.5 * den + rng.normal(0.0, 0.3, 400)
    est = ratio_ci(num, den)
    assert est.mean == pytest.approx(num.mean() / den.mean())
    assert est.low < 0.5 < est.high and est.high - est.low < 0.2
    exact = ratio_ci(3 * den, den)
    assert exact.mean == pytest.approx(3) and exact.high - exact.low == pytest.approx(0)
    assert np.isnan(ratio_ci([1.0, 2.0], [0.0, 0.0]).mean)  # no ratio of a zero mean


def test_removing_nothing_changes_nothing_and_the_output_is_deterministic():
    claims = ScenarioClaims(
        "restaurant_kitchen_tech",
        "the shift",
        (
            Gap("profit", "aligned_explained", "aligned"),
            Gap("engagement_kitchen", "aligned", "efficiency_only"),
        ),
        {"nothing": {}},
    )
    first = compare(claims, seeds=3)
    for c in first:
        assert c.change.mean == 0 and c.change.low == 0 and c.change.high == 0
        assert c.share_left.mean == pytest.approx(1)
        assert c.without == c.with_mechanism
    assert markdown_table(first) == markdown_table(compare(claims, seeds=3))


def test_a_people_measure_is_1_where_its_mechanism_is_off():
    claims = ScenarioClaims(
        "restaurant_kitchen_tech",
        "the shift",
        (Gap("engagement_kitchen", "aligned", "efficiency_only"),),
        {"engagement": {"firm.engagement": None}},
    )
    (c,) = compare(claims, seeds=2)
    assert c.without.after.mean == 0 and c.without.before.mean == 0  # everybody fully engaged
    assert c.with_mechanism.after.mean != 0


def test_an_unknown_measure_is_named():
    claims = ScenarioClaims(
        "canteen_stable", "none", (Gap("happiness", "aligned", "efficiency_only"),), {"x": {}}
    )
    with pytest.raises(KeyError, match="happiness"):
        compare(claims, seeds=2)


def test_replace_blocks_swaps_only_the_named_block_and_names_a_missing_one():
    text = f"intro\n{block('a', 5, '| old |')}\nmiddle\n{block('b', 5, '| b |')}\nend\n"
    new = replace_blocks(text, {"a": "| new |\n| rows |"}, seeds=200)
    assert blocks_in(new) == {"a": (200, "| new |\n| rows |"), "b": (5, "| b |")}
    assert new.startswith("intro\n") and "\nmiddle\n" in new and new.endswith("\nend\n")
    with pytest.raises(KeyError, match="c"):
        replace_blocks(text, {"c": "| c |"}, seeds=1)


def test_the_docs_have_a_generated_table_for_every_scenario_over_200_seeds():
    present = blocks_in(DOC.read_text(encoding="utf-8"))
    assert set(present) == set(scenario_claims())
    assert {seeds for seeds, _ in present.values()} == {200}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(scenario_claims()))
def test_the_docs_tables_are_what_the_generator_prints(name):
    seeds, table = blocks_in(DOC.read_text(encoding="utf-8"))[name]
    assert markdown_table(compare(scenario_claims()[name], seeds)) == table
