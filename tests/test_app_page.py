"""The classroom page's components, rendered with Solara's testing API (no browser)."""

from __future__ import annotations

import io
import time

import ipyvuetify as v
import ipywidgets
import pandas as pd
import pytest
import solara

from sim.app import page
from sim.app.state import TwinFirms
from sim.app.views import Screen
from sim.scenario import load_scenario


def _with_class(rc, css: str, kind=v.VuetifyWidget) -> list:
    """Widgets of ``kind`` whose CSS classes include ``css``."""
    return [
        w
        for w in rc.find(kind).widgets
        if css in (getattr(w, "class_", None) or "").split()
        or css in getattr(w, "_dom_classes", ())
    ]


def _html(rc, css: str) -> str:
    """The inner HTML of the solara.HTML element with class ``css``."""
    found = [
        w
        for w in rc.find(solara.widgets.HTML).widgets
        if css in str((w.attributes or {}).get("class", "")).split()
    ]
    assert len(found) == 1, f"expected one .{css}, found {len(found)}"
    return found[0].unsafe_innerHTML


def _click(rc, css: str) -> None:
    (button,) = _with_class(rc, css, v.Btn)
    button.click()


def _type(rc, css: str, text: str) -> None:
    (field,) = _with_class(rc, css, v.TextField)
    field.v_model = text
    field.fire_event("keyup.enter", None)


def _errors(rc) -> list[str]:
    alerts = _with_class(rc, "app-error", v.Alert)
    return [str(a.children) for a in alerts]


@pytest.fixture
def classroom():
    _box, rc = solara.render(page.Classroom(), handle_error=False)
    yield rc
    rc.close()


def test_the_page_opens_on_the_bakery_with_its_story(classroom):
    story = _html(classroom, "story")
    assert "The bakery" in story and "Things to notice" in story and "Things to try" in story
    assert _html(classroom, "period-badge") == "Period 0 of 160"
    buttons = _with_class(classroom, "scenario-button", v.Btn)
    assert {b.children[0] for b in buttons} >= {"bakery gluten free", "boutique online"}
    assert not any("validation" in b.children[0] for b in buttons)
    assert _errors(classroom) == []


def test_step_moves_both_firms_and_redraws_every_view(classroom):
    images = {
        name: _with_class(classroom, f"view-{name}", ipywidgets.Image)[0].value
        for name in ("over_time", "sailing", "departments")
    }
    before = _html(classroom, "scoreboard")
    for _ in range(3):
        _click(classroom, "step-button")
    assert _html(classroom, "period-badge") == "Period 3 of 160"
    after = _html(classroom, "scoreboard")
    assert after != before
    for name, png in images.items():
        now = _with_class(classroom, f"view-{name}", ipywidgets.Image)[0].value
        assert now != png, f"{name} was not redrawn"


def test_the_shift_button_queues_a_shift_that_is_then_marked(classroom):
    _click(classroom, "step-button")
    _click(classroom, "shift-button")
    infos = _with_class(classroom, "app-info", v.Alert)
    assert infos and "At period 2: customers move to health conscious" in str(infos[0].children)
    assert "to come: period 2" in _html(classroom, "shift-log")
    _click(classroom, "step-button")
    log = _html(classroom, "shift-log")
    assert "period 2: customers move to health conscious (now)" in log


@pytest.mark.parametrize(
    ("typed", "message"),
    [("1.7", "must be from 0 to 1, got 1.7"), ("abc", "expected a number from 0 to 1")],
)
def test_a_bad_alignment_shows_a_message_and_changes_nothing(classroom, typed, message):
    _type(classroom, "alpha-1", typed)
    errors = _errors(classroom)
    assert errors and message in errors[0]
    (field,) = _with_class(classroom, "alpha-1", v.TextField)
    assert field.error and message in str(field.messages)
    _click(classroom, "step-button")  # the page goes on
    assert _html(classroom, "period-badge") == "Period 1 of 160"
    assert "aligned" in _html(classroom, "scoreboard")


def test_a_good_value_applies_live_without_a_reset(classroom):
    for _ in range(2):
        _click(classroom, "step-button")
    _type(classroom, "alpha-1", "0.3")
    _type(classroom, "sensing-1", "0")
    _type(classroom, "cost-factor", "2")
    assert _errors(classroom) == []
    assert _html(classroom, "period-badge") == "Period 2 of 160"
    cost = _html(classroom, "firm-cost-1")
    # hierarchical 1.0 + alignment 2.0 * 0.3 + sensing 0, all doubled
    assert "3.2 k€ per month" in cost


def test_the_coordination_mode_is_chosen_from_a_list(classroom):
    (select,) = _with_class(classroom, "mode-0", v.Select)
    assert {item["value"] for item in select.items} == {
        "decentralized",
        "sequential",
        "hierarchical",
    }
    select.v_model = "hierarchical"
    assert "1.0 k€ per month" in _html(classroom, "firm-cost-0")


def test_a_scenario_button_loads_that_story(classroom):
    _click(classroom, "step-button")
    _click(classroom, "scenario-boutique_online")
    assert "The boutique" in _html(classroom, "story")
    assert _html(classroom, "period-badge") == "Period 0 of 144"


def test_reset_starts_over_with_the_settings_shown(classroom):
    _type(classroom, "alpha-1", "0.4")
    for _ in range(4):
        _click(classroom, "step-button")
    _click(classroom, "reset-button")
    assert _html(classroom, "period-badge") == "Period 0 of 160"
    (field,) = _with_class(classroom, "alpha-1", v.TextField)
    assert field.v_model == "0.4"


def test_play_runs_periods_until_paused(classroom):
    (toggle,) = [w for w in classroom.find(v.BtnToggle).widgets]
    toggle.v_model = 2  # fast
    _click(classroom, "play-button")
    deadline = time.monotonic() + 20
    while _html(classroom, "period-badge") in ("Period 0 of 160", "Period 1 of 160"):
        assert time.monotonic() < deadline, "play did not advance"
        time.sleep(0.05)
    _click(classroom, "play-button")  # pause
    time.sleep(0.3)
    paused_at = _html(classroom, "period-badge")
    time.sleep(0.5)
    assert _html(classroom, "period-badge") == paused_at
    assert _errors(classroom) == []


def test_the_debrief_runs_thirty_markets_after_the_run():
    twins = TwinFirms(load_scenario("bakery_gluten_free"), seed=0)
    twins.replay([])
    screen = Screen(twins)
    version = solara.reactive(0)
    _box, rc = solara.render(page.DebriefPanel(screen, version), handle_error=False)
    _click(rc, "debrief-button")
    deadline = time.monotonic() + 60
    while screen.debrief is None or not _with_class(rc, "view-debrief", ipywidgets.Image):
        assert time.monotonic() < deadline, "the debrief did not finish"
        time.sleep(0.1)
    assert len(screen.debrief.seeds) == 30
    verdict = _html(rc, "verdict")
    assert "of 30 markets" in verdict
    rc.close()


def test_exports_give_png_figures_and_the_run_as_csv():
    twins = TwinFirms(load_scenario("bakery_gluten_free"), seed=0)
    for _ in range(5):
        twins.step()
    screen = Screen(twins)
    _box, rc = solara.render(page.ExportCard(screen, solara.reactive(0)), handle_error=False)
    labels = [str(b.children) for b in rc.find(v.Btn).widgets]
    assert any("Over time (PNG)" in label for label in labels)
    assert any("data (CSV)" in label for label in labels)
    for name in ("over_time", "sailing", "departments"):
        assert screen.export(name)[:4] == b"\x89PNG"
    frame = pd.read_csv(io.BytesIO(twins.to_csv()))
    assert len(frame) == 12
    rc.close()
