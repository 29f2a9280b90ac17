"""`python -m sim explain`: a scenario in plain words, nothing run."""

from __future__ import annotations

from sim.cli import main
from sim.explain import explain
from sim.landscape import department_interdependence
from sim.model import Market
from sim.scenario import load_scenario


def test_explain_names_what_a_reader_needs(capsys):
    sc = load_scenario("bakery_gluten_free")
    assert main(["explain", "bakery_gluten_free", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    for dep in sc.departments:
        assert f"{dep.label}: {', '.join(dep.decisions)}" in text
    for regime in sc.market.regimes:
        assert regime.name in text
    assert "period 60: customers move to health_conscious at once" in text
    assert "aligned: alpha 0.7, hierarchical, sensing 0.3" in text and "costs 2.7" in text
    # the structure shown is the one seed 3 draws
    links = department_interdependence(Market(scenario=sc, strategies=[], rng=3).interactions)
    (a, b, w), *_ = sorted(links.edges(data="weight"))
    names = [d.label for d in sc.departments]
    assert f"{names[a]} - {names[b]} ({w})" in text


def test_steered_turbulence_and_a_stable_market_are_explained():
    sc = load_scenario(
        "bakery_gluten_free",
        {
            "market.shifts": [
                {
                    "kind": "turbulence",
                    "probability": 0.1,
                    "transitions": {"classic": {"health_conscious": 1}},
                }
            ]
        },
    )
    assert "classic -> health_conscious (1) (other regimes absorbing)" in explain(sc)
    stable = load_scenario("canteen_stable")
    assert "none: a stable market" in explain(stable)


def test_explain_refuses_a_bad_scenario_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nhorizon = "long"\n', encoding="utf-8")
    assert main(["explain", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "bad.toml" in err[0]


def test_people_mechanisms_are_explained_when_on_and_said_off_otherwise():
    off = explain(load_scenario("bakery_gluten_free"))
    assert "everybody understands the strategy and is fully engaged (off)" in off
    on = explain(
        load_scenario(
            "bakery_gluten_free",
            {
                "firm.understanding.initial": 0.4,
                "firm.engagement.initial": {
                    "production": 0.5,
                    "purchasing": 0.6,
                    "marketing": 0.7,
                    "shop": 0.8,
                },
                "firm.engagement.turnover": 0.05,
                "strategies.aligned.communication": 0.1,
                "strategies.aligned.alternatives": 2,
            },
        )
    )
    assert "Strategic understanding: 0.4 in every department at the start" in on
    assert "Engagement: production 0.5, purchasing 0.6, marketing 0.7, shop 0.8" in on
    assert "turnover 0.05" in on
    assert "examines 2 alternative(s), communication 0.1; costs 2.9" in on
