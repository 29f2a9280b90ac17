"""The classroom page's components, rendered with Solara's testing API (no browser)."""

from __future__ import annotations

import io

import ipyvue
import ipyvuetify as v
import ipywidgets
import numpy as np
import pandas as pd
import pytest
import solara

from sim.app import page
from sim.app.live import Screen
from sim.app.state import TwinFirms
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


def test_flagships_are_one_click_and_the_other_scenarios_are_in_a_list(classroom):
    from sim.app.state import ONE_CLICK_SCENARIOS, classroom_scenarios, plain

    scenarios, _ = classroom_scenarios()
    buttons = _with_class(classroom, "scenario-button", v.Btn)
    assert [b.children[0] for b in buttons] == [
        plain(n) for n in scenarios if n in ONE_CLICK_SCENARIOS
    ]
    (more,) = _with_class(classroom, "scenario-more", v.Select)
    others = [plain(n) for n in scenarios if n not in ONE_CLICK_SCENARIOS]
    assert len(others) >= 6 and more.items == others
    more.v_model = "marketing sales silo"
    assert "Period 0 of" in _html(classroom, "period-badge")
    (more,) = _with_class(classroom, "scenario-more", v.Select)
    assert more.v_model == "marketing sales silo"
    _click(classroom, "info-button")
    assert "installer" in _html(classroom, "story")
    _click(classroom, "scenario-bakery_gluten_free")
    (more,) = _with_class(classroom, "scenario-more", v.Select)
    assert more.v_model is None


def test_the_page_opens_on_the_bakery_with_the_info_panel_closed(classroom):
    assert _html(classroom, "period-badge") == "Period 0 of 160"
    buttons = _with_class(classroom, "scenario-button", v.Btn)
    assert {b.children[0] for b in buttons} >= {"bakery gluten free", "boutique online"}
    assert not any("validation" in b.children[0] for b in buttons)
    assert _errors(classroom) == []
    assert not [
        w for w in classroom.find(solara.widgets.HTML).widgets if "story" in str(w.attributes)
    ]
    _click(classroom, "info-button")
    story = _html(classroom, "story")
    for words in ("The bakery", "Things to notice", "Things to try", "How the model works"):
        assert words in story
    for word in (
        "efficiency",
        "market value",
        "performance",
        "port",
        "miles",
        "heading",
        "cycling",
    ):
        assert f"<dt>{word}</dt>" in story


def _charts(rc) -> dict:
    """The charts drawn in the browser by plotly.js (`page.PlotlyChart`), by view name."""
    return {
        w.name: w
        for w in rc.find(ipyvue.VueTemplate).widgets
        if "plotly_chart" in type(w).__name__.lower() or hasattr(w, "traces")
    }


def test_step_moves_both_firms_and_redraws_every_view(classroom):
    charts = _charts(classroom)
    # every view drawn in the browser, the decision timeline too: no PNG on the page
    assert sorted(charts) == ["departments", "over_time", "sailing", "timeline"]
    assert not classroom.find(ipywidgets.Image).widgets
    assert all(chart.period == 0 for chart in charts.values())
    firms = [t for t in charts["over_time"].traces if t["legendgroup"].startswith("firm")]
    assert [len(t["x"]) for t in firms] == [1] * 8
    before = _html(classroom, "scoreboard")
    sent = {name: chart.traces for name, chart in charts.items()}
    for _ in range(3):
        _click(classroom, "step-button")
    assert _html(classroom, "period-badge") == "Period 3 of 160"
    assert _html(classroom, "scoreboard") != before
    charts = _charts(classroom)
    for name, chart in charts.items():
        assert chart.period == 3 and chart.traces != sent[name], f"{name} was not redrawn"
    # the chart gets the data of periods 0 to 3 (numbers, not an image), each firm's own
    lines = [t for t in charts["over_time"].traces if t["legendgroup"].startswith("firm")]
    assert len(lines) == 8  # 4 panels x 2 firms
    assert all(t["x"] == [0, 1, 2, 3] and len(t["y"]) == 4 for t in lines)
    assert lines[0]["y"] != lines[1]["y"]  # the two firms' efficiency differ
    assert [t["x"] for t in charts["timeline"].traces] == [[0, 1, 2, 3]]


def test_a_typed_bad_value_shows_a_message_that_goes_after_a_good_one(classroom):
    _type(classroom, "alpha-1-input", "1.7")
    assert _errors(classroom) and "must be from 0 to 1, got 1.7" in _errors(classroom)[0]
    (field,) = _with_class(classroom, "alpha-1-input", v.TextField)
    assert field.error and "must be from 0 to 1" in str(field.messages)
    _type(classroom, "alpha-1-input", "0.4")
    (field,) = _with_class(classroom, "alpha-1-input", v.TextField)
    assert not field.error and field.v_model == "0.4"
    assert _errors(classroom) == []
    assert "alignment 0.4 from period 1" in _html(classroom, "scoreboard")


def test_the_shift_button_says_what_it_replaces(classroom):
    _click(classroom, "step-button")
    _click(classroom, "shift-button")
    infos = _with_class(classroom, "app-info", v.Alert)
    text = str(infos[0].children)
    assert "At period 2: customers move to health conscious" in text
    assert "replaces the shift planned for period 60" in text
    assert "to come: period 2" in _html(classroom, "shift-log")


def test_presentation_shows_one_view_and_hides_the_controls_in_a_drawer(classroom):
    _click(classroom, "layout-button")
    roots = _with_class(classroom, "presentation", v.Html)
    assert roots, "the page is not in presentation mode"
    # only the view shown is drawn: the over-time chart, no image
    assert list(_charts(classroom)) == ["over_time"]
    assert len(classroom.find(ipywidgets.Image).widgets) == 0
    _click(classroom, "tab-sailing")
    assert list(_charts(classroom)) == ["sailing"]
    _click(classroom, "tab-decisions")
    assert list(_charts(classroom)) == ["timeline"]
    assert len(classroom.find(ipywidgets.Image).widgets) == 0
    _click(classroom, "drawer-button")
    assert _with_class(classroom, "drawer-open", v.Html)


def test_a_frame_of_play_updates_each_view_with_its_own_chart(monkeypatch):
    """A frame of play (`Lesson.framed`) sends each chart on screen its own view's data, after
    the page went from the desk (every view) to presentation (one): the frame listener follows
    the view it draws. (It once kept the departments view's name and sent its chart to the
    over-time view every frame: the chart alternated between the two, redrawn in full.)"""
    made = []

    def new_lesson(search: str):
        made.append(page.Lesson())
        return made[-1]

    monkeypatch.setattr(page, "_new_lesson", new_lesson)
    _box, rc = solara.render(page.Classroom(), handle_error=False)
    try:
        (lesson,) = made
        assert sorted(_charts(rc)) == ["departments", "over_time", "sailing", "timeline"]
        _click(rc, "layout-button")
        assert list(_charts(rc)) == ["over_time"]
        for tab in ("over_time", "sailing", "departments", "over_time"):
            _click(rc, f"tab-{tab}")
            with lesson.twins.lock:
                lesson.twins.step()
            lesson.framed()
            (chart,) = _charts(rc).values()
            period = lesson.twins.period
            assert chart.name == tab and chart.period == period
            want = lesson.screen.charts[tab].spec(lesson.twins)
            assert chart.traces == want.data, f"{tab}: another view's data"
    finally:
        rc.close()


def test_a_scenario_button_loads_that_scenario(classroom):
    _click(classroom, "step-button")
    _click(classroom, "scenario-boutique_online")
    assert _html(classroom, "period-badge") == "Period 0 of 144"


def test_the_debrief_lists_miles_cycling_and_the_live_changes():
    lesson_screen = Screen(TwinFirms(load_scenario("bakery_gluten_free"), seed=0))
    from sim.app.lesson import Lesson

    lesson = Lesson(first=lesson_screen)
    lesson.step()
    lesson.change_firm(0, "alpha", 0.5)
    lesson.twins.replay([])
    lesson.run_debrief()
    assert len(lesson.screen.debrief.seeds) == 30
    html = page.debrief_table(lesson)
    for words in ("miles sailed", "sailing in circles", "still in business", "your market (0)"):
        assert words in html
    assert "from period 2: efficiency only: alignment 0.5" in html
    assert "Things to notice, checked" in html and "Your market:" in html
    # the app's title checked too: the efficiency-only bakery in market 0 stops early
    from sim.app.notes import title_claim

    count = int(title_claim(lesson.screen.debrief).sum())
    assert "Sailing in circles, the app's title" in html
    assert "of 30 markets" in html and f"; {count} of 30 markets." in html


def test_exports_give_titled_png_figures_and_the_run_as_csv():
    twins = TwinFirms(load_scenario("bakery_gluten_free"), seed=0)
    for _ in range(5):
        twins.step()
    screen = Screen(twins)
    for name in ("over_time", "sailing", "departments"):
        assert screen.export(name)[:4] == b"\x89PNG"
    frame = pd.read_csv(io.BytesIO(twins.to_csv()))
    assert len(frame) == 12
    assert {"miles_this_period", "miles_sailed_so_far"} <= set(frame.columns)
    assert "miles" not in frame.columns
    firm = frame[frame["firm"] == "aligned"]
    assert list(firm["miles_sailed_so_far"]) == list(firm["miles_this_period"].cumsum())


def test_per_department_alignment_and_communication_are_controls_and_people_are_shown():
    from sim.app.lesson import Lesson

    lesson = Lesson()
    lesson.choose("restaurant_kitchen_tech")

    @solara.component
    def Firm2() -> None:
        page.FirmControls(lesson, 1, lesson.version)
        page.Scoreboard(lesson.twins, lesson.version)

    _box, rc = solara.render(Firm2(), handle_error=False)
    try:
        board = _html(rc, "scoreboard")
        assert "understood 40%" in board and "engaged" in board  # the scenario's people
        _type(rc, "communication-1-input", "0.3")
        assert not _with_class(rc, "alpha-kitchen-1-input", v.TextField)  # folded
        _click(rc, "per-department-1")
        _type(rc, "alpha-kitchen-1-input", "0.2")
        assert lesson.twins.settings(1).communication == 0.3
        assert lesson.twins.settings(1).alpha["kitchen"] == 0.2
        assert lesson.twins.label_now(1).endswith(
            "communication 0.3 from period 1, alignment of kitchen 0.2 from period 1"
        )
    finally:
        rc.close()
    # the bakery has neither mechanism: no communication control, no people on the board
    bakery = Lesson()

    @solara.component
    def Bakery() -> None:
        page.FirmControls(bakery, 0, bakery.version)
        page.Scoreboard(bakery.twins, bakery.version)

    _box, rc = solara.render(Bakery(), handle_error=False)
    try:
        assert not _with_class(rc, "communication-0-input", v.TextField)
        _click(rc, "per-department-0")
        assert _with_class(rc, "alpha-shop-0-input", v.TextField)
        assert "understood" not in _html(rc, "scoreboard")
    finally:
        rc.close()


def test_the_debrief_is_a_chart_drawn_in_the_browser_with_large_type_then_the_numbers():
    from sim.app.charts import LABEL_PX, TICK_PX
    from sim.app.lesson import Lesson

    lesson = Lesson(first=Screen(TwinFirms(load_scenario("canteen_stable"), seed=4)))
    lesson.twins.replay([])
    lesson.run_debrief()
    _box, rc = solara.render(
        page.DebriefPanel(lesson, lesson.version, lambda: None), handle_error=False
    )
    try:
        chart = _charts(rc)["debrief"]
        layout = chart.chart_layout
        axes = [v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))]
        assert len(axes) == 8 and min(a["tickfont"]["size"] for a in axes) >= 18
        assert TICK_PX >= 18 and LABEL_PX >= 18 and layout["font"]["size"] >= 18
        means = [t for t in chart.traces if t["legendgroup"].startswith("firm")]
        debrief = lesson.screen.debrief
        first = np.nanmean(debrief.data["efficiency"][0], axis=0)
        np.testing.assert_allclose(np.array(means[0]["y"], float), first, atol=5e-5)
        mine = [t for t in chart.traces if t["legendgroup"].startswith("yours")]
        assert len(mine) == 8 and mine[0]["name"] == "your market (4)"
        assert "Thin lines: each of the 30 markets" in _html(rc, "view-caption")
        assert "earned more" in _html(rc, "verdict")
        assert not rc.find(ipywidgets.Image).widgets  # no PNG on the page (exports keep it)
    finally:
        rc.close()


@pytest.mark.parametrize(
    ("scenario", "shown", "absent"),
    [
        ("cloud_resource_orchestration", ["budget share: ", "months the budget bound"], ["levy"]),
        ("sustainable_agriculture", ["emissions (t CO2e per month)", "levy ("], ["budget share"]),
        ("bakery_gluten_free", [], ["budget share", "levy ("]),
    ],
)
def test_the_scoreboard_shows_resources_and_purpose_where_a_scenario_has_them(
    scenario, shown, absent
):
    """The budget split and how often it bound ([resources]), the impact and the levy
    ([purpose]): on the board where the scenario has the mechanism, nowhere else; the numbers
    are the engine's."""
    twins = TwinFirms(load_scenario(scenario))
    for _ in range(30):
        twins.step()
    _box, rc = solara.render(page.Scoreboard(twins, 0), handle_error=False)
    try:
        board = _html(rc, "scoreboard")
        for text in shown:
            assert text in board, (text, board)
        for text in absent:
            assert text not in board
    finally:
        rc.close()
    view = twins.firm_view(1)
    h, row = twins.firms[1].engine.history, twins.firms[1].row
    if "budget share: " in shown:
        assert sum(view.shares.values()) == pytest.approx(1.0)
        assert view.budget_binds == pytest.approx(h.budget_binds[1:31, row].mean())
    if "levy (" in shown:
        assert view.impact == h.impact[30, row] and view.levy == h.levy[30, row]


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [({"smb_sim_width": "1024"}, "presentation"), ({"smb_sim_width": "1600"}, "desk"), ({}, "")],
)
def test_the_first_render_takes_the_windows_width_from_the_cookie(cookie, expected):
    """The page's head leaves the window's width in a cookie: the first render is already in
    the right layout, and in presentation mode the drawer's controls are not made until it
    opens. Without the cookie the page waits for the browser's width ("measuring")."""
    solara.lab.cookies.set(cookie)
    try:
        _box, rc = solara.render(page.Classroom(), handle_error=False)
        (root,) = _with_class(rc, "classroom-root", v.Html)
        classes = root.class_.split()
        assert ("measuring" in classes) == (expected == "")
        if expected:
            assert expected in classes, classes
        controls = _with_class(rc, "alpha-0-input", v.TextField)
        assert (controls == []) == (expected == "presentation"), expected
        if expected == "presentation":
            _click(rc, "drawer-button")
            assert _with_class(rc, "alpha-0-input", v.TextField)  # made when it opens
        rc.close()
    finally:
        solara.lab.cookies.set(None)


@pytest.mark.parametrize(("width", "cards"), [("1024", 1), ("1600", 5)])
def test_on_a_projector_only_the_view_shown_is_made(width, cards):
    """In presentation mode the first render makes only the card of the view shown (the
    others and every view's help were hidden there), and a tab's card when it is chosen; at
    the desk every view's card, with its title and help."""
    solara.lab.cookies.set({"smb_sim_width": width})
    try:
        _box, rc = solara.render(page.Classroom(), handle_error=False)
        try:
            shown = _with_class(rc, "view-card", v.Card)
            assert len(shown) == cards
            helps = [w for w in rc.find(solara.widgets.HTML).widgets if "help" in str(w.attributes)]
            assert len(helps) >= 4 if cards == 5 else helps == [], len(helps)
            if cards == 1:
                assert "card-over_time" in shown[0].class_.split()
                _click(rc, "tab-decisions")
                (card,) = _with_class(rc, "view-card", v.Card)
                assert "card-decisions" in card.class_.split() and "selected" in card.class_
                assert _html(rc, "decisions-table")  # its table, once
                assert list(_charts(rc)) == ["timeline"]
        finally:
            rc.close()
    finally:
        solara.lab.cookies.set(None)
